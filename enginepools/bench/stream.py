"""A benchmark run streamed: each sample printed and written as it finishes,
nothing kept — so memory does not grow with ``-count``, as ``go test
-bench`` keeps nothing either.

:class:`SampleStream` takes the samples of a :class:`~enginepools.bench.runner.Runner`
(its ``stream`` callback) and

* hands each one's Go line to `echo` (the terminal);
* appends it to the Go text (``-o``) and the JSON (``-json``), each written
  to a temporary file beside its destination (the layout of
  :meth:`BenchResult.write_go` / :meth:`BenchResult.write_json`) and renamed
  into place by :meth:`finish` — over the file when the run completed, to
  ``FILE.partial`` when it was interrupted (the file left as it was);
* keeps per benchmark only a count and the running statistics of the noise
  check (:class:`~enginepools.bench.noise.Running`), for :attr:`running`.
"""
from __future__ import annotations

import math
import os
from typing import IO, Callable

from .._atomic import AtomicFile
from .noise import Running
from .result import BenchResult, Sample, json_head, json_sample, json_tail


class SampleStream:
    """``SampleStream(result, width, echo, go_path, json_path)``; pass
    :meth:`add` as the runner's ``stream``, then call :meth:`finish` (or
    :meth:`discard` on an error)."""

    def __init__(self, result: BenchResult, width: int, echo: Callable[[str], None] | None = None,
                 go_path: str | os.PathLike[str] | None = None,
                 json_path: str | os.PathLike[str] | None = None) -> None:
        self.width = width
        self.echo = echo
        self.count = 0  #: samples seen
        self.running: dict[str, Running] = {}  #: per benchmark, in run order
        self._rep: dict[str, int] = {}
        self._files: list[tuple[str | os.PathLike[str], AtomicFile]] = []
        self._go: IO | None = None
        self._json: IO | None = None
        try:
            if go_path is not None:
                self._go = self._open(go_path)
                self._go.write("".join(line + "\n" for line in result.header_lines()))
            if json_path is not None:
                self._json = self._open(json_path)
                self._json.write(json_head(result.config, result.machine, result.settings))
        except BaseException:
            self.discard()
            raise

    def _open(self, path: str | os.PathLike[str]) -> IO:
        a = AtomicFile(path, "w", encoding="utf-8")
        self._files.append((path, a))
        return a.file

    def add(self, s: Sample) -> None:
        # the files and the count first, the terminal last: a Ctrl-C that
        # lands here never leaves a printed sample out of FILE.partial
        line = s.go_line(self.width)
        rep = self._rep[s.name] = self._rep.get(s.name, 0) + 1
        if self._json is not None:
            self._json.write(json_sample(s.to_json(rep), first=self.count == 0))
        if self._go is not None:
            self._go.write(line + "\n")
        self.count += 1
        run = self.running.get(s.name)
        if run is None:
            run = self.running[s.name] = Running(s.name)
        run.add(s.values.get("ns/op", math.nan), s.probe.get("zero64k_ns", math.nan), s.probe.get("chain_ns", math.nan))
        if self.echo is not None:
            self.echo(line)

    def finish(self, complete: bool) -> list[str]:
        """Close the files: over their destinations when `complete`, else as
        ``FILE.partial`` (none when no sample finished).  Returns the paths written."""
        written = []
        if self._json is not None:
            self._json.write(json_tail(complete))
        for path, a in self._files:
            if complete or a.tmp is None:  # done, or a device or FIFO written in place
                a.commit()
                written.append(os.fspath(path))
            elif self.count:
                a.commit(os.fspath(path) + ".partial")
                written.append(os.fspath(path) + ".partial")
            else:
                a.discard()
        self._files = []
        return written

    def discard(self) -> None:
        """Remove the temporary files (the destinations are left as they were)."""
        for _, a in self._files:
            a.discard()
        self._files = []


__all__ = ["SampleStream"]

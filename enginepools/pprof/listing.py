"""``-list REGEX``: annotated source of the functions matching REGEX, as go
tool pprof prints it (google/pprof ``internal/report/source.go``:
printSource, getSourceFromFile, openSourceFile).

The graph is at line granularity with no trimming; each matching function's
lines are read from its source file, found as pprof finds it: an absolute
path as it is, a relative one under the current directory or any of its
parents (after pprof's trim-path guess: a path holding ``/<name of the
current directory>/`` is cut after it).  Our own C sources are recorded
relative to the source tree, so ``enginepools top -list ep_pool_get`` run
inside a checkout annotates ``csrc/pool.c``."""
from __future__ import annotations

import dataclasses
import os
import posixpath
from typing import Callable

from . import units
from .build import build
from .gostd import go_regexp
from .nodes import Graph, GraphOptions, Node
from .treereport import report_options
from .work import WorkProfile
from .. import errors

__all__ = ["list_text"]

_MARGIN = 5  # lines shown before the first and after the last sampled line


def list_text(p: WorkProfile, o: GraphOptions | None, symbol: str,
              warn: Callable[[str], None] | None = None, search_path: str | None = None) -> str:
    """The whole ``go tool pprof -list symbol`` output for `p`; sources are
    looked up from `search_path` (default: the current directory)."""
    rx = go_regexp(symbol, "-list")
    o = report_options(o or GraphOptions(), "list")
    g = build(p, dataclasses.replace(o, visual=False, edges=False), warn)
    g.unit = o.unit or "minimum"  # printSource picks no output unit: each value scales on its own
    functions: dict[str, list[Node]] = {}
    for n in g.nodes:
        if rx.search(n.function):
            functions.setdefault(n.function, []).append(n)
    if not functions:
        raise errors.UsageError(f"-list: no matches found for regexp: {symbol}")
    reader = _SourceReader(search_path if search_path is not None else os.getcwd())
    out = [f"Total: {g.format_value(g.total)}"]
    for name in sorted(functions):
        files: dict[str, list[Node]] = {}
        for n in functions[name]:
            if n.filename:
                files.setdefault(n.filename, []).append(n)
        if not files:
            out.append(f"No source information for {name}")
            continue
        for filename in sorted(files):
            fns = files[filename]
            flat_sum = sum(n.flat_raw for n in fns)
            cum_sum = sum(n.cum_raw for n in fns)
            out.append(f"ROUTINE ======================== {name} in {filename}")
            out.append("%10s %10s (flat, cum) %s of Total" % (
                g.format_value(flat_sum), g.format_value(cum_sum), units.percentage(cum_sum, g.total)))
            rows, err = _source_rows(g, filename, reader, fns)
            if err is not None:
                out.append(f" Error: {err}")
                continue
            out.extend(rows)
    return "\n".join(out) + "\n"


def _source_rows(g: Graph, filename: str, reader: "_SourceReader", fns: list[Node]) -> tuple[list[str], str | None]:
    """report.getSourceFromFile: the lines from the function's start (or the
    first sampled line minus 5) to the last sampled line plus 5."""
    first = fns[0]
    start = first.info[4] if first.info[4] != 0 else first.line - _MARGIN
    end = first.line + _MARGIN
    by_line: dict[int, list[Node]] = {}
    for n in fns:
        node_start = n.info[4] if n.info[4] != 0 else n.line - _MARGIN
        node_end = n.line + _MARGIN
        if node_start < start:
            start = node_start
        elif node_end > end:  # (pprof's else: a node extends one end or the other)
            end = node_end
        by_line.setdefault(n.line, []).append(n)
    start = max(start, 1)
    lines, err = reader.lines(filename)
    if err is not None:
        return [], err
    rows = []
    for lineno in range(start, end + 1):
        if lineno >= len(lines):
            break
        ns = by_line.get(lineno, [])
        flat = sum(n.flat_raw for n in ns)
        cum = sum(n.cum_raw for n in ns)
        rows.append("%10s %10s %6d:%s" % (_value_or_dot(g, flat), _value_or_dot(g, cum), lineno, lines[lineno]))
    return rows, None


def _value_or_dot(g: Graph, v: int) -> str:
    return "." if v == 0 else g.format_value(v)


class _SourceReader:
    """report.sourceReader: files read once, as lines numbered from 1."""

    def __init__(self, search_path: str) -> None:
        self.search_path = search_path
        self.files: dict[str, tuple[list[str], str | None]] = {}

    def lines(self, path: str) -> tuple[list[str], str | None]:
        got = self.files.get(path)
        if got is None:
            got = self.files[path] = self._read(path)
        return got

    def _read(self, path: str) -> tuple[list[str], str | None]:
        found, err = _open_source_file(path, self.search_path)
        if found is None:
            return [""], err
        try:
            with open(found, "rb") as f:
                data = f.read()
        except IsADirectoryError:
            return [""], None  # pprof reads no line and reports nothing
        except OSError as e:
            return [""], f"open {found}: {_errno_text(e)}"
        text = data.decode("utf-8", errors="replace")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return [""] + [ln[:-1] if ln.endswith("\r") else ln for ln in lines], None


def _errno_text(e: OSError) -> str:
    """Go's syscall.Errno text ("no such file or directory")."""
    return (e.strerror or str(e)).lower()


def _trim_path(path: str, search_path: str) -> str:
    """report.trimPath with no -trim_path: guess the prefix from the search
    path's last element, else strip /proc/self/cwd."""
    for d in search_path.split(os.pathsep) if search_path else []:
        want = "/" + (posixpath.basename(d.rstrip("/")) or "/") + "/"
        found = path.find(want)
        if found != -1:
            return path[found + len(want):]
    for prefix in ("/proc/self/cwd/./", "/proc/self/cwd/"):
        if path.startswith(prefix):
            return path[len(prefix):]
    return path


def _open_source_file(path: str, search_path: str) -> tuple[str | None, str | None]:
    """report.openSourceFile: (the file to read, None) or (None, pprof's error)."""
    path = _trim_path(path, search_path)
    if posixpath.isabs(path):
        if os.path.exists(path):
            return path, None
        try:
            open(path, "rb").close()
        except OSError as e:
            return None, f"open {path}: {_errno_text(e)}"
        return path, None
    for d in search_path.split(os.pathsep) if search_path else []:
        while True:
            candidate = posixpath.normpath(posixpath.join(d, path))
            if os.path.exists(candidate) and os.access(candidate, os.R_OK):
                return candidate, None
            parent = posixpath.dirname(d) or "."
            if parent == d:
                break
            d = parent
    return None, f"could not find file {path} on path {search_path}"

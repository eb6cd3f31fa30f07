"""Benchmark results in memory, and their writers.

A :class:`BenchResult` holds, per benchmark (the full Go name with its
``-N`` procs suffix), numpy arrays of every sample: iterations, timed
nanoseconds, raw allocation totals, and one float array per unit
(``ns/op``, ``MB/s``, ``B/op``, ``allocs/op``, and a pooled kernel's
``hits/op`` …).  Samples also keep their run order, so the Go text lists
them as they ran (interleaved A B A B …).

Writers:

* :meth:`BenchResult.write_go` — Go benchmark text exactly as ``go test
  -bench -benchmem`` prints it (header ``goos``/``goarch``/``pkg``/``cpu``,
  names padded to one width, Go's number formats and unit order: ns/op,
  MB/s, extra units sorted by name, B/op, allocs/op).  B/op and allocs/op
  are Go's integer quotients; the exact totals are in the JSON.
* :meth:`BenchResult.write_json` — ``enginepools.bench/1``: every sample
  with raw totals (wall ``ns``, ``cpu_ns`` of the measuring threads,
  allocation totals), the run's settings and the machine's metadata; one
  sample a line and ``"complete"`` last (:func:`json_head`,
  :func:`json_sample`, :func:`json_tail`), the layout
  :mod:`enginepools.bench.stream` writes as a run goes.

Both are read back by :mod:`enginepools.bench.benchfmt` (and the text by
benchstat) unchanged.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import IO, Any, Iterable, Mapping

import numpy as np

from . import benchfmt
from .._atomic import atomic_write

#: Units Go computes itself; every other unit is an "extra" printed between them.
STANDARD_UNITS = ("ns/op", "MB/s", "B/op", "allocs/op")


def go_name(kernel: str, procs: int) -> str:
    """``HashBuffer/impl=pool`` at 2 procs → ``BenchmarkHashBuffer/impl=pool-2``
    (no suffix at 1, as Go's benchmarkName)."""
    name = kernel if kernel.startswith("Benchmark") else "Benchmark" + kernel
    return f"{name}-{procs}" if procs != 1 else name


#: Go's testing.prettyPrint cut-offs: at or above the d-th, print d decimals
_PRETTY_BOUNDS = (999.95, 99.995, 9.9995, 0.99995, 0.099995, 0.0099995, 0.00099995)


def pretty(x: float, unit: str) -> str:
    """Go's testing.prettyPrint: 10 places before the point, 4 significant
    figures for small numbers, decimal points aligned."""
    y = abs(x)
    digits = 0 if y == 0 else next((d for d, bound in enumerate(_PRETTY_BOUNDS) if y >= bound), 7)
    width = 10 if digits == 0 else 11 + digits
    return f"{x:{width}.{digits}f} {unit}"


def sample_values(n: int, ns: int, alloc_bytes: int, alloc_objects: int, bytes_per_op: int = 0,
                  extra: Mapping[str, float] | None = None) -> dict[str, float]:
    """The units of one sample, computed as Go's BenchmarkResult does."""
    if n <= 0:
        raise ValueError(f"iterations must be positive, got {n}")
    values: dict[str, float] = {"ns/op": ns / n}
    if bytes_per_op > 0 and ns > 0:
        values["MB/s"] = bytes_per_op * n / 1e6 / (ns / 1e9)
    values["B/op"] = float(alloc_bytes // n)
    values["allocs/op"] = float(alloc_objects // n)
    for unit, v in (extra or {}).items():
        values[str(unit)] = float(v)
    return values


def format_go_line(name: str, iterations: int, values: Mapping[str, float], width: int = 0) -> str:
    """One result line as go test prints it (name padded to `width`)."""
    out = [f"{name:<{width}}", "%8d" % iterations]
    ns = values.get("ns/op")
    if ns:
        out.append(pretty(ns, "ns/op"))
    mbs = values.get("MB/s")
    if mbs:
        out.append("%7.2f MB/s" % mbs)
    for unit in sorted(u for u in values if u not in STANDARD_UNITS):
        out.append(pretty(values[unit], unit))
    if "B/op" in values or "allocs/op" in values:
        out.append("%8d B/op" % int(values.get("B/op", 0)))
        out.append("%8d allocs/op" % int(values.get("allocs/op", 0)))
    return "\t".join(out)


@dataclass
class Series:
    """Every sample of one benchmark (one full name), as numpy arrays."""

    name: str
    kernel: str
    procs: int
    iterations: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ns: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: CPU time of the measuring threads (−1 unknown); ns·threads ≫ cpu_ns means preempted
    cpu_ns: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    alloc_bytes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    alloc_objects: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    values: dict[str, np.ndarray] = field(default_factory=dict)
    #: the machine probe's means while each sample ran (NaN unknown): ns to zero
    #: 64 KiB (store-bound) and ns of a fixed multiply chain (latency-bound)
    probe_zero64k_ns: np.ndarray = field(default_factory=lambda: np.zeros(0))
    probe_chain_ns: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.iterations)

    def append(self, iterations: int, values: Mapping[str, float], ns: int = -1, alloc_bytes: int = -1,
               alloc_objects: int = -1, cpu_ns: int = -1, probe: Mapping[str, float] | None = None) -> int:
        """Add one sample (raw totals −1 when unknown); returns its index."""
        i = len(self)
        for unit in values:
            if unit not in self.values:  # a unit first seen now: earlier samples lack it
                self.values[unit] = np.full(i, np.nan)
        for unit, arr in self.values.items():
            self.values[unit] = np.append(arr, values.get(unit, np.nan))
        self.iterations = np.append(self.iterations, np.int64(iterations))
        self.ns = np.append(self.ns, np.int64(ns))
        self.cpu_ns = np.append(self.cpu_ns, np.int64(cpu_ns))
        self.alloc_bytes = np.append(self.alloc_bytes, np.int64(alloc_bytes))
        self.alloc_objects = np.append(self.alloc_objects, np.int64(alloc_objects))
        probe = probe or {}
        self.probe_zero64k_ns = np.append(self.probe_zero64k_ns, float(probe.get("zero64k_ns", np.nan)))
        self.probe_chain_ns = np.append(self.probe_chain_ns, float(probe.get("chain_ns", np.nan)))
        return i

    def sample(self, i: int) -> dict[str, float]:
        return {u: float(a[i]) for u, a in self.values.items() if not math.isnan(a[i])}

    def median(self, unit: str) -> float:
        a = self.values[unit]
        a = a[~np.isnan(a)]
        return float(np.median(a)) if len(a) else math.nan


@dataclass(frozen=True)
class Sample:
    """One finished sample: what the runner hands a stream (raw totals −1
    when unknown, probe means NaN when unknown)."""

    name: str
    kernel: str
    procs: int
    iterations: int
    values: Mapping[str, float]
    ns: int = -1
    cpu_ns: int = -1
    alloc_bytes: int = -1
    alloc_objects: int = -1
    probe: Mapping[str, float] = field(default_factory=dict)

    def go_line(self, width: int = 0) -> str:
        return format_go_line(self.name, self.iterations, self.values, width)

    def to_json(self, rep: int) -> dict[str, Any]:
        """The sample's JSON object; `rep` is its number within its benchmark (from 1)."""
        d: dict[str, Any] = {"name": self.name, "kernel": self.kernel, "procs": self.procs, "rep": rep,
                             "iterations": self.iterations}
        for key in ("ns", "cpu_ns", "alloc_bytes", "alloc_objects"):
            if getattr(self, key) >= 0:
                d[key] = getattr(self, key)
        d["values"] = {u: v for u, v in self.values.items() if not math.isnan(v)}
        probe = {k: round(float(self.probe[k]), 2) for k in ("zero64k_ns", "chain_ns")
                 if k in self.probe and not math.isnan(self.probe[k])}
        if probe:
            d["probe"] = probe
        return d


def json_head(config: Mapping[str, str], machine: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    """The JSON text up to the first sample (``"samples": [``)."""
    head = json.dumps({"format": benchfmt.JSON_FORMAT, "config": config, "machine": machine, "settings": settings,
                       "samples": []}, indent=1)
    assert head.endswith('"samples": []\n}')
    return head[:-len("]\n}")]


def json_sample(d: Mapping[str, Any], first: bool) -> str:
    """One sample's line of the JSON text."""
    return ("\n  " if first else ",\n  ") + json.dumps(d)


def json_tail(complete: bool) -> str:
    """The JSON text after the last sample; ``complete`` comes last, as only
    the end of a run knows it."""
    return f'\n ],\n "complete": {json.dumps(bool(complete))}\n}}\n'


class BenchResult:
    """Samples of a benchmark run, with its configuration and machine."""

    def __init__(self, config: Mapping[str, str] | None = None, machine: Mapping[str, Any] | None = None,
                 settings: Mapping[str, Any] | None = None) -> None:
        #: Go header lines (goos, goarch, pkg, cpu), in order.
        self.config: dict[str, str] = dict(config or {})
        self.machine: dict[str, Any] = dict(machine or {})
        self.settings: dict[str, Any] = dict(settings or {})
        self.series: dict[str, Series] = {}
        #: (series name, sample index) in the order the samples ran.
        self.order: list[tuple[str, int]] = []
        #: False when the run was interrupted (only finished samples are here).
        self.complete = True

    # ---- building
    def add(self, kernel: str, procs: int, iterations: int, values: Mapping[str, float], *, ns: int = -1,
            alloc_bytes: int = -1, alloc_objects: int = -1, cpu_ns: int = -1,
            probe: Mapping[str, float] | None = None) -> str:
        """Record one sample of `kernel` (``HashBuffer/impl=pool``) at `procs`;
        returns the full Go name it was filed under."""
        name = go_name(kernel, procs)
        s = self.series.get(name)
        if s is None:
            s = self.series[name] = Series(name, kernel, procs)
        i = s.append(iterations, values, ns, alloc_bytes, alloc_objects, cpu_ns, probe)
        self.order.append((name, i))
        return name

    def add_sample(self, s: Sample) -> str:
        """Record a finished :class:`Sample`; returns its full Go name."""
        return self.add(s.kernel, s.procs, s.iterations, s.values, ns=s.ns, alloc_bytes=s.alloc_bytes,
                        alloc_objects=s.alloc_objects, cpu_ns=s.cpu_ns, probe=s.probe)

    def add_raw(self, kernel: str, procs: int, n: int, ns: int, alloc_bytes: int, alloc_objects: int,
                bytes_per_op: int = 0, extra: Mapping[str, float] | None = None, cpu_ns: int = -1,
                probe: Mapping[str, float] | None = None) -> str:
        """Record a sample from the harness's raw totals (units as Go computes them)."""
        values = sample_values(n, ns, alloc_bytes, alloc_objects, bytes_per_op, extra)
        return self.add(kernel, procs, n, values, ns=ns, alloc_bytes=alloc_bytes, alloc_objects=alloc_objects,
                        cpu_ns=cpu_ns, probe=probe)

    @classmethod
    def from_records(cls, records: Iterable[benchfmt.Record]) -> "BenchResult":
        """A result from read records (Go text or JSON; raw totals unknown)."""
        res = cls()
        for r in records:
            if not res.config:
                res.config = dict(r.config)
            kernel = benchfmt.join_name(r.base[len("Benchmark"):] if r.base.startswith("Benchmark") else r.base,
                                        r.sub, None)
            res.add(kernel, r.procs or 1, r.iterations, r.values)
        return res

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> "BenchResult":
        """Load Go text or our JSON (JSON keeps raw totals, machine, settings)."""
        records = benchfmt.read(path)  # validates, and names the file in errors
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if not text.lstrip().startswith("{"):
            return cls.from_records(records)
        doc = json.loads(text)
        res = cls(config=doc.get("config") or {}, machine=doc.get("machine") or {},
                  settings=doc.get("settings") or {})
        res.complete = bool(doc.get("complete", True))
        for rec, raw in zip(records, doc["samples"]):
            kernel = raw.get("kernel") or benchfmt.join_name(rec.base[len("Benchmark"):], rec.sub, None)

            def get(key: str) -> int:
                v = raw.get(key, -1)
                return int(v) if isinstance(v, int) and not isinstance(v, bool) else -1

            probe = raw.get("probe")
            probe = {k: float(v) for k, v in probe.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
                     and k in ("zero64k_ns", "chain_ns")} if isinstance(probe, dict) else None
            res.add(kernel, rec.procs or 1, rec.iterations, rec.values, ns=get("ns"), cpu_ns=get("cpu_ns"),
                    alloc_bytes=get("alloc_bytes"), alloc_objects=get("alloc_objects"), probe=probe)
        return res

    # ---- views
    def __len__(self) -> int:
        return len(self.order)

    def names(self) -> list[str]:
        return list(self.series)

    def __getitem__(self, name: str) -> Series:
        return self.series[name]

    def records(self) -> list[benchfmt.Record]:
        """Samples as benchfmt records, in run order."""
        return [benchfmt.make_record(name, int(self.series[name].iterations[i]), self.series[name].sample(i),
                                     self.config) for name, i in self.order]

    def medians(self) -> dict[str, dict[str, float]]:
        return {name: {u: s.median(u) for u in s.values} for name, s in self.series.items()}

    # ---- Go text
    def header_lines(self) -> list[str]:
        return [f"{k}: {v}" for k, v in self.config.items() if v]

    def format_go(self) -> str:
        width = max((len(n) for n in self.series), default=0)
        lines = self.header_lines()
        for name, i in self.order:
            s = self.series[name]
            lines.append(format_go_line(name, int(s.iterations[i]), s.sample(i), width))
        return "\n".join(lines) + "\n"

    def write_go(self, dest: str | os.PathLike[str] | IO[str]) -> None:
        """Go benchmark text to a path (atomically) or an open text file."""
        _write(dest, self.format_go())

    # ---- JSON
    def _sample_dicts(self) -> Iterable[dict[str, Any]]:
        rep: dict[str, int] = {}
        for name, i in self.order:
            s = self.series[name]
            rep[name] = rep.get(name, 0) + 1
            yield Sample(name, s.kernel, s.procs, int(s.iterations[i]), s.sample(i), ns=int(s.ns[i]),
                         cpu_ns=int(s.cpu_ns[i]), alloc_bytes=int(s.alloc_bytes[i]),
                         alloc_objects=int(s.alloc_objects[i]),
                         probe={"zero64k_ns": float(s.probe_zero64k_ns[i]),
                                "chain_ns": float(s.probe_chain_ns[i])}).to_json(rep[name])

    def to_json(self) -> dict[str, Any]:
        return {"format": benchfmt.JSON_FORMAT, "complete": self.complete, "config": self.config,
                "machine": self.machine, "settings": self.settings, "samples": list(self._sample_dicts())}

    def format_json(self) -> str:
        """The JSON text: the settings, then one sample a line (the layout
        :class:`enginepools.bench.stream.SampleStream` writes as samples finish)."""
        parts = [json_head(self.config, self.machine, self.settings)]
        parts += [json_sample(d, first=k == 0) for k, d in enumerate(self._sample_dicts())]
        parts.append(json_tail(self.complete))
        return "".join(parts)

    def write_json(self, dest: str | os.PathLike[str] | IO[str]) -> None:
        _write(dest, self.format_json())

    # ---- notebooks
    def _repr_html_(self) -> str:
        return summary_html(self)

    def __repr__(self) -> str:
        state = "" if self.complete else ", incomplete"
        return f"<BenchResult {len(self.series)} benchmarks, {len(self)} samples{state}>"


def _write(dest: str | os.PathLike[str] | IO[str], text: str) -> None:
    if isinstance(dest, (str, os.PathLike)):
        with atomic_write(dest, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        dest.write(text)


__all__ = ["BenchResult", "Series", "Sample", "go_name", "pretty", "format_go_line", "sample_values", "STANDARD_UNITS",
           "json_head", "json_sample", "json_tail"]


def summary_html(res: Any) -> str:
    """A :class:`BenchResult` as an HTML table: per benchmark the
    number of samples and, per unit, the median ± the larger side of its
    95% interval (bare median below 6 samples)."""
    from ..render import html
    import numpy as np

    from ..analysis import stats
    
    series = list(res.series.values())
    present = {u for s in series for u in s.values}
    cols = [u for u in STANDARD_UNITS if u in present] + sorted(present - set(STANDARD_UNITS))
    body = []
    for s in series:
        row: list[Any] = [s.name, len(s)]
        for u in cols:
            a = s.values.get(u)
            a = a[~np.isnan(a)] if a is not None else None
            if a is None or a.size == 0:
                row.append("")
                continue
            sm = stats.summarize(a)
            row.append(html.median_ci(sm.center, sm.lo, sm.hi))
        body.append(row)
    notes = [] if res.complete else ["incomplete run (interrupted): only finished samples are shown"]
    return html.table(["benchmark", "samples", *cols], body, caption=f"{len(res)} samples, median ±95% CI",
                      numeric=[False] + [True] * (len(cols) + 1), notes=notes)

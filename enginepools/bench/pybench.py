"""Benchmark any Python callable the way ``go test -bench -benchmem`` does.

Timing (:func:`calibrate`) follows ``testing.B.launch`` of Go 1.19 with
its integer arithmetic: run ``N = 1``, then predict the ``N`` that lasts
``benchtime`` from the last run (``goal * prevN / prevNs``, multiply first),
add 20%, grow at most 100× and at least by one, never past 1e9, until one
run lasts ``benchtime`` (older Go versions also rounded N up to 1, 2, 3 or 5
× 10^k; current Go does not, and neither do we nor the kernel runner).  ``benchtime="100x"`` fixes ``N``.  Then ``count``
samples of ``N`` calls each are timed; each sample's ns/op is its wall time
over ``N`` (the calibrated ``N`` is reused for every sample, as the
interleaving runner does, so the samples are comparable with each other).
A timed run is a plain ``for`` loop, so ns/op includes the ~20–40 ns a
Python call and loop step cost; compare callables with each other, not with
C kernels.

Memory is measured in **separate passes** so measuring never perturbs the
timing:

* ``B/op`` and ``allocs/op`` have Go's ``-benchmem`` meaning, exactly: every
  byte and block allocated during the calls, freed or not, divided by the
  number of calls.  Python's part comes from the allocation counter
  (:mod:`enginepools.bench.pyalloc`: a ``PyMem_SetAllocator`` wrapper over
  the RAW, MEM and OBJ domains, on only during this pass); the part made
  through enginepools' C ``ep_alloc`` path (pool misses, kernel buffers)
  from its accounting.  So a callable that allocates and drops a 64 KiB
  ``bytearray`` counts its 65 593 bytes and 2 blocks (object and buffer) per
  call, and the same callable leasing the buffer from a pool counts none of
  them.  The measuring loop's own fixed blocks per call — what a no-op
  callable shows, :func:`call_overhead` (0 on CPython 3.10–3.13: a plain
  call allocates nothing) — are subtracted.
* ``peak-B/op``: the high-water mark of one call, as before — with
  :mod:`tracemalloc` on, each call runs on its own and records its peak
  above the level at its start (what memray calls the high-water mark).

Each of the ``count`` samples averages ``memory_ops`` calls (default
``min(N / count, 64)``, so the whole pass makes at most N calls), so the memory arrays line up with the timing arrays and a
sample reads as one Go result line.  Results are numpy arrays the
:mod:`enginepools.analysis.stats` functions take directly, and
:meth:`PyBenchResult.records` turns them into :class:`~enginepools.bench.benchfmt.Record`
lines for :mod:`enginepools.analysis.compare` and the Go format.
"""
from __future__ import annotations

from array import array
import itertools
import math
import re
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from . import runner
from ..errors import UsageError
from .runner import MAX_N, BenchTime
from .runner import predict_n as next_n

#: Go's default -benchtime.
DEFAULT_BENCHTIME = "1s"
DEFAULT_COUNT = 6
DEFAULT_MEMORY_OPS = 64

_SECONDS_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*$")


def parse_benchtime(value: "str | float | int | BenchTime", what: str = "benchtime") -> BenchTime:
    """``"1s"``, ``"250ms"``, ``"100x"`` (go test's -benchtime, parsed by the
    kernel runner), or a plain number of seconds (``0.5``, ``"0.5"``)."""
    if isinstance(value, BenchTime):
        return value
    if isinstance(value, bool):
        raise UsageError(f"{what} {value!r}: expected a duration like 1s, 200ms or an iteration count like 100x")
    if isinstance(value, (int, float)) or _SECONDS_RE.match(str(value)):
        secs = float(value)
        if not math.isfinite(secs) or secs <= 0:
            raise UsageError(f"{what} {value!r}: must be a positive number of seconds")
        return BenchTime(ns=max(1, int(round(secs * 1e9))))
    try:
        return runner.parse_benchtime(str(value))
    except UsageError as e:  # name the caller's option, not -benchtime
        raise UsageError(str(e).replace("-benchtime", what, 1)) from None


def parse_count(value: Any, what: str = "count") -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise UsageError(f"{what} {value!r}: expected a positive integer")
    try:
        return runner.parse_count(value)
    except UsageError:
        raise UsageError(f"{what} {value!r}: expected a positive integer") from None


def _timed(func: Callable[..., Any], args: tuple, kwargs: Mapping[str, Any], n: int) -> int:
    """Wall ns of `n` calls."""
    clock = time.perf_counter_ns
    rng = range(n)
    if kwargs:
        t0 = clock()
        for _ in rng:
            func(*args, **kwargs)
        return clock() - t0
    t0 = clock()
    for _ in rng:
        func(*args)
    return clock() - t0


def calibrate(func: Callable[..., Any], args: tuple = (), kwargs: Mapping[str, Any] | None = None,
              benchtime: "str | float | BenchTime" = DEFAULT_BENCHTIME) -> tuple[int, list[tuple[int, int]]]:
    """Go's N search (the kernel runner's).  Returns the final N and every (N, ns) run made."""
    bt = parse_benchtime(benchtime)
    kw = kwargs or {}
    if bt.n:
        return bt.n, [(1, _timed(func, args, kw, 1))]
    return runner.calibrate(lambda n: _timed(func, args, kw, n), bt.ns)


@dataclass
class PyBenchResult:
    """Samples of one benchmark: one entry per ``count`` repetition."""

    name: str
    iterations: np.ndarray  # int64, N of each timing sample
    ns_per_op: np.ndarray  # float64
    bytes_per_op: np.ndarray | None = None  # float64; None when memory was not measured
    allocs_per_op: np.ndarray | None = None
    memory_ops: int = 0  # calls averaged per memory sample
    benchtime: str = DEFAULT_BENCHTIME
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # more units, e.g. pool counters

    @property
    def count(self) -> int:
        return int(self.ns_per_op.size)

    def units(self) -> list[str]:
        out = ["ns/op"]
        if self.bytes_per_op is not None:
            out.append("B/op")
        if self.allocs_per_op is not None:
            out.append("allocs/op")
        return out + list(self.extra)

    def values(self, unit: str = "ns/op") -> np.ndarray:
        table = {"ns/op": self.ns_per_op, "B/op": self.bytes_per_op, "allocs/op": self.allocs_per_op,
                 **self.extra}
        v = table.get(unit)
        if v is None:
            raise KeyError(f"{self.name}: no {unit} samples (have {', '.join(self.units())})")
        return v

    def summary(self, unit: str = "ns/op"):  # -> stats.Summary
        from ..analysis import stats

        return stats.summarize(self.values(unit))

    def go_name(self) -> str:
        """The name as a Go result line needs it (``Benchmark`` prefix, no spaces)."""
        name = re.sub(r"\s+", "_", self.name) or "Anonymous"
        return name if re.match(r"^Benchmark(?![a-z])", name) else "Benchmark" + name[:1].upper() + name[1:]

    def records(self, config: Mapping[str, str] | None = None):  # -> list[benchfmt.Record]
        """One Go result line per sample, every unit on it."""
        from .benchfmt import make_record

        units = self.units()
        return [make_record(self.go_name(), int(self.iterations[i]),
                            {u: float(self.values(u)[i]) for u in units}, config)
                for i in range(self.count)]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "benchtime": self.benchtime, "memory_ops": self.memory_ops,
                "iterations": self.iterations.tolist(),
                "values": {u: self.values(u).tolist() for u in self.units()}}

    def _repr_html_(self) -> str:
        return summary_html(self)


def measure_memory(func: Callable[..., Any], args: tuple = (), kwargs: Mapping[str, Any] | None = None,
                   ops: int = DEFAULT_MEMORY_OPS) -> tuple[float, float]:
    """(B/op, allocs/op) over `ops` calls, Go's meaning: cumulative Python
    and ``ep_alloc`` allocations, less :func:`call_overhead`."""
    b, a = _count(func, args, kwargs or {}, ops)
    ob, oa = call_overhead(ops)
    return max(0.0, b - ob), max(0.0, a - oa)


def measure_peak(func: Callable[..., Any], args: tuple = (), kwargs: Mapping[str, Any] | None = None,
                 ops: int = DEFAULT_MEMORY_OPS) -> float:
    """peak-B/op: the mean over `ops` calls, each traced on its own, of
    tracemalloc's high-water mark above the call's starting level."""
    return _peak(func, args, kwargs or {}, ops)


_OVERHEAD: dict[int, tuple[float, float]] = {}


def _noop() -> None:
    return None


def call_overhead(ops: int = DEFAULT_MEMORY_OPS) -> tuple[float, float]:
    """The interpreter's own (B/op, allocs/op) for calling a no-op callable
    from the measuring loop (the least of three passes of `ops` calls)."""
    if ops not in _OVERHEAD:
        runs = [_count(_noop, (), {}, ops) for _ in range(3)]
        _OVERHEAD[ops] = (min(r[0] for r in runs), min(r[1] for r in runs))
    return _OVERHEAD[ops]


def _count(func: Callable[..., Any], args: tuple, kw: Mapping[str, Any], ops: int) -> tuple[float, float]:
    from .. import _core, alloc_counters

    loop = itertools.repeat(None, ops)  # no int per step, unlike range
    _core.pyalloc_start()
    try:
        func(*args, **kw)  # warm-up: first-call caches are not the callable's allocations
        c0 = alloc_counters()
        p0 = _core.pyalloc_counters()  # read before its own dict is made, which is not counted
        if kw:
            for _ in loop:
                func(*args, **kw)
        else:
            for _ in loop:
                func(*args)
        p1 = _core.pyalloc_counters()
        c1 = alloc_counters()
    finally:
        _core.pyalloc_stop()
    nbytes = p1["alloc_bytes"] - p0["alloc_bytes"] + c1["alloc_bytes"] - c0["alloc_bytes"]
    nobjs = p1["alloc_objects"] - p0["alloc_objects"] + c1["alloc_objects"] - c0["alloc_objects"]
    return nbytes / ops, nobjs / ops


_PEAK_OVERHEAD: dict[int, float] = {}


def _peak(func: Callable[..., Any], args: tuple, kw: Mapping[str, Any], ops: int) -> float:
    if ops not in _PEAK_OVERHEAD:  # what the loop itself shows with a no-op callable
        _PEAK_OVERHEAD[ops] = 0.0
        _PEAK_OVERHEAD[ops] = min(_peak(_noop, (), {}, ops) for _ in range(3))
    peaks = array("q", bytes(8 * ops))  # preallocated: no int objects live across the loop
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start(1)
    try:
        func(*args, **kw)
        get, reset = tracemalloc.get_traced_memory, tracemalloc.reset_peak
        for i in range(ops):
            start = get()[0]
            reset()
            func(*args, **kw)
            peaks[i] = get()[1] - start
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return max(0.0, sum(max(0, p) for p in peaks) / ops - _PEAK_OVERHEAD[ops])


def _memory(func: Callable[..., Any], args: tuple, kw: Mapping[str, Any], count: int,
            mops: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b, a, pk = np.empty(count), np.empty(count), np.empty(count)
    for i in range(count):
        b[i], a[i] = measure_memory(func, args, kw, mops)
        pk[i] = measure_peak(func, args, kw, mops)
    return b, a, pk


def run(func: Callable[..., Any], *args: Any, name: str | None = None,
        benchtime: "str | float | BenchTime" = DEFAULT_BENCHTIME, count: int = DEFAULT_COUNT,
        memory: bool = True, memory_ops: int | None = None, kwargs: Mapping[str, Any] | None = None,
        progress: Callable[[str], None] | None = None) -> PyBenchResult:
    """Calibrate `func(*args, **kwargs)`, time `count` samples of N calls,
    then (when `memory`) measure B/op and allocs/op in a separate pass."""
    if not callable(func):
        raise UsageError(f"benchmark target {func!r} is not callable")
    bt = parse_benchtime(benchtime)
    count = parse_count(count)
    kw = dict(kwargs or {})
    label = name or getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or "callable"
    n, _runs = calibrate(func, args, kw, bt)
    if progress:
        progress(f"{label}: N={n}")
    ns = np.empty(count, dtype=float)
    for i in range(count):
        ns[i] = _timed(func, args, kw, n) / n
    iters = np.full(count, n, dtype=np.int64)
    b = a = None
    extra: dict[str, np.ndarray] = {}
    mops = 0
    if memory:
        mops = max(1, int(memory_ops) if memory_ops is not None else min(n // count, DEFAULT_MEMORY_OPS))
        b, a, extra["peak-B/op"] = _memory(func, args, kw, count, mops)
    return PyBenchResult(label, iters, ns, b, a, mops, str(bt), extra)


def run_interleaved(variants: Mapping[str, Callable[[], Any]], *, benchtime: "str | float | BenchTime" = DEFAULT_BENCHTIME,
                    count: int = DEFAULT_COUNT, memory: bool = True,
                    memory_ops: int | None = None) -> dict[str, PyBenchResult]:
    """Variants of one benchmark, measured as the kernel runner does:
    every variant is calibrated first, then the samples run interleaved
    (A B A B …) so drift hits all alike.  `variants` maps a name (e.g.
    ``"Hash/impl=pool"``) to a callable taking no arguments.  Memory is
    measured afterwards, per variant, as in :func:`run`."""
    if not variants:
        raise UsageError("run_interleaved: no variants given")
    for name, f in variants.items():
        if not callable(f):
            raise UsageError(f"variant {name!r}: {f!r} is not callable")
    bt = parse_benchtime(benchtime)
    count = parse_count(count)
    ns_n = {name: calibrate(f, (), {}, bt)[0] for name, f in variants.items()}
    ns = {name: np.empty(count, dtype=float) for name in variants}
    for i in range(count):
        for name, f in variants.items():
            ns[name][i] = _timed(f, (), {}, ns_n[name]) / ns_n[name]
    out: dict[str, PyBenchResult] = {}
    for name, f in variants.items():
        n = ns_n[name]
        b = a = None
        extra: dict[str, np.ndarray] = {}
        mops = 0
        if memory:
            mops = max(1, int(memory_ops) if memory_ops is not None else min(n // count, DEFAULT_MEMORY_OPS))
            b, a, extra["peak-B/op"] = _memory(f, (), {}, count, mops)
        out[name] = PyBenchResult(name, np.full(count, n, dtype=np.int64), ns[name], b, a, mops, str(bt), extra)
    return out


__all__ = ["BenchTime", "PyBenchResult", "run_interleaved", "parse_benchtime", "parse_count", "next_n", "calibrate",
           "measure_memory", "measure_peak", "call_overhead", "run", "MAX_N", "DEFAULT_BENCHTIME", "DEFAULT_COUNT"]


def summary_html(r: Any) -> str:
    """A :class:`PyBenchResult` (or one like it) as an HTML table."""
    from ..render import html

    rows = []
    for unit in r.units():
        s = r.summary(unit)
        rows.append([unit, html.median_ci(s.center, s.lo, s.hi), s.n])
    return html.table(["unit", "median ±CI", "n"], rows, caption=f"{r.name} (N={int(r.iterations[0])}, "
                      f"benchtime {r.benchtime})", numeric=[False, True, True])

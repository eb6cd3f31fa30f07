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

Memory is measured in a **separate pass** so tracing never perturbs the
timing: with :mod:`tracemalloc` on, each call runs on its own and records

* ``B/op``: Python heap bytes allocated in the call and live at its peak
  (tracemalloc's high-water mark above the level at the call's start — what
  memray calls the high-water mark; for code that allocates a buffer and
  drops it this is the buffer, as Go's B/op) plus the bytes allocated
  through enginepools' C ``ep_alloc`` path (exact and cumulative: pool
  misses, kernel buffers);
* ``allocs/op``: Python heap blocks the call left allocated (tracemalloc
  has no cumulative count, so a call that frees everything it allocates
  counts 0 here — a leak or a growing cache counts) plus the C ``ep_alloc``
  allocations (exact, Go's meaning).

Each of the ``count`` samples averages ``memory_ops`` calls (default
``min(N / count, 64)``, so the whole pass makes at most N calls), so the memory arrays line up with the timing arrays and a
sample reads as one Go result line.  Results are numpy arrays the
:mod:`enginepools.analysis.stats` functions take directly, and
:meth:`PyBenchResult.records` turns them into :class:`~enginepools.bench.benchfmt.Record`
lines for :mod:`enginepools.analysis.compare` and the Go format.
"""
from __future__ import annotations

import gc
from array import array
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
    """(B/op, allocs/op) over `ops` calls, each traced on its own (see the
    module docstring for what the two numbers mean).  What the measuring
    loop itself shows (a few bytes with a no-op callable) is subtracted."""
    b, a = _measure(func, args, kwargs or {}, ops)
    return max(0.0, b - _loop_overhead(ops)), a


_OVERHEAD: dict[int, float] = {}


def _noop() -> None:
    return None


def _loop_overhead(ops: int) -> float:
    if ops not in _OVERHEAD:
        _OVERHEAD[ops] = min(_measure(_noop, (), {}, ops)[0] for _ in range(3))
    return _OVERHEAD[ops]


def _measure(func: Callable[..., Any], args: tuple, kw: Mapping[str, Any], ops: int) -> tuple[float, float]:
    from .. import alloc_counters

    peaks = array("q", bytes(8 * ops))  # preallocated: no int objects live across the loop
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start(1)
    try:
        func(*args, **kw)  # warm-up: first-call caches are not the callable's allocations
        c0 = alloc_counters()
        blocks0 = _traced_blocks()
        get, reset = tracemalloc.get_traced_memory, tracemalloc.reset_peak
        for i in range(ops):
            start = get()[0]
            reset()
            func(*args, **kw)
            peaks[i] = get()[1] - start
        del start, i
        blocks1 = _traced_blocks()
        c1 = alloc_counters()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    c_bytes = c1["alloc_bytes"] - c0["alloc_bytes"]
    c_objs = c1["alloc_objects"] - c0["alloc_objects"]
    return (sum(max(0, p) for p in peaks) + c_bytes) / ops, (max(0, blocks1 - blocks0) + c_objs) / ops


def _traced_blocks() -> int:
    """Live traced blocks (the snapshot only holds what was allocated since
    tracing started, so it is small in the memory pass).  Collecting the
    young generations frees cycles the calls made without paying for a full
    collection of a large process."""
    gc.collect(1)
    return len(tracemalloc.take_snapshot().traces)


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
    mops = 0
    if memory:
        mops = max(1, int(memory_ops) if memory_ops is not None else min(n // count, DEFAULT_MEMORY_OPS))
        b = np.empty(count, dtype=float)
        a = np.empty(count, dtype=float)
        for i in range(count):
            b[i], a[i] = measure_memory(func, args, kw, mops)
    return PyBenchResult(label, iters, ns, b, a, mops, str(bt))


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
        mops = 0
        if memory:
            mops = max(1, int(memory_ops) if memory_ops is not None else min(n // count, DEFAULT_MEMORY_OPS))
            b, a = np.empty(count), np.empty(count)
            for i in range(count):
                b[i], a[i] = measure_memory(f, (), {}, mops)
        out[name] = PyBenchResult(name, np.full(count, n, dtype=np.int64), ns[name], b, a, mops, str(bt))
    return out


__all__ = ["BenchTime", "PyBenchResult", "run_interleaved", "parse_benchtime", "parse_count", "next_n", "calibrate",
           "measure_memory", "run", "MAX_N", "DEFAULT_BENCHTIME", "DEFAULT_COUNT"]


def summary_html(r: Any) -> str:
    """A :class:`PyBenchResult` (or one like it) as an HTML table."""
    from ..render import html

    rows = []
    for unit in r.units():
        s = r.summary(unit)
        rows.append([unit, html.median_ci(s.center, s.lo, s.hi), s.n])
    return html.table(["unit", "median ±CI", "n"], rows, caption=f"{r.name} (N={int(r.iterations[0])}, "
                      f"benchtime {r.benchtime})", numeric=[False, True, True])

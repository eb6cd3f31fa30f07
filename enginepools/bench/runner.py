"""Run benchmark kernels Go's way (DESIGN §3).

* **N**: as Go's testing.B.launch — run N=1, then predict the N that lasts
  ``-benchtime`` from the last run (goal·N/elapsed, +20%, at most 100× the
  last N, at least last+1, at most 1e9) until a run lasts that long.  Old
  Go versions rounded N up to 1, 2, 3, 5·10^k; current Go (checked against
  1.19's testing/benchmark.go) does not, and neither do we.  ``-benchtime
  100x`` fixes N.
* **Warm-up**: that search is the warm-up: its runs are discarded, and every
  variant is calibrated before any is measured; with ``Nx`` one run of N is
  the warm-up.
* **Interleaving**: variants of one benchmark (one kernel group, e.g.
  ``HashBuffer/impl=pool`` and ``/impl=std``) then run A B A B … for
  ``-count`` rounds at their fixed N, so drift hits both alike.
* **-cpu**: each thread count is a separate run of everything, named with
  Go's ``-N`` suffix (none at 1).  Parallel kernels split N over that many
  threads (RunParallel); serial kernels run on one thread, as Go's do.

Ctrl-C is honoured between ~20 ms steps of the C harness: the run stops,
the samples that finished are kept and the result is marked incomplete.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from .. import _core
from . import machine
from .result import BenchResult, Sample, go_name, sample_values
from ..errors import InputError, UsageError
from .._flags import INT64_MAX

MAX_N = 1_000_000_000
DEFAULT_BENCHTIME = "1s"
#: Length of one GIL-released step of the C harness (Ctrl-C latency).
CHUNK_NS = 20_000_000

_DURATION_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                   "m": 60_000_000_000, "h": 3_600_000_000_000}
_DURATION_RE = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


# ---------------------------------------------------------------- flags

@dataclass(frozen=True)
class BenchTime:
    """``-benchtime``: a duration (ns) or a fixed iteration count."""

    ns: int = 0
    n: int = 0

    def __str__(self) -> str:
        return f"{self.n}x" if self.n else _format_duration(self.ns)


def parse_duration(text: str) -> int:
    """Go's time.ParseDuration (``1s``, ``1.5s``, ``100ms``, ``1m30s``) → ns."""
    s = text.strip()
    if not s:
        raise ValueError("empty duration")
    sign = 1
    if s[0] in "+-":
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    pos, total = 0, 0.0
    while pos < len(s):
        m = _DURATION_RE.match(s, pos)
        if not m:
            raise ValueError(f"invalid duration {text!r}")
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if not total <= INT64_MAX:  # Go: "invalid duration" past int64 nanoseconds (~292 years)
        raise ValueError(f"invalid duration {text!r} (out of range)")
    return sign * int(round(total))


def _format_duration(ns: int) -> str:
    for unit, scale in (("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000),
                        ("ms", 1_000_000), ("us", 1_000)):
        if ns >= scale and ns % (scale // 1000 or 1) == 0:
            v = ns / scale
            return f"{v:g}{unit}"
    return f"{ns}ns"


def parse_benchtime(text: str) -> BenchTime:
    """``1s`` / ``500ms`` / ``100x`` as go test's -benchtime; UsageError otherwise."""
    s = str(text).strip()
    if s.endswith("x"):
        try:
            n = int(s[:-1])
        except ValueError:
            n = 0
        if n <= 0:
            raise UsageError(f"-benchtime {text!r}: invalid count (want a positive integer before 'x', like 100x)")
        if n > INT64_MAX:
            raise UsageError(f"-benchtime {text!r}: invalid count (out of range: at most {INT64_MAX}, as Go's)")
        return BenchTime(n=n)
    try:
        ns = parse_duration(s)
    except ValueError:
        raise UsageError(f"-benchtime {text!r}: invalid duration (want e.g. 1s, 500ms or 100x)") from None
    if ns <= 0:
        raise UsageError(f"-benchtime {text!r}: duration must be positive")
    return BenchTime(ns=ns)


def parse_cpu_list(text: str) -> list[int]:
    """``-cpu 1,2,4`` → [1, 2, 4] (Go: each a positive integer)."""
    out: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        try:
            v = int(part)
        except ValueError:
            v = 0
        if v <= 0:
            raise UsageError(f"-cpu {text!r}: invalid value {part!r} (want a comma-separated list of positive "
                             f"thread counts, like 1,2,4)")
        if v > 256:
            raise UsageError(f"-cpu {text!r}: {v} threads is more than the harness's 256")
        out.append(v)
    return out


def parse_count(text: str | int, most: int | None = None) -> int:
    """``-count``: a positive integer, at most `most` — MAX_KEPT_COUNT by
    default, for callers that keep every sample; ``enginepools bench``, which
    streams them, takes up to go test's bound (its -count is an int flag:
    at most 2⁶³−1)."""
    most = MAX_KEPT_COUNT if most is None else most
    try:
        v = int(text)
    except (TypeError, ValueError):
        v = 0
    if v <= 0:
        raise UsageError(f"-count {text!r}: want a positive integer")
    if v > most:
        why = "as go test's" if most >= INT64_MAX else "samples per benchmark: every one is kept for the analysis"
        raise UsageError(f"-count {text!r}: out of range (at most {most}, {why})")
    return v


#: -count's bound where every sample is held in memory (the study, pytest
#: benchmarks); ``enginepools bench`` streams samples and takes up to INT64_MAX
MAX_KEPT_COUNT = 100_000
MAX_COUNT = INT64_MAX


def default_cpus() -> list[int]:
    """Go's default -cpu: GOMAXPROCS, i.e. the usable CPUs."""
    try:
        return [len(os.sched_getaffinity(0))]
    except (AttributeError, OSError):
        return [os.cpu_count() or 1]


# ---------------------------------------------------------------- N prediction

def predict_n(goal_ns: int, prev_n: int, prev_ns: int, last: int) -> int:
    """Go's next N (testing.B.launch): multiply before dividing, +20%, at most
    100× `last`, at least `last`+1, at most 1e9."""
    if prev_ns <= 0:
        prev_ns = 1
    n = goal_ns * prev_n // prev_ns
    n += n // 5
    n = min(n, 100 * last)
    n = max(n, last + 1)
    return min(n, MAX_N)


def calibrate(run: Callable[[int], int], goal_ns: int) -> tuple[int, list[tuple[int, int]]]:
    """Find N as Go does: `run(n)` returns elapsed ns.  Returns the final N
    and the (n, ns) of every run made."""
    runs = []
    n = 1
    ns = run(n)
    runs.append((n, ns))
    while ns < goal_ns and n < MAX_N:
        last = n
        n = predict_n(goal_ns, n, ns, last)
        ns = run(n)
        runs.append((n, ns))
    return n, runs


# ---------------------------------------------------------------- selection

@dataclass(frozen=True)
class Kernel:
    fullname: str  # "HashBuffer/impl=pool"
    name: str
    variant: str
    group: str
    doc: str
    parallel: bool
    bytes_per_op: int


def kernels() -> list[Kernel]:
    return [Kernel(**k) for k in _core.bench_list()]


def _split_pattern(pattern: str) -> list[str]:
    """Split a -bench pattern at '/' outside brackets and parentheses (Go's splitRegexp)."""
    parts, cur, depth_sq, depth_par, esc = [], [], 0, 0, False
    for ch in pattern:
        if esc:
            cur.append(ch)
            esc = False
            continue
        if ch == "\\":
            esc = True
        elif ch == "[":
            depth_sq += 1
        elif ch == "]" and depth_sq:
            depth_sq -= 1
        elif ch == "(" and not depth_sq:
            depth_par += 1
        elif ch == ")" and not depth_sq and depth_par:
            depth_par -= 1
        elif ch == "/" and not depth_sq and not depth_par:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return parts


def compile_pattern(pattern: str) -> list[re.Pattern[str]]:
    out = []
    for p in _split_pattern(pattern):
        try:
            out.append(re.compile(p))
        except re.error as e:
            raise UsageError(f"-bench {pattern!r}: invalid regular expression: {e}") from None
    return out


def matches(levels: Sequence[re.Pattern[str]], fullname: str) -> bool:
    """Go's -bench matching: the i-th '/'-part of the pattern is searched in
    the i-th element of ``Benchmark<Name>/<sub>/…``; missing parts match all."""
    elems = ("Benchmark" + fullname).split("/")
    for pat, elem in zip(levels, elems):
        if not pat.search(elem):
            return False
    return len(levels) <= len(elems) or all(p.pattern == "" for p in levels[len(elems):])


def select(pattern: str = ".", available: Iterable[Kernel] | None = None) -> list[Kernel]:
    levels = compile_pattern(pattern)
    chosen = [k for k in (available if available is not None else kernels()) if matches(levels, k.fullname)]
    if not chosen:
        raise InputError(f"no benchmarks match -bench {pattern!r} (enginepools bench -list shows them)")
    return chosen


def groups(selected: Sequence[Kernel]) -> list[list[Kernel]]:
    """Kernels by group, in order of first appearance."""
    out: dict[str, list[Kernel]] = {}
    for k in selected:
        out.setdefault(k.group, []).append(k)
    return list(out.values())


def plan_size(selected: Sequence[Kernel], cpus: Sequence[int], count: int) -> int:
    """``len(plan(...))``, without making the list (-count may be 2⁶³−1)."""
    return len(selected) * len(cpus) * count


def plan(selected: Sequence[Kernel], cpus: Sequence[int], count: int) -> list[tuple[Kernel, int]]:
    """The sample order: per group and thread count, rounds of A B A B …"""
    order = []
    for g in groups(selected):
        for procs in cpus:
            for _ in range(count):
                order.extend((k, procs) for k in g)
    return order


# ---------------------------------------------------------------- running

class Interrupted(Exception):
    """A Ctrl-C arrived inside the C harness."""


class _Handle:
    def __init__(self, kernel: Kernel, procs: int, chunk_ns: int) -> None:
        self.kernel, self.procs, self.chunk_ns = kernel, procs, chunk_ns
        self.h = _core.bench_open(kernel.fullname, procs)

    def run(self, n: int) -> dict:
        r = _core.bench_run(self.h, n, self.chunk_ns)
        if not r["complete"]:
            raise Interrupted
        return r

    def elapsed(self, n: int) -> int:
        return int(self.run(n)["ns"])

    def close(self) -> None:
        _core.bench_close(self.h)


@dataclass
class Runner:
    """``Runner(select("HashBuffer"), benchtime="1s", count=10, cpus=[1, 2]).run()``"""

    selected: Sequence[Kernel]
    benchtime: BenchTime | str = DEFAULT_BENCHTIME
    count: int = 1
    cpus: Sequence[int] = field(default_factory=default_cpus)
    chunk_ns: int = CHUNK_NS
    #: called with (result, full name, sample index) after every sample kept
    on_sample: Callable[[BenchResult, str, int], None] | None = None
    #: when set, every sample goes here as it finishes and none is kept in the
    #: result (memory does not grow with -count; on_sample is not called)
    stream: Callable[[Sample], None] | None = None
    progress: bool | None = None  # None: a bar on a terminal stderr only
    pattern: str = "."

    def __post_init__(self) -> None:
        if isinstance(self.benchtime, str):
            self.benchtime = parse_benchtime(self.benchtime)
        if self.count < 1:
            raise UsageError(f"-count {self.count}: want a positive integer")
        if not self.cpus:
            raise UsageError("-cpu: empty list")

    def new_result(self) -> BenchResult:
        return BenchResult(config=machine.go_header(), machine=machine.metadata(), settings={
            "bench": self.pattern, "benchtime": str(self.benchtime), "count": self.count,
            "cpu": list(self.cpus), "chunk_ns": self.chunk_ns, "interleaved": True,
            "warmup": "N search (Go's), discarded" if not self.benchtime.n else "one run of N, discarded"})

    def run(self, result: BenchResult | None = None) -> BenchResult:
        """Run everything; on Ctrl-C return what finished with ``complete=False``."""
        res = result if result is not None else self.new_result()
        bt = self.benchtime
        assert isinstance(bt, BenchTime)
        total = plan_size(self.selected, self.cpus, self.count)
        bar = _progress(total, self.progress)
        try:
            for g in groups(self.selected):
                for procs in self.cpus:
                    self._run_group(res, g, procs, bt, bar)
        except (Interrupted, KeyboardInterrupt):
            res.complete = False
        finally:
            if bar is not None:
                bar.close()
        return res

    def _run_group(self, res: BenchResult, group: Sequence[Kernel], procs: int, bt: BenchTime, bar) -> None:
        handles: list[_Handle] = []
        try:
            for k in group:
                handles.append(_Handle(k, procs, self.chunk_ns))
            ns_for: list[int] = []
            for h in handles:  # warm-up and N, every variant before any sample
                if bar is not None:
                    bar.set_postfix_str(f"warm-up {go_name(h.kernel.fullname, procs)}", refresh=False)
                if bt.n:
                    h.run(bt.n)
                    ns_for.append(bt.n)
                else:
                    n, _ = calibrate(h.elapsed, bt.ns)
                    ns_for.append(n)
            for _ in range(self.count):
                for h, n in zip(handles, ns_for):
                    if bar is not None:
                        bar.set_postfix_str(go_name(h.kernel.fullname, procs), refresh=False)
                    r = h.run(n)
                    kernel = h.kernel.fullname
                    sample = Sample(go_name(kernel, procs), kernel, procs, r["n"], sample_values(
                        r["n"], r["ns"], r["alloc_bytes"], r["alloc_objects"], r["bytes_per_op"], r["units"]),
                        ns=r["ns"], cpu_ns=r["cpu_ns"], alloc_bytes=r["alloc_bytes"],
                        alloc_objects=r["alloc_objects"],
                        probe={"zero64k_ns": r["probe_zero64k_ns"], "chain_ns": r["probe_chain_ns"]})
                    if self.stream is not None:
                        self.stream(sample)
                    else:
                        name = res.add_sample(sample)
                        if self.on_sample is not None:
                            self.on_sample(res, name, len(res.series[name]) - 1)
                    if bar is not None:
                        bar.update(1)
        finally:
            for h in handles:
                h.close()


def _progress(total: int, enabled: bool | None):
    if enabled is False:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    disable = None if enabled is None else False  # None: tqdm hides itself when stderr is not a terminal
    return tqdm(total=total, unit="sample", file=sys.stderr, disable=disable, delay=1.0, leave=False,
                dynamic_ncols=True)


def run(pattern: str = ".", benchtime: str = DEFAULT_BENCHTIME, count: int = 1,
        cpus: Sequence[int] | None = None, **kw) -> BenchResult:
    """Library entry point: ``enginepools.bench.runner.run("HashBuffer", "0.1s", count=5)``."""
    return Runner(select(pattern), benchtime=benchtime, count=count, cpus=list(cpus or default_cpus()),
                  pattern=pattern, **kw).run()


__all__ = ["BenchTime", "Kernel", "Runner", "Interrupted", "parse_benchtime", "parse_duration", "parse_cpu_list",
           "parse_count", "MAX_KEPT_COUNT", "MAX_COUNT", "plan_size", "predict_n", "calibrate", "kernels", "select", "matches", "compile_pattern", "groups",
           "plan", "default_cpus", "run"]

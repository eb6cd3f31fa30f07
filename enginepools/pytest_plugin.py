"""pytest plugin: benchmark regression gates that only fail on real regressions.

Registered through the ``pytest11`` entry point, so installing enginepools
enables it.  It adds the ``pool_benchmark`` fixture::

    def test_hash(pool_benchmark):
        pool_benchmark(hash_with_pool, data)            # any Python callable
        # pool_benchmark.kernel("HashBuffer/impl=pool")  # a C kernel (bench runner)

    @pytest.mark.pool_benchmark(count=10, benchtime="50ms", min_hit_rate=0.9)
    def test_pooled(pool_benchmark):
        pool_benchmark(work, pool=my_pool)               # gates read my_pool.stats()

Command line::

    --ep-benchtime 100ms   --ep-count 6        how long and how often to measure
    --ep-save NAME         write .enginepools/NAME.json and NAME.txt (Go format)
    --ep-compare FILE      compare with a saved run (path, or NAME of a saved run)
    --ep-fail-on "ns/op:+10%,B/op:+5%"         fail a test only when the change is
                           statistically significant (U test, p <= --ep-alpha) AND
                           beyond the threshold in the threshold's direction
    --ep-alpha 0.05

A terminal summary lists every benchmark: median ns/op ± CI, B/op,
allocs/op, and Δ / p against the compared run.  Nothing here runs (or
imports numpy/scipy) unless a test uses the fixture.
"""
from __future__ import annotations

import json
import math
import os
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

DEFAULT_BENCHTIME = "100ms"
DEFAULT_COUNT = 6
SAVE_DIR = ".enginepools"
MARKER_OPTIONS = ("count", "benchtime", "memory", "memory_ops", "min_hit_rate", "max_retained_bytes", "name")
_FAIL_ON_RE = re.compile(r"^\s*([^:\s][^:]*?)\s*:\s*([+-]?)\s*([0-9]*\.?[0-9]+)\s*%\s*$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# ---------------------------------------------------------------- options

@dataclass(frozen=True)
class FailOn:
    """One ``--ep-fail-on`` clause: fail when `unit` changes by at least
    `pct` percent in the direction of its sign (+ = got bigger)."""

    unit: str
    pct: float  # signed

    def breached(self, delta_pct: float | None) -> bool:
        if delta_pct is None:
            return False
        return delta_pct >= self.pct if self.pct >= 0 else delta_pct <= self.pct

    def __str__(self) -> str:
        return f"{self.unit}:{self.pct:+g}%"


def parse_fail_on(text: str) -> list[FailOn]:
    """``"ns/op:+10%,B/op:+5%"`` -> clauses; a clear usage error otherwise."""
    out = []
    for item in text.split(","):
        if not item.strip():
            continue
        m = _FAIL_ON_RE.match(item)
        if not m:
            raise pytest.UsageError(
                f"--ep-fail-on {text!r}: cannot read {item.strip()!r}; expected UNIT:+PCT% clauses separated by "
                f"commas, e.g. \"ns/op:+10%\" or \"ns/op:+10%,B/op:+5%\" (- for metrics that must not drop)")
        pct = float(m.group(3))
        out.append(FailOn(m.group(1), -pct if m.group(2) == "-" else pct))
    if not out:
        raise pytest.UsageError(f"--ep-fail-on {text!r}: no clause given; expected e.g. \"ns/op:+10%\"")
    return out


@dataclass
class Entry:
    """One benchmarked test."""

    nodeid: str
    name: str  # Go name, e.g. BenchmarkHashBuffer/impl=pool
    result: Any  # PyBenchResult (or a kernel result with the same surface)
    rows: dict[str, Any] = field(default_factory=dict)  # unit -> compare.Row against the saved run
    pool: dict[str, float] = field(default_factory=dict)  # hit_rate, retained_bytes
    failures: list[str] = field(default_factory=list)


@dataclass
class State:
    benchtime: str | None
    count: int | None
    alpha: float
    save: str | None
    compare_path: Path | None
    fail_on: list[FailOn]
    rootdir: Path
    baseline: list[Any] | None = None  # benchfmt.Record list, read lazily
    entries: list[Entry] = field(default_factory=list)

    def load_baseline(self) -> list[Any]:
        if self.baseline is None:
            from .bench import benchfmt

            assert self.compare_path is not None
            self.baseline = benchfmt.read(self.compare_path)
        return self.baseline


_STATE = pytest.StashKey[State]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("enginepools", "enginepools benchmarks (pool_benchmark fixture)")
    g.addoption("--ep-benchtime", metavar="DURATION", default=None,
                help=f"time per sample, Go style: 100ms, 1s, or an iteration count like 500x "
                     f"(default {DEFAULT_BENCHTIME})")
    g.addoption("--ep-count", metavar="N", default=None,
                help=f"samples per benchmark (default {DEFAULT_COUNT}; >= 4 to compare, >= 6 for a 95%% CI)")
    g.addoption("--ep-save", metavar="NAME", default=None,
                help=f"save this run as {SAVE_DIR}/NAME.json and {SAVE_DIR}/NAME.txt (Go benchmark format)")
    g.addoption("--ep-compare", metavar="FILE", default=None,
                help=f"compare with a saved run: a result file (our JSON or Go text) or the NAME of "
                     f"{SAVE_DIR}/NAME.json")
    g.addoption("--ep-fail-on", metavar="UNIT:+PCT%", default=None,
                help="with --ep-compare: fail a benchmark whose UNIT changed by PCT%% or more in that direction "
                     "AND significantly (Mann-Whitney U, p <= --ep-alpha); comma list, e.g. \"ns/op:+10%%\"")
    g.addoption("--ep-alpha", metavar="ALPHA", default="0.05", help="significance level (default 0.05)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "pool_benchmark(count=, benchtime=, memory=, memory_ops=, min_hit_rate=, max_retained_bytes=, name=): "
        "options for the enginepools pool_benchmark fixture")
    opt = config.option
    benchtime = getattr(opt, "ep_benchtime", None)
    count = getattr(opt, "ep_count", None)
    if benchtime is not None or count is not None:
        from .bench import pybench
        from .errors import UsageError

        try:
            if benchtime is not None:
                pybench.parse_benchtime(benchtime, "--ep-benchtime")
            if count is not None:
                count = pybench.parse_count(count, "--ep-count")
        except UsageError as e:
            raise pytest.UsageError(str(e)) from None
    try:
        alpha = float(opt.ep_alpha)
    except (TypeError, ValueError):
        alpha = -1.0
    if not 0 < alpha < 1:
        raise pytest.UsageError(f"--ep-alpha {opt.ep_alpha!r}: must be a number between 0 and 1")
    save = opt.ep_save
    if save is not None and not _NAME_RE.match(save):
        raise pytest.UsageError(f"--ep-save {save!r}: expected a plain name (letters, digits, . _ -), "
                                f"saved as {SAVE_DIR}/NAME.json")
    rootdir = Path(str(config.rootpath))
    compare_path = _resolve_compare(opt.ep_compare, rootdir) if opt.ep_compare else None
    fail_on = parse_fail_on(opt.ep_fail_on) if opt.ep_fail_on is not None else []
    if fail_on and compare_path is None:
        raise pytest.UsageError("--ep-fail-on needs --ep-compare FILE (the run to compare with)")
    state = State(benchtime, count, alpha, save, compare_path, fail_on, rootdir)
    if compare_path is not None:
        from .errors import EnginepoolsError

        try:
            state.load_baseline()
        except EnginepoolsError as e:
            raise pytest.UsageError(f"--ep-compare: {e}") from None
    config.stash[_STATE] = state


def _resolve_compare(value: str, rootdir: Path) -> Path:
    p = Path(value)
    if p.is_file():
        return p
    for cand in (rootdir / SAVE_DIR / f"{value}.json", rootdir / SAVE_DIR / value):
        if cand.is_file():
            return cand
    raise pytest.UsageError(f"--ep-compare {value!r}: no such file, and no saved run {SAVE_DIR}/{value}.json "
                            f"under {rootdir}")


# ---------------------------------------------------------------- fixture

class PoolBenchmark:
    """The ``pool_benchmark`` fixture: call it with a callable and its
    arguments, or use :meth:`kernel` for a C kernel.  One benchmark per test."""

    def __init__(self, request: pytest.FixtureRequest, state: State) -> None:
        self._request = request
        self._state = state
        marker = request.node.get_closest_marker("pool_benchmark")
        opts: dict[str, Any] = {}
        if marker is not None:
            if marker.args:
                raise pytest.UsageError(f"{request.node.nodeid}: @pytest.mark.pool_benchmark takes keyword "
                                        f"options only ({', '.join(MARKER_OPTIONS)})")
            unknown = [k for k in marker.kwargs if k not in MARKER_OPTIONS]
            if unknown:
                raise pytest.UsageError(f"{request.node.nodeid}: @pytest.mark.pool_benchmark: unknown option "
                                        f"{', '.join(unknown)} (known: {', '.join(MARKER_OPTIONS)})")
            opts = dict(marker.kwargs)
        self.options = opts
        self.result: Any = None
        self.entry: Entry | None = None

    # -- public -------------------------------------------------------------

    def __call__(self, func: Callable[..., Any], *args: Any, pool: Any = None, min_hit_rate: float | None = None,
                 max_retained_bytes: float | None = None, **kwargs: Any) -> Any:
        """Benchmark ``func(*args, **kwargs)``; return what one call returns.

        `pool` (a pool, or a list of pools, with ``.stats()``) is watched
        during the run for the `min_hit_rate` / `max_retained_bytes` gates."""
        return self.run(func, args, kwargs, pool=pool, min_hit_rate=min_hit_rate,
                        max_retained_bytes=max_retained_bytes)

    def run(self, func: Callable[..., Any], args: tuple = (), kwargs: dict[str, Any] | None = None, *,
            pool: Any = None, min_hit_rate: float | None = None, max_retained_bytes: float | None = None,
            name: str | None = None) -> Any:
        """Like calling the fixture, with the callable's arguments given
        explicitly (for callables that take ``pool=`` themselves)."""
        from .bench import pybench
        from .errors import UsageError

        self._check_once()
        opts = self._options(min_hit_rate=min_hit_rate, max_retained_bytes=max_retained_bytes, name=name)
        kw = dict(kwargs or {})
        value = func(*args, **kw)  # the return value, and a warm-up call
        before = _pool_stats(pool)
        try:
            result = pybench.run(func, *args, kwargs=kw, name=opts["name"], benchtime=opts["benchtime"],
                                 count=opts["count"], memory=opts["memory"], memory_ops=opts["memory_ops"])
        except UsageError as e:
            raise pytest.UsageError(f"{self._request.node.nodeid}: {e}") from None
        self._finish(result, opts, pool, before)
        return value

    def kernel(self, name: str, *, min_hit_rate: float | None = None,
               max_retained_bytes: float | None = None) -> Any:
        """Run the C benchmark kernel `name` (``"HashBuffer/impl=pool"``, as
        ``enginepools bench -list`` names them) with the bench runner, on one
        thread.  B/op and allocs/op come from the C allocation accounting;
        the pool gates read the kernel's ``hits/op``, ``misses/op`` and
        ``retained-B`` units.  Returns the result."""
        self._check_once()
        try:
            from .bench import runner
        except ImportError:  # pragma: no cover - a build without the bench harness
            from .errors import EnginepoolsError

            raise EnginepoolsError(f"pool_benchmark.kernel({name!r}): kernels need enginepools bench support "
                                   f"(enginepools.runner is not in this build)") from None
        from .errors import UsageError

        opts = self._options(min_hit_rate=min_hit_rate, max_retained_bytes=max_retained_bytes)
        known = {k.fullname: k for k in runner.kernels()}
        kernel = known.get(name[len("Benchmark"):] if name.startswith("Benchmark") else name)
        if kernel is None:
            raise pytest.UsageError(f"{self._request.node.nodeid}: pool_benchmark.kernel({name!r}): no such kernel "
                                    f"(known: {', '.join(known)})")
        from .bench import pybench

        try:
            bt = str(pybench.parse_benchtime(opts["benchtime"]))  # 0.05 (seconds) -> "50ms", as Go spells it
            res = runner.Runner([kernel], benchtime=bt, count=pybench.parse_count(opts["count"]), cpus=[1],
                                progress=False, pattern=kernel.fullname).run()
        except UsageError as e:
            raise pytest.UsageError(f"{self._request.node.nodeid}: {e}") from None
        if not res.complete:
            raise KeyboardInterrupt
        result = KernelResult(next(iter(res.series.values())), bt, res.config)
        self._finish(result, opts, None, None)
        return result

    # -- internals ----------------------------------------------------------

    def _check_once(self) -> None:
        if self.entry is not None or self.result is not None:
            raise pytest.UsageError(f"{self._request.node.nodeid}: pool_benchmark can run one benchmark per test; "
                                    f"use @pytest.mark.parametrize for variants")

    def _options(self, **given: Any) -> dict[str, Any]:
        st = self._state
        o = {"benchtime": st.benchtime or DEFAULT_BENCHTIME, "count": st.count or DEFAULT_COUNT,
             "memory": True, "memory_ops": None, "min_hit_rate": None, "max_retained_bytes": None, "name": None}
        o.update(self.options)
        o.update({k: v for k, v in given.items() if v is not None})
        o["name"] = o["name"] or go_name(self._request.node)
        return o

    def _finish(self, result: Any, opts: dict[str, Any], pool: Any, before: list[dict[str, float]] | None) -> None:
        st = self._state
        name = result.go_name() if hasattr(result, "go_name") else opts["name"]
        for e in st.entries:
            if e.name == name and e.nodeid != self._request.node.nodeid:
                raise pytest.UsageError(f"{self._request.node.nodeid}: benchmark name {name} is already used by "
                                        f"{e.nodeid}; give one a name (@pytest.mark.pool_benchmark(name=...))")
        entry = Entry(self._request.node.nodeid, name, result)
        self.result, self.entry = result, entry
        st.entries.append(entry)
        if pool is not None:
            entry.pool = _pool_metrics(before or [], _pool_stats(pool) or [])
            _gate_pool(entry, opts)
        elif isinstance(result, KernelResult) and result.has_pool_units():
            entry.pool = result.pool_metrics()
            _gate_pool(entry, opts)
        elif opts["min_hit_rate"] is not None or opts["max_retained_bytes"] is not None:
            entry.failures.append("min_hit_rate / max_retained_bytes need the pool: pool_benchmark(func, ..., "
                                  "pool=the_pool)")
        if st.compare_path is not None:
            _compare_entry(st, entry)
        if entry.failures:
            pytest.fail(f"{name}: " + "; ".join(entry.failures), pytrace=False)


class KernelResult:
    """One kernel's samples (a :class:`~enginepools.benchresult.Series`) with
    the surface the plugin uses for Python callables."""

    def __init__(self, series: Any, benchtime: str, config: dict[str, str]) -> None:
        self.series = series
        self.name = series.name
        self.benchtime = benchtime
        self.config = config
        self.iterations = series.iterations

    def go_name(self) -> str:
        return self.series.name

    def units(self) -> list[str]:
        return list(self.series.values)

    def values(self, unit: str = "ns/op") -> Any:
        import numpy as np

        a = self.series.values[unit]
        return a[~np.isnan(a)]

    def summary(self, unit: str = "ns/op") -> Any:
        from .analysis import stats

        return stats.summarize(self.values(unit))

    def records(self, config: dict[str, str] | None = None) -> list[Any]:
        from .bench.benchfmt import make_record

        return [make_record(self.series.name, int(self.series.iterations[i]), self.series.sample(i), config)
                for i in range(len(self.series))]

    def has_pool_units(self) -> bool:
        return "hits/op" in self.series.values

    def pool_metrics(self) -> dict[str, float]:
        hits = float(self.values("hits/op").sum())
        misses = float(self.values("misses/op").sum()) if "misses/op" in self.series.values else 0.0
        retained = float(self.values("retained-B").max()) if "retained-B" in self.series.values else 0.0
        out = {"retained_bytes": retained}
        if hits + misses > 0:
            out["hit_rate"] = hits / (hits + misses)
        return out

    def _repr_html_(self) -> str:
        from .bench.pybench import summary_html

        return summary_html(self)


@pytest.fixture
def pool_benchmark(request: pytest.FixtureRequest) -> PoolBenchmark:
    """Benchmark a callable (``pool_benchmark(f, *args)``) or a C kernel
    (``pool_benchmark.kernel("HashBuffer/impl=pool")``), Go style."""
    return PoolBenchmark(request, request.config.stash[_STATE])


# ------------------------------------------------------------ naming

def go_name(node: Any) -> str:
    """``test_hash_buffer[impl=pool-64]`` -> ``BenchmarkHashBuffer/impl=pool/64``."""
    raw = getattr(node, "originalname", None) or node.name.split("[")[0]
    base = raw[5:] if raw.startswith("test_") else raw
    camel = "".join(p[:1].upper() + p[1:] for p in re.split(r"[_\s]+", base) if p) or "Anonymous"
    parts = ["Benchmark" + camel]
    callspec = getattr(node, "callspec", None)
    if callspec is not None and getattr(callspec, "id", None):
        parts += [re.sub(r"\s+", "_", p) for p in str(callspec.id).split("-") if p]
    return "/".join(parts)


# ------------------------------------------------------------ pool gates

def _pool_stats(pool: Any) -> list[dict[str, float]] | None:
    if pool is None:
        return None
    pools = list(pool) if isinstance(pool, (list, tuple)) else [pool]
    out = []
    for p in pools:
        if not hasattr(p, "stats"):
            raise pytest.UsageError(f"pool_benchmark(pool=...): {p!r} has no .stats()")
        out.append(_flatten(p.stats()))
    return out


def _flatten(s: Any) -> dict[str, float]:
    """Counters from a stats dict/object; nested per-class dicts are summed."""
    if not isinstance(s, dict):
        s = {k: getattr(s, k) for k in dir(s) if not k.startswith("_") and
             isinstance(getattr(s, k, None), (int, float))}
    out: dict[str, float] = {}
    for k, v in s.items():
        if isinstance(v, bool):
            continue
        if isinstance(v, (int, float)):
            out[k] = out.get(k, 0.0) + float(v)
        elif isinstance(v, dict):
            for kk, vv in _flatten(v).items():
                out[kk] = out.get(kk, 0.0) + vv
        elif isinstance(v, (list, tuple)):
            for item in v:
                if isinstance(item, dict):
                    for kk, vv in _flatten(item).items():
                        out[kk] = out.get(kk, 0.0) + vv
    return out


def _pool_metrics(before: list[dict[str, float]], after: list[dict[str, float]]) -> dict[str, float]:
    hits = misses = 0.0
    retained = 0.0
    for i, a in enumerate(after):
        b = before[i] if i < len(before) else {}
        h = a.get("hits", 0.0) - b.get("hits", 0.0)
        if "misses" in a:
            m = a["misses"] - b.get("misses", 0.0)
        else:
            m = (a.get("gets", 0.0) - b.get("gets", 0.0)) - h
        hits += h
        misses += m
        retained += max(a.get("retained_bytes", 0.0), a.get("peak_retained_bytes", 0.0))
    out = {"retained_bytes": retained, "gets": hits + misses}
    if hits + misses > 0:
        out["hit_rate"] = hits / (hits + misses)
    return out


def _gate_pool(entry: Entry, opts: dict[str, Any]) -> None:
    m = entry.pool
    lo = opts["min_hit_rate"]
    if lo is not None:
        if not 0 <= float(lo) <= 1:
            raise pytest.UsageError(f"{entry.nodeid}: min_hit_rate {lo!r}: expected a fraction between 0 and 1")
        rate = m.get("hit_rate")
        if rate is None:
            entry.failures.append("min_hit_rate: the pool served no gets during the benchmark")
        elif rate < float(lo):
            gets = f" ({m['gets']:.0f} gets during the benchmark)" if "gets" in m else ""
            entry.failures.append(f"pool hit rate {rate:.1%} is below min_hit_rate {float(lo):.1%}{gets}")
    hi = opts["max_retained_bytes"]
    if hi is not None:
        if float(hi) < 0:
            raise pytest.UsageError(f"{entry.nodeid}: max_retained_bytes {hi!r}: must be >= 0")
        if m["retained_bytes"] > float(hi):
            entry.failures.append(f"pool retained {m['retained_bytes']:.0f} B, more than max_retained_bytes "
                                  f"{float(hi):.0f}")


# ------------------------------------------------------------ comparing

def _config() -> dict[str, str]:
    from .bench import machine

    return {"goos": machine.goos(), "goarch": machine.goarch(), "python": platform.python_version(),
            "pkg": "pytest"}


def _compare_entry(st: State, entry: Entry) -> None:
    from .analysis import compare

    old = [r for r in st.load_baseline() if r.name == entry.name]
    if not old:
        return
    new = entry.result.records(_config())
    res = compare.compare_files([_strip_pkg(old), _strip_pkg(new)], ["saved", "current"], alpha=st.alpha)
    entry.rows = {r.unit: r for r in res.rows}
    for clause in st.fail_on:
        row = entry.rows.get(clause.unit)
        if row is None or not row.significant or not clause.breached(row.delta_pct):
            continue
        entry.failures.append(
            f"{clause.unit} regression {row.delta_pct:+.1f}% (median {_fmt(row.old.center)} -> "
            f"{_fmt(row.new.center)}, p={row.p_value:.4f} <= alpha {st.alpha:g}, n={row.old.n}+{row.new.n}) "
            f"breaks --ep-fail-on {clause}")


def _strip_pkg(records: list[Any]) -> list[Any]:
    """Compare by name only: saved files from other tools may carry a pkg."""
    from dataclasses import replace

    return [replace(r, config={k: v for k, v in r.config.items() if k != "pkg"}) for r in records]


# ------------------------------------------------------------ saving

def write_results(st: State, name: str) -> tuple[Path, Path]:
    from .bench import benchfmt
    from ._atomic import write_text

    d = st.rootdir / SAVE_DIR
    d.mkdir(parents=True, exist_ok=True)
    cfg = _config()
    records = [r for e in st.entries for r in e.result.records(cfg)]
    doc = {
        "format": benchfmt.JSON_FORMAT,
        "config": cfg,
        "samples": [{"name": r.name, "iterations": r.iterations, "values": dict(r.values)} for r in records],
        "pytest": {e.name: {"nodeid": e.nodeid, "pool": e.pool} for e in st.entries},
    }
    jpath, tpath = d / f"{name}.json", d / f"{name}.txt"
    write_text(jpath, json.dumps(doc, indent=1, allow_nan=False) + "\n")
    write_text(tpath, benchfmt.format_text(records))
    return jpath, tpath


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    st = session.config.stash.get(_STATE, None)
    if st is None or not st.save or not st.entries:
        return
    if hasattr(session.config, "workerinput"):  # xdist worker: the controller has no entries to save
        return
    paths = write_results(st, st.save)
    st.save = None
    session.config.stash[_SAVED] = paths


_SAVED = pytest.StashKey[tuple[Path, Path]]()


# ------------------------------------------------------------ summary

def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if not math.isfinite(v):
        return "inf"
    mag = abs(v)
    if mag >= 1e4 or float(v).is_integer():
        return f"{v:,.0f}"
    digits = max(0, 3 - int(math.floor(math.log10(mag))))
    return f"{v:.{digits}f}"


def _ci(s: Any) -> str:
    if not s.has_ci or s.center == 0:
        return f"{_fmt(s.center)}"
    return f"{_fmt(s.center)} ±{max(s.center - s.lo, s.hi - s.center) / abs(s.center) * 100:.0f}%"


def summary_rows(st: State) -> tuple[list[str], list[list[str]]]:
    head = ["benchmark", "ns/op (median ±CI)", "B/op", "allocs/op", "Δ ns/op", "p"]
    rows = []
    for e in st.entries:
        r = e.result
        mem = [_fmt(r.summary(u).center) if u in r.units() else "—" for u in ("B/op", "allocs/op")]
        row = e.rows.get("ns/op")
        if st.compare_path is None:
            d, p = "", ""
        elif row is None:
            d, p = "new", ""
        else:
            d = "?" if row.delta_pct is None else f"{row.delta_pct:+.1f}%"
            if not row.significant:
                d += " ~"
            p = "—" if row.p_value is None else f"{row.p_value:.3f}"
        status = " FAIL" if e.failures else ""
        rows.append([e.name + status, _ci(r.summary("ns/op")), *mem, d, p])
    if st.compare_path is None:
        head, rows = head[:4], [row[:4] for row in rows]
    return head, rows


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    st = config.stash.get(_STATE, None)
    if st is None:
        return
    if not st.entries:
        if st.save and getattr(config.option, "numprocesses", None):
            terminalreporter.write_line(f"enginepools: --ep-save {st.save}: nothing saved — benchmarks ran in "
                                        f"pytest-xdist workers; run them without -n (they are noisy in parallel "
                                        f"anyway)")
        return
    tr = terminalreporter
    head, rows = summary_rows(st)
    title = "enginepools benchmarks"
    if st.compare_path is not None:
        title += f" (Δ vs {os.path.relpath(st.compare_path) if st.compare_path.is_absolute() else st.compare_path}, " \
                 f"~ = not significant at α={st.alpha:g})"
    tr.write_sep("-", title)
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(len(head))]
    tr.write_line("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths))))
    for row in rows:
        tr.write_line("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    saved = config.stash.get(_SAVED, None)
    if saved:
        tr.write_line(f"saved: {saved[0]} and {saved[1]}")

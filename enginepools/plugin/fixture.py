"""The object the ``pool_benchmark`` fixture returns (like pytest-benchmark's
``BenchmarkFixture``): it runs one benchmark per test — a Python callable
through :mod:`enginepools.pybench`, or a C kernel through the bench runner —
records it in the session, and applies the gates."""
from __future__ import annotations

import re
from typing import Any, Callable

import pytest

from .gates import gate_fail_on, gate_pool, pool_metrics, pool_stats
from .options import DEFAULT_BENCHTIME, DEFAULT_COUNT
from .session import Entry, State, compare_entry

MARKER_OPTIONS = ("count", "benchtime", "memory", "memory_ops", "min_hit_rate", "max_retained_bytes", "name")


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

        B/op and allocs/op are Go's ``-benchmem`` figures, exact: every Python
        block (counted by the allocation counter) and every ``ep_alloc`` block
        the calls allocate, freed or not; ``peak-B/op`` is tracemalloc's
        high-water mark of one call (see :mod:`enginepools.bench.pybench`).

        `pool` (a pool, or a list of pools, with ``.stats()``) is watched
        during the run for the `min_hit_rate` / `max_retained_bytes` gates."""
        return self.run(func, args, kwargs, pool=pool, min_hit_rate=min_hit_rate,
                        max_retained_bytes=max_retained_bytes)

    def run(self, func: Callable[..., Any], args: tuple = (), kwargs: dict[str, Any] | None = None, *,
            pool: Any = None, min_hit_rate: float | None = None, max_retained_bytes: float | None = None,
            name: str | None = None) -> Any:
        """Like calling the fixture, with the callable's arguments given
        explicitly (for callables that take ``pool=`` themselves)."""
        from ..bench import pybench
        from ..errors import UsageError

        self._check_once()
        opts = self._options(min_hit_rate=min_hit_rate, max_retained_bytes=max_retained_bytes, name=name)
        kw = dict(kwargs or {})
        value = func(*args, **kw)  # the return value, and a warm-up call
        before = pool_stats(pool)
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
        from ..bench import runner
        from ..errors import UsageError

        opts = self._options(min_hit_rate=min_hit_rate, max_retained_bytes=max_retained_bytes)
        known = {k.fullname: k for k in runner.kernels()}
        kernel = known.get(name[len("Benchmark"):] if name.startswith("Benchmark") else name)
        if kernel is None:
            raise pytest.UsageError(f"{self._request.node.nodeid}: pool_benchmark.kernel({name!r}): no such kernel "
                                    f"(known: {', '.join(known)})")
        from ..bench import pybench

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
            entry.pool = pool_metrics(before or [], pool_stats(pool) or [])
            gate_pool(entry, opts)
        elif isinstance(result, KernelResult) and result.has_pool_units():
            entry.pool = result.pool_metrics()
            gate_pool(entry, opts)
        elif opts["min_hit_rate"] is not None or opts["max_retained_bytes"] is not None:
            entry.failures.append("min_hit_rate / max_retained_bytes need the pool: pool_benchmark(func, ..., "
                                  "pool=the_pool)")
        if st.compare_path is not None:
            compare_entry(st, entry)
            gate_fail_on(st, entry)
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
        from ..analysis import stats

        return stats.summarize(self.values(unit))

    def records(self, config: dict[str, str] | None = None) -> list[Any]:
        from ..bench.benchfmt import make_record

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
        from ..bench.pybench import summary_html

        return summary_html(self)


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

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

This module is what pytest registers; it exposes the hooks and the fixture
(pytest collects them by name from here).  The parts are in
:mod:`enginepools.plugin`: ``hooks``, ``fixture`` (the fixture's object),
``session`` (save and compare), ``gates``, ``table``, ``options``.
"""
from __future__ import annotations

import pytest

from .plugin.fixture import MARKER_OPTIONS, KernelResult, PoolBenchmark, go_name
from .plugin.hooks import pytest_addoption, pytest_configure, pytest_sessionfinish, pytest_terminal_summary
from .plugin.options import DEFAULT_BENCHTIME, DEFAULT_COUNT, SAVE_DIR, FailOn, parse_fail_on
from .plugin.session import STATE, Entry, State, write_results
from .plugin.table import summary_rows

__all__ = [
    "pool_benchmark", "pytest_addoption", "pytest_configure", "pytest_sessionfinish", "pytest_terminal_summary",
    "PoolBenchmark", "KernelResult", "go_name", "FailOn", "parse_fail_on", "Entry", "State", "write_results",
    "summary_rows", "DEFAULT_BENCHTIME", "DEFAULT_COUNT", "SAVE_DIR", "MARKER_OPTIONS",
]


@pytest.fixture
def pool_benchmark(request: pytest.FixtureRequest) -> PoolBenchmark:
    """Benchmark a callable (``pool_benchmark(f, *args)``) or a C kernel
    (``pool_benchmark.kernel("HashBuffer/impl=pool")``), Go style."""
    return PoolBenchmark(request, request.config.stash[STATE])

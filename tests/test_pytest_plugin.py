"""The pytest plugin, driven through pytester: save, compare, significant
regressions fail, noise does not, pool gates fire, bad options are usage errors."""
from __future__ import annotations

import json
from importlib.metadata import entry_points

import numpy  # noqa: F401  (imported here, not first inside an inner run: pytester
import pytest  # restores sys.modules after each inline run and numpy cannot be loaded twice)
import scipy.stats  # noqa: F401

from enginepools.bench import benchfmt, pybench
from enginepools.analysis import compare, stats  # noqa: F401
from enginepools.pytest_plugin import FailOn, parse_fail_on

pytest_plugins = ["pytester"]


def _plugin_args() -> list[str]:
    """Load the plugin in the inner run unless the pytest11 entry point
    (an installed enginepools) already does."""
    if any(ep.value == "enginepools.pytest_plugin" for ep in entry_points(group="pytest11")):
        return []
    return ["-p", "enginepools.pytest_plugin"]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # the plugin module is already imported by this process, so pytest cannot rewrite its asserts
    # (other installed plugins are blocked: hypothesis alone costs seconds a run)
    return pytester.runpytest(*_plugin_args(), "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                              "-p", "no:benchmark", "-p", "no:xdist", "-W",
                              "ignore::pytest.PytestAssertRewriteWarning", *args)


# A "work" of 1 ms, or 2 ms when EP_SLOW is set, on a virtual clock (the
# clock pybench reads is replaced, so time passes only as `work` says): the
# regression is exact, each run's noise is its own (±2%, seeded by the run's
# number), and nothing depends on how busy the machine is.
SLEEPER = """
import os, pathlib, random
import pytest
from enginepools.bench import pybench

DELAY_NS = 2_000_000 if os.environ.get("EP_SLOW") else 1_000_000


class Clock:
    now = 0

    def perf_counter_ns(self):
        return self.now


@pytest.mark.pool_benchmark(benchtime="8x", count=6)
def test_sleep(pool_benchmark, monkeypatch):
    runs = pathlib.Path("runs")
    k = int(runs.read_text()) if runs.exists() else 0
    runs.write_text(str(k + 1))
    rng = random.Random(k)
    clock = Clock()
    monkeypatch.setattr(pybench, "time", clock)

    def work():
        clock.now += int(DELAY_NS * rng.uniform(0.98, 1.02))

    pool_benchmark(work)
"""

FAIL_ON = "ns/op:+25%"


def test_save_writes_json_and_go_text(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bench="""
        import pytest

        def build(n):
            return bytearray(n)

        @pytest.mark.parametrize("size", [64, 4096])
        def test_alloc(pool_benchmark, size):
            assert pool_benchmark(build, size) == bytearray(size)

        def test_plain():
            assert True
    """)
    res = run(pytester, "--ep-save", "base", "--ep-benchtime", "20x", "--ep-count", "4")
    res.assert_outcomes(passed=3)
    res.stdout.fnmatch_lines(["*enginepools benchmarks*", "benchmark*ns/op (median ±CI)*B/op*allocs/op*",
                              "BenchmarkAlloc/64 *", "BenchmarkAlloc/4096 *", "saved: *base.json and *base.txt"])
    doc = json.loads((pytester.path / ".enginepools" / "base.json").read_text())
    assert doc["format"] == "enginepools.bench/1"
    names = [s["name"] for s in doc["samples"]]
    assert names.count("BenchmarkAlloc/64") == 4 and names.count("BenchmarkAlloc/4096") == 4
    recs = benchfmt.read(pytester.path / ".enginepools" / "base.txt")
    big = [r for r in recs if r.name == "BenchmarkAlloc/4096"]
    assert all(r.iterations == 20 and r.values["B/op"] >= 4096 for r in big)
    assert {r.name for r in benchfmt.read(pytester.path / ".enginepools" / "base.json")} == set(names)


def test_no_fixture_no_output_no_files(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_ok():\n    assert 1\n")
    res = run(pytester, "--ep-save", "x")
    res.assert_outcomes(passed=1)
    assert "enginepools benchmarks" not in res.stdout.str()
    assert not (pytester.path / ".enginepools").exists()


def test_compare_shows_delta_and_p(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sleep=SLEEPER)
    run(pytester, "--ep-save", "base").assert_outcomes(passed=1)
    res = run(pytester, "--ep-compare", "base")
    res.assert_outcomes(passed=1)
    res.stdout.fnmatch_lines(["*Δ vs *base.json*", "benchmark*Δ ns/op*p", "BenchmarkSleep *%*0.*"])


def test_significant_regression_fails(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_sleep=SLEEPER)
    run(pytester, "--ep-save", "base").assert_outcomes(passed=1)
    monkeypatch.setenv("EP_SLOW", "1")
    res = run(pytester, "--ep-compare", "base", "--ep-fail-on", FAIL_ON)
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines(["*BenchmarkSleep: ns/op regression +*% (median * -> *, p=0.0* <= alpha 0.05, "
                              "n=6+6) breaks --ep-fail-on ns/op:+25%*",
                              "BenchmarkSleep FAIL*"])
    # the same slowdown with a threshold it does not reach passes
    run(pytester, "--ep-compare", "base", "--ep-fail-on", "ns/op:+500%").assert_outcomes(passed=1)


def test_noise_alone_does_not_fail(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sleep=SLEEPER)
    run(pytester, "--ep-save", "base").assert_outcomes(passed=1)
    res = run(pytester, "--ep-compare", "base", "--ep-fail-on", FAIL_ON)
    res.assert_outcomes(passed=1)


def test_big_but_not_significant_change_does_not_fail(pytester: pytest.Pytester,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # 2 samples a side can never reach p <= 0.05: a doubling is reported, not failed.
    pytester.makepyfile(test_sleep=SLEEPER.replace("count=6", "count=2"))
    run(pytester, "--ep-save", "base").assert_outcomes(passed=1)
    monkeypatch.setenv("EP_SLOW", "1")
    res = run(pytester, "--ep-compare", "base", "--ep-fail-on", FAIL_ON)
    res.assert_outcomes(passed=1)
    res.stdout.fnmatch_lines(["BenchmarkSleep *+*% ~ *—"])


def test_memory_regression_gate(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_mem="""
        import os
        SIZE = 8192 if os.environ.get("EP_BIG") else 4096

        def test_buf(pool_benchmark):
            pool_benchmark(bytearray, SIZE)
    """)
    run(pytester, "--ep-save", "base", "--ep-benchtime", "10x").assert_outcomes(passed=1)
    run(pytester, "--ep-compare", "base", "--ep-benchtime", "10x",
        "--ep-fail-on", "B/op:+10%").assert_outcomes(passed=1)
    monkeypatch.setenv("EP_BIG", "1")
    res = run(pytester, "--ep-compare", "base", "--ep-benchtime", "10x", "--ep-fail-on", "ns/op:+1000%,B/op:+10%")
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines(["*B/op regression +9*.*% (median 4,1* -> 8,2*, p=0.002* *breaks --ep-fail-on B/op:+10%*"])


FAKE_POOL = """
import pytest

class FakePool:
    def __init__(self, cap):
        self.free, self.cap = [], cap
        self.hits = self.misses = 0
    def get(self):
        if self.free:
            self.hits += 1
            return self.free.pop()
        self.misses += 1
        return bytearray(1024)
    def put(self, b):
        if len(self.free) < self.cap:
            self.free.append(b)
    def stats(self):
        return {"hits": self.hits, "misses": self.misses, "gets": self.hits + self.misses,
                "retained_bytes": 1024 * len(self.free)}

def churn(pool):
    a, b = pool.get(), pool.get()
    pool.put(a); pool.put(b)

@pytest.mark.pool_benchmark(benchtime="50x", count=4, min_hit_rate=0.9)
def test_hit_rate(pool_benchmark):
    pool = FakePool(cap=CAP)
    pool_benchmark(churn, pool, pool=pool)

def test_retained(pool_benchmark):
    pool = FakePool(cap=CAP)
    pool_benchmark(churn, pool, pool=pool, max_retained_bytes=1024)
"""


def test_pool_gates_fire(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_pool=FAKE_POOL.replace("CAP", "1"))  # retains one buffer: half the gets miss
    res = run(pytester, "--ep-benchtime", "50x", "--ep-count", "4")
    res.assert_outcomes(failed=1, passed=1)
    res.stdout.fnmatch_lines(["*BenchmarkHitRate: pool hit rate 5*% is below min_hit_rate 90.0%*"])

    pytester.makepyfile(test_pool=FAKE_POOL.replace("CAP", "2"))  # keeps both: ~100% hits, 2 KiB retained
    res = run(pytester, "--ep-benchtime", "50x", "--ep-count", "4")
    res.assert_outcomes(failed=1, passed=1)
    res.stdout.fnmatch_lines(["*BenchmarkRetained: pool retained 2048 B, more than max_retained_bytes 1024*"])


def test_gates_read_a_real_buffer_pool(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_real="""
        import enginepools

        def churn(pool):
            pool.put(pool.get())

        def test_hits(pool_benchmark):
            pool = enginepools.BufferPool("tar")
            pool_benchmark(churn, pool, pool=pool, min_hit_rate=0.99)

        def test_retained(pool_benchmark):
            pool = enginepools.BufferPool("tar")
            pool_benchmark(churn, pool, pool=pool, max_retained_bytes=1024)
    """)
    res = run(pytester, "--ep-benchtime", "200x", "--ep-count", "4")
    res.assert_outcomes(passed=1, failed=1)
    res.stdout.fnmatch_lines(["*BenchmarkRetained: pool retained 65536 B, more than max_retained_bytes 1024*"])


def test_gate_without_pool_is_reported(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_g="""
        def test_g(pool_benchmark):
            pool_benchmark(len, "x", min_hit_rate=0.5)
    """)
    res = run(pytester, "--ep-benchtime", "10x", "--ep-count", "2")
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines(["*min_hit_rate / max_retained_bytes need the pool*"])


@pytest.mark.parametrize("spec", ["ns/op", "ns/op:+10", "ns/op:ten%", ":+10%", ",", "ns/op:+10%,B/op"])
def test_bad_fail_on_specs(spec: str) -> None:
    with pytest.raises(pytest.UsageError, match=r"--ep-fail-on .*expected"):
        parse_fail_on(spec)


def test_bad_fail_on_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sleep=SLEEPER)
    (pytester.path / "base.txt").write_text("BenchmarkSleep 1 1 ns/op\n")
    res = run(pytester, "--ep-compare", "base.txt", "--ep-fail-on", "ns/op:+10")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    assert "--ep-fail-on 'ns/op:+10': cannot read 'ns/op:+10'; expected UNIT:+PCT% clauses" in res.stderr.str()


@pytest.mark.parametrize("args, message", [
    (["--ep-fail-on", "ns/op:+10%"], "--ep-fail-on needs --ep-compare"),
    (["--ep-compare", "nope"], "--ep-compare 'nope': no such file"),
    (["--ep-benchtime", "fast"], "--ep-benchtime 'fast'"),
    (["--ep-count", "0"], "--ep-count '0': expected a positive integer"),
    (["--ep-alpha", "2"], "--ep-alpha '2': must be a number between 0 and 1"),
    (["--ep-save", "../x"], "--ep-save '../x': expected a plain name"),
])
def test_bad_options_are_usage_errors(pytester: pytest.Pytester, args: list[str], message: str) -> None:
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    res = run(pytester, *args)
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    assert message in res.stderr.str()


def test_bad_compare_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    (pytester.path / "junk.txt").write_text("BenchmarkX 10 fast ns/op\n")
    res = run(pytester, "--ep-compare", "junk.txt")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    assert "junk.txt:1: BenchmarkX: malformed value 'fast'" in res.stderr.str()


def test_unknown_marker_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_m="""
        import pytest

        @pytest.mark.pool_benchmark(cont=3)
        def test_m(pool_benchmark):
            pool_benchmark(len, "x")
    """)
    res = run(pytester)
    assert "unknown option cont" in res.stdout.str() + res.stderr.str()
    assert res.ret != 0


def test_kernels_run_with_c_accounting_and_gates(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_k="""
        import pytest

        @pytest.mark.pool_benchmark(min_hit_rate=0.9)
        def test_pool(pool_benchmark):
            r = pool_benchmark.kernel("TarBuffer/impl=pool")
            assert r.summary("hits/op").center == 1.0

        @pytest.mark.pool_benchmark(benchtime=0.002)  # seconds, as for callables
        def test_std(pool_benchmark):
            pool_benchmark.kernel("TarBuffer/impl=std")

        def test_retained(pool_benchmark):
            pool_benchmark.kernel("HashBuffer/impl=pool", max_retained_bytes=4096)

        def test_unknown(pool_benchmark):
            pool_benchmark.kernel("NoSuchKernel")
    """)
    res = run(pytester, "--ep-benchtime", "200x", "--ep-count", "4", "--ep-save", "k")
    res.assert_outcomes(passed=2, failed=2)
    out = res.stdout.str()
    assert "BenchmarkHashBuffer/impl=pool: pool retained 65536 B, more than max_retained_bytes 4096" in out
    assert "no such kernel (known: Empty," in out
    recs = benchfmt.read(pytester.path / ".enginepools" / "k.txt")
    std = [r for r in recs if r.name == "BenchmarkTarBuffer/impl=std"]
    pool = [r for r in recs if r.name == "BenchmarkTarBuffer/impl=pool"]
    assert len(std) == 4 and all(r.values["B/op"] == 65536 and r.values["allocs/op"] == 1 for r in std)
    assert std[0].iterations != 200  # its marker's benchtime won over --ep-benchtime 200x
    assert len(pool) == 4 and all(r.values["B/op"] == 0 for r in pool)
    res.stdout.fnmatch_lines(["BenchmarkTarBuffer/impl=pool  *  0  *0", "BenchmarkTarBuffer/impl=std  *65,536*1"])


def test_fail_on_parsing() -> None:
    assert parse_fail_on("ns/op:+10%, B/op:5%,hits/op:-2.5%") == [FailOn("ns/op", 10.0), FailOn("B/op", 5.0),
                                                                 FailOn("hits/op", -2.5)]
    up, down = FailOn("ns/op", 10.0), FailOn("hits/op", -5.0)
    assert up.breached(10.0) and up.breached(40.0) and not up.breached(9.9) and not up.breached(-50.0)
    assert down.breached(-5.0) and not down.breached(-4.0) and not down.breached(30.0)
    assert not up.breached(None)


def test_loading_the_plugin_stays_cheap() -> None:
    # every pytest run of a project with enginepools installed loads the plugin:
    # it must not pull in numpy/scipy/matplotlib until a test uses the fixture
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, enginepools.pytest_plugin; "
            "print(sorted(m for m in ('numpy', 'scipy', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"


def test_python_memory_is_go_benchmem(pytester: pytest.Pytester) -> None:
    # B/op and allocs/op are cumulative (Go's -benchmem), exact; the
    # tracemalloc high-water figure is reported as peak-B/op
    pytester.makepyfile(test_mem="""
        import sys
        from enginepools import BufferPool

        POOL = BufferPool(default_size=4096)

        def fresh():
            bytearray(4096)  # allocated and dropped: counts every call

        def pooled():
            POOL.put(POOL.get())

        def test_fresh(pool_benchmark):
            pool_benchmark(fresh)
            r = pool_benchmark.result
            assert r.values("allocs/op").tolist() == [2.0] * 3  # object + buffer
            assert r.values("B/op").tolist() == [4096 + 1 + sys.getsizeof(bytearray())] * 3
            assert all(v >= 4096 for v in r.values("peak-B/op"))

        def test_pooled(pool_benchmark):
            pool_benchmark(pooled, pool=POOL)
            r = pool_benchmark.result
            assert r.values("allocs/op").tolist() == [1.0] * 3  # the lease object, not the buffer
            assert r.values("B/op").tolist() == [sys.getsizeof(POOL.get())] * 3
    """)
    run(pytester, "--ep-benchtime", "20x", "--ep-count", "3").assert_outcomes(passed=2)

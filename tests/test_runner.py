"""The runner: Go's N prediction, flag parsing, -bench matching, the
interleaved order, and exact B/op through a real (tiny) run."""
from __future__ import annotations

import pytest

from enginepools.bench import runner
from enginepools.errors import InputError, UsageError


# ---- N prediction (testing.B.launch)

def test_predict_n_grows_at_most_100x_and_by_at_least_one():
    assert runner.predict_n(10**9, 1, 1000, 1) == 100          # wants 1.2e6, capped at 100×1
    assert runner.predict_n(10**9, 100, 10**5, 100) == 10_000
    assert runner.predict_n(10**9, 10**6, 5 * 10**8, 10**6) == 2_400_000  # 2e6 + 20%
    assert runner.predict_n(10, 5, 10**6, 5) == 6                # never fewer than last+1
    assert runner.predict_n(10**9, 10, 0, 10) == 1000            # zero elapsed treated as 1 ns
    assert runner.predict_n(10**12, 10**8, 1, 10**8) == 10**9    # at most 1e9


def test_calibrate_follows_gos_sequence():
    per_op = 1000  # ns
    n, runs = runner.calibrate(lambda n: n * per_op, 10**9)
    assert [r[0] for r in runs] == [1, 100, 10_000, 1_000_000]
    assert n == 1_000_000


def test_calibrate_stops_at_1e9():
    n, runs = runner.calibrate(lambda n: 0, 10**9)
    assert n == 10**9 and runs[-1][0] == 10**9


# ---- flags

@pytest.mark.parametrize("text,ns,n", [("1s", 10**9, 0), ("100ms", 10**8, 0), ("1.5s", 1_500_000_000, 0),
                                       ("1m30s", 90 * 10**9, 0), ("250us", 250_000, 0), ("100x", 0, 100)])
def test_parse_benchtime(text, ns, n):
    bt = runner.parse_benchtime(text)
    assert (bt.ns, bt.n) == (ns, n)


@pytest.mark.parametrize("text", ["", "0s", "-1s", "abc", "0x", "1.5x", "-3x", "10", "1 s", "x"])
def test_bad_benchtime_is_a_usage_error(text):
    with pytest.raises(UsageError, match="-benchtime"):
        runner.parse_benchtime(text)


def test_parse_cpu_list_and_count():
    assert runner.parse_cpu_list("1,2,4") == [1, 2, 4]
    assert runner.parse_cpu_list(" 2 ") == [2]
    for bad in ["0", "a", "1,,2", "", "-1", "1000"]:
        with pytest.raises(UsageError, match="-cpu"):
            runner.parse_cpu_list(bad)
    assert runner.parse_count("10") == 10
    for bad in ["0", "-2", "ten", "1.5"]:
        with pytest.raises(UsageError, match="-count"):
            runner.parse_count(bad)


# ---- -bench matching (per '/' level, as go test)

def names(pattern: str) -> list[str]:
    return [k.fullname for k in runner.select(pattern)]


def test_bench_pattern_matches_per_level():
    assert names("HashBuffer/impl=std$") == ["HashBuffer/impl=std"]
    assert set(names("HashBuffer")) == {"HashBuffer/impl=pool", "HashBuffer/impl=pool-noclear",
                                        "HashBuffer/impl=std"}
    assert names("SHA256/size=1MiB") == ["SHA256/size=1MiB"]
    assert names("^BenchmarkEmpty$") == ["Empty"]
    assert "StringBuilder/impl=std" in names("/std")  # empty first level matches every benchmark
    assert names("Tar(Buffer)/impl=(memcpy)") == ["TarBuffer/impl=memcpy"]  # '/' inside () does not split


def test_no_match_and_bad_regex():
    with pytest.raises(InputError, match="no benchmarks match -bench 'Nothing'"):
        runner.select("Nothing")
    with pytest.raises(UsageError, match="invalid regular expression"):
        runner.select("Hash(")


# ---- interleaving

def test_plan_interleaves_variants_per_group_and_cpu():
    ks = runner.select("HashBuffer|PoolGetPut|MallocFree/impl|size=64$")
    order = [(k.fullname, p) for k, p in runner.plan(ks, [1, 2], 2)]
    hb = ["HashBuffer/impl=pool", "HashBuffer/impl=pool-noclear", "HashBuffer/impl=std"]
    gp = ["PoolGetPut/size=64", "MallocFree/size=64"]
    want = [(n, 1) for n in hb * 2] + [(n, 2) for n in hb * 2] + [(n, 1) for n in gp * 2] + \
           [(n, 2) for n in gp * 2]
    assert order == want


def test_run_records_samples_interleaved_with_exact_allocs():
    seen = []
    r = runner.Runner(runner.select("HashBuffer"), benchtime="20x", count=3, cpus=[1],
                      on_sample=lambda res, name, i: seen.append(name), progress=False)
    res = r.run()
    assert res.complete
    assert seen == ["BenchmarkHashBuffer/impl=pool", "BenchmarkHashBuffer/impl=pool-noclear",
                    "BenchmarkHashBuffer/impl=std"] * 3
    std = res["BenchmarkHashBuffer/impl=std"]
    assert list(std.iterations) == [20, 20, 20]
    assert list(std.values["B/op"]) == [32, 32, 32] and list(std.values["allocs/op"]) == [1, 1, 1]
    pool = res["BenchmarkHashBuffer/impl=pool"]
    assert list(pool.values["B/op"]) == [0, 0, 0] and list(pool.values["allocs/op"]) == [0, 0, 0]
    assert list(pool.values["misses/op"]) == [0, 0, 0]  # the warm-up took the miss
    assert res.config["goos"] and res.machine["enginepools"] and res.settings["benchtime"] == "20x"


def test_duration_benchtime_reaches_the_goal():
    res = runner.run("SHA256/size=1KiB", "0.02s", count=1, cpus=[1], progress=False)
    s = res["BenchmarkSHA256/size=1KiB"]
    # N was calibrated so that a run lasts 20 ms; the sample reruns that N, so
    # it lasts about as long (machine noise aside)
    assert s.ns[0] >= 5_000_000 and s.iterations[0] > 1
    assert s.values["MB/s"][0] > 0


def test_parallel_kernel_named_with_procs():
    res = runner.run("PoolGetPut/size=64$", "200x", count=1, cpus=[1, 2], progress=False)
    assert res.names() == ["BenchmarkPoolGetPut/size=64", "BenchmarkPoolGetPut/size=64-2"]


# ---- -count: go test's bound, samples streamed -------------------------------------

def test_count_bounds():
    # enginepools bench streams: up to go test's -count (cmd/go parses it as an int: 2**63-1)
    assert runner.parse_count(str(2 ** 63 - 1), most=runner.MAX_COUNT) == 2 ** 63 - 1
    with pytest.raises(UsageError, match=r"-count '9223372036854775808': out of range \(at most 9223372036854775807"):
        runner.parse_count(str(2 ** 63), most=runner.MAX_COUNT)
    # callers that keep every sample (study, pytest benchmarks) stay at 100,000
    assert runner.parse_count("100000") == 100_000
    with pytest.raises(UsageError, match="at most 100000"):
        runner.parse_count("100001")


def test_plan_size_is_the_plans_length():
    ks = runner.select("StringBuilder|SHA256")
    assert runner.plan_size(ks, [1, 2], 3) == len(runner.plan(ks, [1, 2], 3)) == 4 * 2 * 3


def _streamed(pattern: str, count: int, sink) -> tuple[object, int]:
    """The result of a streamed run, and the peak of Python's traced memory during it."""
    import tracemalloc

    r = runner.Runner(runner.select(pattern), benchtime="1x", count=count, cpus=[1], progress=False, stream=sink)
    tracemalloc.start()
    try:
        res = r.run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return res, peak


def test_streamed_run_keeps_no_sample_and_memory_does_not_grow_with_count():
    seen = []
    res, _ = _streamed("StringBuilder", 5, seen.append)
    assert [s.name for s in seen] == ["BenchmarkStringBuilder/impl=pool", "BenchmarkStringBuilder/impl=std"] * 5
    assert all(s.iterations == 1 and s.values["ns/op"] > 0 for s in seen)
    assert len(res) == 0 and res.series == {} and res.complete  # every sample went to the stream, none kept
    _, small = _streamed("Empty$", 1_000, lambda s: None)
    _, large = _streamed("Empty$", 10_000, lambda s: None)
    # 9,000 samples more: kept, they would cost > 2 MB (a sample's values dict alone is > 200 bytes)
    assert large < small * 1.5 + 64 * 1024, (small, large)

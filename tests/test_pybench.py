"""enginepools.bench.pybench: Go-style calibration and -benchmem for Python callables."""
from __future__ import annotations

import sys
import time
import itertools

import numpy as np
import pytest

from enginepools.bench import benchfmt, pybench
from enginepools.analysis import compare, stats
from enginepools.errors import UsageError


def test_next_n_follows_go_launch() -> None:
    # 1 run of 1 call took 1 µs: predict 1e9/1e3 = 1e6, +20%, capped at 100x growth.
    assert pybench.next_n(1_000_000_000, 1, 1_000, 1) == 100
    # prediction within the growth cap: goal*prev/prevns + 20%
    assert pybench.next_n(1_000_000_000, 100, 100_000_000, 100) == 1_200
    assert pybench.next_n(1_000_000_000, 100, 10_000_000, 100) == 10_000  # 12000 capped at 100x
    # never fewer than last+1, never past 1e9
    assert pybench.next_n(1_000_000_000, 10, 10_000_000_000, 10) == 11
    assert pybench.next_n(10**12, 10**8, 1, 10**8) == pybench.MAX_N
    # multiply before dividing: a 0.5 ns/op kernel is not rounded to 0 or 1 ns
    assert pybench.next_n(1_000, 1_000, 500, 1_000) == 2_400


class VirtualClock:
    """Stands in for the ``time`` module pybench reads its clock from: time
    passes only when a benchmarked call says so, so the expectations below
    are exact and no test depends on how fast or busy the machine is."""

    def __init__(self) -> None:
        self.now = 0

    def perf_counter_ns(self) -> int:
        return self.now

    def spend(self, ns: int) -> None:
        self.now += ns


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> VirtualClock:
    c = VirtualClock()
    monkeypatch.setattr(pybench, "time", c)
    return c


def test_calibration_reaches_benchtime_and_grows_like_go(clock: VirtualClock) -> None:
    # 0.5 ms a call, benchtime 20 ms.  Go's launch: N=1 took 0.5 ms; predict
    # 20e6·1/5e5 = 40, +1/5 = 48 (under the 100× cap); 48 calls take 24 ms ≥ 20 ms.
    n, runs = pybench.calibrate(clock.spend, (500_000,), benchtime="20ms")
    assert runs == [(1, 500_000), (48, 24_000_000)]
    assert n == 48
    # 1 µs a call: 1 → 100 (the 100× cap) → 10 000 (capped again) → 20e6·1e4/1e7 = 20 000, +1/5 = 24 000: 24 ms
    n, runs = pybench.calibrate(clock.spend, (1_000,), benchtime="20ms")
    assert runs == [(1, 1_000), (100, 100_000), (10_000, 10_000_000), (24_000, 24_000_000)]
    assert n == 24_000


def test_fixed_iterations() -> None:
    calls = []
    r = pybench.run(lambda: calls.append(1), benchtime="7x", count=3, memory=False)
    assert r.iterations.tolist() == [7, 7, 7]
    assert len(calls) == 1 + 3 * 7  # one probe run, then the samples
    assert r.bytes_per_op is None and r.units() == ["ns/op"]


def test_ns_per_op_tracks_real_cost(clock: VirtualClock) -> None:
    # each sample is the clock's advance over N calls divided by N
    costs = itertools.cycle([1_000, 1_250, 1_500])
    r = pybench.run(lambda: clock.spend(next(costs)), benchtime="6x", count=3, memory=False)
    # probe run: 1 call (1000); then 3 samples of 6 calls: 1250+1500+1000+1250+1500+1000 each
    assert r.iterations.tolist() == [6, 6, 6]
    assert r.ns_per_op.tolist() == [7_500 / 6] * 3
    slow = pybench.run(clock.spend, 1_000_000, benchtime="20ms", count=3, memory=False)
    assert slow.iterations.tolist() == [24, 24, 24]  # 1 → 24 (20e6/1e6 = 20, +1/5): 24 ms
    assert slow.ns_per_op.tolist() == [1_000_000.0] * 3


def test_memory_pass_counts_buffers_and_leaks() -> None:
    # Go's meaning: a buffer allocated and dropped every call counts, every call.
    # A bytearray(65536) is two blocks: the object (56 bytes on 64-bit
    # CPython 3.10-3.13, sys.getsizeof(bytearray()) ) and its buffer (65536 + NUL).
    buf = pybench.run(bytearray, 65536, benchtime="10x", count=2)
    assert buf.allocs_per_op.tolist() == [2.0, 2.0]
    assert buf.bytes_per_op.tolist() == [65536 + 1 + sys.getsizeof(bytearray())] * 2
    # the high-water figure stays, under its own name
    assert np.all(buf.values("peak-B/op") >= 65536) and np.all(buf.values("peak-B/op") < 65536 + 512)

    kept: list[object] = []
    leak = pybench.run(lambda: kept.append(bytearray(1000)), benchtime="10x", count=2, memory_ops=50)
    assert np.all(leak.allocs_per_op >= 2)
    assert np.all(leak.bytes_per_op >= 1000)

    noop = pybench.run(lambda: None, benchtime="10x", count=2)
    assert noop.bytes_per_op.tolist() == [0.0, 0.0] and noop.allocs_per_op.tolist() == [0.0, 0.0]


def test_interpreter_call_overhead_is_measured() -> None:
    # what calling a no-op costs the measuring loop; a plain Python call
    # allocates no block on CPython 3.10-3.13 (frames are reused/inlined)
    assert pybench.call_overhead(64) == (0.0, 0.0)


@pytest.mark.parametrize("k, s", [(1, 4096), (4, 65536), (16, 1000)])
def test_k_buffers_report_k_allocations(k: int, s: int) -> None:
    def alloc() -> None:
        for _ in range(k):
            bytearray(s)

    def alloc_bytes() -> None:
        for _ in range(k):
            bytes(s)

    def loop_only() -> None:  # the callable's own fixed blocks: its range object and iterator
        for _ in range(k):
            pass

    fixed_b, fixed_a = pybench.measure_memory(loop_only, ops=20)
    assert fixed_a == 2.0
    b, a = pybench.measure_memory(alloc, ops=20)
    assert a - fixed_a == 2 * k  # a bytearray: object + buffer
    assert b - fixed_b == k * (s + 1 + sys.getsizeof(bytearray()))
    assert b >= k * s
    b, a = pybench.measure_memory(alloc_bytes, ops=20)
    assert a - fixed_a == k  # a bytes object is one block
    assert b - fixed_b == k * sys.getsizeof(bytes(s))


def test_pooled_buffer_counts_nothing_for_the_buffer() -> None:
    from enginepools import BufferPool

    big, small = BufferPool(default_size=65536), BufferPool(default_size=256)

    def pooled(pool: BufferPool) -> None:
        lease = pool.get()
        pool.put(lease)

    def fresh() -> None:
        bytearray(65536)

    b_big, a_big = pybench.measure_memory(pooled, (big,), ops=50)
    b_small, a_small = pybench.measure_memory(pooled, (small,), ops=50)
    # the buffer's size does not show: what is left is the lease object itself
    assert (b_big, a_big) == (b_small, a_small) == (sys.getsizeof(big.get()), 1.0)
    assert pybench.measure_memory(fresh, ops=50)[0] >= 65536


def test_counter_counts_every_thread_and_nests() -> None:
    import threading

    from enginepools.bench.pyalloc import AllocCounter

    def worker() -> None:
        for _ in range(10):
            bytes(5000)

    with AllocCounter() as outer:
        with AllocCounter(this_thread=True) as mine:
            t = threading.Thread(target=worker)
            t.start()
            t.join()
        bytes(7000)
    assert mine.bytes < 10 * 5000  # the other thread's blocks are not this thread's
    assert outer.bytes >= 10 * 5000 + 7000
    from enginepools import _core

    assert _core.pyalloc_state()["installed"] == 0  # out again after the last user


def test_memory_pass_leaves_user_tracing_alone() -> None:
    import tracemalloc

    tracemalloc.start()
    try:
        pybench.run(bytearray, 100, benchtime="5x", count=1)
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()
    pybench.run(bytearray, 100, benchtime="5x", count=1)
    assert not tracemalloc.is_tracing()


def test_results_feed_the_stats_engine_and_go_format() -> None:
    a = pybench.run(bytearray, 64, name="Alloc/impl=std", benchtime="2ms", count=6)
    b = pybench.run(lambda: None, name="Alloc/impl=pool", benchtime="2ms", count=6)
    s = a.summary()
    assert s.n == 6 and s.has_ci
    recs = a.records({"goos": "linux"}) + b.records({"goos": "linux"})
    assert recs[0].name == "BenchmarkAlloc/impl=std"
    assert set(recs[0].values) == {"ns/op", "B/op", "allocs/op", "peak-B/op"}
    text = benchfmt.format_text(recs)
    back = benchfmt.parse_text(text)
    assert [r.values for r in back] == [r.values for r in recs]
    res = compare.compare_columns(back, "impl", "std")
    b_row = next(r for r in res.rows if r.unit == "B/op")
    assert b_row.delta_pct == -100.0
    assert stats.compare_samples(a.values("ns/op"), b.values("ns/op")).p is not None


@pytest.mark.parametrize("bad", ["", "fast", "0s", "-1s", "0x", "1.5x", "x", 0, -2.0, True])
def test_bad_benchtime_is_a_usage_error(bad: object) -> None:
    with pytest.raises(UsageError, match="benchtime"):
        pybench.parse_benchtime(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("text, ns, n", [("1s", 10**9, 0), ("250ms", 250 * 10**6, 0), ("0.5", 5 * 10**8, 0),
                                         ("100x", 0, 100), ("1.5s", 15 * 10**8, 0), ("3us", 3000, 0)])
def test_benchtime_forms(text: str, ns: int, n: int) -> None:
    # the same BenchTime as the kernel runner's -benchtime (n = 0: a duration)
    bt = pybench.parse_benchtime(text)
    assert (bt.ns, bt.n) == (ns, n)
    assert pybench.parse_benchtime(str(bt)) == bt


@pytest.mark.parametrize("bad", [0, -1, "x", 1.5, None])
def test_bad_count(bad: object) -> None:
    with pytest.raises(UsageError, match="count"):
        pybench.run(lambda: None, count=bad)  # type: ignore[arg-type]


def test_not_callable() -> None:
    with pytest.raises(UsageError, match="not callable"):
        pybench.run(42)  # type: ignore[arg-type]


def test_interleaved_variants_alternate_and_compare() -> None:
    order: list[str] = []
    calls = {"pool": 0, "std": 0}

    def make(name: str):
        def f() -> None:
            calls[name] += 1
            if not order or order[-1] != name:
                order.append(name)
        return f

    res = pybench.run_interleaved({"X/impl=pool": make("pool"), "X/impl=std": make("std")}, benchtime="5x",
                                  count=4, memory=False)
    # calibration of each variant (with Nx: one probe call), then 4 rounds of A B
    assert order == ["pool", "std"] + ["pool", "std"] * 4
    assert calls == {"pool": 1 + 4 * 5, "std": 1 + 4 * 5}
    recs = [r for v in res.values() for r in v.records()]
    table = compare.compare_columns(recs, "impl", "std")
    assert [r.unit for r in table.rows] == ["ns/op"]
    with pytest.raises(UsageError, match="not callable"):
        pybench.run_interleaved({"a": 1})  # type: ignore[dict-item]

"""The C heap sampler, CPU sampler and symbolization, through the raw
snapshots of enginepools._core (no pprof involved)."""
from __future__ import annotations

import os
import threading

import pytest

from enginepools import _core
from enginepools.pprof.profilers import scale_heap_sample
from enginepools.pprof.symbolize import Symbolizer

KiB = 1024
SITES = {0: "proftest_site_a", 1: "proftest_site_b", 2: "proftest_site_c"}


@pytest.fixture(autouse=True)
def _heap_off():
    yield
    _core.heapprof_stop()


def by_leaf(snap: dict) -> dict[str, list[int]]:
    """Sum raw [alloc_objects, alloc_bytes, free_objects, free_bytes] per leaf function."""
    sym = Symbolizer()
    out: dict[str, list[int]] = {}
    for pcs, size, pool, cls, ao, ab, fo, fb in snap["records"]:
        fr = sym.frames(pcs[0]) if pcs else []
        name = fr[-1].function if fr else "?"
        acc = out.setdefault(name, [0, 0, 0, 0])
        for i, v in enumerate((ao, ab, fo, fb)):
            acc[i] += v
    return out


def run_threads(fn, n: int) -> None:  # type: ignore[no-untyped-def]
    ts = [threading.Thread(target=fn) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def estimated_bytes(snap: dict, leaf: str) -> int:
    sym = Symbolizer()
    total = 0
    for pcs, size, pool, cls, ao, ab, fo, fb in snap["records"]:
        fr = sym.frames(pcs[0]) if pcs else []
        if fr and fr[-1].function == leaf:
            total += scale_heap_sample(ao, ab, snap["rate"])[1]
    return total


def test_rate_1_counts_every_allocation_exactly_per_call_site() -> None:
    _core.heapprof_start(1)
    keep = _core.proftest_alloc(0, 1000, 48, 4)
    _core.proftest_alloc(1, 300, 5000)
    _core.proftest_alloc(2, 7, 100_000)
    got = by_leaf(_core.heapprof_snapshot())
    assert got["proftest_site_a"] == [1000, 48_000, 750, 36_000]
    assert got["proftest_site_b"] == [300, 1_500_000, 300, 1_500_000]
    assert got["proftest_site_c"] == [7, 700_000, 7, 700_000]
    _core.proftest_release(keep)
    after = by_leaf(_core.heapprof_snapshot())["proftest_site_a"]
    assert after == [1000, 48_000, 1000, 48_000]  # in use went to 0 with the frees


def test_default_rate_estimates_bytes_per_site_within_10_percent() -> None:
    rate = 512 * KiB
    _core.heapprof_start(rate, 12345)
    truth = {}
    for site, size, n in ((0, 256, 2_000_000), (1, 8 * KiB, 65_536), (2, 256 * KiB, 2_048)):
        _core.proftest_alloc(site, n, size)
        truth[SITES[site]] = n * size
    snap = _core.heapprof_snapshot()
    assert snap["rate"] == rate
    for leaf, true_bytes in truth.items():
        est = estimated_bytes(snap, leaf)
        assert abs(est - true_bytes) <= 0.10 * true_bytes, (leaf, est, true_bytes)


def test_sampling_is_not_every_allocation_at_default_rate() -> None:
    _core.heapprof_start(512 * KiB, 7)
    _core.proftest_alloc(0, 100_000, 64)  # 6.4 MB: ~12 samples expected
    a_obj = by_leaf(_core.heapprof_snapshot()).get("proftest_site_a", [0])[0]
    assert 1 <= a_obj <= 40


def test_inuse_counts_only_blocks_still_live() -> None:
    _core.heapprof_start(1)
    keep = _core.proftest_alloc(1, 1000, 4096, 10)  # keeps 100
    a_obj, a_bytes, f_obj, f_bytes = by_leaf(_core.heapprof_snapshot())["proftest_site_b"]
    assert (a_obj - f_obj, a_bytes - f_bytes) == (100, 100 * 4096)
    _core.proftest_release(keep)
    a_obj, a_bytes, f_obj, f_bytes = by_leaf(_core.heapprof_snapshot())["proftest_site_b"]
    assert (a_obj - f_obj, a_bytes - f_bytes) == (0, 0)


def test_frees_are_tracked_after_stop_and_samples_stay() -> None:
    _core.heapprof_start(1)
    keep = _core.proftest_alloc(0, 100, 64, 1)
    _core.heapprof_stop()
    assert _core.heapprof_rate() == 0
    _core.proftest_alloc(0, 100, 64)  # not sampled: profiler stopped
    _core.proftest_release(keep)
    assert by_leaf(_core.heapprof_snapshot())["proftest_site_a"] == [100, 6400, 100, 6400]


def test_pool_allocations_carry_pool_and_size_class_labels() -> None:
    _core.heapprof_start(1)
    _core.proftest_pool("prof-label-pool", 50, 3000)
    recs = [r for r in _core.heapprof_snapshot()["records"] if r[2] == "prof-label-pool"]
    buffers = [r for r in recs if r[3] == 4096]
    assert sum(r[4] for r in buffers) == 50
    assert all(r[1] >= 4096 for r in buffers)
    untagged = [r for r in _core.heapprof_snapshot()["records"] if r[2] is None]
    assert untagged, "the buffer pool's own bookkeeping is untagged"


def test_threads_sample_concurrently_and_exactly_at_rate_1() -> None:
    _core.heapprof_start(1)
    errs: list[BaseException] = []

    def work() -> None:
        try:
            _core.proftest_alloc(2, 5000, 32)
        except BaseException as e:  # pragma: no cover - reported below
            errs.append(e)

    run_threads(work, 4)
    assert not errs
    assert by_leaf(_core.heapprof_snapshot())["proftest_site_c"] == [20000, 640000, 20000, 640000]


def test_start_twice_and_bad_rate_are_errors() -> None:
    _core.heapprof_start(1024)
    with pytest.raises(RuntimeError, match="already running"):
        _core.heapprof_start(1024)
    _core.heapprof_stop()
    with pytest.raises(ValueError, match="rate"):
        _core.heapprof_start(0)


def test_cpu_profile_of_spinning_c_function_names_it() -> None:
    _core.cpuprof_start(250)
    try:
        _core.proftest_spin(0.6)
        snap = _core.cpuprof_snapshot()
    finally:
        _core.cpuprof_stop()
    assert snap["hz"] == 250
    sym = Symbolizer()
    counts: dict[str, int] = {}
    for pcs, n in snap["records"]:
        fr = sym.frames(pcs[0], exact=True)
        counts[fr[-1].function if fr else "?"] = counts.get(fr[-1].function if fr else "?", 0) + n
    total = sum(counts.values())
    assert total >= 20
    assert counts.get("proftest_spin_loop", 0) >= 0.5 * total, counts


def test_cpu_profiler_rejects_bad_hz_and_another_rate_while_running() -> None:
    with pytest.raises(ValueError):
        _core.cpuprof_start(0)
    _core.cpuprof_start(100)
    try:
        with pytest.raises(RuntimeError, match="another rate"):
            _core.cpuprof_start(200)
        _core.cpuprof_start(100)  # joining at the same rate is fine
        _core.cpuprof_stop()
    finally:
        _core.cpuprof_stop()


def test_symbolizes_static_function_in_extension_and_libc_function() -> None:
    addrs = _core.proftest_addresses()
    sym = Symbolizer()
    fr = sym.frames(addrs["proftest_spin_loop"], exact=True)
    assert fr and fr[-1].function == "proftest_spin_loop"
    assert fr[-1].filename.endswith("proftest.c") and fr[-1].line > 0
    m = sym.mapping(addrs["proftest_spin_loop"])
    assert m is not None and os.path.samefile(m.path, _core.__file__)
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    qsort = ctypes.cast(libc.qsort, ctypes.c_void_p).value  # libc's own, even under a sanitizer
    fr = sym.frames(qsort, exact=True)
    assert fr and fr[-1].function == "qsort"
    assert "libc" in os.path.basename(sym.mapping(qsort).path)


def test_unknown_addresses_symbolize_to_nothing() -> None:
    assert Symbolizer().frames(16) == []


def test_fork_while_sampling_in_other_threads_does_not_deadlock_the_child() -> None:
    import multiprocessing as mp

    _core.heapprof_start(1)
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            _core.proftest_alloc(0, 2000, 32)

    t = threading.Thread(target=churn)
    t.start()
    try:
        ctx = mp.get_context("fork")
        for _ in range(5):
            p = ctx.Process(target=_core.proftest_alloc, args=(1, 1000, 64))
            p.start()
            p.join(20)
            if p.exitcode is None:  # deadlocked in the child
                p.kill()
            assert p.exitcode == 0
    finally:
        stop.set()
        t.join()


def _child_uses_cpu_profiler() -> None:
    _core.cpuprof_snapshot()
    _core.cpuprof_start(100)
    _core.proftest_spin(0.05)
    _core.cpuprof_stop()


def test_fork_while_cpu_profiling_leaves_a_usable_profiler_in_the_child() -> None:
    import multiprocessing as mp

    _core.cpuprof_start(1000)
    try:
        ctx = mp.get_context("fork")
        for _ in range(3):
            p = ctx.Process(target=_child_uses_cpu_profiler)
            p.start()
            p.join(20)
            if p.exitcode is None:
                p.kill()
            assert p.exitcode == 0
    finally:
        _core.cpuprof_stop()


def by_site_size(snap: dict, peak: bool = False) -> dict[tuple[str, int], tuple[int, int]]:
    """In-use (objects, bytes) per (leaf function, block size): now, or at the peak."""
    sym = Symbolizer()
    out: dict[tuple[str, int], tuple[int, int]] = {}
    for i, (pcs, size, pool, cls, ao, ab, fo, fb) in enumerate(snap["records"]):
        fr = sym.frames(pcs[0]) if pcs else []
        key = (fr[-1].function if fr else "?", size)
        o, b = snap["peak"][i] if peak else (ao - fo, ab - fb)
        acc = out.get(key, (0, 0))
        out[key] = (acc[0] + o, acc[1] + b)
    return {k: v for k, v in out.items() if k[0] in SITES.values()}


def test_peak_snapshot_is_the_live_set_at_the_in_use_high_water_mark() -> None:
    a, b, c, d = (("proftest_site_a", 100), ("proftest_site_b", 1000), ("proftest_site_c", 300),
                  ("proftest_site_a", 2000))
    _core.heapprof_start(1, 1)
    ka = _core.proftest_alloc(0, 10, 100, 1)     # A: 10 x 100 live       in use 1000
    kb = _core.proftest_alloc(1, 5, 1000, 1)     # B: 5 x 1000 live       in use 6000 <- first peak
    _core.proftest_release(ka)                   # free A                 in use 5000
    first = _core.heapprof_snapshot()
    kc = _core.proftest_alloc(2, 2, 300, 1)      # C: 2 x 300             in use 5600
    _core.proftest_release(kb)                   # free B                 in use 600
    kd = _core.proftest_alloc(0, 4, 2000, 1)     # D: 4 x 2000            in use 8600 <- the peak
    _core.proftest_release(kd)                   # free D                 in use 600
    kd2 = _core.proftest_alloc(0, 3, 2000, 1)    # 3 x 2000 again         in use 6600 (below the peak)
    snap = _core.heapprof_snapshot()
    _core.proftest_release(kc)
    _core.proftest_release(kd2)
    # the first snapshot: peak after B, when A and B were both live
    assert (first["peak_bytes"], first["peak_objects"], first["inuse_bytes"]) == (6000, 15, 5000)
    assert by_site_size(first, peak=True) == {a: (10, 1000), b: (5, 5000)}
    # events: 10 + 5 allocations, 10 frees, 2 + 5 + 4 + 4 + 3 later
    assert snap["events"] == 10 + 5 + 10 + 2 + 5 + 4 + 4 + 3
    assert (snap["peak_bytes"], snap["peak_objects"], snap["inuse_bytes"]) == (8600, 6, 6600)
    assert snap["peak_event"] == 10 + 5 + 10 + 2 + 5 + 4  # the allocation that first reached it
    assert by_site_size(snap, peak=True) == {a: (0, 0), b: (0, 0), c: (2, 600), d: (4, 8000)}
    assert by_site_size(snap) == {a: (0, 0), b: (0, 0), c: (2, 600), d: (3, 6000)}
    # the peak's entries add up to the peak
    assert sum(b for _, b in snap["peak"]) == 8600


def test_peak_counts_concurrent_threads_exactly() -> None:
    # 4 threads each keep 500 blocks of 64 B, then free them: the live sets add
    # up at a peak of at least one thread's 32000 B and at most all four's
    _core.heapprof_start(1, 1)
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait()
        k = _core.proftest_alloc(2, 500, 64, 1)
        _core.proftest_release(k)

    run_threads(work, 4)
    snap = _core.heapprof_snapshot()
    assert snap["inuse_bytes"] == 0 and snap["events"] == 4000
    assert 32000 <= snap["peak_bytes"] <= 128000 and snap["peak_bytes"] % 64 == 0
    assert sum(b for _, b in snap["peak"]) == snap["peak_bytes"]
    assert sum(o for o, _ in snap["peak"]) == snap["peak_objects"] == snap["peak_bytes"] // 64


def test_inuse_by_pool_tag_adds_up_to_the_total() -> None:
    from enginepools.pools import BufferPool

    _core.heapprof_start(1, 1)
    k = _core.proftest_alloc(0, 10, 100, 1)
    pool = BufferPool(name="timeline-test-pool")
    bufs = [pool.get(4096) for _ in range(3)]
    now = _core.heapprof_inuse()
    assert now["pools"][None] >= 1000
    assert now["pools"]["timeline-test-pool"] >= 3 * 4096
    assert sum(now["pools"].values()) == now["inuse_bytes"]
    for buf in bufs:
        pool.put(buf)
    _core.proftest_release(k)
    later = _core.heapprof_inuse()
    assert later["pools"][None] == now["pools"][None] - 1000
    assert later["peak_bytes"] >= now["inuse_bytes"]

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

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
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

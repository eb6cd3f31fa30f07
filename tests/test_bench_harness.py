"""The C benchmark harness and kernels, through enginepools._core: exact
allocation accounting, pooled steady state, parallel runs, Ctrl-C."""
from __future__ import annotations

import os
import signal
import threading
import math

import pytest

from enginepools import _core

REQUIRED = [
    "StringBuilder/impl=pool", "StringBuilder/impl=std",
    "HashBuffer/impl=pool", "HashBuffer/impl=pool-noclear", "HashBuffer/impl=std",
    "TarBuffer/impl=pool", "TarBuffer/impl=std",
    "PoolContention/impl=pool", "PoolContention/impl=std",
    "PoolGetPut/size=64", "MallocFree/size=64", "PoolGetPut/size=65536", "MallocFree/size=65536",
    "WorkerPool/impl=pool", "WorkerPool/impl=std",
    "SHA256/size=1KiB", "SHA256/size=1MiB", "TarArchive/impl=pool", "TarArchive/impl=std", "Empty",
]


def run(name: str, n: int, threads: int = 1, warmup: int = 0) -> dict:
    h = _core.bench_open(name, threads)
    try:
        if warmup:
            _core.bench_run(h, warmup)
        return _core.bench_run(h, n)
    finally:
        _core.bench_close(h)


def test_registry_has_the_studys_kernels():
    names = {k["fullname"] for k in _core.bench_list()}
    missing = [n for n in REQUIRED if n not in names]
    assert not missing
    kinds = {k["fullname"]: k for k in _core.bench_list()}
    assert kinds["PoolContention/impl=pool"]["parallel"] and not kinds["HashBuffer/impl=std"]["parallel"]
    assert kinds["PoolGetPut/size=64"]["group"] == kinds["MallocFree/size=64"]["group"]
    assert kinds["SHA256/size=1MiB"]["bytes_per_op"] == 1 << 20


@pytest.mark.parametrize("name,threads,allocs,size", [
    ("HashBuffer/impl=std", 1, 1, 32),
    ("TarBuffer/impl=std", 1, 1, 65536),
    ("StringBuilder/impl=std", 1, 3, 17 + 33 + 65),  # 16-byte builder grown to 32, 64 (+1 for the NUL each)
    ("MallocFree/size=64", 2, 1, 64),
    ("MallocFree/size=65536", 2, 1, 65536),
    ("PoolContention/impl=std", 2, 4, 17 + 33 + 65 + 32),
])
def test_exact_allocation_accounting(name, threads, allocs, size):
    n = 1000
    r = run(name, n, threads)
    assert r["complete"] and r["n"] == n
    assert r["alloc_objects"] == allocs * n
    assert r["alloc_bytes"] == size * n


@pytest.mark.parametrize("name", ["HashBuffer/impl=pool", "HashBuffer/impl=pool-noclear", "TarBuffer/impl=pool",
                                  "StringBuilder/impl=pool", "PoolGetPut/size=64", "PoolGetPut/size=65536"])
def test_pooled_kernels_allocate_nothing_in_steady_state(name):
    r = run(name, 2000, 1, warmup=10)
    assert r["alloc_objects"] == 0 and r["alloc_bytes"] == 0
    u = r["units"]
    assert u["hits/op"] == 1.0 and u["misses/op"] == 0.0
    assert u["retained-B"] > 0


def test_first_use_of_a_pool_is_a_counted_miss():
    r = run("HashBuffer/impl=pool", 1)
    assert r["units"]["misses/op"] == 1.0
    # the buffer, plus the pool's per-thread cache set up on this thread's first get
    assert r["alloc_objects"] >= 1 and r["alloc_bytes"] >= 65536


def test_clear_cost_is_reported_only_for_the_clearing_pool():
    assert run("HashBuffer/impl=pool", 500, warmup=5)["units"]["clear-ns/op"] > 0
    assert run("HashBuffer/impl=pool-noclear", 500, warmup=5)["units"]["clear-ns/op"] == 0


def test_every_sample_carries_the_machine_probe():
    # timed after each step, outside the sample's ns (the probes' plausible
    # ranges in ns are checked by benchmarks/engine_checks.py, not here: a
    # unit test asserts no absolute time)
    for name, threads in (("HashBuffer/impl=pool", 1), ("PoolGetPut/size=64", 2), ("Empty", 1)):
        r = run(name, 200, threads)
        for key in ("probe_zero64k_ns", "probe_chain_ns"):
            assert math.isfinite(r[key]) and r[key] > 0, (name, key, r)
    # the probe's tick is not in the timed region: one empty iteration is
    # far cheaper than zeroing 64 KiB (both measured in this run; the best of
    # five so a preemption during one single-iteration sample cannot decide it)
    best = min((run("Empty", 1) for _ in range(5)), key=lambda r: r["ns"])
    assert best["ns"] < best["probe_zero64k_ns"] + best["probe_chain_ns"]


def test_parallel_run_does_every_iteration_once():
    for threads in (1, 2, 3):
        r = run("PoolGetPut/size=64", 12345, threads, warmup=100)
        assert r["n"] == 12345 and r["complete"]
        assert 0 < r["cpu_ns"] <= r["ns"] * threads * 1.05 + 1e6  # threads cannot run longer than the wall
        assert r["units"]["hits/op"] + r["units"]["misses/op"] == pytest.approx(1.0)


def test_workerpool_reports_bytes_held_per_worker():
    r = run("WorkerPool/impl=pool", 500, 2)
    assert r["units"]["held-B/worker"] > 0
    assert run("WorkerPool/impl=std", 20, 2)["n"] == 20


def test_sha256_kernel_declares_bytes_per_op():
    r = run("SHA256/size=1KiB", 100)
    assert r["bytes_per_op"] == 1024 and r["ns"] > 0


def test_bad_open_and_closed_handle():
    with pytest.raises(ValueError, match="no benchmark kernel named Nope"):
        _core.bench_open("Nope", 1)
    with pytest.raises(ValueError, match="threads"):
        _core.bench_open("Empty", 0)
    h = _core.bench_open("Empty", 1)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="n must be >= 1"):
            _core.bench_run(h, bad)
    _core.bench_close(h)
    with pytest.raises(ValueError, match="closed"):
        _core.bench_run(h, 1)


def test_ctrl_c_ends_a_run_early_and_marks_it_incomplete():
    h = _core.bench_open("HashBuffer/impl=pool-noclear", 1)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        r = _core.bench_run(h, 10**10)
    finally:
        timer.cancel()
        _core.bench_close(h)
    assert r["complete"] is False
    assert 0 < r["n"] < 10**10   # ended early: 10**10 steps of 64 KiB would take hours

"""Semantics of the pools as Python users see them: counting, caps, trim,
clearing, the buffer-lending rules, size classes, bypass, allocation
counters, threads, and bad arguments."""
from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import enginepools
from enginepools import BufferPool, ObjectPool, StringBuilderPool
from enginepools.pools import BUFFER_PRESETS, size_classes

ROOT = Path(__file__).resolve().parents[1]
STAT_KEYS = {"gets", "hits", "misses", "puts", "drops", "retained_objects", "retained_bytes",
             "peak_retained_bytes", "clear_ns", "hit_rate"}


@pytest.fixture(autouse=True)
def _no_bypass(monkeypatch):
    # pools read EP_POOL_BYPASS at creation; these tests are about pooling
    monkeypatch.delenv("EP_POOL_BYPASS", raising=False)


# ---- hits, misses, puts -------------------------------------------------

def test_first_get_misses_then_reuse_hits_the_same_block():
    with ObjectPool(64) as p:
        a = p.get()
        addr = a.address
        a.release()
        b = p.get()
        assert b.address == addr          # the block came back
        b.release()
        s = p.stats()
        assert STAT_KEYS <= s.keys()
        assert (s["gets"], s["hits"], s["misses"], s["puts"], s["drops"]) == (2, 1, 1, 2, 0)
        assert s["retained_objects"] == 1 and s["retained_bytes"] == 64
        assert s["hit_rate"] == 0.5


def test_counters_match_the_gets_and_puts_the_test_made():
    # expectations counted here, not derived from other counters: one thread,
    # no cap, so a get misses only when nothing is retained — the pool makes
    # exactly as many objects as were ever held at once, and every other get hits
    import random

    rng = random.Random(7)
    with ObjectPool(32) as p:
        held = []
        gets = puts = peak = 0
        for _ in range(3000):
            if held and rng.random() < 0.5:
                held.pop(rng.randrange(len(held))).release()
                puts += 1
            else:
                held.append(p.get())
                gets += 1
            peak = max(peak, len(held))
        mid = p.stats()
        assert (mid["gets"], mid["puts"]) == (gets, puts)
        assert p.outstanding == len(held)
        assert mid["retained_objects"] == peak - len(held)
        for lease in held:
            lease.release()
        puts += len(held)
        s = p.stats()
        assert (s["gets"], s["puts"]) == (gets, puts) and gets == puts
        assert (s["misses"], s["hits"], s["drops"], s["trimmed"]) == (peak, gets - peak, 0, 0)
        assert s["retained_objects"] == peak
        assert p.outstanding == 0


def test_dropping_a_lease_returns_its_block():
    with ObjectPool(16) as p:
        p.get()  # discarded at once: goes back by itself
        gc.collect()
        assert p.outstanding == 0
        assert p.stats()["puts"] == 1


def test_object_context_manager_lends_a_writable_view():
    with ObjectPool(8) as p:
        with p.object() as mv:
            assert len(mv) == 8 and not mv.readonly
            mv[:] = b"12345678"
        assert p.stats()["puts"] == 1
        with pytest.raises(ValueError):
            mv[0]  # the lent view was released on exit


# ---- caps and drops -----------------------------------------------------

def test_max_objects_cap_drops_beyond_it():
    with ObjectPool(64, max_objects=3) as p:
        leases = [p.get() for _ in range(5)]
        for lease in leases:
            lease.release()
        s = p.stats()
        assert s["retained_objects"] == 3
        assert s["drops"] == 2
        assert s["puts"] == 5
        assert s["peak_retained_bytes"] == 3 * 64


def test_max_bytes_cap_bounds_retained_bytes():
    with ObjectPool(100, max_bytes=250) as p:  # room for 2 objects
        leases = [p.get() for _ in range(6)]
        for lease in leases:
            lease.release()
        s = p.stats()
        assert s["retained_objects"] == 2
        assert s["retained_bytes"] == 200 <= 250
        assert s["drops"] == 4


def test_buffer_pool_byte_cap_is_shared_by_classes():
    with BufferPool(max_bytes=4096) as p:
        leases = [p.get(1024) for _ in range(3)] + [p.get(2048) for _ in range(2)]
        for lease in leases:
            lease.release()
        s = p.stats()
        assert s["retained_bytes"] == 3 * 1024   # 3 KiB + 2 KiB would pass the 4 KiB cap
        assert s["drops"] == 2
        assert s["puts"] == 5


def test_presets_cap_retention_at_one_mib():
    for name in ("hash", "tar"):
        with BufferPool(name) as p:
            leases = [p.get() for _ in range(20)]  # 20 × 64 KiB = 1.25 MiB
            for lease in leases:
                lease.release()
            s = p.stats()
            assert s["retained_bytes"] == 1 << 20
            assert s["drops"] == 4
            assert s["peak_retained_bytes"] == 1 << 20


# ---- trim ---------------------------------------------------------------

def test_trim_frees_what_is_retained():
    with ObjectPool(256) as p:
        leases = [p.get() for _ in range(200)]  # beyond two magazines: some reach the depot
        for lease in leases:
            lease.release()
        assert p.stats()["retained_objects"] == 200
        before = enginepools.alloc_counters()
        p.trim()
        after = enginepools.alloc_counters()
        s = p.stats()
        assert s["retained_objects"] == 0 and s["retained_bytes"] == 0
        assert s["trims"] == 1 and s["trimmed"] == 200
        assert after["free_bytes"] - before["free_bytes"] >= 200 * 256
        # the next get is a miss again
        p.get().release()
        assert p.stats()["misses"] == 201


def test_buffer_pool_trim_counts_once():
    with BufferPool("tar") as p:
        p.get().release()
        p.trim()
        s = p.stats()
        assert s["trims"] == 1 and s["retained_bytes"] == 0 and s["trimmed"] == 1


# ---- clear-on-put -------------------------------------------------------

def test_clear_on_put_really_zeroes():
    with ObjectPool(4096, clear_on_put=True) as p:
        lease = p.get()
        addr = lease.address
        with memoryview(lease) as mv:
            assert bytes(mv) == bytes(4096)       # fresh blocks are zeroed too
            mv[:] = b"\xff" * 4096
        lease.release()
        again = p.get()
        assert again.address == addr
        assert bytes(memoryview(again)) == bytes(4096)
        again.release()
        assert p.stats()["clear_ns"] > 0


def test_without_clear_the_old_contents_stay():
    # the counterpart of the test above: reuse without clearing shows old bytes
    with ObjectPool(64) as p:
        lease = p.get()
        memoryview(lease)[:3] = b"old"
        lease.release()
        again = p.get()
        assert bytes(memoryview(again)[:3]) == b"old"
        assert p.stats()["clear_ns"] == 0


def test_hash_preset_clears_and_tar_preset_does_not():
    for name, cleared in (("hash", True), ("tar", False)):
        with BufferPool(name) as p:
            assert p.clear_on_put is cleared
            with p.buffer() as mv:
                mv[:5] = b"12345"
            with p.buffer() as mv:
                assert (bytes(mv[:5]) == bytes(5)) is cleared


# ---- buffer lending rules ---------------------------------------------

def test_buffer_lends_requested_size_from_smallest_class():
    with BufferPool() as p:
        for size, cls in ((1, 256), (256, 256), (257, 512), (5000, 8192), (1 << 20, 1 << 20)):
            lease = p.get(size)
            assert lease.size == size and lease.capacity == cls
            with memoryview(lease) as mv:
                assert len(mv) == size and not mv.readonly
                mv[-1] = 7
            lease.release()
            assert p.class_stats(cls)["puts"] >= 1
        assert BufferPool.class_for(3000) == 4096


def test_returning_with_live_view_raises_and_never_frees():
    with BufferPool("tar") as p:
        lease = p.get(1000)
        view = memoryview(lease)
        view[:4] = b"live"
        with pytest.raises(BufferError, match="still exported"):
            lease.release()
        with pytest.raises(BufferError):
            p.put(lease)
        # the memory is still ours: not returned, not reused by the next get
        assert not lease.returned and p.outstanding == 1
        other = p.get(1000)
        assert other.address != lease.address
        other.release()
        assert bytes(view[:4]) == b"live"
        view.release()
        lease.release()
        assert p.outstanding == 0


def test_with_block_keeps_buffer_alive_under_derived_view():
    with BufferPool("tar") as p:
        with pytest.raises(BufferError, match="still alive"):
            with p.buffer(512) as mv:
                part = mv[10:20]
                part[:] = b"x" * 10
        # not back in the pool: the next buffer is a different block
        assert p.outstanding == 1 and p.stats()["puts"] == 0
        with p.buffer(512) as mv2:
            other_addr = mv2.obj.address
        assert bytes(part) == b"x" * 10      # still readable, never freed
        del part
        gc.collect()
        assert p.outstanding == 0            # gone back by itself with the last view
        assert p.stats()["puts"] == 2
        assert other_addr is not None


def test_with_block_exception_is_not_masked_by_live_view():
    with BufferPool("tar") as p:
        keep = []
        with pytest.raises(KeyError):
            with p.buffer(300) as mv:
                keep.append(mv[:10])
                raise KeyError("body")
        keep.clear()
        assert p.outstanding == 0


def test_returned_lease_cannot_be_viewed_or_returned_twice():
    with ObjectPool(32) as p:
        lease = p.get()
        lease.release()
        with pytest.raises(BufferError, match="returned"):
            memoryview(lease)
        with pytest.raises(ValueError, match="already returned"):
            lease.release()
        assert lease.address is None


def test_lease_from_another_pool_is_refused():
    with ObjectPool(32, name="a") as a, ObjectPool(32, name="b") as b:
        lease = a.get()
        with pytest.raises(ValueError, match="belongs to pool 'a'"):
            b.put(lease)
        with pytest.raises(TypeError):
            b.put(b"not a lease")
        lease.release()


def test_close_waits_for_outstanding_leases():
    p = ObjectPool(64)
    lease = p.get()
    memoryview(lease)[0] = 1
    p.close()
    with pytest.raises(RuntimeError, match="closed"):
        p.get()
    assert memoryview(lease)[0] == 1          # still valid after close
    lease.release()
    s = p.stats()                              # final stats survive the close
    assert s["gets"] == 1 and s["puts"] == 1 and s["retained_objects"] == 0


# ---- size classes and presets -------------------------------------------

def test_size_classes_are_powers_of_two_256_to_1mib():
    classes = size_classes()
    assert classes[0] == 256 and classes[-1] == 1 << 20 and len(classes) == 13
    assert all(b == 2 * a for a, b in zip(classes, classes[1:]))
    with BufferPool() as p:
        for c in classes:
            p.get(c).release()
            s = p.class_stats(c)
            assert s["misses"] == 1 and s["retained_bytes"] == c
        with pytest.raises(ValueError, match="not a size class"):
            p.class_stats(300)


def test_presets_match_the_study():
    for name, cfg in BUFFER_PRESETS.items():
        with BufferPool(name) as p:
            assert p.name == name
            assert p.default_size == cfg["default_size"] == 64 * 1024
            assert p.max_bytes == cfg["max_bytes"] == 1 << 20
            lease = p.get()
            assert lease.size == lease.capacity == 64 * 1024
            lease.release()


def test_preset_overrides():
    with BufferPool("tar", max_bytes=128 * 1024, name="tar-small") as p:
        assert p.name == "tar-small" and p.max_bytes == 128 * 1024 and p.default_size == 65536
        leases = [p.get() for _ in range(3)]
        for lease in leases:
            lease.release()
        assert p.stats()["retained_bytes"] == 128 * 1024


# ---- string builders ----------------------------------------------------

def test_string_builder_pool_reuses_builders():
    with StringBuilderPool(initial_capacity=16) as p:
        with p.builder() as b:
            b.append("héllo, ")
            b.append(b"world")
            assert b.str() == "héllo, world"
            assert b.bytes() == "héllo, world".encode()
            assert len(b) == len("héllo, world".encode())
            first = b.address
        with pytest.raises(ValueError, match="returned"):
            b.append("x")
        with p.builder() as b2:
            assert b2.address == first and len(b2) == 0 and b2.str() == ""
        s = p.stats()
        assert (s["gets"], s["hits"], s["misses"]) == (2, 1, 1)


def test_string_builder_shrinks_big_builders_and_caps():
    with StringBuilderPool(initial_capacity=16, max_retained_capacity=64, max_objects=1) as p:
        a, b = p.get(), p.get()
        a.append("x" * 1000)
        assert a.capacity >= 1000
        a.release()
        b.release()
        s = p.stats()
        assert s["retained_objects"] == 1 and s["drops"] == 1
        with p.builder() as c:
            assert c.capacity <= 64


def test_string_builder_clear_on_put_counts_time():
    with StringBuilderPool(clear_on_put=True) as p:
        with p.builder() as b:
            b.append("secret" * 10)
        assert p.stats()["clear_ns"] > 0


# ---- bypass -------------------------------------------------------------

def test_bypass_env_makes_every_get_allocate(tmp_path):
    script = textwrap.dedent("""
        import json, enginepools
        from enginepools import ObjectPool, BufferPool
        p = ObjectPool(64)
        b = BufferPool("hash")
        c0 = enginepools.alloc_counters()
        for _ in range(100):
            p.get().release()
            b.get().release()
        c1 = enginepools.alloc_counters()
        print(json.dumps({"bypassed": [p.bypassed, b.bypassed], "obj": p.stats(), "buf": b.stats(),
                          "allocs": c1["alloc_objects"] - c0["alloc_objects"],
                          "frees": c1["free_objects"] - c0["free_objects"]}))
    """)
    env = dict(os.environ, EP_POOL_BYPASS="1", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=60, check=True)
    import json

    r = json.loads(out.stdout)
    assert r["bypassed"] == [True, True]
    for key in ("obj", "buf"):
        s = r[key]
        assert s["hits"] == 0 and s["misses"] == 100 and s["drops"] == 100 and s["retained_objects"] == 0
    assert r["allocs"] >= 200 and r["frees"] >= 200


def test_pools_are_not_bypassed_by_default():
    with ObjectPool(8) as p:
        assert not p.bypassed


# ---- allocation counters ------------------------------------------------

def test_alloc_counters_move_on_misses_only():
    with ObjectPool(1000) as p:
        p.get().release()                       # warm: the thread's magazines exist now
        c0 = enginepools.alloc_counters()
        leases = [p.get() for _ in range(10)]   # 1 hit, 9 misses
        c1 = enginepools.alloc_counters()
        assert c1["alloc_objects"] - c0["alloc_objects"] == 9
        assert c1["alloc_bytes"] - c0["alloc_bytes"] >= 9 * 1000
        for lease in leases:
            lease.release()
        c2 = enginepools.alloc_counters()
        for _ in range(1000):
            p.get().release()                   # all hits: no allocation at all
        c3 = enginepools.alloc_counters()
        assert c3["alloc_objects"] == c2["alloc_objects"]
        assert c3["free_objects"] == c2["free_objects"]


# ---- threads ------------------------------------------------------------

def test_threads_hit_one_pool_concurrently():
    p = ObjectPool(128, max_objects=1000)
    errors = []
    barrier = threading.Barrier(4)

    def work(seed: int) -> None:
        try:
            barrier.wait()
            mine = []
            for i in range(3000):
                lease = p.get()
                with memoryview(lease) as mv:
                    mv[:8] = seed.to_bytes(4, "little") + i.to_bytes(4, "little")
                mine.append(lease)
                if len(mine) > 5:
                    old = mine.pop(0)
                    with memoryview(old) as mv:   # nobody else touched it
                        assert bytes(mv[:4]) == seed.to_bytes(4, "little")
                    old.release()
            for lease in mine:
                lease.release()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    s = p.stats()
    assert s["gets"] == s["puts"] == 12000
    assert s["gets"] == s["hits"] + s["misses"]
    assert s["retained_objects"] <= 1000
    assert s["hits"] > s["misses"]
    p.close()


def _wait_thread_gone(native_id: int) -> None:
    task = Path(f"/proc/self/task/{native_id}")
    deadline = time.monotonic() + 5
    while task.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_thread_exit_gives_magazines_back():
    p = ObjectPool(64)
    ids = []

    def work() -> None:
        ids.append(threading.get_native_id())
        leases = [p.get() for _ in range(10)]
        for lease in leases:
            lease.release()          # 10 objects sit in this thread's magazine

    t = threading.Thread(target=work)
    t.start()
    t.join()
    _wait_thread_gone(ids[0])        # pthread key destructors have run
    assert p.stats()["retained_objects"] == 10
    got = [p.get() for _ in range(10)]
    s = p.stats()
    assert s["hits"] == 10 and s["misses"] == 10   # all ten came back through the depot
    for lease in got:
        lease.release()
    p.close()


# ---- bad arguments ------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda: ObjectPool(0), "size must be between 1"),
    (lambda: ObjectPool(-5), "size must be between 1"),
    (lambda: ObjectPool(64, max_objects=-1), "max_objects must be >= 0"),
    (lambda: ObjectPool(64, max_bytes=-1), "max_bytes must be >= 0"),
    (lambda: ObjectPool(64, magazine_size=0), "magazine_size must be between 1"),
    (lambda: BufferPool("sha"), "unknown buffer-pool preset 'sha'"),
    (lambda: BufferPool(default_size=(1 << 20) + 1), "default_size must be between"),
    (lambda: StringBuilderPool(initial_capacity=100, max_retained_capacity=10), "smaller than initial_capacity"),
    (lambda: StringBuilderPool(max_objects=-3), "max_objects must be >= 0"),
])
def test_bad_constructor_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_constructor_arguments_in_c_too():
    # the C types check on their own (for callers that skip pools.py)
    with pytest.raises(ValueError, match="size must be a positive"):
        enginepools._core.ObjectPool(0)
    with pytest.raises(ValueError, match="smaller than one object"):
        enginepools._core.ObjectPool(64, max_bytes=10)
    with pytest.raises(ValueError, match="unknown buffer-pool preset"):
        enginepools._core.BufferPool("nope")
    with pytest.raises(ValueError, match="between 1 and 1048576"):
        enginepools._core.BufferPool("tar").get(0)


@pytest.mark.parametrize("size", [0, -1, (1 << 20) + 1, 1 << 40])
def test_bad_buffer_sizes(size):
    with BufferPool("tar") as p:
        with pytest.raises(ValueError, match="size must be between 1 and 1048576"):
            p.get(size)
        with pytest.raises(ValueError, match="size must be between 1 and 1048576"):
            p.buffer(size)
        assert p.stats()["gets"] == 0


def test_non_int_size_is_a_type_error():
    with BufferPool("tar") as p:
        with pytest.raises(TypeError, match="size must be an int"):
            p.get("64")
        with pytest.raises(TypeError, match="size must be an int"):
            p.get(1.5)


def test_pool_without_default_size_needs_one():
    with BufferPool() as p:
        with pytest.raises(ValueError, match="no default size"):
            p.get()


def test_numpy_array_over_a_lease_pins_the_buffer():
    np = pytest.importorskip("numpy")
    with BufferPool("tar") as p:
        lease = p.get(4096)
        arr = np.frombuffer(lease, dtype=np.uint32)
        arr[:] = 7
        with pytest.raises(BufferError):
            lease.release()
        assert int(arr.sum()) == 7 * 1024
        del arr
        lease.release()
        assert p.outstanding == 0


def test_bool_is_not_a_size():
    with BufferPool("tar") as p:
        with pytest.raises(TypeError, match="not bool"):
            p.get(True)


def test_byte_budget_is_not_starved_by_another_class():
    # 64 KiB + 2 × 256 KiB + 128 KiB = 704 KiB fits a 1 MiB budget: no drop
    # (one class must not hold budget room for buffers it does not retain)
    with BufferPool(max_bytes=1 << 20) as p:
        p.get(64 << 10).release()
        a, b = p.get(256 << 10), p.get(256 << 10)
        a.release()
        b.release()
        p.get(128 << 10).release()
        s = p.stats()
        assert s["drops"] == 0
        assert s["retained_bytes"] == (64 + 512 + 128) << 10


def test_numpy_array_over_a_lent_view_keeps_the_buffer():
    np = pytest.importorskip("numpy")
    with BufferPool("tar") as p:
        with pytest.raises(BufferError, match="still alive"):
            with p.buffer(1024) as mv:
                arr = np.frombuffer(mv, dtype=np.uint8)
        assert p.outstanding == 1 and int(arr.sum()) >= 0
        del arr, mv
        gc.collect()
        assert p.outstanding == 0


def test_entered_but_never_exited_lease_is_collected():
    with ObjectPool(64) as p:
        lease = p.get()
        mv = lease.__enter__()
        mv[0] = 1
        del lease, mv          # a cycle: lease -> its view -> lease
        gc.collect()
        assert p.outstanding == 0 and p.stats()["puts"] == 1


def test_giving_back_inside_the_block_is_fine():
    with ObjectPool(64) as p:
        with p.object() as mv:
            lease = mv.obj
            mv.release()
            lease.release()          # early, explicit return
            assert p.outstanding == 0
        assert p.stats()["puts"] == 1  # and not twice

"""WorkerPool: every job runs exactly once, bounded queue, wait_all,
shutdown with queued jobs, errors, use after shutdown, its own memory."""
from __future__ import annotations

import collections
import gc
import os
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from pathlib import Path

import pytest

import enginepools
from enginepools import WorkerPool

ROOT = Path(__file__).resolve().parents[1]


def test_every_python_job_runs_exactly_once():
    seen: collections.Counter[int] = collections.Counter()
    lock = threading.Lock()
    threads = set()

    def job(i: int) -> None:
        with lock:
            seen[i] += 1
            threads.add(threading.get_ident())

    with WorkerPool(3, queue_size=8) as wp:   # queue smaller than the work: back-pressure
        for i in range(500):
            wp.submit(job, i)
        assert wp.wait_all() is True
        s = wp.stats()
    assert seen == collections.Counter(range(500))
    assert threading.get_ident() not in threads
    assert s["submitted"] == s["completed"] == 500
    assert s["queue_peak"] <= 8 and s["queue_size"] == 8


def test_c_jobs_run_without_python_and_are_counted():
    with WorkerPool(2, queue_size=16) as wp:
        wp.submit_c("noop", count=2000)
        wp.submit_c("spin", 1000, count=50)
        wp.submit_c("sha", 100_000, count=10)
        wp.wait_all()
        s = wp.stats()
    assert s["submitted"] == s["completed"] == 2060
    # job records are pooled: after warm-up, submits reuse them
    assert s["gets"] == 2060 and s["hits"] > s["misses"]
    assert s["gets"] == s["hits"] + s["misses"]
    assert 0 < s["hit_rate"] <= 1


def test_memset_jobs_allocate_through_ep_alloc_on_workers():
    c0 = enginepools.alloc_counters()
    with WorkerPool(2) as wp:
        wp.submit_c("memset", 10000, count=100)
    c1 = enginepools.alloc_counters()
    # allocations on worker threads (now exited) are summed in
    assert c1["alloc_bytes"] - c0["alloc_bytes"] >= 100 * 10000
    assert c1["free_bytes"] - c0["free_bytes"] >= 100 * 10000


def test_own_memory_is_accounted():
    with WorkerPool(4, queue_size=100) as wp:
        s = wp.stats()
        # the queue of 100 jobs and the thread table at least
        assert s["bytes_held"] >= 100 * 16 + 4 * 8
        assert s["threads"] == 4
        wp.submit_c("noop", count=200)
        wp.wait_all()
        s2 = wp.stats()
        assert s2["bytes_held"] >= s["bytes_held"] + s2["retained_bytes"] - 1
        assert s2["retained_objects"] > 0


def test_kwargs_are_passed():
    out = []
    with WorkerPool(1) as wp:
        wp.submit(lambda a, b=0: out.append((a, b)), 1, b=2)
    assert out == [(1, 2)]


def test_wait_all_reraises_first_job_error_once():
    def bad(i):
        raise KeyError(i)

    with WorkerPool(1) as wp:
        wp.submit(bad, 1)
        wp.submit(bad, 2)
        with pytest.raises(KeyError) as ei:
            wp.wait_all()
        assert ei.value.args == (1,)
        assert wp.wait_all() is True       # reported once
        assert wp.stats()["errors"] == 2


def test_wait_all_timeout_returns_false():
    # the job cannot finish until the test lets it: a wait_all that ignored
    # its timeout would return only after the job completed (60 s at most)
    gate = threading.Event()
    with WorkerPool(1) as wp:
        wp.submit(gate.wait, 60)
        assert wp.wait_all(timeout=0.05) is False
        assert wp.stats()["completed"] == 0   # returned on the timeout, not on completion
        gate.set()
        assert wp.wait_all() is True
        assert wp.stats()["completed"] == 1


def test_shutdown_drains_queued_jobs_by_default():
    done = []
    wp = WorkerPool(1, queue_size=50)
    wp.submit_c("sleep", 20_000)
    for i in range(20):
        wp.submit(done.append, i)
    assert wp.shutdown() == 0
    assert done == list(range(20))
    s = wp.stats()
    assert s["completed"] == 21 and s["discarded"] == 0 and s["threads"] == 0 and s["shut_down"]


def test_shutdown_with_queued_jobs_cancelled():
    ran = []

    class Payload:
        pass

    payload = Payload()
    ref = weakref.ref(payload)
    wp = WorkerPool(1, queue_size=50)
    started = threading.Event()
    wp.submit(lambda: (started.set(), time.sleep(0.2)))
    assert started.wait(5)
    for i in range(10):
        wp.submit(lambda i=i, p=payload: ran.append(i))
    del payload
    dropped = wp.shutdown(cancel_pending=True)
    s = wp.stats()
    assert dropped == 10 and s["discarded"] == 10
    assert ran == []                                   # dropped jobs never run
    assert s["submitted"] == s["completed"] + s["discarded"] == 11
    assert ref() is None                               # and what they held is released
    assert s["in_flight"] == 0


def test_use_after_shutdown_is_a_runtime_error():
    wp = WorkerPool(1)
    wp.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        wp.submit(print)
    with pytest.raises(RuntimeError, match="shut down"):
        wp.submit_c("noop")
    assert wp.shutdown() == 0        # idempotent
    assert wp.wait_all() is True


def test_wait_from_inside_a_job_is_refused_not_a_hang():
    errors = []
    wp = WorkerPool(2)

    def job():
        try:
            wp.wait_all()
        except RuntimeError as e:
            errors.append(str(e))

    wp.submit(job)
    wp.wait_all()
    wp.shutdown()
    assert errors and "inside one of the pool's own jobs" in errors[0]


def test_job_record_cap_bounds_retention():
    with WorkerPool(1, queue_size=64, max_objects=4) as wp:
        wp.submit_c("noop", count=500)
        wp.wait_all()
        s = wp.stats()
        assert s["retained_objects"] <= 4 and s["drops"] > 0
        assert s["puts"] == s["gets"] == 500
    with pytest.raises(ValueError, match="smaller than one job record"):
        WorkerPool(1, max_bytes=8)


def test_trim_frees_job_records():
    with WorkerPool(2) as wp:
        wp.submit_c("noop", count=100)
        wp.wait_all()
        wp.trim()
        # the depot and this thread's records are freed; workers' records later
        assert wp.stats()["trims"] == 1


@pytest.mark.parametrize("make, exc, match", [
    (lambda: WorkerPool(0), ValueError, "threads must be between 1 and 1024"),
    (lambda: WorkerPool(2000), ValueError, "threads must be between 1 and 1024"),
    (lambda: WorkerPool(2, queue_size=0), ValueError, "queue_size must be between 1"),
    (lambda: WorkerPool("2"), TypeError, "threads must be an int"),
])
def test_bad_constructor_arguments(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_bad_submit_arguments():
    with WorkerPool(1) as wp:
        with pytest.raises(ValueError, match="unknown C job kind 'md5'"):
            wp.submit_c("md5", 1)
        with pytest.raises(ValueError, match="arg must be >= 0"):
            wp.submit_c("spin", -1)
        with pytest.raises(ValueError, match="count must be >= 0"):
            wp.submit_c("noop", 0, -1)
        with pytest.raises(ValueError, match="at most 10 s"):
            wp.submit_c("sleep", 10**9)
        with pytest.raises(TypeError, match="callable"):
            wp.submit(42)
        with pytest.raises(ValueError, match="timeout"):
            wp.wait_all(timeout=-1)
        assert wp.stats()["submitted"] == 0


def test_interpreter_exit_with_busy_pool_is_clean():
    # a pool left running with queued Python jobs must not hang or crash at exit
    script = textwrap.dedent("""
        import time
        from enginepools import WorkerPool
        wp = WorkerPool(2, queue_size=100)
        for _ in range(50):
            wp.submit(time.sleep, 0.01)
        print("submitted")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "submitted"


def test_pool_whose_last_reference_dies_in_its_own_job():
    # the job's closure holds the only reference: the pool object dies on a
    # worker thread, which must neither join itself nor touch freed memory
    done = threading.Event()

    def make() -> None:
        wp = WorkerPool(2)
        wp.submit_c("sleep", 20_000, count=4)       # C jobs still queued after it dies

        def job() -> None:
            assert wp.stats()["submitted"] >= 5
            done.set()

        wp.submit(job)

    make()
    gc.collect()
    assert done.wait(5)
    time.sleep(0.2)  # the detached reaper drains the C jobs and joins the workers
    # no crash, no hang (tests/test_sanitized_extension.py runs this under ASan)


class _Interrupted(Exception):
    pass


def _raise_soon(seconds: float):
    import signal

    def handler(signum, frame):
        raise _Interrupted()

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    return lambda: (signal.setitimer(signal.ITIMER_REAL, 0), signal.signal(signal.SIGALRM, old))


@pytest.mark.parametrize("blocked_in", ["wait_all", "submit"])
def test_blocking_calls_stay_interruptible(blocked_in):
    # a signal handler's exception (Ctrl-C) ends a wait on the workers promptly
    # (the busy job ends only when the test lets it: an uninterruptible wait
    # would block until the gate's 60 s ran out and the job completed)
    gate = threading.Event()
    wp = WorkerPool(1, queue_size=1)
    wp.submit(gate.wait, 60)                 # the worker is busy until the gate opens
    wp.submit_c("noop")                      # the queue is full
    restore = _raise_soon(0.1)
    try:
        with pytest.raises(_Interrupted):
            if blocked_in == "wait_all":
                wp.wait_all()
            else:
                wp.submit_c("noop")
    finally:
        restore()
    assert wp.stats()["completed"] == 0      # interrupted while the job still ran
    gate.set()
    wp.shutdown(cancel_pending=True)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_child_cannot_use_the_parents_pool_and_exits_cleanly():
    # the child's copy has no threads: using it is a clear error, and the
    # child's normal exit (atexit hooks included) must not wait for them
    script = textwrap.dedent("""
        import os, sys
        from enginepools import WorkerPool
        wp = WorkerPool(2)
        wp.submit_c("noop", count=10)
        pid = os.fork()
        if pid == 0:
            try:
                wp.submit_c("noop")
            except RuntimeError as e:
                print("child:", e, flush=True)
            sys.exit(0)          # normal exit: runs atexit
        _, status = os.waitpid(pid, 0)
        print("child status", os.waitstatus_to_exitcode(status))
        wp.submit_c("noop", count=10)
        wp.wait_all()
        print("parent completed", wp.stats()["completed"])
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.returncode == 0, out.stderr
    assert "child: this worker pool belongs to the parent process" in out.stdout
    assert "child status 0" in out.stdout
    assert "parent completed 20" in out.stdout

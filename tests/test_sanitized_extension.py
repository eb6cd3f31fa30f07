"""The Python extension built with ASan+UBSan (EP_SANITIZE=address) in a
temporary copy of the tree: the pool tests pass under it, and a use of a
buffer after it went back to its pool is reported (pooled memory is
poisoned), as is a use after free when EP_POOL_BYPASS=1.  Built with TSan
(EP_SANITIZE=thread), the Python heap profiler runs threads that allocate
while the main thread samples, snapshots and restarts it, race-free."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _gcc_lib(name: str) -> str | None:
    gcc = shutil.which("gcc")
    if gcc is None:
        return None
    out = subprocess.run([gcc, f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
    return out if os.path.isabs(out) and os.path.exists(out) else None


def _sanitized_tree(tmp_path_factory, kind: str) -> Path:
    """A copy of the tree with the extension built under EP_SANITIZE=kind."""
    tree = tmp_path_factory.mktemp(f"{kind}-tree")
    ignore = shutil.ignore_patterns("*.so", "__pycache__", "build", "*.egg-info")
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    for name in ("csrc", "enginepools"):
        shutil.copytree(ROOT / name, tree / name, ignore=ignore)
    (tree / "tests").mkdir()
    for name in ("test_pools.py", "test_workerpool.py", "test_pyheap.py", "test_pybench.py"):
        shutil.copy2(ROOT / "tests" / name, tree / "tests" / name)
    env = dict(os.environ, EP_SANITIZE=kind)
    r = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace", "--build-temp", str(tree / "build")],
                       cwd=tree, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return tree


def _sanitized(tmp_path_factory, kind: str, runtime: str, **options: str) -> tuple[Path, dict[str, str]]:
    """The tree built under EP_SANITIZE=kind, and an environment that runs
    it with the sanitizer's runtime (gcc's `runtime`) preloaded."""
    lib = _gcc_lib(runtime)
    if lib is None:
        pytest.skip(f"needs gcc with {runtime}")
    tree = _sanitized_tree(tmp_path_factory, kind)
    return tree, dict(os.environ, LD_PRELOAD=lib, PYTHONPATH=str(tree), **options)


@pytest.fixture(scope="module")
def asan_tree(tmp_path_factory):
    tree, env = _sanitized(tmp_path_factory, "address", "libasan.so", ASAN_OPTIONS="detect_leaks=0")
    env.pop("EP_POOL_BYPASS", None)
    return tree, env


def test_pool_tests_pass_under_asan(asan_tree):
    tree, env = asan_tree
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                        "tests/test_pools.py", "tests/test_workerpool.py"],
                       cwd=tree, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert "ERROR: AddressSanitizer" not in r.stderr


def test_python_memory_tests_pass_under_asan(asan_tree):
    # the PyMem_SetAllocator hook (csrc/py/pyalloc.c): counter and heap profiler
    # (not the drawing test: matplotlib's C++ extension cannot throw under a preloaded libasan)
    tree, env = asan_tree
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/test_pyheap.py",
                        "tests/test_pybench.py", "-k",
                        "(pyheap or memory or alloc or pooled or counter or overhead) and not draw"],
                       cwd=tree, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert "ERROR: AddressSanitizer" not in r.stderr and "runtime error:" not in r.stderr


USE_AFTER_PUT = textwrap.dedent("""
    import ctypes
    from enginepools import BufferPool
    pool = BufferPool("tar")
    lease = pool.get(4096)
    addr = lease.address
    memoryview(lease)[:4] = b"data"
    lease.release()
    print("bypassed", pool.bypassed, flush=True)
    ctypes.string_at(addr, 4)     # read the buffer after it went back
    print("NOT CAUGHT", flush=True)
""")


@pytest.mark.parametrize("bypass, report", [("0", "use-after-poison"), ("1", "heap-use-after-free")])
def test_use_after_put_is_reported(asan_tree, bypass, report):
    tree, env = asan_tree
    r = subprocess.run([sys.executable, "-c", USE_AFTER_PUT], cwd=tree, env=dict(env, EP_POOL_BYPASS=bypass),
                       capture_output=True, text=True, timeout=120)
    assert f"bypassed {bypass == '1'}" in r.stdout
    assert "NOT CAUGHT" not in r.stdout
    assert r.returncode != 0
    assert report in r.stderr, r.stderr[-2000:]


PYHEAP_THREADS = textwrap.dedent("""
    import threading
    import enginepools._core as core
    from enginepools.bench.pyalloc import AllocCounter
    from enginepools.pprof.pyheap import PyHeapProfiler
    assert core.__file__.startswith(%r), core.__file__

    def work(n):
        for i in range(n):
            d = {"a": i, "b": [str(i)] * 3, "c": bytearray(100 + i %% 700)}
            del d

    for rate in (1, 4096):
        for _ in range(2):  # a restart: the threads' caches of the last profile's ids go stale
            with PyHeapProfiler(rate) as hp:
                threads = [threading.Thread(target=work, args=(2000,)) for _ in range(3)]
                for t in threads:
                    t.start()
                work(1000)
                hp.snapshot()  # while the threads allocate and free
                for t in threads:
                    t.join()
            assert hp.profile().n_samples > 0
    with AllocCounter() as c:
        work(100)
    assert c.blocks >= 300
    print("done", flush=True)
""")


def test_python_heap_profiler_is_race_free_under_tsan(tmp_path_factory):
    tree, env = _sanitized(tmp_path_factory, "thread", "libtsan.so", TSAN_OPTIONS="halt_on_error=0")
    r = subprocess.run([sys.executable, "-c", PYHEAP_THREADS % str(tree)], cwd=tree, env=env,
                       capture_output=True, text=True, timeout=600)
    assert "WARNING: ThreadSanitizer" not in r.stderr, r.stderr[-4000:]
    assert r.returncode == 0 and "done" in r.stdout, (r.stdout + r.stderr)[-4000:]

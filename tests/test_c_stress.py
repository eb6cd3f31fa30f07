"""The C stress test of the pools (csrc/tests/stress_pool.c), driven from
pytest: 8 threads, every object stamped with its owner and checked, books
balanced at the end.  A short run here; `make -C csrc/tests stress` runs the
full 1e6 gets per thread, `stress-asan` / `stress-tsan` under sanitizers."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "csrc" / "tests"

needs_toolchain = pytest.mark.skipif(
    shutil.which("make") is None or shutil.which("gcc") is None and shutil.which("cc") is None,
    reason="needs make and a C compiler",
)


def _make(tmp_path: Path, target: str, iters: int, timeout: int) -> subprocess.CompletedProcess[str]:
    # build into a temp dir so parallel runs and the source tree stay clean
    return subprocess.run(
        ["make", "-s", "-C", str(TESTS), target, f"ITERS={iters}", f"BUILD={tmp_path / 'build'}"],
        capture_output=True, text=True, timeout=timeout,
    )


@needs_toolchain
def test_stress_passes(tmp_path):
    r = _make(tmp_path, "stress", 100_000, 240)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "stress_pool: ok (0 failures)" in r.stdout
    assert "FAIL" not in r.stdout + r.stderr
    # every phase reported (object pools, thread exit, buffer pool)
    for phase in ("uncapped", "capped+clear+trim", "thread-exit waves", "bufpool"):
        assert phase in r.stdout


@needs_toolchain
def test_stress_catches_a_double_hand_out(tmp_path):
    # the checker is real: a pool that hands one object to two threads fails it
    r = subprocess.run(
        ["make", "-s", "-C", str(TESTS), f"BUILD={tmp_path / 'build'}", "stress-broken", "ITERS=20000"],
        capture_output=True, text=True, timeout=240,
    )
    assert r.returncode != 0
    assert "FAIL" in r.stderr


@pytest.mark.slow
@needs_toolchain
@pytest.mark.parametrize("target,iters,lib", [("stress-asan", 20_000, "asan"), ("stress-tsan", 5_000, "tsan")])
def test_stress_under_sanitizers(tmp_path, target, iters, lib):
    # ASan+UBSan (debug build) and ThreadSanitizer (the lock-free paths: no data race)
    r = _make(tmp_path, target, iters, 600)
    if r.returncode != 0 and "cannot find" in r.stderr and lib in r.stderr:
        pytest.skip(f"lib{lib} is not installed")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "stress_pool: ok (0 failures)" in r.stdout
    assert "ThreadSanitizer" not in r.stderr and "AddressSanitizer" not in r.stderr
    if lib == "asan":
        # debug build: a foreign pointer, another pool's object, a double put are refused
        assert "foreign, other pool, double put, bad capacity, wrong class refused" in r.stdout


@needs_toolchain
def test_pool_speed_script_reports_ratios(tmp_path):
    # a smoke run of benchmarks/pool_speed.py: it builds, runs and reports
    # every ratio (speed itself is judged by running the script, not here)
    import json
    import sys

    out = tmp_path / "bench.txt"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "pool_speed.py"), "-iters", "1000",
                        "-rounds", "2", "-json", "-o", str(out)],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    figs = json.loads(r.stdout)
    labels = {f["label"] for f in figs["ratios"]}
    assert any("64 B: pool get+put vs malloc+free" in x for x in labels)
    assert any("2-thread vs 1-thread" in x for x in labels)
    import statistics

    for f in figs["ratios"]:  # each figure is the median of its 2 per-round ratios
        assert len(f["per_round"]) == 2, f
        assert f["median"] == statistics.median(f["per_round"]) and f["min"] <= f["median"] <= f["max"]
        assert (f["min"], f["max"]) == (min(f["per_round"]), max(f["per_round"]))
    from enginepools.bench import benchfmt

    recs = benchfmt.read(str(out))
    names = sorted(rec.name for rec in recs)
    # 8 variants × 2 rounds, wall-clock samples, N = -iters
    want = sorted(2 * ["BenchmarkPoolGetPut/size=64-1", "BenchmarkMallocFree/size=64-1",
                       "BenchmarkEpAllocFree/size=64-1", "BenchmarkPoolGetPut/size=64-2",
                       "BenchmarkMallocFree/size=64-2", "BenchmarkBufferPoolGetPut/preset=tar/size=65536-1",
                       "BenchmarkBufferPoolGetPut/preset=hash/size=65536-1", "BenchmarkMallocFree/size=65536-1"])
    assert names == want
    assert all(rec.iterations == 1000 for rec in recs)

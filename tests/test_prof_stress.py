"""The C stress test of the profilers (csrc/tests/stress_prof.c): 4 threads
allocating, reallocating and freeing under the heap sampler (exact at rate 1
against ep_alloc's own counters) while SIGPROF samples at 1000 Hz and the
main thread snapshots both.  Sanitizer runs are marked slow."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1] / "csrc" / "tests"

needs_toolchain = pytest.mark.skipif(
    shutil.which("make") is None or (shutil.which("gcc") is None and shutil.which("cc") is None),
    reason="needs make and a C compiler",
)


def _make(tmp_path: Path, target: str, iters: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-s", "-C", str(TESTS), target, f"PROF_ITERS={iters}",
                           f"BUILD={tmp_path / 'build'}"], capture_output=True, text=True, timeout=600)


@needs_toolchain
def test_profilers_under_threads(tmp_path):
    r = _make(tmp_path, "stress-prof", 20_000)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "stress_prof: ok (0 failures)" in r.stdout
    assert "rate 1 " in r.stdout and "cpu:" in r.stdout


@pytest.mark.slow
@needs_toolchain
@pytest.mark.parametrize("target", ["stress-prof-asan", "stress-prof-tsan"])
def test_profilers_under_sanitizers(tmp_path, target):
    r = _make(tmp_path, target, 10_000)
    if r.returncode != 0 and "cannot find" in r.stderr:
        pytest.skip(f"{target}: sanitizer runtime not installed")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "stress_prof: ok (0 failures)" in r.stdout

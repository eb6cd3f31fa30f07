"""The benchmark harness and every kernel under AddressSanitizer+UBSan and
ThreadSanitizer: csrc/tests/stress_bench.c compiled with the library's C
files (no Python involved), serial and on a 3-thread team."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CSRC = ROOT / "csrc"

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")

FLAGS = {
    "plain": ["-O2"],
    "address": ["-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
                "-DEP_SANITIZE_ADDRESS=1", "-DEP_DEBUG=1"],
    "thread": ["-O1", "-fsanitize=thread", "-DEP_SANITIZE_THREAD=1", "-DEP_DEBUG=1"],
}


def build_and_run(tmp_path: Path, kind: str, iters: int) -> subprocess.CompletedProcess[str]:
    srcs = sorted(glob.glob(str(CSRC / "*.c")))  # the library; the Python seam is csrc/py/
    exe = tmp_path / f"stress_bench_{kind}"
    cmd = ["gcc", "-std=gnu11", "-Wall", "-Wextra", "-D_GNU_SOURCE", f"-I{CSRC / 'include'}", f"-I{CSRC}", "-g",
           "-fno-omit-frame-pointer", *FLAGS[kind], "-o", str(exe), str(CSRC / "tests" / "stress_bench.c"), *srcs,
           "-pthread", "-lm", "-lz"]
    b = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if b.returncode != 0 and kind != "plain" and ("cannot find" in b.stderr or "libasan" in b.stderr
                                                  or "libtsan" in b.stderr):
        pytest.skip(f"{kind} sanitizer runtime is not installed")
    assert b.returncode == 0, b.stderr
    env = {**os.environ, "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1",
           "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1", "TSAN_OPTIONS": "halt_on_error=1"}
    return subprocess.run([str(exe), str(iters)], capture_output=True, text=True, timeout=300, env=env)


def test_every_kernel_runs_serial_and_parallel(tmp_path):
    r = build_and_run(tmp_path, "plain", 2000)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "stress_bench: ok (0 failures)" in r.stdout
    assert "PoolContention/impl=pool" in r.stdout and "TarArchive/impl=std" in r.stdout


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["address", "thread"])
def test_under_sanitizers(tmp_path, kind):
    r = build_and_run(tmp_path, kind, 300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "stress_bench: ok (0 failures)" in r.stdout
    assert "WARNING: ThreadSanitizer" not in r.stderr

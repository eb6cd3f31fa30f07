"""`enginepools top` against `go tool pprof -top` on a large profile: wall
time, peak RSS and output, measured side by side in one run.

    python benchmarks/pprof_top_scale.py [-samples 150000] [-- extra top flags]

Generates a synthetic heap profile (benchmarks/pprof_decode.py's generator:
`-samples` samples of 20–45 frames, four values, string and numeric labels,
locations with inline lines), writes it uncompressed (≥ 15 MB at the default
size), then runs both tools once each as child processes on the same file and
flags, taking wall time from the clock, CPU time (user + system) and peak RSS
from the child's rusage (os.wait4).  On a shared machine the wall ratio moves
with the load; the CPU ratio is the steadier figure.  Prints both, the ratios (pprof / ours for time, ours / pprof for
RSS) and whether the outputs are byte-identical.  Needs `go`.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pprof_decode import synthetic  # noqa: E402


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, int, bytes, bytes, int, float]:
    """Wall seconds, peak RSS (bytes), stdout, stderr, exit status, CPU
    seconds (user + system) of `cmd`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return wall, ru.ru_maxrss * 1024, out.read(), err.read(), proc.returncode, ru.ru_utime + ru.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-samples", type=int, default=150_000, help="samples in the profile (default 150000)")
    ap.add_argument("flags", nargs="*", help="extra flags for both tools (after --)")
    a = ap.parse_args()
    if shutil.which("go") is None:
        print("needs the go toolchain (go tool pprof is the baseline)")
        return 1
    prof = synthetic(0, n_samples=a.samples, frames=(20, 46))
    raw = prof.to_bytes(compress=False)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "big.pb"
        path.write_bytes(raw)
        print(f"profile: {prof.n_samples} samples, {len(prof.location_id)} locations, "
              f"{len(raw) / 1e6:.1f} MB (uncompressed file); load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        env = dict(os.environ, PPROF_TMPDIR=d, HOME=os.environ.get("HOME") or d, GOTOOLCHAIN="local")
        go = run(["go", "tool", "pprof", "-top", *a.flags, str(path)], env)
        ours = run([sys.executable, "-m", "enginepools", "top", *a.flags, str(path)], env)
    for name, r in (("pprof", go), ("ours", ours)):
        if r[4] != 0:
            print(f"{name} failed ({r[4]}): {r[3].decode(errors='replace')[-500:]}")
            return 1
    print(f"go tool pprof -top : {go[0]:7.2f} s wall {go[5]:7.2f} s CPU  peak RSS {go[1] / 2**20:8.1f} MiB")
    print(f"enginepools top    : {ours[0]:7.2f} s wall {ours[5]:7.2f} s CPU  peak RSS {ours[1] / 2**20:8.1f} MiB")
    print(f"ratio              : {go[0] / ours[0]:.1f}x faster (wall), {go[5] / ours[5]:.1f}x less CPU, "
          f"{ours[1] / go[1]:.2f}x the peak RSS")
    same = go[2] == ours[2]
    print(f"output             : {'byte-identical' if same else 'DIFFERENT'} ({len(ours[2])} bytes)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

"""Wall time of `enginepools top` on a small profile, Python start included
(hyperfine-style: warm-up runs, then N timed runs of the whole command).

    python benchmarks/cli_top_startup.py [-runs 20]

Writes a small heap profile (about 6 KB: 200 stacks, labels) with
ProfileBuilder, byte-compiles the package as `pip install` does, runs the
`enginepools` console script of this interpreter's
environment (or `python -m enginepools`) as a child process `-runs` times and
prints the median wall and CPU time (user + system, from the child's
rusage: the machine may be shared) and the wall min and max; with `go`, `go tool pprof -top` on
the same file for comparison.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from enginepools.pprof.profile import ProfileBuilder  # noqa: E402


def small_profile(path: Path) -> None:
    """About 6 KB gzip'd (the size the issue names): 5 pools' get paths under
    40 callers, 200 distinct stacks, labels on every sample."""
    b = ProfileBuilder(comments=["cli_top_startup"])
    b.add_mapping(0x400000, 0x800000, 0, "/opt/enginepools/app", "feedface")
    main_ = ("main", "app.c", 40, 0x400100)
    callers = [(f"worker_{k}_loop", f"worker{k}.c", 10 + k, 0x403000 + 16 * k) for k in range(40)]
    for i, (pool, size, n) in enumerate([("hash", 65536, 12), ("tar", 65536, 3), ("strbuf", 256, 400),
                                         ("bufpool", 4096, 40), ("objpool", 128, 900)]):
        for k, caller in enumerate(callers):
            b.add_sample([n + k, (n + k) * size, (n + k) // 2, (n + k) // 2 * size],
                         [("ep_alloc", "alloc.c", 30, 0x401000 + i),
                          (f"ep_{pool}_get", "pool.c", 120 + i, 0x402000 + i),
                          (f"ep_{pool}_refill_{k % 7}", "pool.c", 200 + k, 0x402100 + 16 * k + i), caller,
                          ("ep_bench_run", "bench.c", 88, 0x400200), main_],
                         labels={"pool": pool, "worker": str(k)}, num_labels={"bytes": (size, "bytes")})
    b.build().write(path)


def once(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of `cmd`."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} failed")
    return wall, ru.ru_utime + ru.ru_stime


def times(cmd: list[str], runs: int, env: dict[str, str]) -> list[tuple[float, float]]:
    for _ in range(3):
        once(cmd, env)
    return [once(cmd, env) for _ in range(runs)]


def show(name: str, ts: list[tuple[float, float]]) -> float:
    walls = [w for w, _ in ts]
    med = statistics.median(walls)
    cpu = statistics.median(c for _, c in ts)
    print(f"{name:24s}: median {med * 1e3:7.1f} ms wall, {cpu * 1e3:7.1f} ms CPU  "
          f"(wall min {min(walls) * 1e3:.1f}, max {max(walls) * 1e3:.1f}, {len(ts)} runs)")
    return med


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-runs", type=int, default=20)
    a = ap.parse_args()
    # An installed package has its bytecode (pip install compiles it); with
    # PYTHONDONTWRITEBYTECODE set and no __pycache__ every run would compile
    # every module again (about 40 ms more): compile once, as installing does.
    import enginepools

    subprocess.run([sys.executable, "-m", "compileall", "-q", enginepools.__path__[0]], check=True,
                   stdout=subprocess.DEVNULL)
    script = Path(sys.executable).parent / "enginepools"
    ours = [str(script)] if script.exists() else [sys.executable, "-m", "enginepools"]
    with tempfile.TemporaryDirectory() as d:
        prof = Path(d) / "small.prof"
        small_profile(prof)
        env = dict(os.environ, PPROF_TMPDIR=d, GOTOOLCHAIN="local")
        print(f"profile: {prof.stat().st_size} bytes; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        med = show("enginepools top", times([*ours, "top", str(prof)], a.runs, env))
        if shutil.which("go"):
            gmed = show("go tool pprof -top", times(["go", "tool", "pprof", "-top", str(prof)], a.runs, env))
            print(f"ratio ours/pprof        : {med / gmed:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

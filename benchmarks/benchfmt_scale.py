"""Reading a large Go benchmark text file: wall time and peak RSS of
``enginepools.bench.benchfmt.read``.

    python benchmarks/benchfmt_scale.py [-lines 1000000] [-baseline SRC] [-o FILE]

Generates `-lines` result lines shaped like ``enginepools bench`` output
(configuration header; pooled kernels with ns/op, MB/s, clear-ns/op,
hits/op, misses/op, retained-B, B/op, allocs/op, plain ones with ns/op,
B/op, allocs/op; -cpu suffixes; values varying from line to line), writes
them to a temporary file (or `-o FILE`), then reads it once in a fresh
child process: wall time from the child's clock around ``read()``, peak
RSS from the child's rusage (os.wait4) — the whole process, Python start
and imports included, and after read() the child iterates every record
(the sequence makes each Record when asked: that time is printed apart,
its memory is in the peak).  The targets (issue 16) are ≤ 3 s and ≤ 500 MB at
10⁶ lines; the figures are printed as ratios to them.

`-baseline SRC` runs the same measurement, in the same run, with another
source tree first on PYTHONPATH (e.g. ``git archive main`` unpacked, with
this build's ``enginepools/_core*.so`` copied in), and prints the ratios
between the two.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 3.0
TARGET_BYTES = 500e6

CHILD = """
import sys, time
from enginepools.bench import benchfmt
t = time.perf_counter()
recs = benchfmt.read(sys.argv[1])
dt = time.perf_counter() - t
t = time.perf_counter()
values = sum(len(r.values) for r in recs)
print(dt, len(recs), values, time.perf_counter() - t)
"""

POOLED = ["StringBuilder/impl=pool", "HashBuffer/impl=pool", "HashBuffer/impl=pool-noclear",
          "TarBuffer/impl=pool", "TarArchive/impl=pool", "PoolContention/impl=pool"]
PLAIN = ["StringBuilder/impl=std", "HashBuffer/impl=std", "TarBuffer/impl=std", "TarBuffer/impl=memcpy",
         "TarArchive/impl=std", "SHA256/size=1KiB", "SHA256/size=1MiB", "PoolGetPut/size=64",
         "MallocFree/size=64", "PoolContention/impl=std", "WorkerPool/impl=std"]


def generate(path: Path, lines: int, seed: int = 16) -> int:
    """Write `lines` result lines to `path`; returns its size in bytes."""
    rng = random.Random(seed)
    names = [(f"Benchmark{n}{sfx}", n in POOLED, n.startswith(("SHA256", "Tar")))
             for sfx in ("", "-2", "-4") for n in POOLED + PLAIN]
    with open(path, "w") as f:
        f.write("goos: linux\ngoarch: amd64\npkg: enginepools/kernels\ncpu: AMD EPYC\n")
        for i in range(lines):
            name, pooled, mbs = names[i % len(names)]
            ns = rng.uniform(50, 5e6)
            parts = [f"{ns:.4g} ns/op"]
            if mbs:
                parts.append(f"{32768e3 / ns:.2f} MB/s")
            if pooled:
                clear = rng.choice([0, rng.randint(900, 15000)])
                parts += [f"{clear} clear-ns/op", "1.000 hits/op", f"{rng.choice([0, 0, 0.001]):g} misses/op",
                          f"{rng.choice([24, 65536]):d} retained-B", "0 B/op", "0 allocs/op"]
            else:
                parts += [f"{rng.choice([32, 115, 65536])} B/op", f"{rng.randint(1, 3)} allocs/op"]
            f.write(f"{name:<40}\t{rng.randint(1, 10**7):8d}\t" + "\t".join(parts) + "\n")
        f.write("PASS\nok  \tenginepools/kernels\t12.345s\n")
    return path.stat().st_size


def measure(path: Path, src: Path) -> tuple[float, int, int, int, float, float]:
    """(read seconds, peak RSS bytes, records, values, seconds to then make
    every Record, CPU seconds of the child) in a child process."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, env=env, cwd=src)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, ru = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"reader failed in {src}")
    dt, n, values, walk = out.split()
    return float(dt), ru.ru_maxrss * 1024, int(n), int(values), float(walk), ru.ru_utime + ru.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-lines", type=int, default=1_000_000, help="result lines (default 1000000)")
    ap.add_argument("-baseline", metavar="SRC", help="also measure the reader of this source tree")
    ap.add_argument("-o", metavar="FILE", help="keep the generated file here")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(a.o) if a.o else Path(d) / "bench.txt"
        size = generate(path, a.lines)
        print(f"input: {a.lines} result lines, {size / 1e6:.1f} MB")
        runs = [("this tree", ROOT)] + ([("baseline", Path(a.baseline).resolve())] if a.baseline else [])
        results = {}
        for label, src in runs:
            dt, rss, n, values, walk, cpu = measure(path, src)
            results[label] = (dt, rss)
            print(f"{label:10}: read() {dt:6.2f} s, peak RSS {rss / 1e6:7.1f} MB  ({n} records, {values} values; "
                  f"then iterating every Record {walk:.2f} s; child CPU {cpu:.2f} s in all)")
    dt, rss = results["this tree"]
    print(f"targets   : {dt / TARGET_SECONDS:.2f}x of the 3 s, {rss / TARGET_BYTES:.2f}x of the 500 MB "
          f"({'met' if dt <= TARGET_SECONDS and rss <= TARGET_BYTES else 'NOT met'})")
    if "baseline" in results:
        bdt, brss = results["baseline"]
        print(f"vs baseline: {bdt / dt:.1f}x faster, {rss / brss:.2f}x the peak RSS")
    return 0


if __name__ == "__main__":
    sys.exit(main())

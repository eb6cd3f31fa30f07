#!/usr/bin/env python3
"""Speed of the C pools against malloc, from one run of csrc/tests/bench_pool.

Builds the benchmark program (``make -C csrc/tests bench``), runs it once
(every variant interleaved round by round, so machine drift hits all of them
alike) and prints, per round and as the median over rounds:

* 64 B object: pool get+put vs malloc+free (and vs ep_alloc+ep_free);
* 64 KiB buffer: "tar" buffer pool get+put vs malloc+free, and the "hash"
  pool, whose put zeroes the buffer;
* 2 threads vs 1 thread on one pool: aggregate throughput ratio (malloc
  beside it for reference);
* from Python, through the seam: ``with pool.buffer() as mv`` (64 KiB, "tar")
  vs ``bytearray(65536)``, and ``with pool.object() as mv`` (64 B) vs
  ``bytearray(64)`` — whether a pool pays for Python code.

Two clocks: wall time (aggregate ns/op, what a user waits for) and each
thread's own CPU time (leaves out time spent descheduled).  On a machine
shared with other work the wall figures swing with the load, and two threads
only run side by side when two cores are free; the CPU-time figures stay
meaningful (2-thread scaling from CPU time = 2 × cpu₁ / cpu₂, the throughput
if each thread had a core: it falls below 2 only through contention — shared
cache lines, locks).  Ratios are computed within each round and then
summarised, never across runs.  The issue's targets (pool ≥ 3× malloc at 64 B; 2 threads ≥ 1.7× one)
are printed as met/missed.  ``-o FILE`` also writes the samples in the Go
benchmark format (``PoolGetPut/size=64``, ``MallocFree/size=64``, …) for
``enginepools compare``.  On a machine shared with other work, keep the
run short and read the ratios, not the nanoseconds.

Usage: python benchmarks/pool_speed.py [-iters N] [-rounds R] [-o FILE] [-json]
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from enginepools._flags import GoArgumentParser, flag  # noqa: E402

TESTS = ROOT / "csrc" / "tests"

# variant -> (Go benchmark name, threads)
GO_NAMES = {
    "pool_1t": ("PoolGetPut/size=64", 1),
    "malloc_1t": ("MallocFree/size=64", 1),
    "epalloc_1t": ("EpAllocFree/size=64", 1),
    "pool_2t": ("PoolGetPut/size=64", 2),
    "malloc_2t": ("MallocFree/size=64", 2),
    "tar64k_1t": ("BufferPoolGetPut/preset=tar/size=65536", 1),
    "hash64k_1t": ("BufferPoolGetPut/preset=hash/size=65536", 1),
    "malloc64k_1t": ("MallocFree/size=65536", 1),
}

# (label, numerator variant, denominator variant, target or None): ratio = num/den of ns/op,
# i.e. how many times faster the denominator is
RATIOS = [
    ("64 B: pool get+put vs malloc+free (x faster)", "malloc_1t", "pool_1t", 3.0),
    ("64 B: pool get+put vs ep_alloc+ep_free (x faster)", "epalloc_1t", "pool_1t", None),
    ("64 KiB: tar pool get+put vs malloc+free (x faster)", "malloc64k_1t", "tar64k_1t", None),
    ("64 KiB: hash pool (zeroes on put) vs malloc+free (x faster)", "malloc64k_1t", "hash64k_1t", None),
    ("pool: 2-thread vs 1-thread throughput (x)", "pool_1t", "pool_2t", 1.7),
    ("malloc: 2-thread vs 1-thread throughput (x)", "malloc_1t", "malloc_2t", None),
]


def build() -> Path:
    if shutil.which("make") is None:
        sys.exit("pool_speed: needs `make` and a C compiler")
    r = subprocess.run(["make", "-s", "-C", str(TESTS), "bench"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"pool_speed: building csrc/tests/bench_pool failed:\n{r.stderr}")
    return TESTS / "build" / "bench_pool"


Samples = dict[str, dict[str, list[float]]]  # clock ("wall"/"cpu") -> variant -> ns/op per round


def run(prog: Path, iters: int, rounds: int) -> Samples:
    r = subprocess.run([str(prog), str(iters), str(rounds)], capture_output=True, text=True, check=True)
    samples: Samples = {"wall": defaultdict(list), "cpu": defaultdict(list)}
    for line in r.stdout.splitlines():
        variant, _round, wall, cpu = line.split()
        samples["wall"][variant].append(float(wall))
        samples["cpu"][variant].append(float(cpu))
    return samples


def ratios(samples: Samples) -> list[dict]:
    out = []
    for clock in ("wall", "cpu"):
        s = samples[clock]
        for label, num, den, target in RATIOS:
            per_round = [a / b for a, b in zip(s[num], s[den])]
            if clock == "cpu" and den.endswith("_2t"):
                # CPU time per op per thread: throughput with a core per thread
                per_round = [2 * x for x in per_round]
            med = statistics.median(per_round)
            out.append({"clock": clock, "label": label, "median": med, "min": min(per_round),
                        "max": max(per_round), "per_round": per_round, "target": target,
                        "met": None if target is None else med >= target})
    return out


def python_seam(rounds: int, number: int) -> dict[str, list[float]]:
    """ns per lend through the Python seam vs a fresh bytearray, interleaved."""
    import timeit

    from enginepools import BufferPool, ObjectPool

    tar, obj = BufferPool("tar"), ObjectPool(64)

    def lend64k() -> None:
        with tar.buffer() as mv:
            mv[0] = 1

    def bytearray64k() -> None:
        b = bytearray(65536)
        b[0] = 1

    def lend64() -> None:
        with obj.object() as mv:
            mv[0] = 1

    def bytearray64() -> None:
        b = bytearray(64)
        b[0] = 1

    variants = {"py_lend64k": lend64k, "py_bytearray64k": bytearray64k,
                "py_lend64": lend64, "py_bytearray64": bytearray64}
    out: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        for name, fn in variants.items():
            fn()
            out[name].append(timeit.timeit(fn, number=number) / number * 1e9)
    tar.close()
    obj.close()
    return out


def go_format(samples: Samples, iters: int) -> str:
    """Wall-clock samples (what `go test -bench` reports) in the Go format."""
    lines = ["goos: linux", "goarch: amd64", "pkg: enginepools/csrc/tests/bench_pool"]
    for variant, values in samples["wall"].items():
        name, threads = GO_NAMES.get(variant, (variant, 1))
        suffix = f"-{threads}"
        for ns in values:
            lines.append(f"Benchmark{name}{suffix}\t{iters}\t{ns:.4f} ns/op")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = GoArgumentParser(prog="pool_speed", description=__doc__.split("\n\n")[0])
    flag(p, "iters", type=int, default=20_000_000, help="iterations per thread per 64 B variant (default 2e7)")
    flag(p, "rounds", type=int, default=7, help="interleaved rounds (default 7)")
    flag(p, "o", metavar="FILE", help="also write the samples in the Go benchmark format")
    flag(p, "json", action="store_true", help="print the figures as JSON")
    a = p.parse_args(argv)
    if a.iters < 1000:
        p.error(f"-iters must be at least 1000, got {a.iters}")
    if a.rounds < 1:
        p.error(f"-rounds must be at least 1, got {a.rounds}")
    samples = run(build(), a.iters, a.rounds)
    figs = ratios(samples)
    py = python_seam(a.rounds, max(1000, min(a.iters // 500, 50_000)))
    for label, num, den in (("Python: with pool.buffer() 64 KiB vs bytearray(65536) (x faster)",
                             "py_bytearray64k", "py_lend64k"),
                            ("Python: with pool.object() 64 B vs bytearray(64) (x faster)",
                             "py_bytearray64", "py_lend64")):
        per_round = [x / y for x, y in zip(py[num], py[den])]
        figs.append({"clock": "python", "label": label, "median": statistics.median(per_round),
                     "min": min(per_round), "max": max(per_round), "per_round": per_round,
                     "target": None, "met": None})
    if a.o:
        tmp = f"{a.o}.tmp{os.getpid()}"
        Path(tmp).write_text(go_format(samples, a.iters))
        os.replace(tmp, a.o)
    if a.json:
        med = {c: {k: statistics.median(v) for k, v in s.items()} for c, s in samples.items()}
        med["python"] = {k: statistics.median(v) for k, v in py.items()}
        print(json.dumps({"iters": a.iters, "rounds": a.rounds, "median_ns_per_op": med, "ratios": figs}, indent=2))
        return 0
    print(f"bench_pool: {a.rounds} interleaved rounds, {a.iters} iterations per 64 B variant, "
          f"cpus={os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    print(f"{'variant':<14} {'wall ns/op':>10} {'cpu ns/op':>10}  (medians; wall per round)")
    for v, vals in samples["wall"].items():
        print(f"{v:<14} {statistics.median(vals):>10.2f} {statistics.median(samples['cpu'][v]):>10.2f}  "
              + " ".join(f"{x:.2f}" for x in vals))
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1) - 1:
        print(f"\nnote: load average {load:.2f} on {os.cpu_count()} cpus: two threads rarely get two cores, "
              "so read 2-thread scaling from the CPU-time ratios")
    print()
    for v, vals in py.items():
        print(f"{v:<16} {statistics.median(vals):>9.1f} ns per op (Python, median of rounds)")
    titles = {"wall": "wall-clock time", "cpu": "per-thread CPU time", "python": "Python wall-clock time"}
    for clock in ("wall", "cpu", "python"):
        print(f"\nratios from {titles[clock]}:")
        for f in figs:
            if f["clock"] != clock:
                continue
            tgt = ""
            if f["target"] is not None:
                tgt = f"   target >= {f['target']:.1f}x: {'met' if f['met'] else 'MISSED'}"
            print(f"  {f['label']:<60} {f['median']:6.2f}x  (rounds {f['min']:.2f}..{f['max']:.2f}){tgt}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

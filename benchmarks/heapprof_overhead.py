#!/usr/bin/env python3
"""Overhead of the heap profiler on allocation-heavy kernels.

For each kernel, runs three modes interleaved round by round (off, default
rate 512 KiB, rate 1), so machine drift hits them alike, and prints the
median ns/op of each and the ratios against "off" (median of the per-round
ratios).  Targets (issue 5): <= 1.05 at the default rate, <= 3 at rate 1.

    python benchmarks/heapprof_overhead.py                 # ~15 s
    python benchmarks/heapprof_overhead.py -rounds 11 -benchtime 0.2
    python benchmarks/heapprof_overhead.py -json out.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from enginepools import _core  # noqa: E402

KERNELS = ["StringBuilder/impl=std", "MallocFree/size=64", "TarBuffer/impl=std"]
# "off2" is a second "off" run each round: its ratio to "off" is the noise floor
MODES = [("off", 0), ("default", 512 * 1024), ("rate1", 1), ("off2", 0)]


def run(handle, n: int, rate: int, clock: str) -> float:
    if rate:
        _core.heapprof_start(rate)
    try:
        t0 = time.thread_time_ns()
        r = _core.bench_run(handle, n)
        cpu_ns = time.thread_time_ns() - t0
    finally:
        if rate:
            _core.heapprof_stop()
    return (cpu_ns if clock == "cpu" else r["ns"]) / r["n"]


def calibrate(handle, seconds: float) -> int:
    n = 1000
    while True:
        r = _core.bench_run(handle, n)
        if r["ns"] >= 0.02e9:
            return max(1, int(n * seconds * 1e9 / r["ns"]))
        n *= 10


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-rounds", type=int, default=15)
    ap.add_argument("-benchtime", type=float, default=0.05, help="seconds per sample (default 0.05)")
    ap.add_argument("-kernels", default=",".join(KERNELS))
    ap.add_argument("-json", dest="json_out", default=None)
    ap.add_argument("-clock", choices=("cpu", "wall"), default="cpu",
                    help="thread CPU time (default; robust on a shared machine) or wall time")
    a = ap.parse_args(argv)
    results = {}
    print(f"clock: {a.clock}")
    print(f"{'kernel':28} {'off ns/op':>10} {'default':>10} {'rate 1':>10} {'default/off':>12} {'rate1/off':>10}"
          f" {'off/off (noise)':>16}")
    for name in a.kernels.split(","):
        h = _core.bench_open(name, 1)
        try:
            n = calibrate(h, a.benchtime)
            per = {m: [] for m, _ in MODES}
            for _ in range(a.rounds):
                for mode, rate in MODES:
                    per[mode].append(run(h, n, rate, a.clock))
        finally:
            _core.bench_close(h)
        med = {m: statistics.median(v) for m, v in per.items()}
        ratio = {m: statistics.median(x / o for x, o in zip(per[m], per["off"])) for m in ("default", "rate1", "off2")}
        results[name] = {"n": n, "rounds": a.rounds, "clock": a.clock, "median_ns_per_op": med, "ratio_vs_off": ratio}
        print(f"{name:28} {med['off']:10.1f} {med['default']:10.1f} {med['rate1']:10.1f} "
              f"{ratio['default']:12.3f} {ratio['rate1']:10.2f} {ratio['off2']:16.3f}")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

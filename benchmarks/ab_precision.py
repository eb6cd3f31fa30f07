#!/usr/bin/env python3
"""What makes the end-to-end A/B precise on this machine: workload size,
hash workers, wall vs CPU time.

For each (files, threads) setting, runs an A/A test (``-configs none,none``,
nothing injected, so the true ratio is 1) for a fixed number of rounds and
prints, for wall time and CPU time, the paired 95% interval half-width and
what it implies: the rounds and the seconds that a ±2% half-width would take
(width ∝ 1/√n).  The setting with the fewest seconds to ±2% is the one to use.

    python benchmarks/ab_precision.py                     # files 1000,3000,10000; threads 1,2; 12 rounds
    python benchmarks/ab_precision.py -files 3000 -threads 1,2 -rounds 20

All figures come from this one run; on a shared machine, rerun and compare.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from enginepools.e2e import ab as abmod  # noqa: E402
from enginepools.e2e.treegen import TreeSpec, default_tree  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-files", default="1000,3000,10000")
    p.add_argument("-threads", default="1,2")
    p.add_argument("-rounds", type=int, default=12)
    p.add_argument("-target", type=float, default=0.02)
    a = p.parse_args()
    print(f"{'files':>6} {'thr':>3} {'s/round':>8} | {'wall ±':>7} {'rounds':>7} {'s to ±2%':>9} | "
          f"{'cpu ±':>7} {'rounds':>7} {'s to ±2%':>9} | load")
    for files in [int(x) for x in a.files.split(",")]:
        tree = default_tree(TreeSpec(files=files, dirs=max(10, files // 20)))
        for th in [int(x) for x in a.threads.split(",")]:
            t = time.perf_counter()
            res = abmod.run_ab(tree.path, ["none", "none"], a.rounds, threads=th, write_archive=False)
            per_round = (time.perf_counter() - t) / (a.rounds + 1)  # one warm-up round
            cells = []
            for unit in ("ns/op", "cpu-ns/op"):
                hw = res.paired("none#01", unit).half_width
                need = math.ceil(a.rounds * (hw / a.target) ** 2)
                cells.append(f"{100 * hw:6.1f}% {need:7d} {need * per_round:9.0f}")
            load = os.getloadavg()[0]
            print(f"{files:6d} {res.threads:3d} {per_round:8.2f} | {cells[0]} | {cells[1]} | {load:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

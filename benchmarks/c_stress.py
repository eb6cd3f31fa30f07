#!/usr/bin/env python3
"""Time the C stress test of the pools in its three builds and record what
each run printed.

For each build (optimised, ASan+UBSan, TSan; csrc/tests/Makefile) the
program is compiled into a fresh build directory (timed: the build) and run
once (timed: the run), each with the wall clock; the load average before the
run is recorded with it, since on a shared machine the times follow the load.
From the program's output: the failure count, whether the ep_alloc books
balanced, and the hit rate of every pool phase.

    python benchmarks/c_stress.py                          # ~1-3 min
    python benchmarks/c_stress.py -json docs/data/c_stress.json

docs/gen_figures.py renders docs/pools.md's stress figures from that file.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "csrc" / "tests"
BUILDS = [("optimised", "stress", "stress_pool"), ("asan", "stress-asan", "stress_pool_asan"),
          ("tsan", "stress-tsan", "stress_pool_tsan")]
PHASE = re.compile(r"^\s+(?P<name>\S.*?)\s+gets\s+(?P<gets>\d+)\s+hit\s+(?P<hit>[\d.]+)%", re.M)
HEAD = re.compile(r"stress_pool: (\d+) threads, (\d+) gets per thread per phase")
RESULT = re.compile(r"stress_pool: (ok|FAIL) \((\d+) failures\)")


def parse(output: str) -> dict[str, object]:
    """What one run printed: threads, iterations, failures, the phases' hit rates."""
    head, res = HEAD.search(output), RESULT.search(output)
    if not head or not res:
        raise SystemExit(f"c_stress: unexpected output:\n{output[-2000:]}")
    return {"threads": int(head.group(1)), "iters": int(head.group(2)), "ok": res.group(1) == "ok",
            "failures": int(res.group(2)), "books_balance": "books do not balance" not in output,
            "phases": [{"name": m["name"], "gets": int(m["gets"]), "hit_pct": float(m["hit"])}
                       for m in PHASE.finditer(output)]}


def _program(make: list[str], build: str, names: tuple[str, ...]) -> str:
    """The first of `names` the Makefile has a rule for (the optimised
    binary is ``stress_pool_opt`` where the variants share one pattern rule)."""
    for name in names:
        if subprocess.run(make + ["-n", f"{build}/{name}"], capture_output=True).returncode == 0:
            return name
    raise SystemExit(f"c_stress: csrc/tests/Makefile has no rule for any of {', '.join(names)}")


def one(target: str, program: str, iters: int, build: str) -> dict[str, object]:
    make = ["make", "-s", "-C", str(TESTS), f"BUILD={build}", f"ITERS={iters}"]
    program = _program(make, build, (program + "_opt", program) if target == "stress" else (program,))
    t0 = time.perf_counter()
    subprocess.run(make + [f"{build}/{program}"], check=True, capture_output=True)
    built = time.perf_counter() - t0
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    r = subprocess.run(make + [target], capture_output=True, text=True)
    ran = time.perf_counter() - t0
    rec = parse(r.stdout + r.stderr)
    rec.update(build_s=round(built, 2), run_s=round(ran, 2), load_before=round(load, 2), exit=r.returncode)
    return rec


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="c_stress.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("-iters", type=int, default=1_000_000, help="gets per thread per phase (default 1e6)")
    ap.add_argument("-json", metavar="FILE", help="write the recording to FILE")
    a = ap.parse_args(argv)
    runs = {}
    with tempfile.TemporaryDirectory(prefix="ep-stress-") as tmp:
        for name, target, program in BUILDS:
            runs[name] = one(target, program, a.iters, tmp)
            r = runs[name]
            print(f"{name:10} build {r['build_s']:6.1f} s  run {r['run_s']:6.1f} s  load {r['load_before']:4.1f}  "
                  f"{'ok' if r['ok'] else 'FAIL'} ({r['failures']} failures)  hit "
                  + ", ".join(f"{p['hit_pct']:.1f}%" for p in r["phases"]))  # type: ignore[union-attr]
    rec = {"iters": a.iters, "cores": os.cpu_count(), "runs": runs}
    if a.json:
        sys.path.insert(0, str(TESTS.parent.parent))
        from enginepools._atomic import write_text

        write_text(a.json, json.dumps(rec, indent=1) + "\n")
    return 0 if all(r["ok"] and r["exit"] == 0 for r in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

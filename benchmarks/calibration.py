#!/usr/bin/env python3
"""Calibration of the end-to-end A/B: does it find a known 5% slowdown, and
only that?

Runs ``enginepools ab -configs none,none`` on the study's workload tree with
the study's A/B settings (minimum rounds, ±2% target, time budget, measure),
10 times with 5% injected into the second arm (it spins on the CPU for 5%
of its own pipeline time inside its run) and 10 times with 0%.  The paired
analysis should call the 5% arm significant in at least 9 of 10 A/Bs and
the 0% arm in at most 1 of 10 (α = 0.05).  For each A/B it prints the
paired estimate, its 95% interval and p, and, on the same data, the
unpaired interval (bootstrap CI of the Δ of medians, as ``enginepools ab``
prints beside benchstat's Mann–Whitney p) with both widths.

    python benchmarks/calibration.py                 # 10 + 10 A/Bs at the study's budget (≈ 20 × 40 s)
    python benchmarks/calibration.py -n 3 -budget 20 # a quicker look
    python benchmarks/calibration.py -md table.md    # also the table as markdown

Every figure comes from this one run of the script.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from enginepools.e2e import ab as abmod  # noqa: E402
from enginepools.e2e.treegen import TreeSpec, default_tree  # noqa: E402
from enginepools.study import DEFAULT_PLAN  # noqa: E402


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:+.1f}%"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=10, help="A/Bs per injection (default 10)")
    p.add_argument("-inject", type=float, default=5.0, help="percent injected in the first batch (default 5)")
    p.add_argument("-budget", type=float, default=DEFAULT_PLAN.ab_budget,
                   help=f"seconds per A/B (default: the study's, {DEFAULT_PLAN.ab_budget:g})")
    p.add_argument("-measure", default=DEFAULT_PLAN.ab_measure, choices=("cpu", "wall"))
    p.add_argument("-md", help="also write the table as markdown to this file")
    a = p.parse_args()
    plan = DEFAULT_PLAN
    tree = default_tree(TreeSpec(files=plan.tree_files, dirs=max(10, plan.tree_files // 20)))
    unit = abmod.TIME_UNITS[a.measure]
    print(f"tree {tree.path} ({tree.files} files); each A/B: none,none, at least {plan.ab_runs} rounds, target "
          f"±{100 * plan.ab_target:g}%, budget {a.budget:g} s, measure {a.measure} ({unit}); α = 0.05", flush=True)
    head = (f"{'inject':>6} {'#':>2} {'rounds':>6} {'stop':>6} | {'paired Δ':>8} {'95% interval':>18} {'width':>6} "
            f"{'p':>6} {'sig':>3} | {'unpaired Δ':>10} {'95% CI':>18} {'width':>6} {'U p':>6} {'sig':>3}")
    print(head)
    md = ["| injected | A/B | rounds | stopped by | paired Δ | paired 95% interval | width | p | significant "
          "| unpaired Δ | unpaired 95% CI | width | U-test p | significant |",
          "|--:|--:|--:|:--|--:|--:|--:|--:|:--|--:|--:|--:|--:|:--|"]
    summary = []
    for inject in (a.inject / 100, 0.0):
        sig_p = sig_u = 0
        wp, wu = [], []
        for i in range(a.n):
            res = abmod.run_ab(tree.path, ["none", "none"], plan.ab_runs, warmup=1, target=plan.ab_target,
                               budget=a.budget, inject=inject, measure=a.measure)
            e = res.paired("none#01", unit)
            row = res.rows(unit).get("none#01")
            ci = res.delta_ci("none#01", unit)
            assert e is not None and row is not None
            sp, su = e.significant(0.05), bool(row.significant)
            sig_p += sp
            sig_u += su
            width_p = None if e.lo is None else e.hi - e.lo
            width_u = None if ci is None else ci[1] - ci[0]
            if width_p is not None:
                wp.append(width_p)
            if width_u is not None:
                wu.append(width_u)
            iv = "—" if e.lo is None else f"[{pct(e.delta_lo)}, {pct(e.delta_hi)}]"
            ivu = "—" if ci is None else f"[{pct(ci[0])}, {pct(ci[1])}]"
            dp = row.delta_pct / 100 if row.delta_pct is not None else None
            up = "—" if row.p_value is None else f"{row.p_value:.3f}"
            w1 = "—" if width_p is None else f"{100 * width_p:.1f}%"
            w2 = "—" if width_u is None else f"{100 * width_u:.1f}%"
            print(f"{100 * inject:5.0f}% {i + 1:2d} {e.n:6d} {res.stop:>6} | {pct(e.delta):>8} {iv:>18} {w1:>6} "
                  f"{e.p_value:6.3f} {'yes' if sp else 'no':>3} | {pct(dp):>10} {ivu:>18} {w2:>6} {up:>6} "
                  f"{'yes' if su else 'no':>3}", flush=True)
            md.append(f"| {100 * inject:.0f}% | {i + 1} | {e.n} | {res.stop} | {pct(e.delta)} | {iv} | {w1} | "
                      f"{e.p_value:.3f} | {'yes' if sp else 'no'} | {pct(dp)} | {ivu} | {w2} | {up} | "
                      f"{'yes' if su else 'no'} |")
        summary.append((inject, sig_p, sig_u, statistics.median(wp) if wp else None,
                        statistics.median(wu) if wu else None))
    print()
    lines = []
    for inject, sp, su, mp, mu in summary:
        want = f"≥ {a.n - a.n // 10}" if inject else f"≤ {a.n // 10}"
        ok = (sp >= a.n - a.n // 10) if inject else (sp <= a.n // 10)
        lines.append(f"{100 * inject:.0f}% injected: paired significant in {sp} of {a.n} (want {want}: "
                     f"{'PASS' if ok else 'FAIL'}), unpaired in {su} of {a.n}; median interval width paired "
                     f"{'—' if mp is None else f'{100 * mp:.1f}%'}, unpaired {'—' if mu is None else f'{100 * mu:.1f}%'}")
    print("\n".join(lines))
    if a.md:
        with open(a.md, "w", encoding="utf-8") as f:
            f.write("\n".join(md) + "\n\n" + "\n".join(f"- {x}" for x in lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

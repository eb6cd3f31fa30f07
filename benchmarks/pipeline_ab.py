#!/usr/bin/env python3
"""End-to-end A/B of the pools on the build-context pipeline.

Runs ``enginepools ab`` on the default generated tree (a few thousand files,
tens of MB): configurations none, all, hash, tar, string, each -count times
(default 10) interleaved, one process per run; prints each configuration's
Δ of the pipeline wall time (and CPU, peak RSS, B/op) against pools=none
with the bootstrap 95% CI and the Mann–Whitney p, then the verdicts.

    python benchmarks/pipeline_ab.py                  # -count 10
    python benchmarks/pipeline_ab.py -count 20 -o pipeline.txt -json pipeline.json

The figures are ratios within this one run (the configurations are
interleaved, so machine load hits all of them); on a shared machine expect
wide intervals and say so when quoting them.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from enginepools.e2e import ab as abmod  # noqa: E402
from enginepools.e2e.treegen import TreeSpec, default_tree  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-count", type=int, default=10)
    p.add_argument("-configs", default=",".join(abmod.DEFAULT_CONFIGS))
    p.add_argument("-threads", type=int, default=0)
    p.add_argument("-o", dest="out")
    p.add_argument("-json")
    p.add_argument("-heapprofiles", metavar="DIR", help="also one heap-profiled run per configuration into DIR, "
                   "and print where the memory goes")
    p.add_argument("-q", action="store_true", help="no progress lines")
    a = p.parse_args()
    if a.count < 10:
        print(f"note: -count {a.count} < 10; the study asks for at least 10 runs per configuration", file=sys.stderr)
    tree = default_tree(TreeSpec())
    print(f"tree: {tree.path} ({tree.files} files, {tree.symlinks} symlinks, {tree.dirs} dirs, "
          f"{tree.bytes / 2**20:.1f} MiB)", file=sys.stderr)
    progress = None if a.q else (lambda m: print(m, file=sys.stderr, flush=True))
    ab = abmod.run_ab(tree.path, a.configs, a.count, threads=a.threads, progress=progress,
                      heap_profiles_dir=a.heapprofiles)
    if a.out:
        ab.write_go(a.out)
    if a.json:
        ab.write_json(a.json)
    print(ab.table())
    print("Δ pipeline wall time vs pools=none (median; bootstrap 95% CI; Mann–Whitney p):")
    for d in ab.summary("ns/op")[1:]:
        ci = d.get("delta_ci_pct")
        cis = f"[{ci[0]:+.1f}%, {ci[1]:+.1f}%]" if ci else "[—]"
        p_ = "—" if d.get("p_value") is None else f"{d['p_value']:.3f}"
        print(f"  pools={d['config']:<8} Δ {d.get('delta_pct', float('nan')):+6.1f}%  CI {cis:<20} p={p_}  "
              f"n={d['n']}  verdict {d.get('verdict', '—')}")
    if ab.heap_profiles:
        from enginepools.report.pipeline import heap_breakdown

        for c, path in ab.heap_profiles.items():
            hb = heap_breakdown(path)
            parts = ", ".join(f"{k} {hb.pct(v):.1f}%" for k, v in hb.stages)
            print(f"heap pools={c}: {hb.total / 2**20:.2f} MiB allocated through ep_alloc: {parts}")
    return 0 if ab.complete else 130


if __name__ == "__main__":
    sys.exit(main())

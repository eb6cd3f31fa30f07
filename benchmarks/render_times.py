#!/usr/bin/env python3
"""Time to build and save every chart, call graph and flame graph.

    python benchmarks/render_times.py            # ~30-60 s on 2 cores
    python benchmarks/render_times.py -repeat 1 -out /tmp/charts

Each picture is built from the fixed realistic data in ``_chart_data.py``
and saved as PNG and SVG; the best of ``-repeat`` runs is printed in
seconds and as a ratio against the baseline: one plain matplotlib bar chart
with two bars saved the same way (the floor any chart pays).  Goals: every
chart < 3 s, the 80-node call graph < 10 s, the 5,000-stack flame graph
< 10 s on this 2-core machine.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any, Callable

sys.path[:0] = [os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.path.dirname(__file__)]

import numpy as np  # noqa: E402

import _chart_data as d  # noqa: E402
from enginepools.render import style as _plotstyle, callgraph, charts, flamegraph  # noqa: E402


def baseline() -> Any:
    fig = _plotstyle.new_figure(4, 3)
    ax = fig.add_subplot()
    ax.bar([0, 1], [1.0, 2.0])
    return fig


def big_stacks(n: int = 5000, seed: int = 11) -> dict:
    rng = np.random.default_rng(seed)
    names = [f"pkg{i % 23}.fn{i}" for i in range(400)]
    out: dict = {}
    for _ in range(n):
        depth = int(rng.integers(3, 40))
        stack = ("main",) + tuple(names[int(j)] for j in rng.integers(0, len(names), depth))
        out[stack] = out.get(stack, 0.0) + float(rng.integers(1, 1 << 16))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prefix_chars="-")
    ap.add_argument("-repeat", "--repeat", type=int, default=2)
    ap.add_argument("-out", "--out", default=None, help="directory for the pictures (default: a temp dir)")
    args = ap.parse_args(argv)
    out = args.out or tempfile.mkdtemp(prefix="ep-render-")
    os.makedirs(out, exist_ok=True)
    rows, verdicts = d.rows(), d.verdicts()
    heap_items, heap_total = d.heap_items()
    stacks_big = big_stacks()
    stacks_small = big_stacks(2000, seed=12)
    jobs: list[tuple[str, Callable[[], Any]]] = [
        ("baseline: 2-bar chart", baseline),
        ("time_chart", lambda: charts.time_chart(rows)),
        ("memory_chart", lambda: charts.memory_chart(rows)),
        ("throughput_chart", lambda: charts.throughput_chart(rows)),
        ("impact_chart", lambda: charts.impact_chart(rows, thresholds=(15, 10))),
        ("heap_top_chart", lambda: charts.heap_top_chart(heap_items, heap_total)),
        ("pool_stats_chart", lambda: charts.pool_stats_chart(d.pool_stats())),
        ("scaling_chart", lambda: charts.scaling_chart(d.scaling())),
        ("quadrant_chart", lambda: charts.quadrant_chart(verdicts)),
        ("ab_chart", lambda: charts.ab_chart(d.ab_rows())),
        ("callgraph (13 nodes)", lambda: callgraph.draw(d.heap_graph())),
        ("callgraph (80 nodes)", lambda: callgraph.draw(d.big_graph(80))),
        ("flame_graph (5000 stacks)", lambda: flamegraph.flame_graph(stacks_big, unit="bytes")),
        ("diff_flame_graph (5000 vs 2000)", lambda: flamegraph.diff_flame_graph(stacks_small, stacks_big,
                                                                                  unit="bytes")),
    ]
    charts.save(baseline(), os.path.join(out, "warmup"))  # font cache, imports: not timed
    results = []
    for name, make in jobs:
        best = float("inf")
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            fig = make()
            charts.save(fig, os.path.join(out, name.split(" ")[0].rstrip(":")))
            best = min(best, time.perf_counter() - t0)
        results.append((name, best))
        print(f"{name:34s} {best:7.2f} s", flush=True)
    base = results[0][1]
    print(f"\nrender + save PNG and SVG, best of {args.repeat}; ratio = time / baseline ({base:.2f} s)")
    for name, t in results[1:]:
        print(f"  {name:34s} {t:7.2f} s   {t / base:6.1f}x baseline")
    print(f"pictures in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

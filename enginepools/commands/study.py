"""``enginepools study``: run the study on this machine and write the report.

    enginepools study                 # ./enginepools-report/, about 3 minutes on 2 cores
    enginepools study --quick         # under 45 s, fewer and shorter samples
    enginepools study --out DIR
"""
from __future__ import annotations

import argparse
import sys

from .._flags import flag, int_arg

NAME = "study"
HELP = "run benchmarks, heap profiles and a pipeline A/B, then write the analysis report (the main job)"
DESCRIPTION = (
    "Run every benchmark kernel (pooled and plain variants interleaved, -count 6), profile the heap of a "
    "representative workload with and without pools, run a short end-to-end A/B of the pipeline, and write "
    "the report set into --out (default ./enginepools-report/): README.md with the per-pool decision table, "
    "benchmark-results-summary.md, pprof-results-analysis.md, visual-performance-summary.md, "
    "profiling-analysis-findings.md, the charts and graphs, and the raw result files. Prints the per-pool "
    "decision table."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..study import DEFAULT_OUT

    flag(p, "out", metavar="DIR", default=DEFAULT_OUT, help=f"report directory (default ./{DEFAULT_OUT}/)")
    flag(p, "quick", action="store_true", help="a short run (under 45 s): shorter samples, smaller workloads")
    flag(p, "count", type=int_arg("count", -(1 << 63)), metavar="N", help="samples per benchmark variant (default 6)")
    flag(p, "benchtime", metavar="D", help="time per sample, Go syntax (default 200ms; 40ms with --quick)")
    flag(p, "filter", metavar="REGEX", help="only kernels whose name matches REGEX")
    flag(p, "no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from ..bench import noise
    from ..errors import UsageError
    from ..report import fmt
    from ..study import plan_for, run_study

    import re

    from ..bench import runner

    plan = plan_for(args.quick)
    if args.count is not None:
        if args.count < 1:
            raise UsageError(f"-count {args.count}: must be at least 1")
        runner.parse_count(args.count)  # the bound for kept samples (100000), before any phase runs
        plan = replace(plan, count=args.count)
    if args.benchtime is not None:
        runner.parse_benchtime(args.benchtime)  # a usage error now, not a failed phase later
        plan = replace(plan, benchtime=args.benchtime)
    if args.filter:
        try:
            re.compile(args.filter)
        except re.error as e:
            raise UsageError(f"-filter {args.filter!r}: invalid regular expression: {e}") from None
        plan = replace(plan, filter=args.filter)
    res = run_study(args.out, plan, progress=not args.no_progress)
    d = res.data
    if d.decisions:
        from ..report import decisions

        sys.stdout.write(decisions.text_table(d.decisions))
    else:
        print("no verdicts: the study produced no pooled/plain comparison")
    for phase, why in res.skipped.items():
        print(f"skipped {phase}: {why}", file=sys.stderr)
    noise.warn(Path(res.out) / "bench.json", most=3,
               detail=f"'Measurement noise' in {Path(res.out) / 'benchmark-results-summary.md'}")
    ab = getattr(d.ab, "data", None)
    if ab is not None and hasattr(ab, "stop_line"):
        print(f"end-to-end A/B: {ab.stop_line()}", file=sys.stderr)
    if res.phases:
        print("phases: " + ", ".join(f"{k} {fmt.seconds(v)}" for k, v in res.phases.items()), file=sys.stderr)
    print(f"report written to {res.out}/README.md ({len(res.files)} files, {fmt.seconds(res.seconds)})",
          file=sys.stderr)
    return 0

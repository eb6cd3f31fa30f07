"""``enginepools report``: write the analysis documents from result files.

    enginepools report --bench bench.txt --profile heap.pb.gz --out report/
    enginepools report --bench go-bench.txt --profile build.prof --out report/   # Go input
"""
from __future__ import annotations

import argparse
import sys

from ..analysis import compare as cmp
from ..analysis import verdict as vd
from .._flags import flag
from ..errors import UsageError

NAME = "report"
HELP = "write the analysis documents (README, benchmark, pprof, charts, findings) from result files"
DESCRIPTION = (
    "Write the report set — README.md, benchmark-results-summary.md, pprof-results-analysis.md, "
    "visual-performance-summary.md, profiling-analysis-findings.md and their images — into --out DIR "
    "from any of: benchmark results (--bench: Go benchmark text or enginepools JSON; pooled/plain twins by "
    "/impl= name parts or by name suffixes such as XWithPool/XStandard), pprof profiles (--profile), and "
    "a pipeline A/B result (--ab). What is not given is named as absent. Files are written to a temporary "
    "directory first, so a failed run leaves an existing report untouched."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    flag(p, "bench", nargs="+", action="extend", default=[], metavar="FILE",
         help="benchmark results (Go benchmark text or enginepools JSON); repeatable")
    flag(p, "profile", nargs="+", action="extend", default=[], metavar="FILE",
         help="pprof profile (heap or CPU, gzipped or not); two heap profiles also give a differential "
              "flame graph (second minus first)")
    flag(p, "ab", metavar="FILE", help="pipeline A/B result (enginepools ab -o FILE)")
    flag(p, "out", metavar="DIR", required=True, help="report directory (created if missing)")
    flag(p, "pair", metavar="NEW:OLD", action="append", default=[],
         help="name suffixes of pooled and plain variants (default WithPool:Standard); repeatable")
    flag(p, "base", metavar="VALUE", help="plain-allocation value of the /impl= part (default: std, plain, …)")
    flag(p, "config", metavar="RULES.toml", help="verdict thresholds (see docs/methodology.md)")


def run(args: argparse.Namespace) -> int:
    from ..report import gather
    from ..report.build import DEFAULT_PAIRS
    from ..report.writer import check_out_dir, write_report

    if not (args.bench or args.profile or args.ab):
        raise UsageError("nothing to report: give --bench, --profile and/or --ab")
    check_out_dir(args.out)
    rules = vd.load_rules(args.config)
    pairs = [cmp.parse_pair(x) for x in args.pair] if args.pair else list(DEFAULT_PAIRS)
    data = gather(args.bench, args.profile, args.ab, pairs=pairs, base=args.base, rules=rules)
    written = write_report(data, args.out)
    print(f"wrote {len(written)} files to {args.out}", file=sys.stderr)
    if data.decisions:
        from ..report import decisions

        sys.stdout.write(decisions.text_table(data.decisions))
    return 0

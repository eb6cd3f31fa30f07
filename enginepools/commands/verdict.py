"""``enginepools verdict``: keep / remove / inconclusive per pool.

    enginepools verdict results.json                      # /impl variants, base std
    enginepools verdict bench.txt -pair WithPool:Standard -config rules.toml
"""
from __future__ import annotations

import argparse
import sys

from ..analysis import verdict as vd
from .._flags import flag
from ..errors import InputError
from .compare import add_shared_arguments, build

NAME = "verdict"
HELP = "decide keep / remove / trade-off / inconclusive per pool from benchmark results"
DESCRIPTION = (
    "Print one decision per pool (kernel variants and thread counts together) from the paired micro "
    "time Δ, with the end-to-end margin rules (margin_pct, default 5%; with no profile or A/B the "
    "micro effect stands for the whole program), then the per-variant verdicts of the micro-benchmarks "
    "as 'enginepools compare' pairs them (-col /impl by default for one file): keep when significantly "
    ">= 15% faster or >= 20% less B/op, remove when significantly slower or within 10% with no memory "
    "gain, else inconclusive; those decide no pool. -config FILE.toml overrides the thresholds."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_shared_arguments(p)
    flag(p, "config", metavar="RULES.toml", help="verdict thresholds (TOML; see docs/methodology.md)")
    flag(p, "format", choices=("text", "markdown", "json"), default="text", help="output format (default text)")


def run(args: argparse.Namespace) -> int:
    rules = vd.load_rules(args.config)
    holm = args.holm or rules.holm
    default_col = "impl" if len(args.files) == 1 else None
    result = build(args, rules.alpha, holm, default_col=default_col)
    if not result.rows:
        raise InputError("nothing to decide: no benchmark has both a baseline and a pooled variant")
    verdicts = vd.decide(result.rows, rules)
    if args.format != "text":
        sys.stdout.write(vd.render(verdicts, args.format))
        return 0
    from ..report.build import gather
    from ..report.decisions import text_table

    data = gather(args.files, rules=rules)
    if data.decisions:
        sys.stdout.write(text_table(data.decisions))
    sys.stdout.write("\nPer variant (micro only; B/op never decides a pool above):\n")
    sys.stdout.write(vd.render(verdicts, "text"))
    return 0

"""``enginepools compare``: benchstat-style comparison tables.

    enginepools compare OLD NEW                     # one column per file
    enginepools compare FILE -col /impl [-base std] # variants within a file
    enginepools compare FILE -pair WithPool:Standard  # suffix-named variants
"""
from __future__ import annotations

import argparse
import sys

from ..bench import benchfmt
from ..analysis import tables as compare_render
from ..analysis import compare as cmp
from .._flags import flag
from ..errors import UsageError

NAME = "compare"
HELP = "compare benchmark results (benchstat style): median ± CI, delta, U-test p-value"
DESCRIPTION = (
    "Compare benchmark results in Go benchmark format or enginepools JSON. With two or more files, "
    "each file is a column compared with the first. With -col /KEY (or -pair NEW:OLD), the values of "
    "the name part KEY are the columns and -base (default std, or OLD of the first -pair) is compared "
    "with the others. One file without -col prints medians and intervals only."
)


def add_shared_arguments(p: argparse.ArgumentParser) -> None:
    """Flags shared with ``enginepools verdict``."""
    p.add_argument("files", nargs="+", metavar="FILE", help="Go benchmark text or enginepools JSON result file")
    flag(p, "col", metavar="/KEY", help="compare the values of name part KEY within the input (e.g. /impl)")
    flag(p, "base", metavar="VALUE", help="base column for -col/-pair (default: std, or OLD of the first -pair)")
    flag(p, "pair", metavar="NEW:OLD", action="append", default=[],
         help="treat names ending in NEW and OLD as variants /impl=NEW and /impl=OLD of one benchmark "
              "(e.g. WithPool:Standard); repeatable")
    flag(p, "filter", metavar="REGEX", help="only benchmarks whose full name matches REGEX")
    flag(p, "holm", action="store_true", help="correct p-values across each table (Holm–Bonferroni)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_shared_arguments(p)
    flag(p, "format", choices=compare_render.FORMATS, default="text", help="output format (default text)")
    flag(p, "alpha", type=float, default=0.05, help="significance level (default 0.05)")


def check_alpha(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise UsageError(f"-alpha {alpha:g}: must be between 0 and 1")
    return alpha


def build(args: argparse.Namespace, alpha: float, holm: bool, default_col: str | None = None) -> cmp.Result:
    """Read the files and lay them out as the flags ask."""
    pairs = [cmp.parse_pair(p) for p in args.pair]
    col = args.col or ("impl" if pairs else default_col)
    if args.base and not col:
        raise UsageError("-base needs -col or -pair")
    per_file = [benchfmt.read(f) for f in args.files]
    if col:
        records = [r for recs in per_file for r in recs]
        return cmp.compare_columns(records, col, args.base, pairs=pairs, alpha=alpha, holm=holm,
                                   filter=args.filter)
    if len(per_file) >= 2:
        return cmp.compare_files(per_file, cmp.file_labels(args.files), alpha=alpha, holm=holm,
                                 filter=args.filter)
    return cmp.summarize_records(per_file[0], filter=args.filter, label=cmp.file_labels(args.files)[0])


def run(args: argparse.Namespace) -> int:
    result = build(args, check_alpha(args.alpha), args.holm)
    sys.stdout.write(compare_render.render(result, args.format))
    return 0

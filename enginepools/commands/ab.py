"""``enginepools ab``: the pools' end-to-end effect on the build-context pipeline.

    enginepools ab                                  # default tree, none,all,hash,tar,string, -count 10
    enginepools ab ctx/ -count 20 -configs none,hash,tar -o pipeline.txt -json pipeline.json
    enginepools ab -target 1% -budget 5m              # rounds until every wall-time interval is ±1%
    enginepools ab -configs none,none -inject 5%     # calibration: two arms that differ by a 5% spin
"""
from __future__ import annotations

import argparse
import os
import sys

from .._flags import flag, int_arg
from ..errors import InputError, UsageError

NAME = "ab"
HELP = "A/B the pools end to end: pipeline configurations interleaved, one process per run"
DESCRIPTION = (
    "Run the build-context pipeline (see 'enginepools pipeline') in each configuration in rounds, "
    "interleaved, each run in its own process: at least COUNT rounds, then more until every configuration's "
    "paired 95% interval of the time ratio against 'none' has a half-width of at most TARGET, or the "
    "BUDGET runs out (the output says which). Records pipeline wall time, CPU, peak RSS, minor faults, "
    "bytes/allocations and pool counters; compares every configuration with 'none' round by round "
    "(Hodges-Lehmann ratio, exact signed-rank interval and p, for wall time, CPU time and peak RSS) and "
    "unpaired (medians, 95% CIs, Mann-Whitney U, bootstrap CI of the difference), and gives each a verdict. "
    "Results are written as Go benchmark text (-o), JSON (-json) and markdown (-md)."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .pipeline import add_tree_arguments

    add_tree_arguments(p)
    flag(p, "count", type=int_arg("count", -(1 << 63)), default=10, metavar="N",
         help="rounds (runs per configuration) at least; exactly N with -target 0 (default 10)")
    flag(p, "target", default="2%", metavar="P%",
         help="add rounds until every configuration's time-ratio interval half-width is at most P%% "
              "(default 2%%; 0: run exactly -count rounds)")
    flag(p, "measure", choices=("cpu", "wall"), default="cpu",
         help="the time -target and -inject refer to: the pipeline's CPU time (default; far less noisy on a "
              "shared machine, see docs/methodology.md) or its wall time")
    flag(p, "budget", default="60s", metavar="DURATION",
         help="stop adding rounds when one more would end after this long, warm-up included (default 60s)")
    flag(p, "inject", default="0%", metavar="P%",
         help="calibration: every configuration but the first spins on the CPU for P%% of its own pipeline "
              "time (-measure) inside its run (default 0%%)")
    flag(p, "configs", default="none,all,hash,tar,string", metavar="LIST",
         help="configurations: none, all, string, hash, tar or combinations like hash+tar (default "
              "none,all,hash,tar,string; none is always the baseline; one given twice, as in none,none, "
              "is a second arm named none#01)")
    flag(p, "o", dest="out", metavar="results.txt", help="write the samples as Go benchmark text")
    flag(p, "json", metavar="results.json", help="write samples, comparison and verdicts as JSON")
    flag(p, "md", metavar="results.md", help="write the paired analysis as markdown")
    flag(p, "threads", type=int_arg("threads", -(1 << 63)), default=0, metavar="N", help="hash workers per run (default: CPUs, at most 8)")
    flag(p, "warmup", type=int_arg("warmup", -(1 << 63)), default=1, metavar="N", help="unrecorded rounds first (default 1)")
    flag(p, "archive", choices=("file", "none"), default="file",
         help="write each run's archive to a temporary file (default) or only count its bytes")
    flag(p, "heapprofiles", metavar="DIR",
         help="after the A/B, one heap-profiled run per configuration (every allocation) written to "
              "DIR/heap-<config>.pb.gz and named in the JSON, for the report's 'where memory goes'")
    flag(p, "config", metavar="RULES.toml",
         help="verdict thresholds (TOML, as 'enginepools verdict -config'; default: the study's, with peak-RSS-B "
              "as the memory unit)")
    flag(p, "q", dest="quiet", action="store_true", help="no progress lines on stderr")


def run(args: argparse.Namespace) -> int:
    from ..e2e import ab as abmod
    from .._atomic import check_writable
    from .pipeline import resolve_dir

    if args.count < 1:
        raise UsageError(f"-count: must be at least 1, not {args.count}")
    if args.warmup < 0:
        raise UsageError(f"-warmup: must be 0 or more, not {args.warmup}")
    if args.threads < 0 or args.threads > 1024:
        raise UsageError(f"-threads: must be 0..1024, not {args.threads}")
    configs = abmod.parse_configs(args.configs)
    target = abmod.parse_percent(args.target, "-target", high=0.99) or None
    budget = abmod.parse_seconds(args.budget, "-budget")
    inject = abmod.parse_percent(args.inject, "-inject")
    rules = None
    if args.config:
        from ..analysis import verdict as vd

        rules = vd.load_rules(args.config)
    for f, path in (("-o", args.out), ("-json", args.json), ("-md", args.md)):
        if path is not None:
            check_writable(path, f)
    if args.heapprofiles and os.path.exists(args.heapprofiles) and not os.path.isdir(args.heapprofiles):
        raise InputError(f"-heapprofiles {args.heapprofiles}: exists and is not a directory")
    root = resolve_dir(args)

    def progress(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    ab = abmod.run_ab(root, configs, args.count, threads=args.threads, warmup=args.warmup,
                      write_archive=args.archive == "file", heap_profiles_dir=args.heapprofiles,
                      progress=progress, target=target, budget=budget if target else None, inject=inject,
                      measure=args.measure)
    ab.rules = rules
    if not ab.samples:
        print("enginepools ab: interrupted before any run finished", file=sys.stderr)
        return 130
    # an interrupted run goes to FILE.partial (as 'enginepools bench' does):
    # a complete result from an earlier run is never replaced by a partial one
    suffix = "" if ab.complete else ".partial"
    if args.out:
        ab.write_go(args.out + suffix)
    if args.json:
        ab.write_json(args.json + suffix)
    if args.md:
        from .._atomic import write_text

        write_text(args.md + suffix, ab.markdown())
    sys.stdout.write(ab.table())
    if not ab.complete and (args.out or args.json):
        print(f"enginepools ab: interrupted; finished runs written to "
              f"{', '.join(p + suffix for p in (args.out, args.json, args.md) if p)}", file=sys.stderr)
    return 0 if ab.complete else 130

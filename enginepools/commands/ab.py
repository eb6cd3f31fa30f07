"""``enginepools ab``: the pools' end-to-end effect on the build-context pipeline.

    enginepools ab                                  # default tree, none,all,hash,tar,string, -count 10
    enginepools ab ctx/ -count 20 -configs none,hash,tar -o pipeline.txt -json pipeline.json
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
    "Run the build-context pipeline (see 'enginepools pipeline') in each configuration COUNT times, "
    "interleaved, each run in its own process; record pipeline wall time, CPU, peak RSS, minor faults, "
    "bytes/allocations and pool counters; compare every configuration with 'none' (medians, 95% CIs, "
    "Mann-Whitney U, bootstrap CI of the difference) and give each a verdict. Results are written as Go "
    "benchmark text (-o) and JSON (-json)."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", nargs="?", metavar="DIR", help="directory to archive (default: generated tree)")
    flag(p, "count", type=int_arg("count", -(1 << 63)), default=10, metavar="N", help="runs per configuration (default 10)")
    flag(p, "configs", default="none,all,hash,tar,string", metavar="LIST",
         help="configurations: none, all, string, hash, tar or combinations like hash+tar (default "
              "none,all,hash,tar,string; none is always the baseline)")
    flag(p, "o", dest="out", metavar="results.txt", help="write the samples as Go benchmark text")
    flag(p, "json", metavar="results.json", help="write samples, comparison and verdicts as JSON")
    flag(p, "threads", type=int_arg("threads", -(1 << 63)), default=0, metavar="N", help="hash workers per run (default: CPUs, at most 8)")
    flag(p, "warmup", type=int_arg("warmup", -(1 << 63)), default=1, metavar="N", help="unrecorded rounds first (default 1)")
    flag(p, "archive", choices=("file", "none"), default="file",
         help="write each run's archive to a temporary file (default) or only count its bytes")
    flag(p, "seed", type=int_arg("seed", -(1 << 63)), default=1, metavar="N", help="seed of the generated tree (default 1)")
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
    rules = None
    if args.config:
        from ..analysis import verdict as vd

        rules = vd.load_rules(args.config)
    for f, path in (("-o", args.out), ("-json", args.json)):
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
                      progress=progress)
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
    sys.stdout.write(ab.table())
    if not ab.complete and (args.out or args.json):
        print(f"enginepools ab: interrupted; finished runs written to "
              f"{', '.join(p + suffix for p in (args.out, args.json) if p)}", file=sys.stderr)
    return 0 if ab.complete else 130

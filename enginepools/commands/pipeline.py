"""``enginepools pipeline``: one build-context run (walk, hash, tar) with chosen pools.

    enginepools pipeline                          # the default generated tree, all pools
    enginepools pipeline ctx/ -pools none -o ctx.tar
    enginepools pipeline ctx/ -pools hash,tar -hashes
    enginepools pipeline -stats-json -            # machine-readable result on stdout
    enginepools pipeline -count 5 -memprofile heap.pb.gz   # several builds in a row, one profile
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .._flags import flag, int_arg
from ..errors import InputError

NAME = "pipeline"
HELP = "run the build-context pipeline (walk, SHA-256 on a worker pool, tar) with pools on or off"
DESCRIPTION = (
    "Walk DIR (default: a deterministic generated tree, cached), hash every regular file with SHA-256 on "
    "the worker pool and write a ustar archive of the tree, as a container build does with its context. "
    "-pools chooses which of the string-builder, hash-buffer and tar-buffer pools are used (the others "
    "allocate per use). Unreadable files, special files and paths that vanish are skipped and counted; "
    "-o is replaced only by a complete archive."
)


def add_tree_arguments(p: argparse.ArgumentParser) -> None:
    """DIR and -seed: the tree a pipeline run archives (read by resolve_dir)."""
    p.add_argument("dir", nargs="?", metavar="DIR", help="directory to archive (default: generated tree)")
    flag(p, "seed", type=int_arg("seed", -(1 << 63)), default=1, metavar="N", help="seed of the generated tree (default 1)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_tree_arguments(p)
    flag(p, "pools", default="all", metavar="none|all|string,hash,tar", help="pools to use (default all)")
    flag(p, "o", dest="out", metavar="OUT.tar", help="write the archive here (default: count bytes only)")
    flag(p, "hashes", action="store_true", help="print each file's SHA-256 (sha256sum format)")
    flag(p, "threads", type=int_arg("threads", -(1 << 63)), default=0, metavar="N", help="hash workers (default: CPUs, at most 8)")
    flag(p, "stats-json", metavar="FILE", help="write the result as JSON to FILE ('-' = stdout, no text)")
    flag(p, "count", type=int_arg("count", -(1 << 63)), default=1, metavar="N",
         help="run the pipeline N times in a row in this process (one profile covers them all)")
    from ..pprof.flags import add_profile_flags

    add_profile_flags(p)


def resolve_dir(args: argparse.Namespace) -> str:
    if args.dir:
        return args.dir
    from ..e2e.treegen import TreeSpec, default_tree

    return str(default_tree(TreeSpec(seed=args.seed)).path)


def _profiling(args: argparse.Namespace) -> Any:
    from ..pprof.flags import profiling_session

    return profiling_session(args)


def render(r: Any) -> str:
    lines = [
        f"pipeline  {r.root}  pools={r.config}  threads={r.threads}",
        f"  archived  {r.files} files ({r.bytes_archived} B), {r.dirs} dirs, {r.symlinks} symlinks"
        f" -> {r.archive_bytes} B archive" + (f" {r.out}" if r.out else " (not written)"),
        f"  image     {r.image_tag}  ({r.tag_strings} tag strings)",
        "  time      " + "  ".join(f"{k} {v * 1e3:.1f}ms" for k, v in r.seconds.items()),
        f"  alloc     {r.alloc['alloc_bytes']} B in {r.alloc['alloc_objects']} allocations (ep_alloc)",
    ]
    skipped = {k: v for k, v in r.skipped.items() if v}
    notes = []
    if skipped:
        notes.append("skipped " + ", ".join(f"{v} {k}" for k, v in skipped.items()))
    if r.unreadable_dirs:
        notes.append(f"{r.unreadable_dirs} directories could not be listed")
    if r.dangling_symlinks:
        notes.append(f"{r.dangling_symlinks} dangling symlinks (archived as symlinks)")
    if r.changed:
        notes.append(f"{r.changed} files changed size while archived")
    if notes:
        lines.append("  input     " + "; ".join(notes))
    for name, s in r.pool_stats.items():
        lines.append(f"  pool {name:<6} gets {s['gets']}  hits {s['hits']}  misses {s['misses']}  drops {s['drops']}"
                     f"  peak retained {s['peak_retained_bytes']} B")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from ..e2e.pipeline import parse_pools, run_pipeline

    pools = parse_pools(args.pools)
    if args.threads < 0 or args.threads > 1024:
        raise InputError(f"-threads: must be 0..1024, not {args.threads}")
    if args.count < 1:
        raise InputError(f"-count: must be at least 1, not {args.count}")
    from .._atomic import check_writable

    if args.stats_json is not None and args.stats_json != "-":
        check_writable(args.stats_json, "-stats-json")  # before the run, not after it
    if args.out is not None:
        check_writable(args.out, "-o")
    root = resolve_dir(args)
    with _profiling(args):
        for i in range(args.count):
            r = run_pipeline(root, pools, args.out, keep_hashes=args.hashes, threads=args.threads)
            if args.count > 1 and not args.stats_json == "-":
                print(f"run {i + 1}/{args.count}: {r.seconds['total'] * 1e3:.1f}ms", file=sys.stderr)
    if args.stats_json:
        text = json.dumps(r.to_dict(), indent=1, sort_keys=True) + "\n"
        if args.stats_json == "-":
            sys.stdout.write(text)
            return 0
        from .._atomic import write_text

        write_text(args.stats_json, text)
    sys.stdout.write(render(r))
    if args.hashes and r.hashes is not None:
        sys.stdout.write("".join(f"{h}  {p}\n" for p, h in r.hashes.items()))
    return 0

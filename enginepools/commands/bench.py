"""``enginepools bench``: run the C benchmark kernels, Go style.

    enginepools bench                              # everything, 1s each, -cpu = usable CPUs
    enginepools bench -bench HashBuffer -count 10 -o hb.txt -json hb.json
    enginepools bench -bench 'PoolGetPut|MallocFree' -cpu 1,2 -benchtime 100000x
    enginepools bench -list

Flags are go test's (``-flag``, ``--flag`` and ``-flag=value``).  Result
lines are printed as samples finish; ``-o`` writes the Go benchmark text
and ``-json`` every sample with its metadata, both streamed to a temporary
file and renamed into place at the end.  No sample is kept in memory (the
noise check keeps running statistics), so ``-count`` may be as large as
go test's (2⁶³−1).  An interrupted run (Ctrl-C) renames what finished to
``FILE.partial`` and never replaces an existing FILE.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Iterator

from ..bench import noise, runner
from .._atomic import check_writable
from .._flags import flag
from ..bench.result import go_name
from ..errors import UsageError

NAME = "bench"
HELP = "run the benchmark kernels (go test -bench style): Go-format lines, JSON, pool counters"
DESCRIPTION = (
    "Run the C benchmark kernels with Go's protocol: N grows until a run lasts -benchtime, variants of "
    "one benchmark run interleaved (A B A B ...), -count repetitions, one run per -cpu thread count. "
    "Prints Go benchmark format (benchstat reads it); pooled kernels add hits/op, misses/op, "
    "clear-ns/op and retained-B."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    flag(p, "bench", metavar="REGEX", default=".",
         help="run only benchmarks matching REGEX, matched per '/' level as go test does (default: all)")
    flag(p, "benchtime", metavar="D", default=runner.DEFAULT_BENCHTIME,
         help="run each sample for duration D (1s, 500ms) or exactly Nx iterations (100x); default 1s")
    flag(p, "count", metavar="N", default="1", help="samples per benchmark (default 1)")
    flag(p, "cpu", metavar="LIST", default=None,
         help="comma-separated thread counts, one run of everything each (default: usable CPUs, "
              "as GOMAXPROCS)")
    flag(p, "o", metavar="FILE", dest="output", help="also write the Go benchmark text to FILE")
    flag(p, "json", metavar="FILE", help="write every sample, the settings and machine metadata as JSON")
    flag(p, "list", metavar="REGEX", nargs="?", const=".", default=None,
         help="list the benchmarks matching REGEX (default: all) and exit")
    flag(p, "benchmem", action="store_true", help="accepted for go test compatibility (always on)")
    flag(p, "progress", choices=("auto", "on", "off"), default="auto",
         help="progress bar on stderr (auto: when stderr is a terminal)")
    add_profile_arguments(p)


# ---- profiling ------------------------------------------------------------
# go test's -memprofile / -memprofilerate / -cpuprofile and --pprof-http come
# from profile_flags; the session is entered after every check passed and
# exited after the last sample (also on Ctrl-C, writing what was collected).

def add_profile_arguments(p: argparse.ArgumentParser) -> None:
    from ..pprof.flags import add_profile_flags

    add_profile_flags(p)


def check_profile_arguments(args: argparse.Namespace) -> None:
    """Validate profiling flags (output paths) before any run starts."""
    from ..pprof.flags import check_profile_flags

    check_profile_flags(args)


def profile_session(args: argparse.Namespace):
    from ..pprof.flags import profiling_session

    return profiling_session(args)


# ---------------------------------------------------------------------------

def _settings(args: argparse.Namespace) -> tuple[runner.BenchTime, int, list[int]]:
    bt = runner.parse_benchtime(args.benchtime)
    count = runner.parse_count(args.count, most=runner.MAX_COUNT)  # streamed: go test's bound
    cpus = runner.parse_cpu_list(args.cpu) if args.cpu is not None else runner.default_cpus()
    return bt, count, cpus


def _list(pattern: str) -> int:
    chosen = runner.select(pattern)
    width = max(len("Benchmark" + k.fullname) for k in chosen)
    for k in chosen:
        kind = " [parallel]" if k.parallel else ""
        print(f"{'Benchmark' + k.fullname:<{width}}  {k.doc}{kind}")
    return 0


def _check_outputs(args: argparse.Namespace) -> None:
    outs = [(f, p) for f, p in (("-o", args.output), ("-json", args.json)) if p is not None]
    for f, p in outs:
        check_writable(p, f)
    if len(outs) == 2 and os.path.realpath(outs[0][1]) == os.path.realpath(outs[1][1]) \
            and not os.path.realpath(outs[0][1]).startswith("/dev/"):
        raise UsageError(f"-o and -json name the same file {outs[0][1]}")
    check_profile_arguments(args)


def run(args: argparse.Namespace) -> int:
    from ..bench.stream import SampleStream

    bt, count, cpus = _settings(args)
    if args.list is not None:
        return _list(args.list)
    selected = runner.select(args.bench)
    _check_outputs(args)

    out = sys.stdout
    width = max(len(go_name(k.fullname, c)) for k in selected for c in cpus)
    progress = {"auto": None, "on": True, "off": False}[args.progress]

    def echo(line: str) -> None:
        if progress is False:
            print(line, file=out, flush=True)
        else:
            from tqdm import tqdm

            tqdm.write(line, file=out)
            out.flush()

    r = runner.Runner(selected, benchtime=bt, count=count, cpus=cpus, progress=progress, pattern=args.bench)
    result = r.new_result()
    for line in result.header_lines():
        print(line, file=out)
    out.flush()
    # samples are printed and written as they finish, none kept: memory does
    # not grow with -count (go test keeps nothing either)
    stream = SampleStream(result, width, echo, args.output, args.json)
    r.stream = stream.add
    try:
        with profile_session(args):
            r.run(result)
    except BaseException:
        stream.discard()
        raise
    written = stream.finish(result.complete)

    if result.complete:
        noise.warn(stream.running, prefix="enginepools bench: ")
        return 0

    planned = runner.plan_size(selected, cpus, count)
    msg = f"interrupted after {stream.count} of {planned} samples"
    if written:
        kept = ", ".join(p for p in (args.output, args.json) if p and os.path.exists(p))
        msg += f"; finished samples written to {' and '.join(written)}"
        if kept:
            msg += f" ({kept} left as it was)"
    elif args.output or args.json:
        msg += "; nothing written"
    print(f"enginepools bench: {msg}", file=sys.stderr)
    return 130

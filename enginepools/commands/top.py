"""``enginepools top``: the ``go tool pprof -top`` report of a pprof profile,
or with ``-dot``/``-png``/``-svg`` its call graph.

    enginepools top heap.prof -sample_index=inuse_space
    enginepools top new.prof -diff_base old.prof -cum -nodecount 20
    enginepools top heap.prof -tagfocus pool=hash
    enginepools top heap.prof -sample_index=alloc_space -png -output graph.png
    enginepools top heap.prof -peek bufpool          # or -tree, -list REGEX, -raw, -callgrind
    enginepools top heap.prof -tagfocus pool=hash -proto -output hash.pb.gz

Flags are pprof's and mean what they mean there; the output is what
``go tool pprof -top`` (``-dot``, ``-tree`` …) prints for the same file and flags.  ``-png``
and ``-svg`` draw the graph that ``-dot`` describes with matplotlib (no
graphviz needed).
"""
from __future__ import annotations

import argparse
import sys

from .._flags import flag, float_arg, int_arg
from ..errors import UsageError
from ..pprof.granularity import GRANULARITIES

NAME = "top"
HELP = ("print the top functions of a pprof profile (go tool pprof -top), its other reports (-tree, -peek, -list, "
        "-traces, -tags, -raw, -proto, -callgrind) or its call graph (-dot, -png, -svg)")
DESCRIPTION = (
    "Print the functions of a pprof profile (Go's or ours) ordered by flat or cumulative value, "
    "exactly as `go tool pprof -top` does: header, 'Showing nodes accounting for …', and rows "
    "flat flat% sum% cum cum% name. Several FILEs are merged. With -dot, the call graph as "
    "`go tool pprof -dot` writes it (the same nodes, edges and tag nodelets); with -png or -svg, that "
    "graph drawn (-output FILE, or binary to a non-terminal stdout). -tree, -peek REGEX, -list REGEX, -traces, "
    "-tags, -raw, -proto and -callgrind print pprof's report of that name, as go tool pprof does."
)
_FORMATS = ("dot", "png", "svg")

_LEGACY_INDEXES = ("inuse_space", "inuse_objects", "alloc_space", "alloc_objects")


_TRUE = ("1", "t", "T", "true", "TRUE", "True")
_FALSE = ("0", "f", "F", "false", "FALSE", "False")


class _GoBool(argparse.Action):
    """A Go bool flag: ``-cum`` or ``-cum=true``/``-cum=false`` (never a separate value)."""

    def __init__(self, option_strings: list[str], dest: str, **kw: object) -> None:
        super().__init__(option_strings, dest, nargs=0, **kw)  # type: ignore[arg-type]

    def __call__(self, parser: argparse.ArgumentParser, ns: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        value = True
        if option_string and "=" in option_string:
            value = option_string.split("=", 1)[1] in _TRUE
        setattr(ns, self.dest, value)


def _bool_flag(p: argparse.ArgumentParser, name: str, help: str, default: bool = False) -> None:
    p.add_argument(f"-{name}", f"--{name}", dest=name, action=_GoBool, default=default, help=help)
    p.add_argument(*[f"{dash}{name}={v}" for dash in ("-", "--") for v in _TRUE + _FALSE],
                   dest=name, action=_GoBool, help=argparse.SUPPRESS)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="+", metavar="FILE",
                   help="pprof profile (profile.proto, gzip'd or not), or a URL to fetch it from "
                        "(http://127.0.0.1:6060/debug/pprof/heap)")
    flag(p, "seconds", type=int_arg("seconds", None), default=-1, metavar="N",
         help="URL sources: fetch with ?seconds=N (a CPU profile's length; a heap/allocs delta's window)")
    flag(p, "timeout", type=int_arg("timeout", None), default=-1, metavar="N",
         help="URL sources: give up after N seconds (default: 1.5x the duration, else 60)")
    flag(p, "sample_index", metavar="S", default=None,
         help="sample value to report: index or type name, e.g. inuse_space (default: the profile's default, "
              "else the last)")
    for name in _LEGACY_INDEXES:
        _bool_flag(p, name, f"same as -sample_index={name}")
    _bool_flag(p, "mean", "average sample value over the first sample value (count)")
    _bool_flag(p, "cum", "sort by cumulative value")
    _bool_flag(p, "flat", "sort by flat value (default)")
    flag(p, "nodecount", type=int_arg("nodecount", -(1 << 63)), default=-1, metavar="N", help="show at most N nodes (default: all)")
    flag(p, "nodefraction", type=float_arg("nodefraction"), default=0.005, metavar="F",
         help="hide nodes below F*total (default 0.005)")
    flag(p, "edgefraction", type=float_arg("edgefraction"), default=0.001, metavar="F",
         help="hide edges below F*total (default 0.001)")
    _bool_flag(p, "trim", "honour nodecount/nodefraction/edgefraction (default true; -trim=false)", True)
    for name, what in (("focus", "only samples with a function matching REGEX"),
                       ("ignore", "drop samples with a function matching REGEX"),
                       ("hide", "hide functions matching REGEX"),
                       ("show", "only show functions matching REGEX"),
                       ("show_from", "drop frames above the highest one matching REGEX"),
                       ("prune_from", "drop frames below the lowest one matching REGEX"),
                       ("tagfocus", "only samples with labels matching [KEY=]REGEX or a numeric range (32kb:1mb)"),
                       ("tagignore", "drop samples with labels matching [KEY=]REGEX or a numeric range")):
        flag(p, name, default="", metavar="REGEX", help=what)
    flag(p, "diff_base", action="append", default=[], metavar="FILE",
         help="subtract FILE and show the difference, percentages relative to FILE")
    flag(p, "base", action="append", default=[], metavar="FILE", help="subtract FILE")
    flag(p, "granularity", choices=GRANULARITIES, default=None, help="aggregate by (default functions)")
    for g in GRANULARITIES:
        _bool_flag(p, g, f"same as -granularity={g}")
    _bool_flag(p, "noinlines", "attribute inlined functions to their callers")
    _bool_flag(p, "relative_percentages", "percentages relative to the focused samples")
    _bool_flag(p, "drop_negative", "drop nodes with negative values")
    flag(p, "divide_by", type=float_arg("divide_by"), default=1.0, metavar="X", help="divide all values by X")
    flag(p, "unit", default="minimum", metavar="UNIT",
         help="show values in UNIT (e.g. kb, mb, ms, s); default minimum: pprof picks one")
    _bool_flag(p, "top", "the top list (the default)")
    _bool_flag(p, "text", "same as -top (pprof's usual spelling)")
    _bool_flag(p, "traces", "every sample with its labels, value and stack (go tool pprof -traces)")
    _bool_flag(p, "tags", "the value per label value (go tool pprof -tags)")
    _bool_flag(p, "tree", "each node with its callers and callees (go tool pprof -tree; -nodecount defaults to 80)")
    flag(p, "peek", metavar="REGEX", default="", help="the -tree entries of functions matching REGEX, untrimmed")
    flag(p, "list", metavar="REGEX", default="",
         help="annotated source of functions matching REGEX (go tool pprof -list; files found from the profile's paths)")
    _bool_flag(p, "raw", "the (filtered, merged) profile as text (go tool pprof -raw)")
    _bool_flag(p, "proto", "the (filtered, merged) profile as gzip'd profile.proto (go tool pprof -proto)")
    _bool_flag(p, "callgrind", "the call graph in callgrind format, for KCachegrind (go tool pprof -callgrind)")
    for fmt in _FORMATS:
        _bool_flag(p, fmt, f"the call graph{' in DOT' if fmt == 'dot' else ', drawn as ' + fmt.upper()} "
                   "(-nodecount defaults to 80, as in pprof)")
    flag(p, "output", metavar="FILE", default=None, help="write to FILE instead of stdout")


def options_from_args(args: argparse.Namespace):
    from ..pprof.graph import GraphOptions

    si = args.sample_index
    for name in _LEGACY_INDEXES:
        if getattr(args, name):
            if si:
                print(f"Multiple value selections, ignoring -{name}", file=sys.stderr)
            else:
                si = name
    chosen = [g for g in GRANULARITIES if getattr(args, g)]
    if args.granularity:
        chosen.append(args.granularity)
    if len(set(chosen)) > 1:
        raise UsageError(f"conflicting options set: {sorted(set(chosen))}")
    if args.cum and args.flat:
        raise UsageError("conflicting options set: [cum flat]")
    if args.base and args.diff_base:
        raise UsageError("-base and -diff_base flags cannot both be specified")
    if args.divide_by == 0:
        raise UsageError("zero divisor specified")
    return GraphOptions(
        sample_index=si, mean=args.mean, cum=args.cum, nodecount=args.nodecount,
        nodefraction=args.nodefraction, edgefraction=args.edgefraction, trim=args.trim,
        focus=args.focus, ignore=args.ignore, hide=args.hide, show=args.show, show_from=args.show_from,
        tagfocus=args.tagfocus, tagignore=args.tagignore, prune_from=args.prune_from,
        granularity=chosen[0] if chosen else "functions", noinlines=args.noinlines,
        relative_percentages=args.relative_percentages, drop_negative=args.drop_negative,
        divide_by=args.divide_by, unit=args.unit,
    )


_REPORTS = ("traces", "tags", "tree", "peek", "list", "raw", "proto", "callgrind")


def _output_format(args: argparse.Namespace) -> str:
    chosen = [f for f in ("top", "text", *_REPORTS, *_FORMATS) if getattr(args, f)]
    if chosen == ["top", "text"] or chosen == ["text"]:
        return "top"
    if len(chosen) > 1:
        raise UsageError(f"conflicting output formats: {' '.join('-' + f for f in chosen)} (pick one)")
    return chosen[0] if chosen else "top"


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from .._atomic import check_writable
    from ..pprof.graph import build_graph, load_profile
    from ..pprof.report import top_text

    fmt = _output_format(args)
    opts = options_from_args(args)
    if fmt in _FORMATS:
        opts = dataclasses.replace(opts, visual=True)
    elif fmt == "top":
        opts = dataclasses.replace(opts, edges=False)  # the text prints no edge
    if args.output is not None:
        check_writable(args.output, "-output")  # before reading (large) profiles
    elif fmt in ("png", "svg", "proto") and sys.stdout.isatty():
        raise UsageError(f"-{fmt} writes binary data: give -output FILE (or redirect stdout)")
    from ..pprof.fetch import resolve_sources

    say = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    sources = resolve_sources(args.sources, args.seconds, args.timeout, say)
    base = resolve_sources(args.diff_base or args.base, args.seconds, args.timeout, say)
    prof = load_profile(sources, base=base, diff_base=bool(args.diff_base),
                        merge_one=fmt in ("traces", "raw", "proto"))
    if fmt in _REPORTS:
        from ..pprof import reports

        data = reports.generate(fmt, prof, opts, getattr(args, fmt) if fmt in ("peek", "list") else None,
                                warn=lambda msg: print(msg, file=sys.stderr))
        _emit(args.output, data)
        return 0
    g = build_graph(prof, opts, warn=lambda msg: print(msg, file=sys.stderr))
    if fmt == "top":
        text: str | bytes = top_text(g)
    elif fmt == "dot":
        from ..render.callgraph import to_dot

        text = to_dot(g)  # as pprof: the legend alone when no node is left
    else:
        text = _draw(g, fmt)
    _emit(args.output, text)
    return 0


def _emit(output: str | None, data: str | bytes) -> None:
    """A report to -output (replaced whole) or to stdout, text or binary."""
    from .._atomic import write_bytes, write_text

    if output:
        (write_text if isinstance(data, str) else write_bytes)(output, data)
    elif isinstance(data, str):
        sys.stdout.write(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


def _check_drawable(g) -> None:  # type: ignore[no-untyped-def]
    if not g.nodes:
        raise UsageError("nothing to draw: no node is left (everything filtered or pruned)")


def _draw(g, fmt: str) -> bytes:  # type: ignore[no-untyped-def]
    from ..render import style as ps
    from ..render.callgraph import draw

    _check_drawable(g)
    return ps.figure_bytes(draw(g), fmt)

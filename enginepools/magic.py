"""The IPython extension: ``%load_ext enginepools``, then a cell magic that
profiles the Python allocations of one cell.

    %%ep_memprofile -rate 1 -sample_index alloc_space
    data = [bytearray(4096) for _ in range(1000)]

shows the top table (as ``go tool pprof -top`` prints it) and the call graph
of the cell's allocations inline.  Flags: ``-rate BYTES`` (default 512 KiB,
as Go; 1 = every allocation), ``-peak`` (in-use values at the cell's peak),
``-sample_index`` (alloc_space, alloc_objects, inuse_space, inuse_objects;
default alloc_space), ``-nodecount N`` (rows of the table, default 20),
``-o FILE`` (also write the profile), ``-nograph``.  The cell runs in the
notebook's namespace; the profile is kept as ``_ep_memprofile``.  Stacks
start at the cell: the notebook machinery's own frames are cut.
"""
from __future__ import annotations

import shlex
import sys
from typing import Any

from ._flags import GoArgumentParser, flag
from .errors import EnginepoolsError

__all__ = ["load_ipython_extension", "ep_memprofile"]

_cells = 0


def _parser() -> GoArgumentParser:
    p = GoArgumentParser(prog="%%ep_memprofile", add_help=False)
    flag(p, "rate", type=int, default=512 * 1024)
    flag(p, "peak", action="store_true")
    flag(p, "sample_index", default="alloc_space",
         choices=("alloc_space", "alloc_objects", "inuse_space", "inuse_objects"))
    flag(p, "nodecount", type=int, default=20)
    flag(p, "o", dest="output", default=None)
    flag(p, "nograph", action="store_true")
    return p


def ep_memprofile(line: str, cell: str, shell: Any = None) -> Any:
    """Run `cell` under the Python heap profiler; display its top table and
    call graph; return nothing (the profile is ``_ep_memprofile``)."""
    global _cells
    try:
        args = _parser().parse_args(shlex.split(line))
    except SystemExit:  # the parser printed one line
        return None
    if args.rate < 1 or args.nodecount < 1:
        print("%%ep_memprofile: -rate and -nodecount must be >= 1", file=sys.stderr)
        return None
    from .pprof.pyheap import PyHeapProfiler

    _cells += 1
    filename = f"ep_memprofile_cell{_cells}.py"
    ns = shell.user_ns if shell is not None else {}
    code = compile(cell, filename, "exec")
    prof = PyHeapProfiler(args.rate, peak=args.peak)
    try:
        with prof:
            exec(code, ns)
    except Exception:
        if shell is not None:
            shell.showtraceback()
            return None
        raise
    profile = prof.profile(root_file=filename)
    profile.source = f"%%ep_memprofile cell {_cells}"
    ns["_ep_memprofile"] = profile
    try:
        if args.output:
            profile.write(args.output)
        _show(profile, args)
    except EnginepoolsError as e:
        print(f"%%ep_memprofile: {e}", file=sys.stderr)
    return None


def _show(profile: Any, args: Any) -> None:
    from .pprof import graph as pprof_graph
    from .pprof import report as pprof_report

    g = pprof_graph.build_graph(profile, pprof_graph.GraphOptions(sample_index=args.sample_index,
                                                                  nodecount=args.nodecount))
    text = pprof_report.top_text(g)
    fig = None
    if not args.nograph and profile.n_samples:
        from .render import callgraph

        pic = pprof_graph.build_graph(profile, pprof_graph.GraphOptions(sample_index=args.sample_index,
                                                                        visual=True))
        fig = callgraph.draw(pic, title=f"%%ep_memprofile: {args.sample_index}")
    try:
        from IPython.display import display
    except ImportError:  # outside IPython: plain text
        print(text)
        return
    from .render import html

    display(_HTML(f"<pre>{html.esc(text)}</pre>"))
    if fig is not None:
        display(fig)
        import matplotlib.pyplot as plt

        plt.close(fig)


class _HTML:
    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_html_(self) -> str:
        return self.text


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext enginepools`` calls this: registers ``%%ep_memprofile``."""
    ipython.register_magic_function(lambda line, cell: ep_memprofile(line, cell, ipython),
                                    magic_kind="cell", magic_name="ep_memprofile")

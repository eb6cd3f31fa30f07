"""Graph reports in text, as go tool pprof prints them (google/pprof
``internal/report``, Go 1.19's vendored copy): ``-tree`` and ``-peek REGEX``
(printTree: each node between its callers and callees) and ``-callgrind``
(printCallgrind: the graph for KCachegrind, with callgrind's name
compression).  The graph is :func:`~enginepools.pprof.build.build`'s, with
the options pprof's driver forces for each report (applyCommandOverrides)."""
from __future__ import annotations

import dataclasses
from typing import Callable

from . import units
from .build import build, output_unit
from .gostd import wrap64
from .nodes import Edge, Graph, GraphOptions, Node
from .report import report_labels
from .work import WorkProfile

__all__ = ["tree_text", "callgrind_text", "report_options"]

_TREE_SEPARATOR = "----------------------------------------------------------+-------------"
_TREE_LEGEND = "      flat  flat%   sum%        cum   cum%   calls calls% + context \t \t "


def report_options(o: GraphOptions, report: str) -> GraphOptions:
    """driver.applyCommandOverrides for `report` ("tree", "peek", "list",
    "callgrind", "raw", "proto", "dot", "top")."""
    trim = o.trim
    nodecount = o.nodecount
    changes: dict[str, object] = {}
    if report in ("peek", "list"):
        trim = False
    if report == "list":
        changes["granularity"] = "lines"
    if report in ("top", "text"):
        nodecount = 0 if nodecount == -1 else nodecount
    elif nodecount == -1:
        nodecount = 80
    if report in ("proto", "raw", "callgrind"):
        trim = False
        changes.update(granularity="addresses", noinlines=False)
    if report in ("raw", "list", "callgrind"):
        changes["obj_names"] = True
    if not trim:
        nodecount = 0
        changes.update(nodefraction=0.0, edgefraction=0.0)
    # trim stays as given: build() reads the (already zeroed) limits; the
    # "Dropped … nodes" line reads nodefraction
    return dataclasses.replace(o, nodecount=nodecount, **changes)  # type: ignore[arg-type]


def sorted_edges(edges: list[Edge], incoming: bool) -> list[Edge]:
    """graph.EdgeMap.Sort: |weight| descending, then caller name, then callee name."""
    return sorted(edges, key=lambda e: (-abs(e.weight), e.src.name, e.dst.name))


def tree_text(p: WorkProfile, o: GraphOptions | None = None, symbol: str | None = None,
              warn: Callable[[str], None] | None = None) -> str:
    """``go tool pprof -tree`` (or, with `symbol`, ``-peek symbol``): every
    node (matching `symbol`) with its callers above and callees below."""
    from .gostd import go_regexp
    from ..errors import UsageError

    rx = go_regexp(symbol, "-peek") if symbol is not None else None
    o = report_options(o or GraphOptions(), "peek" if rx is not None else "tree")
    g = build(p, dataclasses.replace(o, visual=False, edges=True), warn)
    out = ["\n".join(report_labels(g)), _TREE_SEPARATOR, _TREE_LEGEND]
    flat_sum = 0
    matched = 0
    for n in g.nodes:
        if rx is not None and not rx.search(n.name):
            continue
        matched += 1
        out.append(_TREE_SEPARATOR)
        for e in sorted_edges(n.ins, True):
            out.append(_edge_line(g, e, e.src, n))
        flat_sum = wrap64(flat_sum + n.flat)
        out.append("%10s %s %s %10s %s                | %s" % (
            g.format_value(n.flat), units.percentage(n.flat, g.total), units.percentage(flat_sum, g.total),
            g.format_value(n.cum), units.percentage(n.cum, g.total), n.name))
        for e in sorted_edges(n.outs, False):
            out.append(_edge_line(g, e, e.dst, n))
    if g.nodes:
        out.append(_TREE_SEPARATOR)
    if rx is not None and matched == 0:
        raise UsageError(f"-peek: no matches found for regexp: {symbol}")
    return "\n".join(out) + "\n"


def _edge_line(g: Graph, e: Edge, other: Node, n: Node) -> str:
    return "%50s %s |   %s%s" % (g.format_value(e.weight), units.percentage(e.weight, n.cum), other.name,
                                  " (inline)" if e.inline else "")


def callgrind_text(p: WorkProfile, o: GraphOptions | None = None, warn: Callable[[str], None] | None = None) -> str:
    """``go tool pprof -callgrind``: the graph at address granularity (no
    trimming), in callgrind's format with its name and address compression."""
    o = report_options(o or GraphOptions(), "callgrind")
    g = build(p, dataclasses.replace(o, visual=False, edges=True), warn)
    unit = o.unit or "minimum"
    if unit == "minimum" and g.nodes:  # (with no node pprof keeps "minimum")
        unit = output_unit(g.nodes, g.total, o, g.sample_unit, scale_up=False)
    objfiles: dict[str, int] = {}
    files: dict[str, int] = {}
    names: dict[str, int] = {}
    out = ["positions: instr line", f"events: {g.sample_type}({unit})"]
    cfn = _disambiguated_names(g.nodes)
    prev: Node | None = None
    for n in g.nodes:
        if prev is None or n.objfile != prev.objfile or n.filename != prev.filename or n.function != prev.function:
            out += ["", "ob=" + _cg_name(objfiles, n.objfile), "fl=" + _cg_name(files, n.filename),
                    "fn=" + _cg_name(names, n.function)]
        sv, _ = units.scale(n.flat, g.sample_unit, unit)
        out.append(f"{_cg_address(prev, n.address)} {n.line} {_go_int(sv)}")
        for e in sorted_edges(n.outs, False):
            c, _ = units.scale(e.weight, g.sample_unit, unit)
            callee = e.dst
            out.append("cfl=" + _cg_name(files, callee.filename))
            out.append("cfn=" + _cg_name(names, cfn.get(id(callee), "")))  # "" for a node left out of the graph
            out.append(f"calls=0 {_cg_address(prev, callee.address)} {callee.line}")
            out.append(f"* * {_go_int(c)}")
        prev = n
    return "\n".join(out) + "\n"


def _disambiguated_names(nodes: list[Node]) -> dict[int, str]:
    """report.getDisambiguatedNames: a " [i/n]" suffix where nodes of one
    (file, name) belong to different functions (graph.Node.Function: the node
    info without address and line)."""
    funcs: dict[tuple[str, str], dict[tuple, int]] = {}
    for n in nodes:
        name, orig, _addr, file, start, _line, objfile = n.info
        fs = funcs.setdefault((file, name), {})
        fs.setdefault((name, orig, file, start, objfile), len(fs))
    out = {}
    for n in nodes:
        name, orig, _addr, file, start, _line, objfile = n.info
        fs = funcs[(file, name)]
        out[id(n)] = name if len(fs) == 1 else f"{name} [{fs[(name, orig, file, start, objfile)] + 1}/{len(fs)}]"
    return out


def _go_int(x: float) -> int:
    """Go's int64(float64) conversion (truncation toward zero)."""
    return int(x)


def _cg_name(names: dict[str, int], name: str) -> str:
    """report.callgrindName: "(N) name" the first time, "(N)" after."""
    if name == "":
        return ""
    got = names.get(name)
    if got is not None:
        return f"({got})"
    names[name] = len(names) + 1
    return f"({len(names)}) {name}"


def _cg_address(prev: Node | None, curr: int) -> str:
    """report.callgrindAddress: absolute, "*" (same) or a signed offset when shorter."""
    absolute = "%#x" % curr if curr else "0x0"
    if prev is None:
        return absolute
    if prev.address == curr:
        return "*"
    diff = (curr - prev.address) & 0xFFFFFFFFFFFFFFFF
    if diff >= 1 << 63:
        diff -= 1 << 64
    relative = "%+d" % diff
    return relative if len(relative) < len(absolute) else absolute


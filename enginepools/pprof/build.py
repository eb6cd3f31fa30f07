"""From a working profile to the report's graph, as ``go tool pprof`` goes:
sample index and total, focus/ignore filters, nodes and edges, ``-nodefraction``
/ ``-nodecount`` / ``-edgefraction`` trimming, tags for pictures, and the
output unit (pprof's "minimum" rule)."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

from . import units
from ..errors import UsageError
from .gostd import wrap64
from .work import WorkProfile, copy_profile
from .nodes import Edge, Graph, GraphOptions, Node, NodeInfo, Tag
from .granularity import Aggregator, printable_name
from .builder import Builder, cum_value, flat_value, sort_nodes, trim_edges
from .visual import node_tags, tag_counts, trim_tags, visual_limit
from .report import TOP_ROWS, top_html
from .filters import active_filters, select_and_filter


def build(p: WorkProfile, options: GraphOptions | None = None, warn: Callable[[str], None] | None = None) -> Graph:
    """The -top graph of working profile `p` as go tool pprof builds it (`p`
    itself is left as it is)."""
    o = options or GraphOptions()
    warn = warn or (lambda msg: None)
    if any((o.focus, o.ignore, o.hide, o.show, o.show_from, o.tagfocus, o.tagignore, o.prune_from)):
        p = copy_profile(p)  # the filters edit samples and locations
    else:
        p = dataclasses.replace(p, samples=list(p.samples))  # only the sample list changes
    if o.divide_by == 0:
        raise UsageError("zero divisor specified")
    nodecount = o.nodecount if o.nodecount != -1 else (80 if o.visual else 0)
    nodefraction, edgefraction = o.nodefraction, o.edgefraction
    if not o.trim:
        nodecount, nodefraction, edgefraction = 0, 0.0, 0.0
    nlu, ix, mean_ix, stype, sunit, total = select_and_filter(p, o, warn)
    agg = Aggregator(o.granularity, o.noinlines, o.obj_names)
    builder = Builder(p, agg, ix, mean_ix, o.drop_negative)

    edges = o.visual  # a -top list needs the edges of its final graph only
    last_kept: set[NodeInfo] | None = None
    g = builder.build(None, edges)
    total_value = wrap64(sum(n.flat for n in g))
    node_cutoff = abs(int(float(total_value) * nodefraction))
    edge_cutoff = abs(int(float(total_value) * edgefraction))
    dropped_nodes = 0
    kept_infos: set[NodeInfo] | None = None  # None: every node
    if node_cutoff > 0:
        kept = {n.info for n in g if abs(n.cum) >= node_cutoff}
        if len(kept) != len(g):
            dropped_nodes = len(g) - len(kept)
            g = builder.build(kept, edges)
            kept_infos = last_kept = kept
    orig_count = len(g)
    sort_nodes(g, o.cum, o.visual)
    trimmed = False
    if nodecount > 0:
        trim_edges(g, edge_cutoff)
        trimmed = True
        limit = nodecount
        if o.visual:
            tags = node_tags(p, builder, kept_infos, ix, mean_ix, nlu, o.unit or "minimum")
            trim_tags(tags, node_cutoff)
            limit = visual_limit(g, nodecount, tag_counts(tags))
        if limit < len(g):
            kept_infos = last_kept = {n.info for n in g[:limit]}
            g = builder.build(kept_infos, edges)
            trimmed = False
            sort_nodes(g, o.cum, o.visual)
    if not edges:
        if o.edges:
            g = builder.build(last_kept, True)
            sort_nodes(g, o.cum, o.visual)
            if trimmed:  # as the visual path: the edges were trimmed once before
                trim_edges(g, edge_cutoff)
        else:
            g = builder.build(last_kept, False, edge_cutoff)
            sort_nodes(g, o.cum, o.visual)
    dropped_edges = trim_edges(g, edge_cutoff)
    final_tags: dict[NodeInfo, dict[tuple[str, str | None], Tag]] = {}
    if o.visual:  # the tags a picture draws, of the final graph
        final_tags = node_tags(p, builder, kept_infos, ix, mean_ix, nlu, o.unit or "minimum")
        trim_tags(final_tags, node_cutoff)

    out_unit = o.unit or "minimum"
    if g and out_unit == "minimum":
        out_unit = output_unit(g, total, o, sunit)

    # public objects
    pub: dict[int, Node] = {}
    nodes: list[Node] = []
    for n in g:
        name, _orig, address, file, _start, lineno, objfile = n.info
        node = Node(name=printable_name(n.info), flat=flat_value(n), cum=cum_value(n), function=name,
                    filename=file, line=lineno, address=address, objfile=objfile, flat_raw=n.flat,
                    cum_raw=n.cum, flat_div=n.flat_div, cum_div=n.cum_div, info=n.info,
                    tags=list(final_tags.get(n.info, {}).values()))
        pub[id(n)] = node
        nodes.append(node)
    edges: list[Edge] = []
    ghosts: dict[int, Node] = {}

    def ghost(gn: Any) -> Node:
        """A node pprof leaves out of the graph (its flat and cum are 0, as
        with -mean's zero-valued samples) while the edges to it stay: the
        text reports print them (Node.ins/outs), Graph.edges has none."""
        got = ghosts.get(id(gn))
        if got is None:
            got = ghosts[id(gn)] = Node(name=printable_name(gn.info), function=gn.info[0], filename=gn.info[3],
                                        line=gn.info[5], address=gn.info[2], objfile=gn.info[6], info=gn.info)
        return got

    for n in g:
        dst = pub[id(n)]
        has_inline = has_plain = False
        for src, e in n.ins.items():
            if e[3]:
                has_inline = True
            else:
                has_plain = True
            s = pub.get(id(src))
            if s is None:
                dst.ins.append(Edge(src=ghost(src), dst=dst, weight=e[0], residual=e[2], inline=e[3],
                                    weight_div=e[1]))
                continue
            edge = Edge(src=s, dst=dst, weight=e[0], residual=e[2], inline=e[3], weight_div=e[1])
            edges.append(edge)
            s.outs.append(edge)
            dst.ins.append(edge)
        for d, e in n.outs.items():
            if id(d) not in pub:
                dst.outs.append(Edge(src=dst, dst=ghost(d), weight=e[0], residual=e[2], inline=e[3],
                                     weight_div=e[1]))
        if n.in_flags is not None:
            has_inline, has_plain = n.in_flags
        dst.inline = has_inline and not has_plain
        dst.partial_inline = has_inline and has_plain
    return Graph(nodes=nodes, edges=edges, total=total, unit=out_unit, sample_type=stype, sample_unit=sunit,
                 orig_count=orig_count, dropped_nodes=dropped_nodes, dropped_edges=dropped_edges,
                 node_cutoff=node_cutoff, edge_cutoff=edge_cutoff, options=o, active_filters=active_filters(o),
                 profile=p)


def output_unit(nodes: Sequence[Any], total: int, o: GraphOptions, sunit: str, scale_up: bool = True) -> str:
    """report.selectOutputUnit for -unit=minimum: the unit of the smallest
    non-zero node value, or of 100x it when that reads better (`scale_up`;
    not for callgrind, which prints integers)."""
    min_value = 0
    for n in nodes:
        if isinstance(n, Node):  # a public node's values are divided already
            m = abs(n.flat) or abs(n.cum)
        else:
            m = abs(flat_value(n)) or abs(cum_value(n))
        if m > 0 and (min_value == 0 or m < min_value):
            min_value = m
    max_value = total
    if min_value == 0:
        min_value = max_value
    r = 1 / o.divide_by
    if r > 0 and r != 1:
        min_value = int(float(min_value) * r)
        max_value = int(float(max_value) * r)
    _, min_unit = units.scale(min_value, sunit, "minimum")
    _, max_unit = units.scale(max_value, sunit, "minimum")
    unit = min_unit
    if scale_up and min_unit != max_unit and min_value * 100 < max_value:
        _, unit = units.scale(100 * min_value, sunit, "minimum")
    return unit if unit != "" else sunit


def profile_html(p: Any, rows: int = TOP_ROWS) -> str:
    """A :class:`~enginepools.pprof.profile.Profile` as HTML: what it holds, then the top
    table of its default sample type (as ``go tool pprof -top`` picks it)."""
    from ..render import html

    head = (f"<div><b>{html.esc(p.source)}</b>: {p.n_samples} samples · "
            f"{html.esc(', '.join(f'{t}/{u}' for t, u in p.sample_types))} · {len(p.location_id)} locations · "
            f"{len(p.function_id)} functions</div>")
    if p.n_samples == 0:
        return head
    try:
        return head + top_html(build(WorkProfile.from_profile(p)), rows)
    except Exception as e:  # a notebook preview must never raise
        return head + f'<div class="ep-note">no top table: {html.esc(e)}</div>'

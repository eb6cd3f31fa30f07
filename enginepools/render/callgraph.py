"""pprof-style call graphs, laid out without graphviz.

Input is a graph already pruned the way pprof prunes it (node and edge
fractions, node count — :func:`enginepools.pprof.graph.build_graph` does
that); this module only draws.  The graph is duck-typed:

* ``graph.nodes``: objects with ``name``, ``flat``, ``cum``;
* ``graph.edges``: objects with ``src``, ``dst`` (nodes or node names),
  ``weight``, ``residual``, ``inline``;
* ``graph.total`` (the percentages' denominator) and ``graph.unit``
  (``bytes``, ``count``, ``nanoseconds``…), optionally ``graph.title`` and
  ``graph.labels`` (legend lines).

:class:`CallGraph`, :class:`CallNode` and :class:`CallEdge` are a minimal
implementation of that protocol.

Drawing follows pprof's ``dot`` output: a box per function whose font grows
with its flat value (8 + 16·√(flat/max flat) pt), labelled with the short
name split at dots, ``flat (flat%)`` and ``of cum (cum%)`` when they
differ; box and edge colours from pprof's ``dotColor`` (grey → red as the
share of the total grows); edges wider with their weight (1 + 5·w/total,
at most 6), dotted when residual (a path through pruned nodes), dashed and
labelled ``(inline)`` when inlined.  Layout is grandalf's Sugiyama layered
layout, callers above callees; cycles (recursion) are broken by grandalf's
feedback-edge inversion and drawn as ordinary edges, self-calls as loops.

:func:`to_dot` writes the same graph as pprof's DOT for graphviz users;
:func:`parse_dot` reads node labels and edges back (for tests and tools).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path as MplPath

from ..pprof import units
from . import style as ps
from ..pprof.graph import MAX_NODELETS, go_div

__all__ = ["CallGraph", "CallNode", "CallEdge", "node_label", "layout", "draw", "to_dot", "parse_dot",
           "dot_color", "shorten_function_name", "Layout", "remove_redundant_edges", "from_items", "Nodelet",
           "nodelet_items", "nodelets"]


# ----------------------------------------------------------------- model

@dataclass
class CallNode:
    name: str
    flat: float
    cum: float


@dataclass
class CallEdge:
    src: Any
    dst: Any
    weight: float
    residual: bool = False
    inline: bool = False


@dataclass
class CallGraph:
    nodes: list[Any]
    edges: list[Any]
    total: float
    unit: str = "bytes"
    title: str = ""
    labels: list[str] = field(default_factory=list)


@dataclass
class _G:
    names: list[str]
    flat: np.ndarray
    cum: np.ndarray
    edges: list[tuple[int, int, float, bool, bool]]
    total: float
    unit: str
    title: str
    labels: list[str]
    fmt: Any = None  # value -> text; pprof's FormatValue when the graph has one
    tags: list[list[Any]] = field(default_factory=list)  # per node: pprof_graph.Tag (visual graphs)
    infos: list[Any] = field(default_factory=list)  # per node: its pprof NodeInfo, or None
    raw: dict[tuple[int, int], float] = field(default_factory=dict)  # edge weights before -mean's division

    def format(self, v: float) -> str:
        return self.fmt(v) if self.fmt is not None else units.label(v, self.unit)

    def has_out(self, i: int) -> bool:
        """Whether node `i` calls another node (pprof: len(node.Out) > 0,
        which decides flat or cum weights on its nodelets)."""
        return any(s == i and d != i for s, d, *_ in self.edges)


def _normalize(graph: Any, allow_empty: bool = False) -> _G:
    nodes = list(getattr(graph, "nodes", None) or [])
    if not nodes and not allow_empty:
        raise ValueError("call graph has no nodes (everything pruned, or an empty profile)")
    names = [str(getattr(n, "name")) for n in nodes]
    index: dict[Any, int] = {}
    for i, n in enumerate(nodes):
        index[id(n)] = i
    by_name = {nm: i for i, nm in enumerate(names)}

    def ix(x: Any) -> int:
        if id(x) in index:
            return index[id(x)]
        key = x if isinstance(x, str) else getattr(x, "name", None)
        if key in by_name:
            return by_name[key]
        raise ValueError(f"call graph edge refers to a node that is not in the graph: {key!r}")

    edges = []
    raw = {}
    for e in getattr(graph, "edges", None) or []:
        w = getattr(e, "value", None)  # pprof_graph.Edge: weight / weight_div
        w = e.weight if w is None or callable(w) else w
        edges.append((ix(e.src), ix(e.dst), float(w), bool(getattr(e, "residual", False)),
                      bool(getattr(e, "inline", False))))
        raw[edges[-1][:2]] = float(e.weight)
    total = float(getattr(graph, "total", 0) or 0)
    if total == 0:
        total = float(sum(abs(float(n.flat)) for n in nodes)) or 1.0
    fmt = getattr(graph, "format_value", None)
    unit = str(getattr(graph, "sample_unit", None) or getattr(graph, "unit", "") or "")
    labels = [str(s) for s in (getattr(graph, "labels", None) or [])]
    title = str(getattr(graph, "title", "") or "")
    if not labels and hasattr(graph, "sample_type") and hasattr(graph, "dropped_nodes"):
        from ..pprof.report import report_labels  # a pprof_graph.Graph: pprof's own legend

        labels = report_labels(graph, edges=True)
    return _G(names, np.array([float(n.flat) for n in nodes]), np.array([float(n.cum) for n in nodes]),
              remove_redundant_edges(names, edges), total, unit, title, labels, fmt if callable(fmt) else None,
              [list(getattr(n, "tags", None) or []) for n in nodes],
              [getattr(n, "info", None) or None for n in nodes], raw)


def remove_redundant_edges(names: Sequence[str], edges: list[tuple[int, int, float, bool, bool]]
                           ) -> list[tuple[int, int, float, bool, bool]]:
    """pprof's Graph.RemoveRedundantEdges (done for every picture it draws):
    drop a residual edge when its destination can still be reached from its
    source through other edges; lightest first, and never past a non-residual
    edge into the same node."""
    alive = list(range(len(edges)))
    ins: dict[int, list[int]] = {}
    for k, (s, d, *_rest) in enumerate(edges):
        ins.setdefault(d, []).append(k)
    removed: set[int] = set()

    def order(k: int) -> tuple[float, str, str]:
        s, d, w, *_ = edges[k]
        return (-abs(w), names[s], names[d])

    def redundant(k: int) -> bool:
        src, dst = edges[k][0], edges[k][1]
        seen = {dst}
        queue = [dst]
        while queue:
            n = queue.pop(0)
            for ie in ins.get(n, []):
                if ie == k or ie in removed or edges[ie][0] in seen:
                    continue
                if edges[ie][0] == src:
                    return True
                seen.add(edges[ie][0])
                queue.append(edges[ie][0])
        return False

    for node in range(len(names) - 1, -1, -1):
        for k in sorted(ins.get(node, []), key=order)[::-1]:
            if not edges[k][3]:
                break
            if redundant(k):
                removed.add(k)
    return [edges[k] for k in alive if k not in removed]


# -------------------------------------------------------------- labelling

_GO_VER = re.compile(r"^(.*?)/v(?:[2-9]|[1-9][0-9]+)([./].*)$")
_GO = re.compile(r"^(?:[\w\-\.]+\/)+(.+)")
_JAVA = re.compile(r"^(?:[a-z]\w*\.)*([A-Z][\w\$]*\.(?:<init>|[a-z][\w\$]*(?:\$\d+)?))(?:(?:\()|$)")
_CPP = re.compile(r"^(?:[_a-zA-Z]\w*::)+(_*[A-Z]\w*::~?[_a-zA-Z]\w*(?:<.*>)?)")
_CPP_ANON = re.compile(r"^\(anonymous namespace\)::")


def shorten_function_name(f: str) -> str:
    """pprof's ShortenFunctionName: drop the Go package path / Java package /
    C++ namespaces, keep ``pkg.Type.Method``."""
    f = _CPP_ANON.sub("", f)
    f = _GO_VER.sub(r"\1\2", f)
    for rx in (_GO, _JAVA, _CPP):
        m = rx.match(f)
        if m:
            return "".join(g for g in m.groups() if g)
    return f


def _name_lines(name: str, info: Any = None) -> list[str]:
    """A node's name as lines.  With its pprof NodeInfo (name, orig, address,
    file, start line, line, binary), pprof's multilinePrintableName: the
    shortened function name split at "::" and ".", then the address, the
    file's base name with the line, or the binary's name — never split."""
    if info is None:
        short = shorten_function_name(name).replace("[...]", "[…]")
        return [s for s in re.split(r"::|\.", short) if s] or [short]
    fn, _orig, address, file, _start, lineno, objfile = info
    short = shorten_function_name(fn).replace("::", "\n").replace("[...]", "[…]").replace(".", "\n")
    parts = ["%016x" % address] if address else []
    if short:
        parts.append(short)
    file = file.rstrip("/").rsplit("/", 1)[-1] if file else ""
    if lineno:
        parts.append(f"{file}:{lineno}")
    elif file:
        parts.append(file)
    elif not short:
        parts.append("[" + objfile.rstrip("/").rsplit("/", 1)[-1] + "]" if objfile else "<unknown>")
    return "\n".join(parts).split("\n")


def node_label(name: str, flat: float, cum: float, total: float, unit: str, fmt: Any = None,
               info: Any = None) -> str:
    """The box text pprof writes: name lines, ``flat (pct)``, ``of cum (pct)``.
    `fmt` formats values (default: pprof's auto-scaled label in `unit`);
    `info`: the node's pprof NodeInfo (see :func:`_name_lines`)."""
    f_ = fmt or (lambda v: units.label(v, unit))
    lines = _name_lines(name, info)
    if flat != 0:
        value = f"{f_(flat)} ({units.percentage(flat, total).strip()})"
    else:
        value = "0"
    if cum != flat:
        of = f"of {f_(cum)} ({units.percentage(cum, total).strip()})"
        if flat != 0:
            lines += [value, of]
        else:
            lines.append(f"{value} {of}")
    else:
        lines.append(value)
    return "\n".join(lines)


def _int(v: float) -> Any:
    """Integral floats as ints (pprof's values are int64; formatters may insist)."""
    return int(v) if float(v).is_integer() else v


def _font_size(flat: float, max_flat: float) -> int:
    size = 8
    if max_flat != 0 and flat != 0 and abs(flat) <= max_flat:
        size += int(math.ceil(16.0 * math.sqrt(abs(flat) / max_flat)))
    return size


def dot_color(score: float, background: bool = False) -> str:
    """pprof's dotColor: grey near 0, red towards +1, green towards −1."""
    shift = 0.7
    sat, val = (0.1, 0.93) if background else (1.0, 0.7)
    score = max(-1.0, min(1.0, score))
    if abs(score) < 0.2:
        sat *= abs(score) / 0.2
    if score > 0:
        score = score ** (1.0 - shift)
    elif score < 0:
        score = -((-score) ** (1.0 - shift))
    if score < 0:
        g = val
        r = val * (1 + sat * score)
    else:
        r = val
        g = val * (1 - sat * score)
    b = val * (1 - sat)
    return "#%02x%02x%02x" % (int(r * 255.0) & 0xFF, int(g * 255.0) & 0xFF, int(b * 255.0) & 0xFF)


def _edge_width(weight: float, total: float) -> int:
    return 1 + int(min(abs(weight * 5 / total), 5)) if total else 1


# ----------------------------------------------------------------- layout

@dataclass
class Layout:
    """Where everything goes, in points (y grows downward: callers on top)."""

    names: list[str]
    labels: list[str]
    font_sizes: list[int]
    centers: list[tuple[float, float]]
    sizes: list[tuple[float, float]]  # (w, h)
    edges: list[tuple[int, int, float, bool, bool]]
    paths: list[list[tuple[float, float]]]
    extent: tuple[float, float, float, float]  # x0, y0, x1, y1
    #: per node, its tags drawn as pprof's nodelets: (centre x, centre y, w,
    #: h, tag label, weight text, dotted, hang point, key) in a row under the
    #: box, the sizes under a label set in a row under its chip (key
    #: "pool:hash/64kB"); a node with tags occupies centers/sizes (box and
    #: chips), its box is :attr:`boxes`
    chips: list[list[tuple]] = field(default_factory=list)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)  # (cx, cy, w, h)


class _View:
    def __init__(self, w: float, h: float) -> None:
        self.w, self.h = w, h
        self.xy = (0.0, 0.0)


class _EdgeView:
    def __init__(self) -> None:
        self.path: list[tuple[float, float]] = []

    def setpath(self, pts: Sequence[tuple[float, float]]) -> None:
        self.path = [(float(x), float(y)) for x, y in pts]


_LINE = 1.18  # line height / font size


def _text_size(text: str, size: float) -> tuple[float, float]:
    r = _text_size.renderer  # type: ignore[attr-defined]
    prop = FontProperties(family=ps.RC["font.family"], size=size)
    lines = text.split("\n")
    w = max(r.get_text_width_height_descent(s or " ", prop, ismath=False)[0] for s in lines)
    return w, len(lines) * size * _LINE


def _init_renderer() -> None:
    from matplotlib.backends.backend_agg import RendererAgg

    _text_size.renderer = RendererAgg(10, 10, 72)  # type: ignore[attr-defined]


def layout(graph: Any) -> Layout:
    """Sugiyama layout (grandalf) of `graph`, node boxes sized to their labels."""
    from grandalf.graphs import Edge, Graph, Vertex
    from grandalf.layouts import SugiyamaLayout

    g = _normalize(graph)
    if not hasattr(_text_size, "renderer"):
        _init_renderer()
    max_flat = float(np.max(np.abs(g.flat))) if g.flat.size else 0.0
    labels, fonts, sizes, box_sizes = [], [], [], []
    # per node: its chips (w, h, label, weight, dotted, children: chips under that chip)
    chip_rows: list[list[tuple[float, float, str, str, bool, list]]] = []
    for i, (name, f, c) in enumerate(zip(g.names, g.flat, g.cum)):
        lab = node_label(name, _int(f), _int(c), g.total, g.unit, g.fmt, g.infos[i] if g.infos else None)
        fs = _font_size(f, max_flat)
        w, h = _text_size(lab, fs)
        labels.append(lab)
        fonts.append(fs)
        box = (w + 0.9 * fs + 6, h + 0.5 * fs + 4)
        box_sizes.append(box)
        # the node's nodelets as chips in a row under its box; the sizes under
        # a label set (pprof's nested nodelets) in a row under that chip
        row: list[tuple[float, float, str, str, bool, list]] = []
        by_id: dict[str, list] = {f"N{i + 1}": row}
        for n in nodelet_items(i + 1, g.tags[i] if g.tags else [], g.has_out(i)):
            label = n.label.replace("\\n", "\n")  # a label set: one key:value a line, as graphviz shows it
            tw, th = _text_size(f"{label}\n{g.format(_int(n.weight))}", _CHIP_FONT)
            kids: list = []
            by_id[n.source].append((tw + 8, th + 6, label, g.format(_int(n.weight)), n.dotted, kids))
            by_id[n.id] = kids
        chip_rows.append(row)
        if row:
            row_w = sum(_chip_width(c) for c in row) + _CHIP_GAP * (len(row) - 1)
            box = (max(box[0], row_w), box[1] + _chips_height(row))
        sizes.append(box)
    verts = [Vertex(i) for i in range(len(g.names))]
    loops = {s for s, d, *_ in g.edges if s == d}
    for i, (v, (w, h)) in enumerate(zip(verts, sizes)):
        # room for a self-loop and its label beside the box
        v.view = _View(w + (2 * 90 if i in loops else 0), h)
    gedges = []
    seen: set[tuple[int, int]] = set()
    for s, d, *_ in g.edges:
        if s == d or (s, d) in seen:
            continue
        seen.add((s, d))
        e = Edge(verts[s], verts[d])
        e.view = _EdgeView()
        gedges.append(e)
    G = Graph(verts, gedges)
    centers: dict[int, tuple[float, float]] = {}
    paths: dict[tuple[int, int], list[tuple[float, float]]] = {}
    comps = sorted(G.C, key=lambda c: -max(abs(g.cum[v.data]) for v in c.sV))
    placed = []  # (component, x0, y0, x1, y1) in the component's own coordinates
    for comp in comps:
        sug = SugiyamaLayout(comp)
        sug.xspace = 18
        sug.yspace = 46
        roots = [v for v in comp.sV if not [e for e in v.e_in() if e.v[0] is not v]]
        if not roots:  # all in cycles: start from the largest cum
            roots = [max(comp.sV, key=lambda v: abs(g.cum[v.data]))]
        sug.init_all(roots=roots, optimize=True)
        sug.draw(3)
        _separate_layers(sug)
        pts = [(v.view.xy[0] - v.view.w / 2, v.view.xy[1] - v.view.h / 2, v.view.xy[0] + v.view.w / 2,
                v.view.xy[1] + v.view.h / 2) for v in comp.sV]
        placed.append((comp, min(p[0] for p in pts), min(p[1] for p in pts), max(p[2] for p in pts),
                       max(p[3] for p in pts)))
    # Shelf packing: components left to right, largest first, wrapping into
    # rows so that many small disconnected pieces do not make one long strip.
    gap = 40.0
    area = sum((x1 - x0 + gap) * (y1 - y0 + gap) for _, x0, y0, x1, y1 in placed)
    row_width = max(max(x1 - x0 for _, x0, _, x1, _ in placed), math.sqrt(area * 1.6))
    x_off = y_off = row_h = 0.0
    for comp, x0, y0, x1, y1 in placed:
        if x_off > 0 and x_off + (x1 - x0) > row_width:
            x_off, y_off, row_h = 0.0, y_off + row_h + gap, 0.0
        dx, dy = x_off - x0, y_off - y0
        for v in comp.sV:
            centers[v.data] = (v.view.xy[0] + dx, v.view.xy[1] + dy)
        for e in comp.sE:
            paths[(e.v[0].data, e.v[1].data)] = [(x + dx, y + dy) for x, y in e.view.path]
        x_off += (x1 - x0) + gap
        row_h = max(row_h, y1 - y0)
    center_list = [centers[i] for i in range(len(g.names))]
    edge_paths = []
    pairs = {(s, d) for s, d, *_ in g.edges}
    for s, d, *_ in g.edges:
        if s == d:
            edge_paths.append(_self_loop(center_list[s], sizes[s]))
            continue
        pts = paths.get((s, d))
        if pts is None:  # the antiparallel twin was laid out: reuse its route, reversed
            pts = list(reversed(paths.get((d, s)) or [center_list[d], center_list[s]]))
        cs, cd = center_list[s], center_list[d]
        if (d, s) in pairs:  # a <-> b: draw the two directions side by side
            off = 7.0 if s < d else -7.0
            pts = [(x + off, y) for x, y in pts]
            cs, cd = (cs[0] + off, cs[1]), (cd[0] + off, cd[1])
        edge_paths.append(_clip_path(pts, cs, sizes[s], cd, sizes[d]))
    x0 = min(c[0] - w / 2 for c, (w, _) in zip(center_list, sizes))
    x1 = max(c[0] + w / 2 for c, (w, _) in zip(center_list, sizes))
    y0 = min(c[1] - h / 2 for c, (_, h) in zip(center_list, sizes))
    y1 = max(c[1] + h / 2 for c, (_, h) in zip(center_list, sizes))
    for p in edge_paths:
        x0, x1 = min([x0] + [x for x, _ in p]), max([x1] + [x for x, _ in p])
        y0, y1 = min([y0] + [y for _, y in p]), max([y1] + [y for _, y in p])
    boxes, chips = [], []
    for (cx, cy), (fw, fh), (bw, bh), row in zip(center_list, sizes, box_sizes, chip_rows):
        top = cy - fh / 2
        boxes.append((cx, top + bh / 2, bw, bh))
        placed: list = []
        _place_chips(row, cx, top + bh, (cx, top + bh), "", placed)
        chips.append(placed)
    return Layout(g.names, labels, fonts, center_list, sizes, g.edges, edge_paths, (x0, y0, x1, y1), chips, boxes)


def _chip_width(c: tuple) -> float:
    """A chip's column: itself, or the row of its children when wider."""
    kids = c[5]
    return max(c[0], sum(_chip_width(k) for k in kids) + _CHIP_GAP * (len(kids) - 1)) if kids else c[0]


def _chips_height(row: list) -> float:
    """From a box (or chip) down to the bottom of the chips under it."""
    return max(_CHIP_DROP + c[1] + (_chips_height(c[5]) if c[5] else 0.0) for c in row)


def _place_chips(row: list, cx: float, y_top: float, hang: tuple[float, float], parent: str, out: list) -> None:
    """Chips of `row` centred under x `cx`, their tops _CHIP_DROP below
    `y_top`, hung from `hang`; each as (x, y, w, h, label, weight, dotted,
    hang point, key: the label path)."""
    if not row:
        return
    x = cx - (sum(_chip_width(c) for c in row) + _CHIP_GAP * (len(row) - 1)) / 2
    h_row = max(c[1] for c in row)
    for w, h, label, weight, dotted, kids in row:
        col = _chip_width((w, h, label, weight, dotted, kids))
        mx, my = x + col / 2, y_top + _CHIP_DROP + h_row / 2
        key = (f"{parent}/" if parent else "") + label.replace("\n", ",")
        out.append((mx, my, w, h, label, weight, dotted, (mx, hang[1]) if not parent else hang, key))
        if kids:
            _place_chips(kids, mx, my + h / 2, (mx, my + h / 2), key, out)
        x += col + _CHIP_GAP


_CHIP_FONT = 7.0   # pprof draws nodelets at 8 pt; two lines here (label, weight)
_CHIP_GAP = 4.0    # between chips of one node
_CHIP_DROP = 10.0  # from the box to its chips


def _separate_layers(sug: Any, gap: float = 18.0) -> None:
    """grandalf averages four alignments, which can make wide boxes of one
    layer overlap; push them apart (keeping their order and the layer's
    centre) and re-route the edges."""
    for layer in sug.layers:
        vs = sorted(layer, key=lambda v: v.view.xy[0])
        if len(vs) < 2:
            continue
        xs = [v.view.xy[0] for v in vs]
        ws = [getattr(v.view, "w", 0.0) for v in vs]
        new = [xs[0]]
        for i in range(1, len(vs)):
            new.append(max(xs[i], new[-1] + (ws[i - 1] + ws[i]) / 2 + gap))
        shift = (sum(xs) - sum(new)) / len(new)
        for v, x in zip(vs, new):
            v.view.xy = (x + shift, v.view.xy[1])
    sug.draw_edges()


def _border(c: tuple[float, float], size: tuple[float, float], toward: tuple[float, float]) -> tuple[float, float]:
    """Point where the segment from box centre `c` toward `toward` leaves the box."""
    (cx, cy), (w, h) = c, size
    dx, dy = toward[0] - cx, toward[1] - cy
    if dx == 0 and dy == 0:
        return c
    tx = (w / 2) / abs(dx) if dx else math.inf
    ty = (h / 2) / abs(dy) if dy else math.inf
    t = min(tx, ty, 1.0)
    return cx + dx * t, cy + dy * t


def _clip_path(pts: list[tuple[float, float]], cs: tuple[float, float], ss: tuple[float, float],
               cd: tuple[float, float], sd: tuple[float, float]) -> list[tuple[float, float]]:
    pts = list(pts)
    if len(pts) < 2:
        pts = [cs, cd]
    # grandalf gives the path from the edge's first to second vertex
    if math.dist(pts[0], cd) < math.dist(pts[0], cs):
        pts.reverse()
    mid = pts[1:-1]
    start = _border(cs, ss, pts[1] if len(pts) > 2 else cd)
    end = _border(cd, sd, pts[-2] if len(pts) > 2 else cs)
    return [start, *mid, end]


def _self_loop(c: tuple[float, float], size: tuple[float, float]) -> list[tuple[float, float]]:
    (cx, cy), (w, h) = c, size
    r = min(h / 2, 18)
    x = cx + w / 2
    return [(x, cy - r / 2), (x + r, cy - r), (x + r * 1.4, cy), (x + r, cy + r), (x, cy + r / 2)]


# ------------------------------------------------------------------ drawing

_MAX_INCHES = 40.0
_MAX_PIXELS = 16e6


@ps.styled
def draw(graph: Any, title: str | None = None, max_inches: float = _MAX_INCHES) -> Figure:
    """The call graph as a matplotlib Figure (PNG/SVG with
    :func:`enginepools.render.charts.save`).  Text artists carry
    ``gid="node:<name>"``, edge arrows ``gid="edge:<src>-><dst>"``."""
    g = _normalize(graph)
    lay = layout(graph)
    x0, y0, x1, y1 = lay.extent
    legend = _legend_lines(g, title)
    pairs = {(s, d) for s, d, *_ in g.edges}
    lw, lh = _text_size("\n".join(legend), 11)
    margin = 24.0
    width_pt = max(x1 - x0, lw) + 2 * margin
    height_pt = (y1 - y0) + lh + 3 * margin
    # Shrink very large graphs to fit, but never below 3/4 size: pprof's
    # smallest font (8 pt) must stay readable at 6 pt.
    scale = max(0.75, min(1.0, max_inches * 72 / max(width_pt, height_pt)))
    fig = ps.new_figure(width_pt * scale / 72, height_pt * scale / 72, layout=None)
    # Huge graphs: fewer dots per inch rather than a 50-megapixel PNG
    # (still ≥ 100 dpi; the SVG is unaffected).
    w_in, h_in = fig.get_size_inches()
    fig.set_dpi(max(100.0, min(float(ps.DPI), math.sqrt(_MAX_PIXELS / (w_in * h_in)))))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    # data units = points; y downward
    ax.set_xlim(x0 - margin, x0 - margin + width_pt)
    ax.set_ylim(y1 + margin, y1 + margin - height_pt)
    ax.text(x0, y1 + margin - height_pt + margin, "\n".join(legend), fontsize=11 * scale, va="top", ha="left",
            linespacing=1.25, bbox=dict(boxstyle="square,pad=0.5", fc="white", ec="#999999"), gid="legend")
    # Edge labels go where they collide with no box and no other label:
    # candidates along the edge, the middle of its last leg first.
    obstacles = [(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2) for (cx, cy), (w, h) in zip(lay.centers, lay.sizes)]
    obstacles += [(x - w / 2, y - h / 2, x + w / 2, y + h / 2) for row in lay.chips for x, y, w, h, *_ in row]
    for (s, d, w, residual, inline), path in zip(lay.edges, lay.paths):
        color = dot_color(w / g.total if g.total else 0.0)
        width = _edge_width(w, g.total)
        style = "dotted" if residual else ("dashed" if inline else "solid")
        codes = [MplPath.MOVETO] + [MplPath.LINETO] * (len(path) - 1)
        arrow = FancyArrowPatch(path=MplPath(path, codes), arrowstyle="-|>", mutation_scale=(9 + 2 * width) * scale,
                                color=color, linewidth=width * scale, linestyle=style, zorder=1,
                                gid=f"edge:{g.names[s]}->{g.names[d]}", shrinkA=0, shrinkB=0)
        ax.add_patch(arrow)
        text = g.format(_int(w)) + ("\n(inline)" if inline else "")
        left = (d, s) in pairs and s > d  # the second of a pair: label on the left
        tw, th = _text_size(text, 8)
        best = None
        for mx, my in _label_candidates(path):
            x0 = mx - 3 - tw if left else mx + 3
            box = (x0, my - th / 2, x0 + tw, my + th / 2)
            cost = sum(_overlap(box, o) for o in obstacles)
            if best is None or cost < best[0]:
                best = (cost, mx, my, box)
            if cost == 0:
                break
        assert best is not None
        _, mx, my, box = best
        obstacles.append(box)
        ax.text(mx + (-3 if left else 3), my, text, fontsize=8 * scale, color="#333333", va="center",
                ha="right" if left else "left", zorder=2, gid=f"edgelabel:{g.names[s]}->{g.names[d]}",
                bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.7))
    for i, name in enumerate(lay.names):
        cx, cy, w, h = lay.boxes[i] if lay.boxes else (*lay.centers[i], *lay.sizes[i])
        score = g.cum[i] / g.total if g.total else 0.0
        for x, y, cw, ch, label, weight, dotted, (hx, hy), key in (lay.chips[i] if lay.chips else []):
            # pprof's box3d nodelet, hung from the box (or its label set's chip) by a thin line
            ax.plot([hx, x], [hy, y - ch / 2], color="#999999", linewidth=0.6 * scale,
                    linestyle=":" if dotted else "-", zorder=2)
            for off, fc in ((2.0, "#dddddd"), (0.0, "#f8f8f8")):
                ax.add_patch(FancyBboxPatch((x - cw / 2 + off, y - ch / 2 - off), cw, ch, boxstyle="square,pad=0",
                                            fc=fc, ec="#888888", linewidth=0.6 * scale, zorder=3,
                                            gid=f"tag:{name}:{key}"))
            ax.text(x, y, f"{label}\n{weight}", fontsize=_CHIP_FONT * scale, ha="center", va="center",
                    linespacing=_LINE, color="#333333", zorder=4, gid=f"tagtext:{name}:{key}")
        box = FancyBboxPatch((cx - w / 2, cy - h / 2), w, h, boxstyle="square,pad=0",
                             fc=dot_color(score, True), ec=dot_color(score, False), linewidth=1.0 * scale,
                             zorder=3, gid=f"box:{name}")
        ax.add_patch(box)
        ax.text(cx, cy, lay.labels[i], fontsize=lay.font_sizes[i] * scale, ha="center", va="center",
                linespacing=_LINE, zorder=4, gid=f"node:{name}")
    return fig


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _point_at(path: list[tuple[float, float]], frac: float) -> tuple[float, float]:
    seg = [math.dist(a, b) for a, b in zip(path, path[1:])]
    want = sum(seg) * frac
    for (a, b), L in zip(zip(path, path[1:]), seg):
        if want <= L and L > 0:
            t = want / L
            return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t
        want -= L
    return path[-1]


def _label_candidates(path: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out = []
    if len(path) > 2 and math.dist(path[0], path[-1]) > 40:  # a routed edge, not a self-loop
        out.append(_point_at(path[-2:], 0.5))
    out += [_point_at(path, f) for f in (0.5, 0.62, 0.38, 0.74, 0.26, 0.85, 0.15)]
    return out


def _legend_lines(g: _G, title: str | None, key: bool = True) -> list[str]:
    """pprof's legend (its labels when the graph has them), plus a key to
    the drawing when `key`."""
    lines = list(g.labels)
    head = title if title is not None else ("" if g.labels else g.title)  # pprof's labels name no title
    if head:
        lines.insert(0, head)
    if not g.labels:
        shown = float(np.sum(g.flat))
        lines.append(f"Showing nodes accounting for {g.format(_int(shown))}, "
                     f"{units.percentage(shown, g.total).strip()} of {g.format(_int(g.total))} total")
    if key:
        lines.append("box: flat (flat%) of cum (cum%); edge width: weight; "
                     "dotted: through pruned nodes; dashed: inlined")
    return lines


# ---------------------------------------------------------------------- DOT

def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\l")


def to_dot(graph: Any, title: str | None = None) -> str:
    """DOT text as ``go tool pprof -dot`` writes it: legend cluster,
    ``N<i>`` nodes with label/fontsize/colours/tooltip, edges sorted by
    weight with weight/penwidth/colour, dotted residual edges, ``(inline)``
    in the label of inlined calls, and the nodes' tags as pprof's nodelets
    (:func:`nodelets`; a graph built with ``visual=True`` has them).
    `title` names the digraph (default: the graph's title — pprof's is the
    main binary's name — else ``unnamed``)."""
    # pprof writes a graph whose nodes were all filtered out: its legend alone
    g = _normalize(graph, allow_empty=hasattr(graph, "sample_type") and hasattr(graph, "dropped_nodes"))
    name = title or g.title or "unnamed"  # (pprof writes titles as they are)
    out = [f'digraph "{name}" {{', 'node [style=filled fillcolor="#f8f8f8"]']
    legend = _legend_lines(g, None, key=False)
    if legend:
        body = "\\l".join(_esc(s) for s in legend + ["", "See https://git.io/JfYMW for how to read the graph"])
        tip = f' tooltip="{title or g.title}"' if (title or g.title) else ""
        out.append(f'subgraph cluster_L {{ "{_esc(legend[0])}" [shape=box fontsize=16 '
                   f'label="{body}\\l"{tip}] }}')
    max_flat = float(np.max(np.abs(g.flat))) if g.flat.size else 0.0
    has_nodelets: set[int] = set()
    for i, (n, f, c) in enumerate(zip(g.names, g.flat, g.cum), start=1):
        info = g.infos[i - 1] if g.infos else None
        label = "\\n".join(_esc(s) for s in node_label(n, _int(f), _int(c), g.total, g.unit, g.fmt, info).split("\n"))
        score = c / g.total if g.total else 0.0
        out.append(f'N{i} [label="{label}" id="node{i}" fontsize={_font_size(f, max_flat)} shape=box '
                   f'tooltip="{_esc(n)} ({g.format(_int(c))})" color="{dot_color(score)}" '
                   f'fillcolor="{dot_color(score, True)}"]')
        lets = nodelets(i, g.tags[i - 1] if g.tags else [], g.has_out(i - 1), lambda v: g.format(_int(v)))
        if lets:
            has_nodelets.add(i - 1)
            out += lets
    # pprof's EdgeMap.Sort: |weight| descending, then caller and callee names
    for s, d, w, residual, inline in sorted(g.edges, key=lambda e: (-abs(g.raw.get(e[:2], e[2])), g.names[e[0]],
                                                                  g.names[e[1]])):
        wl = g.format(_int(w))
        inl = "\\n (inline)" if inline else ""
        attr = f'label=" {wl}{inl}"'
        weight = 1 + int(min(abs(w * 100 / g.total), 100))
        if weight > 1:
            attr += f" weight={weight}"
        width = _edge_width(w, g.total)
        if width > 1:
            attr += f" penwidth={width}"
        attr += f' color="{dot_color(w / g.total)}"'
        arrow = "..." if residual else "->"
        tip = f'"{_esc(g.names[s])} {arrow} {_esc(g.names[d])} ({wl})"'
        attr += f" tooltip={tip} labeltooltip={tip}"
        if residual:  # pprof marks inlined calls by their label only
            attr += ' style="dotted"'
        if s in has_nodelets:  # pprof: separate children further if the source has tags
            attr += " minlen=2"
        out.append(f"N{s + 1} -> N{d + 1} [{attr}]")
    out.append("}")
    return "\n".join(out) + "\n"


def _sort_tags(ts: Sequence[Any], flat: bool) -> list[Any]:
    """graph.SortTags: by |cum| (unless flat), then |flat|, then name."""
    if flat:
        return sorted(ts, key=lambda t: (-abs(t.flat), t.name))
    return sorted(ts, key=lambda t: (-abs(t.cum), -abs(t.flat), t.name))


@dataclass
class _Bucket:  # a collapsed numeric tag: weights already divided
    name: str
    flat: int
    cum: int

    def flat_value(self) -> int:
        return self.flat

    def cum_value(self) -> int:
        return self.cum


def _collapsed_tags(ts: Sequence[Any], count: int, flat: bool) -> list[Any]:
    """dotgraph.collapsedTags: the tags sorted; past `count`, the rest joined
    to the nearest of the first `count` by value, as "min..max" buckets."""
    ts = _sort_tags(ts, flat)
    if len(ts) <= count:
        return ts

    def distance(t: Any, u: Any) -> float:
        v, _ = units.scale(u.value, u.unit, t.unit)
        return abs(float(t.value) - v)

    groups = [[t] for t in ts[:count]]
    for t in ts[count:]:
        gi, d = 0, distance(t, groups[0][0])
        for i in range(1, count):
            nd = distance(t, groups[i][0])
            if nd < d:
                gi, d = i, nd
        groups[gi].append(t)
    out = []
    for grp in groups:
        if len(grp) == 1:
            t = grp[0]
            out.append(_Bucket(units.label(t.value, t.unit), t.flat_value(), t.cum_value()))
            continue
        lo = hi = grp[0]
        f, df, c, dc = lo.flat, lo.flat_div, lo.cum, lo.cum_div
        for t in grp[1:]:
            if int(units.scale(t.value, t.unit, lo.unit)[0]) < lo.value:
                lo = t
            if int(units.scale(t.value, t.unit, hi.unit)[0]) > hi.value:
                hi = t
            f, df, c, dc = f + t.flat, df + t.flat_div, c + t.cum, dc + t.cum_div
        f = go_div(f, df) if df else f
        c = go_div(c, dc) if dc else c
        out.append(_Bucket(f"{units.label(lo.value, lo.unit)}..{units.label(hi.value, hi.unit)}", f, c))
    return _sort_tags(out, flat)


@dataclass
class Nodelet:
    """One of pprof's nodelets: `label` (a label set, a size or a min..max
    range of sizes) hanging from `source` (a node id ``N3``, or a label
    nodelet's ``N3_0``) with `weight`; `dotted` when it shows cum weight
    because flat and cum differ on a leaf."""

    id: str
    source: str
    label: str
    weight: int
    dotted: bool = False


def _numeric_nodelets(nts: Sequence[Any], flat: bool, source: str) -> list[Nodelet]:
    out = []
    for j, t in enumerate(_collapsed_tags(nts, MAX_NODELETS, flat)):
        w, dotted = t.cum_value(), True
        if flat or t.flat_value() == t.cum_value():
            w, dotted = t.flat_value(), False
        if w != 0:
            out.append(Nodelet(f"N{source}_{j}", source, t.name, w, dotted))
    return out


def nodelet_items(node_id: int, tags: Sequence[Any], has_out: bool) -> list[Nodelet]:
    """dotgraph.addNodelets: node `node_id`'s tags as nodelets — its top 4
    label sets, the "bytes" values under each (in at most 4 buckets) and
    those without labels.  An inner node (`has_out`) shows flat weights, a
    leaf cum (which holds what its pruned callees had)."""
    flat = has_out
    label_tags = [t for t in tags if not t.numeric]
    numeric: dict[str, list[Any]] = {}
    for t in tags:
        if t.numeric:
            numeric.setdefault(t.labels, []).append(t)
    out: list[Nodelet] = []
    for i, t in enumerate(_sort_tags(label_tags, flat)[:MAX_NODELETS]):
        w = t.flat_value() if flat else t.cum_value()
        if w == 0:
            continue
        out.append(Nodelet(f"N{node_id}_{i}", f"N{node_id}", t.name, w))
        if t.name in numeric:
            out += _numeric_nodelets(numeric[t.name], flat, f"N{node_id}_{i}")
    if "" in numeric:
        out += _numeric_nodelets(numeric[""], flat, f"N{node_id}")
    return out


def nodelets(node_id: int, tags: Sequence[Any], has_out: bool, fmt: Callable[[int], str]) -> list[str]:
    """The DOT lines of :func:`nodelet_items`, as pprof writes them."""
    out = []
    for n in nodelet_items(node_id, tags, has_out):
        wl = fmt(n.weight)
        dotted = ' style="dotted"' if n.dotted else ""
        out.append(f'{n.id} [label = "{n.label}" id="{n.id}" fontsize=8 shape=box3d tooltip="{wl}"]')
        out.append(f'{n.source} -> {n.id} [label=" {wl}" weight=100 tooltip="{wl}" labeltooltip="{wl}"{dotted}]')
    return out


_DOT_NODE = re.compile(r'^(N\d+) \[label="((?:[^"\\]|\\.)*)"')
_DOT_EDGE = re.compile(r"^(N\d+) -> (N\d+) \[(.*)\]$")


def parse_dot(text: str) -> tuple[dict[str, str], list[tuple[str, str, dict[str, str]]]]:
    """Read back what :func:`to_dot` writes: ({node id: label}, [(src id,
    dst id, attributes)]).  Labels have ``\\n`` turned into newlines."""
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str, dict[str, str]]] = []
    attr_rx = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')
    for line in text.splitlines():
        m = _DOT_NODE.match(line)
        if m:
            nodes[m.group(1)] = m.group(2).replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
            continue
        m = _DOT_EDGE.match(line)
        if m:
            attrs = {k: v.strip('"') for k, v in attr_rx.findall(m.group(3))}
            edges.append((m.group(1), m.group(2), attrs))
    return nodes, edges


def from_items(nodes: Iterable[tuple[str, float, float]], edges: Iterable[tuple[str, str, float]],
               total: float, unit: str = "bytes") -> CallGraph:
    """A :class:`CallGraph` from plain tuples (name, flat, cum) and (src, dst, weight)."""
    ns = [CallNode(n, f, c) for n, f, c in nodes]
    es = [CallEdge(s, d, w) for s, d, w in edges]
    return CallGraph(ns, es, total, unit)

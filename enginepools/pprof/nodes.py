"""The graph a report is made of: :class:`GraphOptions` (pprof's report
flags), :class:`Node`, :class:`Edge`, :class:`Tag` and :class:`Graph`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import units
from .gostd import go_div
from .granularity import NodeInfo

if TYPE_CHECKING:
    from .work import WorkProfile


# ---- options -----------------------------------------------------------------------------

@dataclass
class GraphOptions:
    """pprof's report options that shape a -top report (names are pprof's flags)."""

    sample_index: str | int | None = None
    mean: bool = False
    cum: bool = False
    nodecount: int = -1  # -1: pprof's default (all nodes for top, 80 for a picture)
    nodefraction: float = 0.005
    edgefraction: float = 0.001
    trim: bool = True
    focus: str = ""
    ignore: str = ""
    hide: str = ""
    show: str = ""
    show_from: str = ""
    tagfocus: str = ""
    tagignore: str = ""
    prune_from: str = ""
    granularity: str = "functions"
    noinlines: bool = False
    drop_negative: bool = False
    relative_percentages: bool = False
    divide_by: float = 1.0
    #: pprof's -unit: the unit values are shown in ("minimum": pprof's choice)
    unit: str = "minimum"
    #: a picture, not a -top list (pprof's -dot/-png/-svg): nodes are ranked
    #: by pprof's entropy score, a node's tags count against -nodecount, and
    #: -nodecount defaults to 80
    visual: bool = False
    #: keep each frame's binary in its node (pprof's ObjNames: -raw, -list,
    #: -callgrind), so equal functions of different binaries stay apart
    obj_names: bool = False
    #: build the edges (Node.ins/outs, Graph.edges); a -top list needs only
    #: each node's inline flags and is made faster without them
    edges: bool = True


# ---- graph --------------------------------------------------------------------------------



@dataclass
class Tag:
    """graph.Tag: the weight of a node's samples that carry one label set
    (``numeric`` False; the name is the label set, ``key:value`` lines) or,
    under a label set, one "bytes" value (named as pprof labels it, with its
    raw ``value`` and ``unit``)."""

    name: str
    labels: str = ""
    numeric: bool = False
    value: int = 0
    unit: str = ""
    flat: int = 0
    flat_div: int = 0
    cum: int = 0
    cum_div: int = 0

    def flat_value(self) -> int:
        return self.flat if self.flat_div == 0 else go_div(self.flat, self.flat_div)

    def cum_value(self) -> int:
        return self.cum if self.cum_div == 0 else go_div(self.cum, self.cum_div)


@dataclass(eq=False)
class Node:
    """One report entry (a function at the default granularity).

    ``flat``/``cum`` are the values pprof prints (divided by the mean divisor
    with -mean); ``flat_raw``/``cum_raw`` the sums before that."""

    name: str
    flat: int = 0
    cum: int = 0
    function: str = ""
    filename: str = ""
    line: int = 0
    address: int = 0
    objfile: str = ""
    inline: bool = False          # every call into it was inlined: "(inline)"
    partial_inline: bool = False  # some were: "(partial-inline)"
    flat_raw: int = 0
    cum_raw: int = 0
    flat_div: int = 0
    cum_div: int = 0
    info: NodeInfo = field(default=(), repr=False)
    ins: list["Edge"] = field(default_factory=list, repr=False)
    outs: list["Edge"] = field(default_factory=list, repr=False)
    #: pprof's tags of the node (visual graphs only): what callgraph.to_dot
    #: draws as nodelets
    tags: list["Tag"] = field(default_factory=list, repr=False)

    @property
    def inline_label(self) -> str:
        return "(partial-inline)" if self.partial_inline else "(inline)" if self.inline else ""


@dataclass(eq=False)
class Edge:
    """A call from `src` to `dst` weighing `weight`; residual when it skips
    nodes that were trimmed away; inline when the call was inlined."""

    src: Node
    dst: Node
    weight: int
    residual: bool = False
    inline: bool = False
    weight_div: int = 0

    @property
    def value(self) -> int:
        return self.weight if self.weight_div == 0 else go_div(self.weight, self.weight_div)

    def __repr__(self) -> str:
        return f"Edge({self.src.name} -> {self.dst.name}, {self.weight}{', residual' if self.residual else ''}" \
               f"{', inline' if self.inline else ''})"


@dataclass(eq=False)
class Graph:
    """A trimmed, sorted graph, ready for a report."""

    nodes: list[Node]
    edges: list[Edge]
    total: int                 # pprof's report total (sum of |value|)
    unit: str                  # output unit chosen for the values (pprof's "minimum" rule)
    sample_type: str           # e.g. "inuse_space" ("mean_…" with -mean)
    sample_unit: str           # e.g. "bytes"
    orig_count: int = 0        # nodes before -nodecount
    dropped_nodes: int = 0     # nodes under -nodefraction
    dropped_edges: int = 0
    node_cutoff: int = 0
    edge_cutoff: int = 0
    options: GraphOptions = field(default_factory=GraphOptions)
    active_filters: list[str] = field(default_factory=list)
    profile: WorkProfile | None = field(default=None, repr=False)

    def _repr_html_(self) -> str:
        from .report import top_html

        return top_html(self)

    @property
    def title(self) -> str:
        """The report's title, as pprof names a graph: the base name of the
        profile's main binary (its first mapping's file), else ""."""
        p = self.profile
        if p is None or not p.mappings or not p.mappings[0].file:
            return ""
        from .gostd import go_base

        return go_base(p.mappings[0].file)

    def format_value(self, v: int) -> str:
        """A value as pprof prints it (``5713.92kB``)."""
        r = 1 / self.options.divide_by if self.options.divide_by else 1.0
        if r > 0 and r != 1:
            v = int(float(v) * r)
        return units.scaled_label(v, self.sample_unit, self.unit)

"""What the report says about each pprof profile.

Tables and totals come from :mod:`enginepools.pprof.graph` /
:mod:`enginepools.pprof.report` — the same rows, values and percentages as
``go tool pprof -top`` — never computed here.  This module only chooses
which sample indices to show and turns the first rows into sentences.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import fmt
from .model import ProfileInput, ReportData

#: rows of each top table (``go tool pprof -top -nodecount=TOP_NODES``)
TOP_NODES = 20
#: nodes of a drawn call graph (pprof's default for graphs is 80; fewer read better)
GRAPH_NODES = 40
HEAP_INDICES = ("inuse_space", "alloc_space", "inuse_objects", "alloc_objects")
INDEX_TITLES = {
    "inuse_space": "Heap in use (bytes)",
    "alloc_space": "Allocations (bytes)",
    "inuse_objects": "Heap in use (objects)",
    "alloc_objects": "Allocations (objects)",
    "cpu": "CPU time",
    "samples": "CPU samples",
}
BYTES_UNITS = {"bytes", "B"}


@dataclass
class ProfileAnalysis:
    source: ProfileInput
    tops: dict[str, Any] = field(default_factory=dict)  # sample index -> pprof_graph.Graph (top rows)
    focus: dict[str, tuple[str, Any]] = field(default_factory=dict)  # index -> (regex, focused Graph)
    error: str | None = None
    graph_keys: dict[str, str] = field(default_factory=dict)  # index -> figure key of its call graph
    dot: dict[str, str] = field(default_factory=dict)  # index -> DOT text of that call graph
    flame_key: tuple[str, str] | None = None  # (figure key, sample index)

    def dot_stem(self, ix: str) -> str:
        return self.graph_keys.get(ix, f"{self.label}-{ix}")

    @property
    def label(self) -> str:
        return self.source.label

    @property
    def main_index(self) -> str | None:
        """The index the findings speak of: in-use space, unless (as at the end
        of a run that freed everything) it is empty or tiny beside what was
        allocated; then allocated space."""
        nonempty = [ix for ix, g in self.tops.items() if g.nodes and g.total > 0]
        if not nonempty:
            return next(iter(self.tops), None)
        inuse, alloc = self.tops.get("inuse_space"), self.tops.get("alloc_space")
        if "inuse_space" in nonempty and alloc is not None and inuse is not None and inuse.total < 0.01 * alloc.total:
            return "alloc_space"
        return nonempty[0]

    def findings(self) -> list[str]:
        out: list[str] = []
        ix = self.main_index
        if ix is None:
            return out
        g = self.tops[ix]
        if not g.nodes or g.total <= 0:
            return [f"Profile `{self.label}` has no `{ix}` recorded."]
        top = g.nodes[0]
        what = {"inuse_space": "of the in-use heap", "alloc_space": "of the bytes allocated",
                "cpu": "of the CPU time"}.get(ix, f"of `{ix}`")
        out.append(f"In `{self.label}`, `{top.name}` holds the most {what} on its own (flat): "
                   f"{_share(top.flat, g)}.")
        if ix in self.focus:
            rx, fg = self.focus[ix]
            kept = sum(n.flat for n in fg.nodes)
            out.append(f"Stacks through the benchmarked package (`{rx}`) account for {_share(kept, g)} "
                       f"{what} in `{self.label}`" + (" — the pools are not among its consumers." if kept == 0
                                                      else "."))
        return out


def _share(part: int, g: Any) -> str:
    """A share phrase in a unit that suits the total (KiB/MiB for bytes)."""
    if g.sample_unit in BYTES_UNITS:
        return fmt.share_phrase(part, g.total, scale=fmt.byte_scale([g.total]))
    if g.sample_unit == "nanoseconds":
        return fmt.share_phrase(part, g.total, scale=(1e9, "s"))
    return fmt.share_phrase(part, g.total, g.sample_unit)


def indices(p: ProfileInput) -> list[str]:
    names = [t.split("/")[0] for t in p.sample_types]
    if p.kind == "heap":
        return [i for i in HEAP_INDICES if i in names]
    if "cpu" in names:
        return ["cpu"]
    return names[-1:]


def analyse(p: ProfileInput, focus_pkg: str | None = None) -> ProfileAnalysis:
    from ..pprof.graph import GraphOptions, build_graph

    pa = ProfileAnalysis(p)
    for ix in indices(p):
        pa.tops[ix] = build_graph(p.profile, GraphOptions(sample_index=ix, nodecount=TOP_NODES))
    if focus_pkg and pa.main_index:
        rx = re.escape(focus_pkg) + r"\."
        g = build_graph(p.profile, GraphOptions(sample_index=pa.main_index, focus=rx, nodecount=0))
        pa.focus[pa.main_index] = (focus_pkg, g)
    return pa


def analyse_all(data: ReportData) -> list[ProfileAnalysis]:
    pkg = data.machine.get("pkg")
    # only a Go import path (its first element is a domain) names code a profile can contain
    go_pkg = pkg if pkg and "." in pkg.split("/")[0] else None
    return [analyse(p, go_pkg) for p in data.profiles]


# ------------------------------------------------------------ heap at peak

#: the worker pool's thread function: what runs on the pool's threads is under it
WORKER_FRAME = "worker_main"


@dataclass
class PeakShares:
    """Who holds the heap at its peak, from a peak heap profile's
    ``inuse_space`` (see :func:`peak_shares`)."""

    label: str
    total: float                        # bytes in use at the peak
    pools: list[tuple[str, float]]      # (pool label or "direct (no pool)", bytes), largest first
    worker_threads: float | None        # cum of worker_main: the pool's jobs and what they hold (None: absent)
    worker_own: float                   # the worker pool's own structures (queue, thread table)

    def sentences(self) -> list[str]:
        if self.total <= 0:
            return [f"`{self.label}` had nothing in use at its peak."]
        sc = fmt.byte_scale([self.total])

        def share(v: float) -> str:
            return fmt.share_phrase(v, self.total, scale=sc)

        out = [f"At its peak, `{self.label}` had {fmt.bytes_(self.total)} in use."]
        if self.worker_threads is not None:
            own = (f"; its own queue and thread table hold {share(self.worker_own)}" if self.worker_own > 0 else
                   "; its own queue and thread table were already freed")
            out.append(f"The worker pool (stacks through `{WORKER_FRAME}`: its jobs and the memory they still hold) "
                       f"holds {share(self.worker_threads)} of that peak{own}.")
        if len(self.pools) > 1 or (self.pools and self.pools[0][0] != NO_POOL_LABEL):
            out.append("By pool label: " + "; ".join(f"`{k}` {share(v)}" if k != NO_POOL_LABEL else f"{k} {share(v)}"
                                                    for k, v in self.pools) + ".")
        return out


NO_POOL_LABEL = "direct (no pool)"


def peak_shares(p: ProfileInput) -> PeakShares | None:
    """The peak's holders in a heap profile taken at its peak (None for
    other profiles): bytes per ``pool`` label, and the worker pool's part —
    pprof's cum of ``worker_main`` (what ``go tool pprof -top`` prints) and
    the worker pool's own allocations."""
    if p.kind != "heap" or not p.at_peak:
        return None
    from ..pprof.graph import GraphOptions, build_graph
    from .pipeline import heap_breakdown

    hb = heap_breakdown(p.profile, "inuse_space")
    g = build_graph(p.profile, GraphOptions(sample_index="inuse_space", nodecount=0))
    worker = [n.cum for n in g.nodes if n.name == WORKER_FRAME]
    own = dict(hb.stages).get("worker pool", 0.0)
    return PeakShares(p.label, float(g.total), [(k, float(v)) for k, v in hb.pools],
                      float(worker[0]) if worker else (0.0 if own else None), float(own))

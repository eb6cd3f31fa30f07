"""``graph.newGraph``: nodes and edges (flat and cum per node, edges with
residual/inline flags) from a filtered profile, pprof's node orderings and
``-edgefraction`` trimming."""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from .gostd import go_div, wrap64
from .work import WLocation, WorkProfile
from .nodes import NodeInfo
from .granularity import Aggregator, info_sprint, printable_name


class GNode:
    __slots__ = ("info", "flat", "flat_div", "cum", "cum_div", "ins", "outs", "fn", "file", "line", "addr")

    def __init__(self, info: NodeInfo) -> None:
        self.info = info
        self.flat = self.flat_div = self.cum = self.cum_div = 0
        self.ins: dict[GNode, list] = {}
        self.outs: dict[GNode, list] = {}


class Builder:
    """graph.newGraph over a filtered profile, rebuilt for each trimming step.

    Samples are grouped by stack (every graph quantity is additive per
    stack), and the stacks are laid out once as one array of "slots" — the
    node infos in the order newGraph walks them (root first, a location's
    inline lines outermost first).  Each build is then array work: per-stack
    de-duplication of nodes (cum) and of caller→callee pairs (edges, whose
    flags come from the first occurrence, as in pprof), flat on the leaf slot.
    ``build_reference`` is the direct transcription of pprof's loop, kept for
    the tests."""

    def __init__(self, p: WorkProfile, agg: Aggregator, value_ix: int, mean_ix: int | None,
                 drop_negative: bool = False) -> None:
        self.drop_negative = drop_negative
        stacks: dict[tuple[int, ...], list[int]] = {}
        loc_by_id: dict[int, WLocation] = {}
        for s in p.samples:
            w = s.values[value_ix]
            dw = s.values[mean_ix] if mean_ix is not None else 0
            if w == 0 and dw == 0:
                continue
            key = tuple(loc.id for loc in s.locs)
            acc = stacks.get(key)
            if acc is None:
                stacks[key] = [w, dw]
                for loc in s.locs:
                    loc_by_id[loc.id] = loc
            else:
                acc[0] = wrap64(acc[0] + w)
                acc[1] = wrap64(acc[1] + dw)
        self.stacks = stacks
        self.loc_infos = {lid: agg.location_infos(loc) for lid, loc in loc_by_id.items()}

        infos: list[NodeInfo] = []
        info_ix: dict[NodeInfo, int] = {}
        loc_rows: dict[int, int] = {}
        slot_info: list[int] = []
        slot_inline: list[bool] = []
        slot_off = [0]
        for r, (lid, lst) in enumerate(self.loc_infos.items()):
            loc_rows[lid] = r
            last = len(lst) - 1
            for ni in range(last, -1, -1):
                k = info_ix.get(lst[ni])
                if k is None:
                    k = info_ix[lst[ni]] = len(infos)
                    infos.append(lst[ni])
                slot_info.append(k)
                slot_inline.append(ni != last)
            slot_off.append(len(slot_info))
        self.infos = infos
        items = list(stacks.items())
        ns = len(items)
        self.W = np.array([v[0] for _, v in items], dtype=np.int64)
        self.DW = np.array([v[1] for _, v in items], dtype=np.int64)
        lens = np.array([len(st) for st, _ in items], dtype=np.int64)
        rows = np.fromiter((loc_rows[lid] for st, _ in items for lid in reversed(st)), dtype=np.int64,
                           count=int(lens.sum()))
        off = np.array(slot_off, dtype=np.int64)
        cnt = np.diff(off)[rows]
        total = int(cnt.sum())
        first = np.cumsum(cnt) - cnt
        slots = np.repeat(off[rows], cnt) + (np.arange(total, dtype=np.int64) - np.repeat(first, cnt))
        self.seq_info = np.asarray(slot_info, dtype=np.int64)[slots]
        self.seq_inline = np.asarray(slot_inline, dtype=np.bool_)[slots]
        self.seq_stack = np.repeat(np.repeat(np.arange(ns, dtype=np.int64), lens), cnt)
        per_stack = np.bincount(self.seq_stack, minlength=ns) if total else np.zeros(ns, dtype=np.int64)
        self.stack_has = np.nonzero(per_stack > 0)[0]
        self.stack_last = (np.cumsum(per_stack) - 1)[self.stack_has]

    def build(self, kept: set[NodeInfo] | None) -> list[GNode]:
        n_inf = len(self.infos)
        if n_inf == 0:
            return []
        if kept is None:
            keep = np.ones(n_inf, dtype=np.bool_)
        else:
            keep = np.fromiter((i in kept for i in self.infos), dtype=np.bool_, count=n_inf)
        kslot = np.nonzero(keep[self.seq_info])[0]
        node = self.seq_info[kslot]
        st = self.seq_stack[kslot]
        W, DW = self.W, self.DW
        # cum: each node once per stack
        pair = np.sort(st * n_inf + node)
        if len(pair):
            pair = pair[np.concatenate(([True], pair[1:] != pair[:-1]))]
        pst, pnode = pair // n_inf, pair % n_inf
        cum = np.zeros(n_inf, dtype=np.int64)
        cum_div = np.zeros(n_inf, dtype=np.int64)
        np.add.at(cum, pnode, W[pst])
        np.add.at(cum_div, pnode, DW[pst])
        touched = np.zeros(n_inf, dtype=np.bool_)
        touched[pnode] = True
        # flat: the leaf slot, when kept
        flat = np.zeros(n_inf, dtype=np.int64)
        flat_div = np.zeros(n_inf, dtype=np.int64)
        leaf_info = self.seq_info[self.stack_last]
        lk = keep[leaf_info]
        np.add.at(flat, leaf_info[lk], W[self.stack_has[lk]])
        np.add.at(flat_div, leaf_info[lk], DW[self.stack_has[lk]])
        gnodes: dict[int, GNode] = {}
        for k in np.nonzero(touched)[0].tolist():
            g = gnodes[k] = GNode(self.infos[k])
            g.cum, g.cum_div, g.flat, g.flat_div = int(cum[k]), int(cum_div[k]), int(flat[k]), int(flat_div[k])
        # edges: consecutive kept slots of one stack; residual when slots were dropped between
        if len(kslot) > 1:
            same = st[1:] == st[:-1]
            par, chi = node[:-1], node[1:]
            sel = same & (par != chi)
            par, chi, est = par[sel], chi[sel], st[1:][sel]
            resid = (kslot[1:] - kslot[:-1])[sel] > 1
            inl = self.seq_inline[kslot[1:]][sel]
            if len(par):
                order = np.lexsort((par, chi, est))  # stable: first occurrence leads its group
                o_est, o_chi, o_par = est[order], chi[order], par[order]
                head = np.ones(len(order), dtype=np.bool_)
                head[1:] = (o_est[1:] != o_est[:-1]) | (o_chi[1:] != o_chi[:-1]) | (o_par[1:] != o_par[:-1])
                pick = order[head]
                par, chi, est, resid, inl = par[pick], chi[pick], est[pick], resid[pick], inl[pick]
                k2 = par * n_inf + chi
                o2 = np.argsort(k2, kind="stable")
                k2s = k2[o2]
                starts = np.nonzero(np.concatenate(([True], k2s[1:] != k2s[:-1])))[0]
                wsum = np.add.reduceat(W[est[o2]], starts)
                dwsum = np.add.reduceat(DW[est[o2]], starts)
                rany = np.logical_or.reduceat(resid[o2], starts)
                iall = np.logical_and.reduceat(inl[o2], starts)
                for j, k in enumerate(k2s[starts].tolist()):
                    src, dst = gnodes[k // n_inf], gnodes[k % n_inf]
                    e = [int(wsum[j]), int(dwsum[j]), bool(rany[j]), bool(iall[j]), src, dst]
                    src.outs[dst] = e
                    dst.ins[src] = e
        out = [g for g in gnodes.values() if not (g.cum == 0 and g.flat == 0)]
        if self.drop_negative:
            out = [g for g in out if not (g.flat < 0 or (g.flat == 0 and g.cum < 0))]
        return out

    def build_reference(self, kept: set[NodeInfo] | None) -> list[GNode]:
        nodes: dict[NodeInfo, GNode] = {}
        loc_nodes: dict[int, list[GNode | None]] = {}
        for lid, infos in self.loc_infos.items():
            lst: list[GNode | None] = []
            for info in infos:
                if kept is not None and info not in kept:
                    lst.append(None)
                    continue
                n = nodes.get(info)
                if n is None:
                    n = nodes[info] = GNode(info)
                lst.append(n)
            loc_nodes[lid] = lst
        for stack, (w, dw) in self.stacks.items():
            seen_node: set[int] = set()
            seen_edge: set[tuple[int, int]] = set()
            parent: GNode | None = None
            residual = False
            for lid in reversed(stack):
                lns = loc_nodes[lid]
                last = len(lns) - 1
                for ni in range(last, -1, -1):
                    n = lns[ni]
                    if n is None:
                        residual = True
                        continue
                    if id(n) not in seen_node:
                        seen_node.add(id(n))
                        n.cum_div += dw
                        n.cum += w
                    if parent is not None and n is not parent:
                        ek = (id(n), id(parent))
                        if ek not in seen_edge:
                            seen_edge.add(ek)
                            _add_edge(parent, n, dw, w, residual, ni != last)
                    parent = n
                    residual = False
            if parent is not None and not residual:
                parent.flat_div += dw
                parent.flat += w
        out = [n for n in nodes.values() if not (n.cum == 0 and n.flat == 0)]
        if self.drop_negative:
            out = [n for n in out if not (n.flat < 0 or (n.flat == 0 and n.cum < 0))]
        return out


def _add_edge(src: GNode, dst: GNode, dw: int, w: int, residual: bool, inline: bool) -> None:
    e = src.outs.get(dst)
    if e is not None:
        e[1] += dw
        e[0] += w
        if residual:
            e[2] = True
        if not inline:
            e[3] = False
        return
    e = [w, dw, residual, inline, src, dst]
    src.outs[dst] = e
    dst.ins[src] = e


def flat_value(n: GNode) -> int:
    return n.flat if n.flat_div == 0 else go_div(n.flat, n.flat_div)


def cum_value(n: GNode) -> int:
    return n.cum if n.cum_div == 0 else go_div(n.cum, n.cum_div)


def sort_nodes(nodes: list[GNode], cum: bool, visual: bool = False) -> None:
    """graph.SortNodes: EntropyOrder for a picture, else CumNameOrder or
    FlatNameOrder; a total order."""
    if visual:
        nodes.sort(key=lambda n: (-abs(_entropy_score(n)), printable_name(n.info), -abs(n.flat),
                                  info_sprint(n.info)))
    elif cum:
        nodes.sort(key=lambda n: (-abs(n.cum), printable_name(n.info), -abs(n.flat), info_sprint(n.info)))
    else:
        nodes.sort(key=lambda n: (-abs(n.flat), printable_name(n.info), -abs(n.cum), info_sprint(n.info)))


def _edge_entropy(edges: Iterable[list], self_value: int) -> float:
    """graph.edgeEntropyScore: the entropy of how a node's weight splits over
    its edges (and itself).  A zero-weight edge adds nothing (pprof's
    0·log₂0 would be NaN)."""
    ws = [abs(e[0]) for e in edges]
    total = self_value + sum(w for w in ws if w > 0)
    score = 0.0
    if total != 0:
        for w in ws + ([abs(self_value)] if self_value > 0 else []):
            frac = float(w) / float(total)
            if frac > 0:
                score += -frac * math.log2(frac)
    return score


def _entropy_score(n: GNode) -> int:
    """graph.entropyScore: how much a picture gains by showing the node (entry
    and leaf nodes, and nodes where weight forks, over straight pass-throughs)."""
    score = 1.0 if not n.ins else _edge_entropy(n.ins.values(), 0)
    score += 1.0 if not n.outs else _edge_entropy(n.outs.values(), n.flat)
    return int(score * float(n.cum)) + n.flat


def trim_edges(nodes: list[GNode], cutoff: int) -> int:
    dropped = 0
    for n in nodes:
        for src in list(n.ins):
            e = n.ins[src]
            if abs(e[0]) < cutoff:
                del n.ins[src]
                src.outs.pop(n, None)
                dropped += 1
    return dropped


# ---- sample selection and filters (driver) --------------------------------------------------

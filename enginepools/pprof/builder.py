"""``graph.newGraph``: nodes and edges (flat and cum per node, edges with
residual/inline flags) from a filtered profile, pprof's node orderings and
``-edgefraction`` trimming."""
from __future__ import annotations

import math
from typing import Iterable

from .lazynp import np

from .gostd import go_div, wrap64
from .work import WLocation, WorkProfile
from .nodes import NodeInfo
from .granularity import Aggregator, info_sprint, printable_name


class GNode:
    __slots__ = ("info", "flat", "flat_div", "cum", "cum_div", "ins", "outs", "fn", "file", "line", "addr",
                 "in_flags")

    def __init__(self, info: NodeInfo) -> None:
        self.info = info
        self.in_flags: tuple[bool, bool] | None = None  # (an inline in-edge, a plain one) without edge objects
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
        if p.arr is not None:
            self._from_arrays(p, agg, value_ix, mean_ix)
        else:
            self._from_samples(p, agg, value_ix, mean_ix)

    def _from_samples(self, p: WorkProfile, agg: Aggregator, value_ix: int, mean_ix: int | None) -> None:
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
        self._stacks = stacks
        self.loc_infos = {lid: agg.location_infos(loc) for lid, loc in loc_by_id.items()}
        self.pure = sum(len(st) for st in stacks) <= PURE_SLOTS
        if self.pure:  # pprof's loop on the objects: no numpy for a small profile
            self.infos = self._slot_infos()
            return
        items = list(stacks.items())
        W = np.array([v[0] for _, v in items], dtype=np.int64)
        DW = np.array([v[1] for _, v in items], dtype=np.int64)
        lens = np.array([len(st) for st, _ in items], dtype=np.int64)
        loc_rows: dict[int, int] = {lid: r for r, lid in enumerate(self.loc_infos)}
        rows = np.fromiter((loc_rows[lid] for st, _ in items for lid in reversed(st)), dtype=np.int64,
                           count=int(lens.sum()))
        self._layout(W, DW, lens, rows)

    def _from_arrays(self, p: WorkProfile, agg: Aggregator, value_ix: int, mean_ix: int | None) -> None:
        """The same on the sample arrays: group samples by stack (exactly),
        sum their weights, number the locations by first use."""
        a = p.arr
        assert a is not None
        w = a.values[:, value_ix] if len(a) else np.zeros(0, dtype=np.int64)
        dw = a.values[:, mean_ix] if (mean_ix is not None and len(a)) else np.zeros(len(a), dtype=np.int64)
        a = a.take((w != 0) | (dw != 0))
        w = a.values[:, value_ix] if len(a) else np.zeros(0, dtype=np.int64)
        dw = a.values[:, mean_ix] if (mean_ix is not None and len(a)) else np.zeros(len(a), dtype=np.int64)
        gid, first = a.stack_groups()
        W = np.zeros(len(first), dtype=np.int64)
        DW = np.zeros(len(first), dtype=np.int64)
        np.add.at(W, gid, w)
        np.add.at(DW, gid, dw)
        del gid, w, dw
        # the first sample of each stack, in first-occurrence order
        if len(first) == len(a):
            lens, off, loc_seq = np.diff(a.loc_off), a.loc_off, a.loc_rows  # every stack differs
        else:
            lens = np.diff(a.loc_off)[first]
            off = np.zeros(len(lens) + 1, dtype=np.int64)
            np.cumsum(lens, out=off[1:])
            loc_seq = a.loc_rows[np.repeat(a.loc_off[:-1][first] - off[:-1], lens)
                                 + np.arange(int(off[-1]), dtype=np.int64)]  # leaf first per stack
        idx = _index_dtype(len(loc_seq) + 1)
        first_at = np.full(len(p.locations), len(loc_seq), dtype=idx)
        np.minimum.at(first_at, loc_seq, np.arange(len(loc_seq), dtype=idx))
        seen = np.flatnonzero(first_at < len(loc_seq))
        used = seen[np.argsort(first_at[seen], kind="stable")]  # location rows by first use
        del first_at, seen
        used_locs = [p.locations[r] for r in used.tolist()]
        self.loc_infos = {loc.id: infos for loc, infos in zip(used_locs, agg.many_location_infos(used_locs))}
        dense = np.zeros(len(p.locations), dtype=_index_dtype(len(used)))
        dense[used] = np.arange(len(used), dtype=dense.dtype)
        self._stack_arrays = (off, loc_seq, [p.locations[r].id for r in used.tolist()], dense, W, DW)
        self._stacks = None
        # root first per stack: the stacks reversed, in reverse order (their order does not matter)
        self._layout(W[::-1].copy(), DW[::-1].copy(), lens[::-1], dense[loc_seq[::-1]])

    @property
    def stacks(self) -> dict[tuple[int, ...], list[int]]:
        """{stack (location ids, leaf first): [weight, divisor weight]} (for build_reference)."""
        if self._stacks is None:
            off, loc_seq, used_ids, dense, W, DW = self._stack_arrays
            o, lst = off.tolist(), np.asarray(used_ids, dtype=np.int64)[dense[loc_seq]].tolist()
            self._stacks = {tuple(lst[o[i]:o[i + 1]]): [int(W[i]), int(DW[i])] for i in range(len(W))}
        return self._stacks

    def _slot_infos(self) -> list[NodeInfo]:
        """The node infos in slot order (each location's lines outermost
        first): how the array builds number their nodes."""
        infos: list[NodeInfo] = []
        seen: set[NodeInfo] = set()
        for lst in self.loc_infos.values():
            for info in reversed(lst):
                if info not in seen:
                    seen.add(info)
                    infos.append(info)
        return infos

    def _build_pure(self, kept: set[NodeInfo] | None, edges: bool, edge_cutoff: int | None) -> list[GNode]:
        """build() by pprof's loop (build_reference), with the nodes and
        edges in the order the array builds give them."""
        out = self.build_reference(kept)
        rank = {info: k for k, info in enumerate(self.infos)}
        out.sort(key=lambda n: rank[n.info])
        found = {id(e): e for n in out for d in (n.ins, n.outs) for e in d.values()}  # dropped zero nodes' too
        all_edges = sorted(found.values(), key=lambda e: (rank[e[4].info], rank[e[5].info]))
        for e in all_edges:
            e[4].ins, e[4].outs, e[5].ins, e[5].outs = {}, {}, {}, {}
        if not edges:
            if edge_cutoff is not None:  # only each node's in-edge flags
                flags = {id(n): [False, False] for n in out}
                for e in all_edges:
                    if abs(e[0]) >= edge_cutoff and id(e[5]) in flags:
                        flags[id(e[5])][0 if e[3] else 1] = True
                for n in out:
                    n.in_flags = (flags[id(n)][0], flags[id(n)][1])
            return out
        for e in all_edges:
            e[4].outs[e[5]] = e
            e[5].ins[e[4]] = e
        return out

    def _layout(self, W: np.ndarray, DW: np.ndarray, lens: np.ndarray, rows: np.ndarray) -> None:
        """Lay out the stacks (`rows`: location numbers, root first, `lens` per
        stack) as slots of node infos."""
        infos: list[NodeInfo] = []
        info_ix: dict[NodeInfo, int] = {}
        slot_info: list[int] = []
        slot_inline: list[bool] = []
        slot_off = [0]
        for lid, lst in self.loc_infos.items():
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
        ns = len(W)
        self.W, self.DW = W, DW
        off = np.array(slot_off, dtype=np.int64)
        if len(slot_info) < C_SLOTS and ns < C_SLOTS and (len(rows) == 0 or rows.dtype == np.int32
                                                          or int(rows.max()) < C_SLOTS):
            from .. import _core

            got = _core.graph_layout(off, np.asarray(slot_info, dtype=np.int32),
                                     np.asarray(slot_inline, dtype=np.uint8),
                                     np.ascontiguousarray(lens, dtype=np.int64),
                                     np.ascontiguousarray(rows, dtype=np.int32))
            self.seq_info = np.frombuffer(got[0], dtype=np.int32)
            self.seq_inline = np.frombuffer(got[1], dtype=np.bool_)
            self.seq_stack = np.frombuffer(got[2], dtype=np.int32)
            if len(self.seq_info) < C_SLOTS:  # the C tally takes int32 slots
                per_stack = np.frombuffer(got[3], dtype=np.int64)
                self.stack_has = np.flatnonzero(per_stack > 0)
                self.stack_last = (np.cumsum(per_stack) - 1)[self.stack_has]
                return
        off = np.array(slot_off, dtype=np.int64)
        cnt = np.diff(off).astype(np.int8 if len(off) < 2 or np.diff(off).max() < 128 else np.int64)[rows]
        total = int(cnt.sum(dtype=np.int64))
        idx = _index_dtype(total + 1)
        ccnt = np.cumsum(cnt, dtype=idx)
        base = off[:-1].astype(idx)[rows] - ccnt
        base += cnt
        slots = np.repeat(base, cnt)
        del base
        slots += np.arange(total, dtype=idx)
        self.seq_info = np.asarray(slot_info, dtype=_index_dtype(len(infos) + 1))[slots]
        self.seq_inline = np.asarray(slot_inline, dtype=np.bool_)[slots]
        del slots
        stack_of_row = np.repeat(np.arange(ns, dtype=_index_dtype(ns + 1)), lens)
        self.seq_stack = np.repeat(stack_of_row, cnt)
        del stack_of_row, cnt
        row_end = np.cumsum(lens)  # slots per stack, from the running slot count at each stack's last row
        at_end = np.where(row_end > 0, ccnt[np.maximum(row_end - 1, 0)], 0) if len(ccnt) else np.zeros(ns, idx)
        per_stack = np.diff(np.concatenate(([0], at_end))).astype(np.int64)
        del ccnt
        self.stack_has = np.flatnonzero(per_stack > 0)
        self.stack_last = (np.cumsum(per_stack) - 1)[self.stack_has]

    def build(self, kept: set[NodeInfo] | None, edges: bool = True, edge_cutoff: int | None = None) -> list[GNode]:
        """The graph's nodes with their edges; with ``edges=False`` none (a
        -top list needs no edges until its last graph), and with an
        `edge_cutoff` too, no edge objects but each node's ``in_flags``: has
        it an inline and a plain in-edge of at least the cutoff (what -top's
        inline label needs)."""
        if getattr(self, "pure", False):
            return self._build_pure(kept, edges, edge_cutoff)
        n_inf = len(self.infos)
        if n_inf == 0:
            return []
        if kept is None:
            keep = np.ones(n_inf, dtype=np.bool_)
        else:
            keep = np.fromiter((i in kept for i in self.infos), dtype=np.bool_, count=n_inf)
        # a node's flat and cum do not depend on which other nodes are kept
        cum, cum_div, flat, flat_div = self._node_values()
        gnodes: dict[int, GNode] = {}
        for k in np.nonzero(keep)[0].tolist():
            g = gnodes[k] = GNode(self.infos[k])
            g.cum, g.cum_div, g.flat, g.flat_div = int(cum[k]), int(cum_div[k]), int(flat[k]), int(flat_div[k])
        if edges or edge_cutoff is not None:
            self._edges(gnodes, keep, kept is None, edges, edge_cutoff)
        out = [g for g in gnodes.values() if not (g.cum == 0 and g.flat == 0)]
        if self.drop_negative:
            out = [g for g in out if not (g.flat < 0 or (g.flat == 0 and g.cum < 0))]
        return out

    def _edges(self, gnodes: dict[int, GNode], keep: np.ndarray, all_kept: bool, objects: bool,
               cutoff: int | None) -> None:
        """The edges between kept nodes: consecutive kept slots of one stack
        (residual when slots were dropped between), each counted once per
        stack with the flags of its first occurrence there, summed over the
        stacks; as objects on the nodes, or only each node's ``in_flags``."""
        n_inf = len(self.infos)
        if self._c_slots():
            self._edges_c(gnodes, keep, all_kept, objects, cutoff)
            return
        chunks = self._pairs(keep, all_kept)
        n_pairs = sum(len(c[0]) for c in chunks)
        if not n_pairs:
            return
        # grouped by callee (modulo the number of groups), each group sorted on
        # its own: bounded temporaries
        parts = []
        has_inl = np.zeros(n_inf, dtype=np.bool_)
        has_plain = np.zeros(n_inf, dtype=np.bool_)
        n_parts = n_pairs // _CHUNK + 1  # about a million pairs each
        if n_parts > 1:  # each chunk ordered by partition once (stable: slot order kept within)
            split = []
            for i, c in enumerate(chunks):
                part = (c[1] % n_parts).astype(np.int16)
                o = np.argsort(part, kind="stable")
                bounds = np.searchsorted(part[o], np.arange(n_parts + 1))
                chunks[i] = tuple(x[o] for x in c)
                split.append(bounds)
        for j in range(n_parts):
            if n_parts > 1:
                par, chi, est, inl, resid = (np.concatenate(x) for x in zip(
                    *[[x[b[j]:b[j + 1]] for x in c] for c, b in zip(chunks, split)]))
            else:
                par, chi, est, inl, resid = (np.concatenate(x) for x in zip(*chunks))
            if not len(par):
                continue
            key = par.astype(np.int64) * n_inf + chi
            e_st = est
            # est ascends along the slots: a stable sort by pair leaves each
            # pair's occurrences by stack, the first one in a stack leading
            o = np.argsort(key, kind="stable")
            ks, es = key[o], e_st[o]
            del key, e_st
            head = np.ones(len(o), dtype=np.bool_)
            head[1:] = (ks[1:] != ks[:-1]) | (es[1:] != es[:-1])
            o, ks, es = o[head], ks[head], es[head]
            starts = np.flatnonzero(np.concatenate(([True], ks[1:] != ks[:-1])))
            wsum = np.add.reduceat(self.W[es], starts)
            iall = np.logical_and.reduceat(inl[o], starts)
            if not objects:  # only the in-edge flags of the callees
                big = np.abs(wsum) >= cutoff
                dst = ks[starts][big] % n_inf
                has_inl[dst[iall[big]]] = True
                has_plain[dst[~iall[big]]] = True
                continue
            parts.append((ks[starts], wsum, np.add.reduceat(self.DW[es], starts),
                          np.logical_or.reduceat(resid[o], starts), iall))
        del chunks
        if not objects:
            for k, g in gnodes.items():
                g.in_flags = (bool(has_inl[k]), bool(has_plain[k]))
            return
        pairs, wsum, dwsum, rany, iall = (np.concatenate(x) for x in zip(*parts))
        order = np.argsort(pairs, kind="stable")
        for j, k in zip(order.tolist(), pairs[order].tolist()):
            src, dst_n = gnodes[k // n_inf], gnodes[k % n_inf]
            e = [int(wsum[j]), int(dwsum[j]), bool(rany[j]), bool(iall[j]), src, dst_n]
            src.outs[dst_n] = e
            dst_n.ins[src] = e

    def _c_slots(self) -> bool:
        """The slots fit the C tally (int32 node and stack numbers)."""
        return (len(self.seq_info) < C_SLOTS and self.seq_info.dtype == np.int32
                and self.seq_stack.dtype == np.int32)

    def _edges_c(self, gnodes: dict[int, GNode], keep: np.ndarray, all_kept: bool, objects: bool,
                 cutoff: int | None) -> None:
        """_edges by the C tally (enginepools._core.graph_tally): the same
        edges, flags and sums in one pass over the slots."""
        from .. import _core

        n_inf = len(self.infos)
        got = _core.graph_tally(self.seq_info, self.seq_stack, self.seq_inline.view(np.uint8),
                                None if all_kept else np.ascontiguousarray(keep).view(np.uint8),
                                self.W, self.DW, n_inf, True)
        par, chi, wsum, dwsum = (np.frombuffer(x, dtype=np.int64) for x in got[:4])
        rany, iall = (np.frombuffer(x, dtype=np.bool_) for x in got[4:])
        if not objects:  # only the in-edge flags of the callees
            has_inl = np.zeros(n_inf, dtype=np.bool_)
            has_plain = np.zeros(n_inf, dtype=np.bool_)
            big = np.abs(wsum) >= cutoff
            has_inl[chi[big & iall]] = True
            has_plain[chi[big & ~iall]] = True
            for k, g in gnodes.items():
                g.in_flags = (bool(has_inl[k]), bool(has_plain[k]))
            return
        order = np.lexsort((chi, par))
        for j, src_k, dst_k in zip(order.tolist(), par[order].tolist(), chi[order].tolist()):
            src, dst_n = gnodes[src_k], gnodes[dst_k]
            e = [int(wsum[j]), int(dwsum[j]), bool(rany[j]), bool(iall[j]), src, dst_n]
            src.outs[dst_n] = e
            dst_n.ins[src] = e

    def _pairs(self, keep: np.ndarray, all_kept: bool) -> list[tuple[np.ndarray, ...]]:
        """Caller/callee pairs of consecutive kept slots of one stack, a
        chunk of slots at a time: a list of (caller, callee, stack, inline,
        residual) arrays, in slot order."""
        n = len(self.seq_info)
        out: list[tuple[np.ndarray, ...]] = []
        carry: tuple[np.ndarray, ...] | None = None  # the last kept slot so far: node, stack, dropped-before
        dropped = 0
        chunk = _CHUNK
        for lo in range(0, n, chunk):
            node, st, inl_k = self.seq_info[lo:lo + chunk], self.seq_stack[lo:lo + chunk], self.seq_inline[lo:lo + chunk]
            if all_kept:
                gap = np.zeros(len(node), dtype=np.int64)
            else:
                mask = keep[node]
                # slots dropped before each kept one: a change between neighbours is a residual edge
                gap = (np.cumsum(~mask, dtype=np.int64) + dropped)[mask]
                dropped += int(len(mask) - np.count_nonzero(mask))
                node, st, inl_k = node[mask], st[mask], inl_k[mask]
            if not len(node):
                continue
            if carry is not None:
                node = np.concatenate((carry[0], node))
                st = np.concatenate((carry[1], st))
                gap = np.concatenate((carry[2], gap))
                inl_k = np.concatenate((np.zeros(1, dtype=np.bool_), inl_k))
            carry = (node[-1:], st[-1:], gap[-1:])
            pm = (st[1:] == st[:-1]) & (node[:-1] != node[1:])  # pairs (i, i + 1)
            out.append((node[:-1][pm], node[1:][pm], st[1:][pm], inl_k[1:][pm], (gap[1:] != gap[:-1])[pm]))
        return out

    def _node_values(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """cum, cum_div, flat, flat_div per node info: cum once per stack
        (the first slot of a node in its stack), flat on a stack's leaf slot."""
        if getattr(self, "_values", None) is None:
            n_inf = len(self.infos)
            W, DW = self.W, self.DW
            if self._c_slots():
                from .. import _core

                got = _core.graph_tally(self.seq_info, self.seq_stack, self.seq_inline.view(np.uint8), None,
                                        W, DW, n_inf, False)
                cum, cum_div = (np.frombuffer(x, dtype=np.int64) for x in got)
            else:
                cum, cum_div = self._cum_numpy()
            flat = np.zeros(n_inf, dtype=np.int64)
            flat_div = np.zeros(n_inf, dtype=np.int64)
            leaf_info = self.seq_info[self.stack_last]
            np.add.at(flat, leaf_info, W[self.stack_has])
            np.add.at(flat_div, leaf_info, DW[self.stack_has])
            self._values = (cum, cum_div, flat, flat_div)
        return self._values

    def _cum_numpy(self) -> tuple[np.ndarray, np.ndarray]:
        """cum and cum_div by sorting (stack, node) pairs (slots past int32)."""
        n_inf = len(self.infos)
        W, DW = self.W, self.DW
        pair = self.seq_stack.astype(np.int64)
        pair *= n_inf
        pair += self.seq_info
        pair.sort()
        cum = np.zeros(n_inf, dtype=np.int64)
        cum_div = np.zeros(n_inf, dtype=np.int64)
        chunk = _CHUNK
        for lo in range(0, len(pair), chunk):  # each (stack, node) once, a chunk at a time
            c = pair[max(lo - 1, 0):lo + chunk]
            first = c[1:] != c[:-1]
            c = c[1:][first] if lo else np.concatenate((c[:1], c[1:][first]))
            pst, pnode = np.divmod(c, n_inf)
            np.add.at(cum, pnode, W[pst])
            np.add.at(cum_div, pnode, DW[pst])
        return cum, cum_div

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
                    if id(n) not in seen_node:  # int64 sums, wrapping as Go's do
                        seen_node.add(id(n))
                        n.cum_div = wrap64(n.cum_div + dw)
                        n.cum = wrap64(n.cum + w)
                    if parent is not None and n is not parent:
                        ek = (id(n), id(parent))
                        if ek not in seen_edge:
                            seen_edge.add(ek)
                            _add_edge(parent, n, dw, w, residual, ni != last)
                    parent = n
                    residual = False
            if parent is not None and not residual:
                parent.flat_div = wrap64(parent.flat_div + dw)
                parent.flat = wrap64(parent.flat + w)
        out = [n for n in nodes.values() if not (n.cum == 0 and n.flat == 0)]
        if self.drop_negative:
            out = [n for n in out if not (n.flat < 0 or (n.flat == 0 and n.cum < 0))]
        return out


_CHUNK = 1 << 20  # slots or pairs handled at a time (bounds the temporaries)
C_SLOTS = 2 ** 31  # fewer slots (and locations, stacks) than this: laid out and tallied in C (int32)
PURE_SLOTS = 4096  # a profile of the objects with at most this many frames over its distinct stacks: pprof's loop


def _index_dtype(n: int) -> type:
    """The narrowest of int32/int64 that holds indices below `n`."""
    return np.int32 if n < 2 ** 31 else np.int64


def _add_edge(src: GNode, dst: GNode, dw: int, w: int, residual: bool, inline: bool) -> None:
    e = src.outs.get(dst)
    if e is not None:
        e[1] = wrap64(e[1] + dw)
        e[0] = wrap64(e[0] + w)
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
        nodes.sort(key=lambda n: (-_abs64(_entropy_score(n)), printable_name(n.info), -abs(n.flat),
                                  info_sprint(n.info)))
    elif cum:
        nodes.sort(key=lambda n: (-abs(n.cum), printable_name(n.info), -abs(n.flat), info_sprint(n.info)))
    else:
        nodes.sort(key=lambda n: (-abs(n.flat), printable_name(n.info), -abs(n.cum), info_sprint(n.info)))


def _edge_entropy(edges: Iterable[list], self_value: int) -> float:
    """graph.edgeEntropyScore: the entropy of how a node's weight splits over
    its edges (and itself); only positive weights count in the total.  A
    zero-weight edge (from -mean's zero-valued samples) makes it NaN, as
    pprof's 0·log₂0 does."""
    ws = [e[0] for e in edges]
    total = self_value + sum(w for w in ws if w > 0)
    score = 0.0
    if total != 0:
        for w in ws + ([self_value] if self_value > 0 else []):
            frac = float(abs(w)) / float(total)
            score += -frac * math.log2(frac) if frac > 0 else math.nan
    return score


_INT64_MIN = -(1 << 63)


def _entropy_score(n: GNode) -> int:
    """graph.entropyScore: how much a picture gains by showing the node (entry
    and leaf nodes, and nodes where weight forks, over straight pass-throughs).
    int64(NaN or out of range) is Go's amd64 "integer indefinite", MinInt64."""
    score = 1.0 if not n.ins else _edge_entropy(n.ins.values(), 0)
    score += 1.0 if not n.outs else _edge_entropy(n.outs.values(), n.flat)
    x = score * float(n.cum)
    v = int(x) if math.isfinite(x) and -2.0 ** 63 <= x < 2.0 ** 63 else _INT64_MIN
    return wrap64(v + n.flat)


def _abs64(v: int) -> int:
    """Go's abs64 on int64 (abs of MinInt64 stays MinInt64)."""
    return wrap64(-v) if v < 0 else v


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

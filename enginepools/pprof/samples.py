"""A working profile's samples as the decoder's arrays: values, stacks (CSR
of location rows, leaf first) and labels (CSR of string-table indices), with
the group-by and frame-filtering operations the graph layer needs, all in
numpy — no Python object per sample.

Samples are grouped exactly (same stack, or same label rows): a 128-bit
polynomial hash per sample finds candidate groups and every member is then
compared with its group's first member element by element; a collision (never
seen in practice) falls back to grouping by Python tuples."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .labels import label_dicts

_I64 = np.int64
_U64 = np.uint64
_CHUNK = 1 << 20  # elements hashed or compared at a time (bounds the temporaries)
_MULS = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))


def seg_sum(off: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per-segment sums of `x` over CSR offsets `off` (empty segments are 0)."""
    cs = np.zeros(len(x) + 1, dtype=x.dtype if x.dtype != np.bool_ else _I64)
    np.cumsum(x, out=cs[1:])
    return cs[off[1:]] - cs[off[:-1]]


def first_of_each(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of `x`, sorted, and the index of each one's first
    occurrence (np.unique's, without its hash path and its numpy.ma import)."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    head = np.ones(len(xs), dtype=np.bool_)
    if len(xs):
        head[1:] = xs[1:] != xs[:-1]
    return xs[head], order[head]


def seg_of(off: np.ndarray) -> np.ndarray:
    """The segment number of each element of a CSR with offsets `off`."""
    return np.repeat(np.arange(len(off) - 1, dtype=_I64), np.diff(off))


def seg_pos(off: np.ndarray) -> np.ndarray:
    """Each element's position within its segment."""
    n = int(off[-1])
    return np.arange(n, dtype=_I64) - np.repeat(off[:-1], np.diff(off))


def seg_max(off: np.ndarray, x: np.ndarray, empty: int) -> np.ndarray:
    """Per-segment maximum of int64 `x` (`empty` for empty segments)."""
    out = np.full(len(off) - 1, empty, dtype=_I64)
    if len(x):
        np.maximum.at(out, seg_of(off), x)
    return out


def group_csr(off: np.ndarray, cols: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Exact group-by of CSR segments (segment i is the rows off[i]:off[i+1]
    of every column): (group id per segment, numbered by first occurrence;
    the first segment of each group)."""
    n = len(off) - 1
    if n == 0:
        return np.zeros(0, dtype=_I64), np.zeros(0, dtype=_I64)
    lens = np.diff(off).astype(_I64)
    total = int(off[-1])
    keys = [lens.astype(_U64)]
    seg_all = np.repeat(np.arange(n, dtype=np.int32 if n < 2 ** 31 else _I64), lens)  # each element's segment
    with np.errstate(over="ignore"):
        for m in _MULS:  # two independent 64-bit hashes, element-wise in chunks, then summed per segment
            acc = np.zeros(total + 1, dtype=_U64)
            for lo in range(0, total, _CHUNK):
                hi = min(total, lo + _CHUNK)
                seg = seg_all[lo:hi]
                pos = (np.arange(lo, hi) - off[seg]).view(_U64) * np.uint64(0x100000001B3)
                h = np.zeros(hi - lo, dtype=_U64)
                for k, c in enumerate(cols):
                    v = c[lo:hi].astype(_U64)
                    v += np.uint64(k + 1)
                    v ^= v >> np.uint64(29)
                    v *= m
                    h ^= v
                    h *= m
                    h += pos
                    h ^= h >> np.uint64(31)
                acc[lo + 1:hi + 1] = h
            np.cumsum(acc, out=acc)
            keys.append(acc[off[1:]] - acc[off[:-1]])
            del acc
    srt = np.lexsort(keys[::-1])  # stable: a group's first segment leads it
    same = np.ones(n, dtype=np.bool_)
    for k in keys:
        ks = k[srt]
        same[1:] &= ks[1:] == ks[:-1]
    same[0] = False
    gid, first = _numbered(srt, ~same)
    # verify: every element equals the same element of its group's first segment
    rep_off = off[first[gid]]
    ok = True
    for lo in range(0, total, _CHUNK):
        hi = min(total, lo + _CHUNK)
        seg = seg_all[lo:hi]
        src = rep_off[seg] + (np.arange(lo, hi) - off[seg])
        if not all(np.array_equal(c[lo:hi], c[src]) for c in cols):
            ok = False
            break
    if ok:
        return gid, first
    groups: dict[tuple, int] = {}
    gid = np.empty(n, dtype=_I64)
    firsts = []
    lists = [c.tolist() for c in cols]
    o = off.tolist()
    for i in range(n):
        key = tuple(tuple(lst[o[i]:o[i + 1]]) for lst in lists)
        g = groups.get(key)
        if g is None:
            g = groups[key] = len(firsts)
            firsts.append(i)
        gid[i] = g
    return gid, np.asarray(firsts, dtype=_I64)


class SampleArrays:
    """The samples of a working profile: ``values`` [n, types]; stacks as CSR
    ``loc_off`` into ``loc_rows`` (rows of the profile's location list, leaf
    first); labels as CSR ``lab_off`` into ``lab_key``/``lab_str``/``lab_num``/
    ``lab_unit`` (indices into ``strings``; pprof's decoding rules: a label
    with a string is a string label, else one with a number or unit a numeric
    one).  Operations return new arrays; none is changed in place."""

    __slots__ = ("values", "loc_off", "loc_rows", "lab_off", "lab_key", "lab_str", "lab_num", "lab_unit",
                 "strings")

    def __init__(self, values: np.ndarray, loc_off: np.ndarray, loc_rows: np.ndarray, lab_off: np.ndarray,
                 lab_key: np.ndarray, lab_str: np.ndarray, lab_num: np.ndarray, lab_unit: np.ndarray,
                 strings: list[str]) -> None:
        self.values, self.loc_off, self.loc_rows = values, loc_off, loc_rows
        self.lab_off, self.lab_key, self.lab_str, self.lab_num, self.lab_unit = (
            lab_off, lab_key, lab_str, lab_num, lab_unit)
        self.strings = strings

    def __len__(self) -> int:
        return int(self.values.shape[0])

    # -- selection ------------------------------------------------------------------
    def take(self, keep: np.ndarray) -> "SampleArrays":
        """The samples where boolean `keep` is true, in order."""
        if keep.all():
            return self
        loc_off, loc_rows = _take_csr(self.loc_off, keep, self.loc_rows)
        lab_off, lk, ls, ln, lu = _take_csr(self.lab_off, keep, self.lab_key, self.lab_str, self.lab_num,
                                            self.lab_unit)
        return SampleArrays(self.values[keep], loc_off, loc_rows, lab_off, lk, ls, ln, lu, self.strings)

    def keep_frames(self, frame_keep: np.ndarray) -> "SampleArrays":
        """The same samples with only the frames where `frame_keep` (one flag
        per element of ``loc_rows``) is true."""
        if frame_keep.all():
            return self
        counts = seg_sum(self.loc_off, frame_keep)
        off = np.zeros(len(counts) + 1, dtype=_I64)
        np.cumsum(counts, out=off[1:])
        return SampleArrays(self.values, off, self.loc_rows[frame_keep], self.lab_off, self.lab_key,
                            self.lab_str, self.lab_num, self.lab_unit, self.strings)

    def with_values(self, values: np.ndarray) -> "SampleArrays":
        return SampleArrays(values, self.loc_off, self.loc_rows, self.lab_off, self.lab_key, self.lab_str,
                            self.lab_num, self.lab_unit, self.strings)

    def nonzero(self) -> "SampleArrays":
        """Without the samples whose values are all zero."""
        return self.take(np.any(self.values != 0, axis=1)) if self.values.shape[1] else self.take(
            np.zeros(len(self), dtype=np.bool_))

    def set_label(self, key: str, value: list[str]) -> "SampleArrays":
        """Every sample's string label `key` set to `value` (replacing it)."""
        strings = list(self.strings)
        ix = {x: i for i, x in reversed(list(enumerate(strings)))}
        k = ix.get(key)
        if k is None:
            k = ix[key] = len(strings)
            strings.append(key)
        vs = []
        for v in value:
            if v not in ix:
                ix[v] = len(strings)
                strings.append(v)
            vs.append(ix[v])
        n = len(self)
        keep = ~((self.lab_key == k) & (self.lab_str != 0))
        kept_per = seg_sum(self.lab_off, keep)
        per = kept_per + len(vs)
        off = np.zeros(n + 1, dtype=_I64)
        np.cumsum(per, out=off[1:])
        total = int(off[-1])
        lk, ls, ln, lu = (np.zeros(total, dtype=_I64) for _ in range(4))
        # the kept rows first, then the new ones, per sample
        dst_kept = np.repeat(off[:-1], kept_per) + seg_pos(np.concatenate(([0], np.cumsum(kept_per))))
        lk[dst_kept], ls[dst_kept] = self.lab_key[keep], self.lab_str[keep]
        ln[dst_kept], lu[dst_kept] = self.lab_num[keep], self.lab_unit[keep]
        for j, v in enumerate(vs):
            at = off[:-1] + kept_per + j
            lk[at], ls[at] = k, v
        return SampleArrays(self.values, self.loc_off, self.loc_rows, off, lk, ls, ln, lu, strings)

    # -- grouping ------------------------------------------------------------------
    def stack_groups(self) -> tuple[np.ndarray, np.ndarray]:
        rows = self.loc_rows
        if rows.dtype != np.int32 and len(rows) and 0 <= int(rows.min()) and int(rows.max()) < 2 ** 31:
            rows = rows.astype(np.int32)
        if rows.dtype == np.int32:  # one pass in C (enginepools._core.group_stacks), the same groups
            from .. import _core

            gid, first = _core.group_stacks(np.ascontiguousarray(self.loc_off, dtype=_I64),
                                            np.ascontiguousarray(rows))
            return np.frombuffer(gid, dtype=_I64), np.frombuffer(first, dtype=_I64)
        return group_csr(self.loc_off, [self.loc_rows])

    def label_groups(self) -> tuple[np.ndarray, np.ndarray]:
        return group_csr(self.lab_off, [self.lab_key, self.lab_str, self.lab_num, self.lab_unit])

    def string_index(self, s: str) -> int:
        try:
            return self.strings.index(s)
        except ValueError:
            return -1

    def has_label(self, key: str, value: str) -> np.ndarray:
        """Per sample: carries string label key=value."""
        k, v = self.string_index(key), self.string_index(value)
        if k < 0 or v < 0:
            return np.zeros(len(self), dtype=np.bool_)
        return seg_sum(self.lab_off, (self.lab_key == k) & (self.lab_str == v)) > 0

    # -- objects (for one sample at a time) ------------------------------------------
    def labels_of(self, i: int) -> tuple[dict[str, list[str]], dict[str, list[int]], dict[str, list[str]]]:
        """Sample i's labels as the working profile's dicts (string labels,
        numeric labels, numeric units)."""
        a, b = int(self.lab_off[i]), int(self.lab_off[i + 1])
        return label_dicts(self.strings, self.lab_key[a:b].tolist(), self.lab_str[a:b].tolist(),
                           self.lab_num[a:b].tolist(), self.lab_unit[a:b].tolist())

    def stack_rows(self, i: int) -> list[int]:
        """Sample i's stack as rows of the profile's location list, leaf first."""
        return self.loc_rows[int(self.loc_off[i]):int(self.loc_off[i + 1])].tolist()

    def num_label_units(self) -> dict[str, str]:
        """profile.NumLabelUnits over these samples."""
        S = self.strings
        numeric = (self.lab_str == 0) & ((self.lab_num != 0) | (self.lab_unit != 0))
        keys = first_of_each(self.lab_key[numeric])[0].tolist()
        with_unit = numeric & (self.lab_unit != 0)
        uk, first = first_of_each(self.lab_key[with_unit])
        units_ = self.lab_unit[with_unit][first]
        found: dict[str, str] = {}
        for k, u in zip(uk.tolist(), units_.tolist()):
            if S[u]:
                found[S[k]] = S[u]
        for k in keys:
            if not found.get(S[k]):
                found[S[k]] = "bytes" if S[k] in ("alignment", "request") else S[k]
        return found


def _take_csr(off: np.ndarray, keep: np.ndarray, *cols: np.ndarray) -> tuple:
    lens = np.diff(off)[keep]
    new_off = np.zeros(len(lens) + 1, dtype=_I64)
    np.cumsum(lens, out=new_off[1:])
    elem_keep = np.repeat(keep, np.diff(off))
    return (new_off, *(c[elem_keep] for c in cols))


def group_keys(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact group-by of int64 `key`: (group id per element, numbered by
    first occurrence; the first element of each group)."""
    n = len(key)
    if n == 0:
        return np.zeros(0, dtype=_I64), np.zeros(0, dtype=_I64)
    srt = np.argsort(key, kind="stable")
    ks = key[srt]
    head = np.ones(n, dtype=np.bool_)
    head[1:] = ks[1:] != ks[:-1]
    return _numbered(srt, head)


def _numbered(srt: np.ndarray, head: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Groups from a stable sort order `srt` and the flags of each group's
    first sorted element: (group id per element, numbered by first
    occurrence; the first element of each group)."""
    inv = np.empty(len(srt), dtype=_I64)
    inv[srt] = np.cumsum(head) - 1
    first = srt[head]
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), dtype=_I64)
    rank[order] = np.arange(len(order), dtype=_I64)
    return rank[inv], first[order].astype(_I64)


def merge_arrays(parts: list[tuple["SampleArrays", np.ndarray]]) -> "SampleArrays":
    """profile.Merge's samples on arrays: `parts` are each source's samples
    (all-zero ones left out) with its location-row map into the merged
    profile.  Samples with the same stack and labels (label order within a
    key kept, keys compared by name) are summed, in first-occurrence order;
    all-zero sums are dropped.  One string table for all."""
    strings: list[str] = [""]
    index: dict[str, int] = {"": 0}
    vals, offs, rows, loffs, lk, ls, ln, lu = [], [], [], [], [], [], [], []
    base = lbase = 0
    for a, remap in parts:
        smap = np.fromiter((index.setdefault(x, len(index)) for x in a.strings), dtype=_I64, count=len(a.strings))
        for x in a.strings:
            if index[x] == len(strings):
                strings.append(x)
        vals.append(a.values)
        offs.append(a.loc_off[1:] + base)
        rows.append(remap[a.loc_rows])
        loffs.append(a.lab_off[1:] + lbase)
        lk.append(smap[a.lab_key])
        ls.append(smap[a.lab_str])
        ln.append(a.lab_num)
        lu.append(smap[a.lab_unit])
        base += int(a.loc_off[-1])
        lbase += int(a.lab_off[-1])
    cat = lambda xs, dt=_I64: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dtype=dt)  # noqa: E731
    loc_off = np.concatenate(([0], cat(offs)))
    lab_off = np.concatenate(([0], cat(loffs)))
    m = SampleArrays(np.concatenate(vals) if vals else np.zeros((0, 0), dtype=_I64), loc_off, cat(rows),
                     lab_off, cat(lk), cat(ls), cat(ln), cat(lu), strings)
    # labels in a canonical order: string labels, then numeric ones, each by key name (stable)
    rank = np.empty(len(strings), dtype=_I64)
    rank[np.argsort(np.array(strings, dtype=object), kind="stable")] = np.arange(len(strings))
    seg = np.repeat(np.arange(len(m), dtype=_I64), np.diff(lab_off))
    numeric = (m.lab_str == 0).astype(_I64)
    o = np.lexsort((rank[m.lab_key], numeric, seg))
    m.lab_key, m.lab_str, m.lab_num, m.lab_unit = m.lab_key[o], m.lab_str[o], m.lab_num[o], m.lab_unit[o]
    sg, _ = m.stack_groups()
    lg, _ = m.label_groups()
    gid, first = group_keys(sg * (int(lg.max()) + 1 if len(lg) else 1) + lg)
    sums = np.zeros((len(first), m.values.shape[1]), dtype=_I64)
    np.add.at(sums, gid, m.values)
    is_first = np.zeros(len(m), dtype=np.bool_)
    is_first[first] = True
    out = m.take(is_first).with_values(sums)
    return out.take(np.any(sums != 0, axis=1)) if sums.shape[1] else out.take(np.zeros(len(out), dtype=np.bool_))

"""pprof's working profile (``profile.Profile``'s object model): reading a
:class:`~enginepools.pprof.profile.Profile` into it, scaling and merging
profiles (``-base``/``-diff_base``) and ``drop_frames`` pruning."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from . import units
from .lazynp import np
from ..errors import InputError

if TYPE_CHECKING:
    from .profile import Profile
    from .samples import SampleArrays


# ---- the working profile (pprof's profile.Profile object model) -----------------

class WMapping:
    __slots__ = ("id", "start", "limit", "offset", "file", "build_id", "flags")

    def __init__(self, id: int, start: int, limit: int, offset: int, file: str, build_id: str, flags: int) -> None:
        self.id, self.start, self.limit, self.offset = id, start, limit, offset
        self.file, self.build_id, self.flags = file, build_id, flags


class WFunction:
    __slots__ = ("id", "name", "system_name", "filename", "start_line")

    def __init__(self, id: int, name: str, system_name: str, filename: str, start_line: int) -> None:
        self.id, self.name, self.system_name, self.filename, self.start_line = (
            id, name, system_name, filename, start_line)


class WLocation:
    __slots__ = ("id", "mapping", "address", "lines", "folded")

    def __init__(self, id: int, mapping: WMapping | None, address: int,
                 lines: list[tuple[WFunction | None, int]], folded: bool) -> None:
        self.id, self.mapping, self.address, self.lines, self.folded = id, mapping, address, lines, folded


class WSample:
    __slots__ = ("locs", "values", "labels", "num_labels", "num_units")

    def __init__(self, locs: list[WLocation], values: list[int], labels: dict[str, list[str]],
                 num_labels: dict[str, list[int]], num_units: dict[str, list[str]]) -> None:
        self.locs, self.values = locs, values
        self.labels, self.num_labels, self.num_units = labels, num_labels, num_units


@dataclass
class WorkProfile:
    """A profile as pprof's Go object model (mutable, for filtering)."""

    sample_types: list[tuple[str, str]]
    samples: list[WSample]
    locations: list[WLocation]
    functions: list[WFunction]
    mappings: list[WMapping]
    period_type: tuple[str, str] = ("", "")
    period: int = 0
    time_nanos: int = 0
    duration_nanos: int = 0
    comments: list[str] = field(default_factory=list)
    default_sample_type: str = ""
    drop_frames: str = ""
    keep_frames: str = ""
    #: the samples as arrays (then ``samples`` is empty) until something needs
    #: them as objects (:meth:`materialize`)
    arr: SampleArrays | None = None

    def materialize(self) -> None:
        """Turn array samples into WSample objects (for code that edits
        samples one by one: merging profiles)."""
        if self.arr is not None:
            self.samples = self.sample_list()
            self.arr = None

    def sample_list(self) -> list[WSample]:
        """The samples as objects (a new list when they are arrays)."""
        if self.arr is None:
            return self.samples
        return [self.sample_at(i) for i in range(len(self.arr))]

    def sample_at(self, i: int) -> WSample:
        """Array sample i as a WSample."""
        a = self.arr
        assert a is not None
        labels, nums, nunits = a.labels_of(i)
        return WSample([self.locations[r] for r in a.stack_rows(i)], a.values[i].tolist(), labels, nums, nunits)

    def n_samples(self) -> int:
        return len(self.arr) if self.arr is not None else len(self.samples)

    @classmethod
    def from_profile(cls, p: Profile) -> "WorkProfile":
        from .samples import SampleArrays

        S = p.strings
        maps = {}
        mlist = []
        for i in range(len(p.mapping_id)):
            m = WMapping(int(p.mapping_id[i]), int(p.mapping_start[i]), int(p.mapping_limit[i]),
                         int(p.mapping_offset[i]), S[p.mapping_filename[i]], S[p.mapping_build_id[i]],
                         int(p.mapping_flags[i]))
            maps[m.id] = m
            mlist.append(m)
        fids = p.function_id.tolist()
        flist = list(map(WFunction, fids, [S[i] for i in p.function_name.tolist()],
                         [S[i] for i in p.function_system_name.tolist()],
                         [S[i] for i in p.function_filename.tolist()], p.function_start_line.tolist()))
        funcs = dict(zip(fids, flist))  # the last function of an id, as pprof's map keeps
        # one pass per table, no per-location bytecode: these are the biggest tables
        lo = p.location_line_offsets.tolist()
        line_objs = list(zip(map(funcs.get, p.line_function.tolist()), p.line_line.tolist()))
        llist = list(map(WLocation, p.location_id.tolist(), map(maps.get, p.location_mapping.tolist()),
                         p.location_address.tolist(), map(line_objs.__getitem__, map(slice, lo[:-1], lo[1:])),
                         p.location_folded.astype(bool).tolist()))
        ids = p.location_id
        sl = p.sample_loc_ids
        n_loc = len(ids)
        idx = np.int32 if n_loc < 2 ** 31 else np.int64
        if n_loc and len(sl) and int(ids.max()) <= 4 * n_loc + 1024:
            table = np.full(int(ids.max()) + 1, -1, dtype=idx)
            np.maximum.at(table, ids, np.arange(n_loc, dtype=idx))  # the last location of an id, as a dict keeps
            top = int(sl.max())
            if top >= len(table):
                raise InputError(f"{p.source}: sample refers to location id {top}, which is not in the profile")
            rows = table[sl]
            if (rows < 0).any():
                raise InputError(f"{p.source}: sample refers to location id {sl[rows < 0][0]}, "
                                 "which is not in the profile")
        elif len(sl):
            order = np.argsort(ids, kind="stable")
            at = np.searchsorted(ids[order], sl, side="right") - 1  # the last location of an id, as a dict keeps
            if (at < 0).any() or not np.array_equal(ids[order][np.maximum(at, 0)], sl):
                bad = sl[(at < 0) | (ids[order][np.maximum(at, 0)] != sl)][0]
                raise InputError(f"{p.source}: sample refers to location id {bad}, which is not in the profile")
            rows = order[at].astype(idx)
        else:
            rows = np.zeros(0, dtype=idx)
        arr = SampleArrays(np.asarray(p.values, dtype=np.int64).reshape(p.n_samples, len(p.sample_types)),
                           np.asarray(p.sample_loc_offsets, dtype=np.int64), rows,
                           np.asarray(p.sample_label_offsets, dtype=np.int64),
                           np.asarray(p.label_key, dtype=np.int64), np.asarray(p.label_str, dtype=np.int64),
                           np.asarray(p.label_num, dtype=np.int64), np.asarray(p.label_unit, dtype=np.int64),
                           S)
        return cls(
            sample_types=list(p.sample_types), samples=[], arr=arr, locations=llist, functions=flist, mappings=mlist,
            period_type=p.period_type or ("", ""), period=p.period, time_nanos=p.time_nanos,
            duration_nanos=p.duration_nanos, comments=list(p.comments), default_sample_type=p.default_sample_type,
            drop_frames=p.drop_frames, keep_frames=p.keep_frames,
        )

    # -- profile.Scale / SetLabel ----------------------------------------------------
    def scale_n(self, ratios: Sequence[float]) -> None:
        if all(r == 1 for r in ratios):
            return
        if self.arr is not None:
            v = self.arr.values.copy()
            keep = np.zeros(len(v), dtype=np.bool_)
            for i, r in enumerate(ratios):
                if r != 1:
                    x = v[:, i].astype(np.float64) * r
                    v[:, i] = (np.copysign(np.floor(np.abs(x) + 0.5), x)).astype(np.int64)
                    keep |= v[:, i] != 0
            self.arr = self.arr.with_values(v).take(keep)
            return
        kept = []
        for s in self.samples:
            keep = False
            for i, v in enumerate(s.values):
                if ratios[i] != 1:
                    nv = _go_round(float(v) * ratios[i])
                    s.values[i] = nv
                    keep = keep or nv != 0
            if keep:
                kept.append(s)
        self.samples = kept

    def set_label(self, key: str, value: list[str]) -> None:
        if self.arr is not None:
            self.arr = self.arr.set_label(key, value)
            return
        for s in self.samples:
            s.labels[key] = list(value)


def _go_round(x: float) -> int:
    """Go's math.Round (half away from zero) converted to int64."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


# ---- profile.Merge (+ measurement.ScaleProfiles) ----------------------------------

def _common_value_type(ts: list[tuple[str, str]]) -> tuple[str, str] | None:
    if len(ts) <= 1:
        return None
    mt = ts[0]
    for t in ts[1:]:
        if not _compatible_value_types(mt, t):
            raise InputError(f"incompatible types: {mt} {t}")
        ratio, _ = units.scale(1, t[1], mt[1])
        if ratio < 1:
            mt = t
    return mt


def _compatible_value_types(a: tuple[str, str], b: tuple[str, str]) -> bool:
    t1 = a[0][:-1] if a[0].endswith("s") else a[0]
    t2 = b[0][:-1] if b[0].endswith("s") else b[0]
    if t1 != t2:
        return False
    if a[1] == b[1]:
        return True
    for _default, us in units._UNIT_TYPES:
        if units._sniff(us, a[1]) is not None and units._sniff(us, b[1]) is not None:
            return True
    return False


def scale_profiles(profs: list[WorkProfile]) -> None:
    if not profs:
        return
    pts = [p.period_type for p in profs]
    try:
        pt = _common_value_type(pts)
    except InputError as e:
        raise InputError(f"period type: {e}") from None
    n = len(profs[0].sample_types)
    for p in profs[1:]:
        if len(p.sample_types) != n:
            raise InputError(f"inconsistent samples type count: {n} != {len(p.sample_types)}")
    sts = []
    for i in range(n):
        try:
            sts.append(_common_value_type([p.sample_types[i] for p in profs]))
        except InputError as e:
            raise InputError(f"sample types: {e}") from None
    for p in profs:
        if pt is not None:
            per, _ = units.scale(p.period, p.period_type[1], pt[1])
            p.period, p.period_type = int(per), (p.period_type[0], pt[1])
        ratios = []
        for i, st in enumerate(p.sample_types):
            if sts[i] is None:
                ratios.append(1.0)
                continue
            r, _ = units.scale(1, st[1], sts[i][1])
            ratios.append(r)
            p.sample_types[i] = (st[0], sts[i][1])
        p.scale_n(ratios)


def merge(profs: list[WorkProfile]) -> WorkProfile:
    """profile.Merge: one profile with identical samples (same locations and
    labels) summed and all-zero samples dropped."""
    arrays = all(p.arr is not None for p in profs)
    if not arrays:
        for p in profs:
            p.materialize()
    first = profs[0]
    for p in profs[1:]:
        if p.period_type != first.period_type:
            raise InputError(f"incompatible period types {first.period_type} and {p.period_type}")
        if p.sample_types != first.sample_types:
            raise InputError(f"incompatible sample types {first.sample_types} and {p.sample_types}")
    time_nanos = 0
    duration = 0
    period = 0
    comments: list[str] = []
    default_st = ""
    for p in profs:
        if time_nanos == 0 or p.time_nanos < time_nanos:
            time_nanos = p.time_nanos
        duration += p.duration_nanos
        if period == 0 or period < p.period:
            period = p.period
        for c in p.comments:
            if c not in comments:
                comments.append(c)
        if not default_st:
            default_st = p.default_sample_type
    out = WorkProfile(sample_types=list(first.sample_types), samples=[], locations=[], functions=[], mappings=[],
                      period_type=first.period_type, period=period, time_nanos=time_nanos,
                      duration_nanos=duration, comments=comments, default_sample_type=default_st,
                      drop_frames=first.drop_frames, keep_frames=first.keep_frames)
    samples: dict[tuple, WSample] = {}
    arr_parts: list[tuple[SampleArrays, np.ndarray]] = []
    locations: dict[tuple, WLocation] = {}
    functions: dict[tuple, WFunction] = {}
    mappings: dict[tuple, WMapping] = {}

    for src in profs:
        loc_by_id: dict[int, WLocation] = {}
        fn_by_id: dict[int, WFunction] = {}
        map_by_id: dict[int, tuple[WMapping, int]] = {}

        def map_mapping(m: WMapping | None) -> tuple[WMapping | None, int]:
            if m is None:
                return None, 0
            got = map_by_id.get(id(m))
            if got is not None:
                return got
            size = m.limit - m.start
            size = size + 0xFFF
            size -= size % 0x1000
            mk = (size & 0xFFFFFFFFFFFFFFFF, m.offset, m.build_id or m.file)
            have = mappings.get(mk)
            if have is not None:
                r = (have, have.start - m.start)
            else:
                nm = WMapping(len(out.mappings) + 1, m.start, m.limit, m.offset, m.file, m.build_id, m.flags)
                out.mappings.append(nm)
                mappings[mk] = nm
                r = (nm, 0)
            map_by_id[id(m)] = r
            return r

        def map_function(f: WFunction | None) -> WFunction | None:
            if f is None:
                return None
            got = fn_by_id.get(id(f))
            if got is not None:
                return got
            k = (f.start_line, f.name, f.system_name, f.filename)
            have = functions.get(k)
            if have is None:
                have = WFunction(len(out.functions) + 1, f.name, f.system_name, f.filename, f.start_line)
                functions[k] = have
                out.functions.append(have)
            fn_by_id[id(f)] = have
            return have

        def map_location(loc: WLocation) -> WLocation:
            got = loc_by_id.get(id(loc))
            if got is not None:
                return got
            m, off = map_mapping(loc.mapping)
            addr = (loc.address + off) & 0xFFFFFFFFFFFFFFFF
            lines = [(map_function(f), ln) for f, ln in loc.lines]
            key_addr = addr
            mid = 0
            if m is not None:
                key_addr = (addr - m.start) & 0xFFFFFFFFFFFFFFFF
                mid = m.id
            k = (key_addr, mid, tuple((f.id if f else 0, ln) for f, ln in lines), loc.folded)
            have = locations.get(k)
            if have is None:
                have = WLocation(len(out.locations) + 1, m, addr, lines, loc.folded)
                locations[k] = have
                out.locations.append(have)
            loc_by_id[id(loc)] = have
            return have

        if not mappings and src.mappings:
            map_mapping(src.mappings[0])
        if arrays:
            a = src.arr
            assert a is not None
            live = a.take(np.any(a.values != 0, axis=1))
            seq = live.loc_rows
            first_at = np.full(len(src.locations), len(seq), dtype=np.int64)
            np.minimum.at(first_at, seq, np.arange(len(seq), dtype=np.int64))
            used = np.flatnonzero(first_at < len(seq))
            remap = np.zeros(len(src.locations), dtype=np.int64)
            for r in used[np.argsort(first_at[used], kind="stable")].tolist():  # in first use, as pprof maps them
                remap[r] = map_location(src.locations[r]).id - 1
            arr_parts.append((live, remap))
            continue
        for s in src.samples:
            if not any(s.values):
                continue
            locs = [map_location(loc) for loc in s.locs]
            key = (tuple(loc.id for loc in locs),
                   tuple(sorted((k, tuple(v)) for k, v in s.labels.items())),
                   tuple(sorted((k, tuple(v), tuple(s.num_units.get(k, ()))) for k, v in s.num_labels.items())))
            have = samples.get(key)
            if have is not None:
                for i, v in enumerate(s.values):
                    have.values[i] += v
                continue
            ns = WSample(locs, list(s.values), {k: list(v) for k, v in s.labels.items()},
                         {k: list(v) for k, v in s.num_labels.items()},
                         {k: list(v) for k, v in s.num_units.items()})
            samples[key] = ns
            out.samples.append(ns)
    if arrays:
        from .samples import merge_arrays

        out.arr = merge_arrays(arr_parts)
        return out
    out.samples = [s for s in out.samples if any(s.values)]
    return out


# ---- pruning (profile/prune.go) ------------------------------------------------------

_RESERVED = ("(anonymous namespace)", "operator()")
_BRACKET_RX = re.compile("|".join(re.escape(x) for x in (*_RESERVED, "(")))


def simplify_func(f: str) -> str:
    name = f[1:] if f.startswith(".") else f
    for m in _BRACKET_RX.finditer(name):
        if m.group(0) not in _RESERVED:
            return name[:m.start()]
    return name


def _prune(p: WorkProfile, drop: re.Pattern[str], keep: re.Pattern[str] | None) -> None:
    prune: set[int] = set()
    beneath: set[int] = set()
    for loc in p.locations:
        i = len(loc.lines) - 1
        while i >= 0:
            fn = loc.lines[i][0]
            if fn is not None and fn.name:
                name = simplify_func(fn.name)
                if drop.search(name) and (keep is None or not keep.search(name)):
                    break
            i -= 1
        if i >= 0:
            beneath.add(loc.id)
            if i == len(loc.lines) - 1:
                prune.add(loc.id)
            else:
                loc.lines = loc.lines[i + 1:]
    if p.arr is not None:
        _prune_arrays(p, prune, beneath)
        return
    for s in p.samples:
        found_user = False
        for i in range(len(s.locs) - 1, -1, -1):
            lid = s.locs[i].id
            if lid not in prune and lid not in beneath:
                found_user = True
                continue
            if not found_user:
                continue
            if lid in prune:
                s.locs = s.locs[i + 1:]
                break
            if lid in beneath:
                s.locs = s.locs[i:]
                break


def _prune_arrays(p: WorkProfile, prune: set[int], beneath: set[int]) -> None:
    """_prune's stack cut on arrays: below the rootmost user frame, cut at
    the rootmost pruned (after it) or beneath (at it) frame."""
    if not beneath:
        return
    from .samples import seg_max, seg_pos

    a = p.arr
    assert a is not None
    n = len(p.locations)
    is_prune = np.fromiter((loc.id in prune for loc in p.locations), dtype=np.bool_, count=n)[a.loc_rows]
    is_beneath = np.fromiter((loc.id in beneath for loc in p.locations), dtype=np.bool_, count=n)[a.loc_rows]
    pos = seg_pos(a.loc_off)
    user = ~(is_prune | is_beneath)
    rootmost_user = seg_max(a.loc_off, np.where(user, pos, -1), -1)
    lens = np.diff(a.loc_off)
    cand = is_beneath & (pos < np.repeat(rootmost_user, lens))
    cut = seg_max(a.loc_off, np.where(cand, pos, -1), -1)
    cut_f = np.repeat(cut, lens)
    at_cut_pruned = np.zeros(len(cut), dtype=np.bool_)
    has = cut >= 0
    at_cut_pruned[has] = is_prune[a.loc_off[:-1][has] + cut[has]]
    keep = (pos > cut_f) | ((pos == cut_f) & ~np.repeat(at_cut_pruned, lens))
    p.arr = a.keep_frames(keep)


def remove_uninteresting(p: WorkProfile) -> None:
    """profile.RemoveUninteresting: apply the profile's drop_frames/keep_frames."""
    if not p.drop_frames:
        return
    try:
        drop = re.compile("^(" + p.drop_frames + ")$")
        keep = re.compile("^(" + p.keep_frames + ")$") if p.keep_frames else None
    except re.error:
        return  # pprof reports the error and goes on without pruning
    _prune(p, drop, keep)


# ---- loading -------------------------------------------------------------------------

def copy_profile(p: WorkProfile) -> WorkProfile:
    """Deep enough a copy for filtering (locations' lines and samples' stacks change)."""
    locs = {id(loc): WLocation(loc.id, loc.mapping, loc.address, list(loc.lines), loc.folded) for loc in p.locations}
    samples = [WSample([locs[id(loc)] for loc in s.locs], list(s.values), s.labels, s.num_labels, s.num_units)
               for s in p.samples]
    return WorkProfile(sample_types=list(p.sample_types), samples=samples, arr=p.arr,
                       locations=list(locs.values()),
                       functions=p.functions, mappings=p.mappings, period_type=p.period_type, period=p.period,
                       time_nanos=p.time_nanos, duration_nanos=p.duration_nanos, comments=list(p.comments),
                       default_sample_type=p.default_sample_type, drop_frames=p.drop_frames,
                       keep_frames=p.keep_frames)

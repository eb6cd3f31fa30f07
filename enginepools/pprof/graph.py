"""pprof's call graph, built the way go tool pprof builds it for ``-top``.

This is a port of the parts of google/pprof (as vendored by Go 1.19) that
decide what ``go tool pprof -top`` prints: reading and merging profiles
(``profile.Merge``, ``-base``/``-diff_base``), ``drop_frames`` pruning,
sample-index selection, focus/ignore/hide/show/tag filters
(``driver/driver_focus.go``, ``profile/filter.go``), granularity
aggregation, graph construction (``internal/graph``: flat and cum per node,
edges with residual/inline flags) and trimming (``internal/report``:
nodefraction, nodecount, edgefraction).  The rules are followed to the
letter, including pprof's orderings and integer arithmetic, because users
compare our numbers with pprof's byte for byte.

``build_graph(profile, options)`` returns a :class:`Graph` of :class:`Node`
and :class:`Edge`; ``enginepools.pprof_report`` formats it as text and the
charts draw call graphs from the same objects.
"""
from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from . import units
from ..errors import InputError, UsageError
from .profile import Profile

__all__ = ["GraphOptions", "Graph", "Node", "Edge", "build_graph", "load_profile", "WorkProfile"]


# ---- Go helpers ----------------------------------------------------------------

def go_div(a: int, b: int) -> int:
    """Go's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def go_clean(path: str) -> str:
    """Go's path/filepath.Clean (Unix)."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    s = "/".join(out)
    if rooted:
        return "/" + s
    return s or "."


def go_base(path: str) -> str:
    """Go's path/filepath.Base (Unix)."""
    if path == "":
        return "."
    path = path.rstrip("/")
    if path == "":
        return "/"
    return path.rsplit("/", 1)[-1]


def _trim_path(path: str) -> str:
    """report.trimPath with no -trim_path/-source_path: strip /proc/self/cwd."""
    for prefix in ("/proc/self/cwd/./", "/proc/self/cwd/"):
        if path.startswith(prefix):
            return path[len(prefix):]
    return path


def _go_regexp(expr: str, flag: str) -> re.Pattern[str]:
    """Compile a Go (RE2) regexp; RE2's common syntax is Python's."""
    try:
        return re.compile(expr.replace("[[:alpha:]]", "[A-Za-z]").replace("[[:digit:]]", "[0-9]"))
    except re.error as e:
        raise UsageError(f"parsing {flag} regexp: {e}") from None


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

    @classmethod
    def from_profile(cls, p: Profile) -> "WorkProfile":
        S = p.strings
        maps = {}
        mlist = []
        for i in range(len(p.mapping_id)):
            m = WMapping(int(p.mapping_id[i]), int(p.mapping_start[i]), int(p.mapping_limit[i]),
                         int(p.mapping_offset[i]), S[p.mapping_filename[i]], S[p.mapping_build_id[i]],
                         int(p.mapping_flags[i]))
            maps[m.id] = m
            mlist.append(m)
        funcs = {}
        flist = []
        for i, fid in enumerate(p.function_id.tolist()):
            f = WFunction(fid, S[p.function_name[i]], S[p.function_system_name[i]], S[p.function_filename[i]],
                          int(p.function_start_line[i]))
            funcs[fid] = f
            flist.append(f)
        locs = {}
        llist = []
        lo = p.location_line_offsets.tolist()
        lf = p.line_function.tolist()
        ll = p.line_line.tolist()
        for i, lid in enumerate(p.location_id.tolist()):
            lines = [(funcs.get(lf[j]), ll[j]) for j in range(lo[i], lo[i + 1])]
            loc = WLocation(lid, maps.get(int(p.location_mapping[i])), int(p.location_address[i]), lines,
                            bool(p.location_folded[i]))
            locs[lid] = loc
            llist.append(loc)
        samples = []
        so = p.sample_loc_offsets.tolist()
        sl = p.sample_loc_ids.tolist()
        lbo = p.sample_label_offsets.tolist()
        lk, ls, ln, lu = (p.label_key.tolist(), p.label_str.tolist(), p.label_num.tolist(), p.label_unit.tolist())
        vals = p.values.tolist()
        for i in range(p.n_samples):
            labels: dict[str, list[str]] = {}
            nums: dict[str, list[int]] = {}
            nunits: dict[str, list[str]] = {}
            for j in range(lbo[i], lbo[i + 1]):
                key = S[lk[j]]
                if ls[j] != 0:
                    labels.setdefault(key, []).append(S[ls[j]])
                elif ln[j] != 0 or lu[j] != 0:
                    vs = nums.setdefault(key, [])
                    if lu[j] != 0:
                        us = nunits.setdefault(key, [])
                        us.extend([""] * (len(vs) - len(us)))
                        us.append(S[lu[j]])
                    vs.append(ln[j])
            for key, us in nunits.items():
                us.extend([""] * (len(nums[key]) - len(us)))
            samples.append(WSample([locs[x] for x in sl[so[i]:so[i + 1]]], vals[i], labels, nums, nunits))
        return cls(
            sample_types=list(p.sample_types), samples=samples, locations=llist, functions=flist, mappings=mlist,
            period_type=p.period_type or ("", ""), period=p.period, time_nanos=p.time_nanos,
            duration_nanos=p.duration_nanos, comments=list(p.comments), default_sample_type=p.default_sample_type,
            drop_frames=p.drop_frames, keep_frames=p.keep_frames,
        )

    # -- profile.Scale / SetLabel ----------------------------------------------------
    def scale_n(self, ratios: Sequence[float]) -> None:
        if all(r == 1 for r in ratios):
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


def _scale_profiles(profs: list[WorkProfile]) -> None:
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
    out.samples = [s for s in out.samples if any(s.values)]
    return out


# ---- pruning (profile/prune.go) ------------------------------------------------------

_RESERVED = ("(anonymous namespace)", "operator()")
_BRACKET_RX = re.compile("|".join(re.escape(x) for x in (*_RESERVED, "(")))


def _simplify_func(f: str) -> str:
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
                name = _simplify_func(fn.name)
                if drop.search(name) and (keep is None or not keep.search(name)):
                    break
            i -= 1
        if i >= 0:
            beneath.add(loc.id)
            if i == len(loc.lines) - 1:
                prune.add(loc.id)
            else:
                loc.lines = loc.lines[i + 1:]
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

def _as_work(src: str | os.PathLike[str] | Profile | WorkProfile) -> WorkProfile:
    if isinstance(src, WorkProfile):
        return src
    if isinstance(src, Profile):
        return WorkProfile.from_profile(src)
    return WorkProfile.from_profile(Profile.read(src))


def load_profile(sources: Sequence[str | os.PathLike[str] | Profile],
                 base: Sequence[str | os.PathLike[str] | Profile] = (),
                 diff_base: bool = False) -> WorkProfile:
    """What pprof's fetchProfiles does with local files: merge the sources,
    subtract the base profiles (marking them ``pprof::base`` for -diff_base),
    then apply drop_frames."""
    srcs = [_as_work(s) for s in sources]
    if not srcs:
        raise UsageError("no profile source specified")
    _scale_profiles(srcs)
    if len(srcs) == 1 and not base and all(v >= 0 for s in srcs[0].samples for v in s.values):
        # Merging one profile of non-negative samples changes nothing pprof
        # prints (sums and |sums| agree); only the all-zero samples go.
        p = srcs[0] if not isinstance(sources[0], WorkProfile) else _copy_profile(srcs[0])
        p.samples = [s for s in p.samples if any(s.values)]
    else:
        p = merge(srcs)
    if base:
        bs = [_as_work(b) for b in base]
        _scale_profiles(bs)
        pb = merge(bs)
        if diff_base:
            pb.set_label("pprof::base", ["true"])
        pb.scale_n([-1.0] * len(pb.sample_types))
        pair = [p, pb]
        _scale_profiles(pair)
        p = merge(pair)
    remove_uninteresting(p)
    for m in p.mappings:  # driver.unsourceMappings: a URL is not a file name
        if not m.build_id and _URL_SCHEME.match(m.file):
            m.file = ""
    return p


_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


# ---- options -----------------------------------------------------------------------------

GRANULARITIES = ("functions", "filefunctions", "files", "lines", "addresses")


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
    #: a picture, not a -top list (pprof's -dot/-png/-svg): nodes are ranked
    #: by pprof's entropy score, a node's tags count against -nodecount, and
    #: -nodecount defaults to 80
    visual: bool = False


# ---- graph --------------------------------------------------------------------------------

# NodeInfo: (name, orig_name, address, file, start_line, lineno, objfile)
NodeInfo = tuple


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
        from ..render import html as _html

        return _html.top_graph(self)

    def format_value(self, v: int) -> str:
        """A value as pprof prints it (``5713.92kB``)."""
        r = 1 / self.options.divide_by if self.options.divide_by else 1.0
        if r > 0 and r != 1:
            v = int(float(v) * r)
        return units.scaled_label(v, self.sample_unit, self.unit)


class _GNode:
    __slots__ = ("info", "flat", "flat_div", "cum", "cum_div", "ins", "outs", "fn", "file", "line", "addr")

    def __init__(self, info: NodeInfo) -> None:
        self.info = info
        self.flat = self.flat_div = self.cum = self.cum_div = 0
        self.ins: dict[_GNode, list] = {}
        self.outs: dict[_GNode, list] = {}


def printable_name(info: NodeInfo) -> str:
    """graph.NodeInfo.PrintableName."""
    name, _orig, address, file, _start, lineno, objfile = info
    parts = []
    if address:
        parts.append("%016x" % address)
    if name:
        parts.append(name)
    if lineno:
        parts.append(f"{file}:{lineno}")
    elif file:
        parts.append(file)
    elif name:
        pass
    elif objfile:
        parts.append("[" + go_base(objfile) + "]")
    else:
        parts.append("<unknown>")
    return " ".join(parts)


def _info_sprint(info: NodeInfo) -> str:
    """fmt.Sprint(NodeInfo{...}) — pprof's last-resort tie break."""
    return "{%s %s %d %s %d %d %s}" % info


class _Agg:
    """profile.Aggregate, applied when node infos are made."""

    def __init__(self, granularity: str, noinlines: bool) -> None:
        if granularity not in GRANULARITIES:
            raise UsageError(f"-granularity {granularity}: must be one of {', '.join(GRANULARITIES)}")
        self.inlines = not noinlines
        self.function = self.filename = self.linenumber = self.address = False
        self.identity = False
        if granularity == "addresses":
            if self.inlines:
                self.identity = True
            self.function = self.filename = self.linenumber = self.address = True
        elif granularity == "lines":
            self.function = self.filename = self.linenumber = True
        elif granularity == "files":
            self.filename = True
        elif granularity == "functions":
            self.function = True
        elif granularity == "filefunctions":
            self.function = self.filename = True

    def location_infos(self, loc: WLocation) -> list[NodeInfo]:
        """graph.CreateNodes' infos for one location (one per line, innermost first)."""
        lines = loc.lines
        if not self.identity and not self.inlines and len(lines) > 1:
            lines = lines[-1:]
        address = loc.address if (self.identity or self.address) else 0
        objfile = loc.mapping.file if loc.mapping is not None and loc.mapping.file else ""
        if not lines:
            return [("", "", address, "", 0, 0, objfile)]
        out = []
        for fn, ln in lines:
            if fn is None:
                out.append(("", "", address, "", 0, 0, objfile))
                continue
            name = fn.name if (self.identity or self.function) else ""
            fname = fn.filename if (self.identity or self.filename) else ""
            lineno = ln if (self.identity or self.linenumber) else 0
            file = go_clean(_trim_path(fname)) if fname else ""
            if name == "":
                out.append((name, "", address, file, fn.start_line, lineno, objfile))
            else:
                out.append((name, "", address, file, 0, lineno, ""))
        return out


class _Builder:
    """graph.newGraph over a filtered profile, rebuilt for each trimming step.

    Samples are grouped by stack (every graph quantity is additive per
    stack), and the stacks are laid out once as one array of "slots" — the
    node infos in the order newGraph walks them (root first, a location's
    inline lines outermost first).  Each build is then array work: per-stack
    de-duplication of nodes (cum) and of caller→callee pairs (edges, whose
    flags come from the first occurrence, as in pprof), flat on the leaf slot.
    ``build_reference`` is the direct transcription of pprof's loop, kept for
    the tests."""

    def __init__(self, p: WorkProfile, agg: _Agg, value_ix: int, mean_ix: int | None,
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
                acc[0] += w
                acc[1] += dw
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

    def build(self, kept: set[NodeInfo] | None) -> list[_GNode]:
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
        gnodes: dict[int, _GNode] = {}
        for k in np.nonzero(touched)[0].tolist():
            g = gnodes[k] = _GNode(self.infos[k])
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

    def build_reference(self, kept: set[NodeInfo] | None) -> list[_GNode]:
        nodes: dict[NodeInfo, _GNode] = {}
        loc_nodes: dict[int, list[_GNode | None]] = {}
        for lid, infos in self.loc_infos.items():
            lst: list[_GNode | None] = []
            for info in infos:
                if kept is not None and info not in kept:
                    lst.append(None)
                    continue
                n = nodes.get(info)
                if n is None:
                    n = nodes[info] = _GNode(info)
                lst.append(n)
            loc_nodes[lid] = lst
        for stack, (w, dw) in self.stacks.items():
            seen_node: set[int] = set()
            seen_edge: set[tuple[int, int]] = set()
            parent: _GNode | None = None
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


def _add_edge(src: _GNode, dst: _GNode, dw: int, w: int, residual: bool, inline: bool) -> None:
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


def _flat_value(n: _GNode) -> int:
    return n.flat if n.flat_div == 0 else go_div(n.flat, n.flat_div)


def _cum_value(n: _GNode) -> int:
    return n.cum if n.cum_div == 0 else go_div(n.cum, n.cum_div)


def _sort_nodes(nodes: list[_GNode], cum: bool, visual: bool = False) -> None:
    """graph.SortNodes: EntropyOrder for a picture, else CumNameOrder or
    FlatNameOrder; a total order."""
    if visual:
        nodes.sort(key=lambda n: (-abs(_entropy_score(n)), printable_name(n.info), -abs(n.flat),
                                  _info_sprint(n.info)))
    elif cum:
        nodes.sort(key=lambda n: (-abs(n.cum), printable_name(n.info), -abs(n.flat), _info_sprint(n.info)))
    else:
        nodes.sort(key=lambda n: (-abs(n.flat), printable_name(n.info), -abs(n.cum), _info_sprint(n.info)))


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


def _entropy_score(n: _GNode) -> int:
    """graph.entropyScore: how much a picture gains by showing the node (entry
    and leaf nodes, and nodes where weight forks, over straight pass-throughs)."""
    score = 1.0 if not n.ins else _edge_entropy(n.ins.values(), 0)
    score += 1.0 if not n.outs else _edge_entropy(n.outs.values(), n.flat)
    return int(score * float(n.cum)) + n.flat


MAX_NODELETS = 4  # graph.maxNodelets: tags drawn per node


def _visual_limit(nodes: list[_GNode], max_nodes: int, tags: dict[NodeInfo, int]) -> int:
    """graph.selectTopNodes in visual mode: each node's tags (up to 4) count
    as nodes of the picture too."""
    count = 0
    for i, n in enumerate(nodes):
        count += min(tags.get(n.info, 0), MAX_NODELETS) + 1
        if count >= max_nodes:
            return i + 1
    return max_nodes


def _node_tags(p: WorkProfile, builder: "_Builder", kept: set[NodeInfo] | None, ix: int, mean_ix: int | None,
               nlu: dict[str, str]) -> dict[NodeInfo, dict[tuple[str, str | None], Tag]]:
    """The tags graph.newGraph gives each node: per sample label set (pprof's
    joinLabels, without ``pprof::base``) a label tag, and under it a numeric
    tag per "bytes" value (pprof's report keeps only that numeric label),
    named with measurement.ScaledLabel; flat on the leaf, cum once per
    stack, as node weights are."""
    unit = nlu.get("bytes", "bytes")
    groups: dict[tuple, list[int]] = {}
    for s in p.samples:
        w = s.values[ix]
        dw = s.values[mean_ix] if mean_ix is not None else 0
        if w == 0 and dw == 0:
            continue
        labels = "\\n".join(sorted(f"{k}:{v}" for k, vs in s.labels.items() if k != "pprof::base" for v in vs))
        nums = tuple(s.num_labels.get("bytes", ()))
        if not labels and not nums:
            continue
        acc = groups.setdefault((tuple(loc.id for loc in s.locs), labels, nums), [0, 0])
        acc[0] += w
        acc[1] += dw
    tags: dict[NodeInfo, dict[tuple[str, str | None], Tag]] = {}

    def add(info: NodeInfo, labels: str, nums: tuple[int, ...], w: int, dw: int, flat: bool) -> None:
        t = tags.setdefault(info, {})
        keys: list[tuple[tuple[str, str | None], int]] = [((labels, None), 0)] if labels else []
        keys += [((labels, units.scaled_label(v, unit, "minimum")), v) for v in nums]
        for key, v in keys:
            tag = t.get(key)
            if tag is None:
                tag = t[key] = Tag(name=key[1] if key[1] is not None else labels, labels=labels,
                                   numeric=key[1] is not None, value=v, unit=unit if key[1] is not None else "")
            if flat:
                tag.flat += w
                tag.flat_div += dw
            else:
                tag.cum += w
                tag.cum_div += dw

    for (stack, labels, nums), (w, dw) in groups.items():
        seen: set[NodeInfo] = set()
        leaf: NodeInfo | None = None
        residual = False
        for lid in reversed(stack):
            infos = builder.loc_infos.get(lid, [])
            for ni in range(len(infos) - 1, -1, -1):
                info = infos[ni]
                if kept is not None and info not in kept:
                    residual = True
                    continue
                if info not in seen:
                    seen.add(info)
                    add(info, labels, nums, w, dw, False)
                leaf, residual = info, False
        if leaf is not None and not residual:
            add(leaf, labels, nums, w, dw, True)
    return tags


def _trim_tags(tags: dict[NodeInfo, dict[tuple[str, str | None], Tag]], cutoff: int) -> None:
    """graph.TrimLowFrequencyTags: keep tags whose flat or cum reaches the cutoff."""
    for info, t in tags.items():
        tags[info] = {k: v for k, v in t.items() if abs(v.flat) >= cutoff or abs(v.cum) >= cutoff}


def _tag_counts(tags: dict[NodeInfo, dict[tuple[str, str | None], Tag]]) -> dict[NodeInfo, int]:
    """graph.countTags: the tags with a flat weight."""
    return {info: sum(1 for v in t.values() if v.flat != 0) for info, t in tags.items()}


def _trim_edges(nodes: list[_GNode], cutoff: int) -> int:
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

def sample_index(p: WorkProfile, si: str | int | None) -> int:
    """profile.SampleIndexByName."""
    types = [t for t, _ in p.sample_types]
    if not types:
        raise InputError("profile has no samples")
    if si is None or si == "":
        if p.default_sample_type:
            for i, t in enumerate(types):
                if t == p.default_sample_type:
                    return i
        return len(types) - 1
    s = str(si)
    if re.fullmatch(r"[+-]?[0-9]+", s):
        i = int(s)
        if i < 0 or i >= len(types):
            raise UsageError(f"sample_index {s} is outside the range [0..{len(types) - 1}]")
        return i
    no_inuse = s[len("inuse_"):] if s.startswith("inuse_") else s
    for i, t in enumerate(types):
        if t == s or t == no_inuse:
            return i
    raise UsageError(f"sample_index {s!r} must be one of: [{' '.join(types)}]")


def num_label_units(p: WorkProfile) -> dict[str, str]:
    """profile.NumLabelUnits (first unit seen per key; inferred otherwise)."""
    found: dict[str, str] = {}
    keys: set[str] = set()
    for s in p.samples:
        for k in s.num_labels:
            keys.add(k)
            for u in s.num_units.get(k, ()):
                if u and k not in found:
                    found[k] = u
    for k in keys:
        if not found.get(k):
            found[k] = "bytes" if k in ("alignment", "request") else k
    return found


_TAG_RANGE_RX = re.compile(r"([+-]?[0-9]+)([A-Za-z]+)?")


def _parse_tag_range(flt: str) -> Callable[[int, str], bool] | None:
    """driver.parseTagFilterRange: "32kb", ":64kb", "4mb:", "12kb:64mb"."""
    ranges = [m for _, m in zip(range(2), _TAG_RANGE_RX.finditer(flt))]
    if not ranges:
        return None
    v = int(ranges[0].group(1))
    u0 = ranges[0].group(2) or ""
    sv, unit = units.scale(v, u0, u0)
    if len(ranges) == 1:
        match = ranges[0].group(0)
        if flt == match:
            return lambda x, u: (lambda r: r[1] == unit and r[0] == sv)(units.scale(x, u, unit))
        if flt == match + ":":
            return lambda x, u: (lambda r: r[1] == unit and r[0] >= sv)(units.scale(x, u, unit))
        if flt == ":" + match:
            return lambda x, u: (lambda r: r[1] == unit and r[0] <= sv)(units.scale(x, u, unit))
        return None
    if flt != ranges[0].group(0) + ":" + ranges[1].group(0):
        return None
    v2 = int(ranges[1].group(1))
    sv2, unit2 = units.scale(v2, ranges[1].group(2) or "", unit)
    if unit != unit2:
        return None
    return lambda x, u: (lambda r: r[1] == unit and sv <= r[0] <= sv2)(units.scale(x, u, unit))


def _compile_tag_filter(name: str, value: str, nlu: dict[str, str],
                        warn: Callable[[str], None]) -> Callable[[WSample], bool] | None:
    """driver.compileTagFilter."""
    if not value:
        return None
    want_key = ""
    if "=" in value:
        want_key, value = value.split("=", 1)
    num = _parse_tag_range(value)
    if num is not None:
        warn(f"{name}:Interpreted '{value}' as range, not regexp")

        def label_filter(vals: list[int], unit: str) -> bool:
            return any(num(v, unit) for v in vals)

        if not want_key:
            return lambda s: any(label_filter(vs, nlu.get(k, "")) for k, vs in s.num_labels.items())
        return lambda s: want_key in s.num_labels and label_filter(s.num_labels[want_key], nlu.get(want_key, ""))
    rxs = [_go_regexp(v, name) for v in value.split(",")]
    if not want_key:
        def match_all(s: WSample) -> bool:
            for rx in rxs:
                if not any(rx.search(k + ":" + v) for k, vs in s.labels.items() for v in vs):
                    return False
            return True
        return match_all
    return lambda s: want_key in s.labels and any(rx.search(v) for rx in rxs for v in s.labels[want_key])


def _loc_matches(loc: WLocation, rx: re.Pattern[str]) -> bool:
    for fn, _ in loc.lines:
        if fn is not None and (rx.search(fn.name) or rx.search(fn.filename)):
            return True
    return loc.mapping is not None and bool(rx.search(loc.mapping.file))


def _line_matches(fn: WFunction | None, rx: re.Pattern[str]) -> bool:
    return fn is not None and bool(rx.search(fn.name) or rx.search(fn.filename))


def apply_focus(p: WorkProfile, o: GraphOptions, nlu: dict[str, str], warn: Callable[[str], None]) -> None:
    """driver.applyFocus: focus/ignore/hide/show, show_from, tagfocus/tagignore, prune_from."""
    focus = _go_regexp(o.focus, "focus") if o.focus else None
    ignore = _go_regexp(o.ignore, "ignore") if o.ignore else None
    hide = _go_regexp(o.hide, "hide") if o.hide else None
    show = _go_regexp(o.show, "show") if o.show else None
    show_from = _go_regexp(o.show_from, "show_from") if o.show_from else None
    tagfocus = _compile_tag_filter("tagfocus", o.tagfocus, nlu, warn)
    tagignore = _compile_tag_filter("tagignore", o.tagignore, nlu, warn)
    prune_from = _go_regexp(o.prune_from, "prune_from") if o.prune_from else None

    # FilterSamplesByName
    fm = im = hm = hnm = False
    foi: dict[int, bool] = {}
    hidden: set[int] = set()
    for loc in p.locations:
        if ignore is not None and _loc_matches(loc, ignore):
            im = True
            foi[loc.id] = False
        elif focus is None or _loc_matches(loc, focus):
            fm = True
            foi[loc.id] = True
        if hide is not None and _loc_matches(loc, hide):
            hm = True
            if loc.mapping is not None and hide.search(loc.mapping.file):
                loc.lines = []
            else:
                loc.lines = [ln for ln in loc.lines if not _line_matches(ln[0], hide)]
            if not loc.lines:
                hidden.add(loc.id)
        if show is not None:
            if not (loc.mapping is not None and show.search(loc.mapping.file)):
                loc.lines = [ln for ln in loc.lines if ln[0] is None or _line_matches(ln[0], show)]
            if not loc.lines:
                hidden.add(loc.id)
            else:
                hnm = True
    kept = []
    for s in p.samples:
        f = False
        ok = True
        for loc in s.locs:
            v = foi.get(loc.id)
            if v is None:
                continue
            if v:
                f = True
            else:
                ok = False
                break
        if not (ok and f):
            continue
        if hidden:
            locs = [loc for loc in s.locs if loc.id not in hidden]
            if not locs:
                continue
            s.locs = locs
        kept.append(s)
    p.samples = kept
    for rx, matched, what in ((focus, fm, "Focus"), (ignore, im, "Ignore"), (hide, hm, "Hide"),
                              (show, hnm, "Show")):
        if rx is not None and not matched:
            warn(f"{what} expression matched no samples")

    # ShowFrom
    if show_from is not None:
        locs_from: set[int] = set()
        for loc in p.locations:
            if loc.mapping is not None and show_from.search(loc.mapping.file):
                locs_from.add(loc.id)
                continue
            for i in range(len(loc.lines) - 1, -1, -1):
                if _line_matches(loc.lines[i][0], show_from):
                    loc.lines = loc.lines[:i + 1]
                    locs_from.add(loc.id)
                    break
        kept = []
        for s in p.samples:
            for i in range(len(s.locs) - 1, -1, -1):
                if s.locs[i].id in locs_from:
                    s.locs = s.locs[:i + 1]
                    kept.append(s)
                    break
        p.samples = kept
        if not locs_from:
            warn("ShowFrom expression matched no samples")

    # FilterSamplesByTag
    if tagfocus is not None or tagignore is not None:
        tfm = tim = False
        kept = []
        for s in p.samples:
            focused = tagfocus(s) if tagfocus is not None else True
            ignored = tagignore(s) if tagignore is not None else False
            tfm = tfm or focused
            tim = tim or ignored
            if focused and not ignored:
                kept.append(s)
        p.samples = kept
        if tagfocus is not None and not tfm:
            warn("TagFocus expression matched no samples")
        if tagignore is not None and not tim:
            warn("TagIgnore expression matched no samples")

    # PruneFrom
    if prune_from is not None:
        beneath: set[int] = set()
        for loc in p.locations:
            for i, (fn, _ln) in enumerate(loc.lines):
                if fn is not None and fn.name and prune_from.search(_simplify_func(fn.name)):
                    beneath.add(loc.id)
                    loc.lines = loc.lines[i:]
                    break
        for s in p.samples:
            for i, loc in enumerate(s.locs):
                if loc.id in beneath:
                    s.locs = s.locs[i:]
                    break


def active_filters(o: GraphOptions) -> list[str]:
    out = []
    for k, v in (("focus", o.focus), ("ignore", o.ignore), ("hide", o.hide), ("show", o.show),
                 ("show_from", o.show_from), ("tagfocus", o.tagfocus), ("tagignore", o.tagignore)):
        if v:
            out.append(f"{k}={v}")
    return out


def compute_total(p: WorkProfile, ix: int, mean_ix: int | None) -> int:
    """report.computeTotal: sum of |values|; only the diff base with -diff_base."""
    div = total = diff_div = diff_total = 0
    for s in p.samples:
        v = s.values[ix]
        d = s.values[mean_ix] if mean_ix is not None else 0
        v = -v if v < 0 else v
        total += v
        div += d
        if "true" in s.labels.get("pprof::base", ()):
            diff_total += v
            diff_div += d
    if diff_total > 0:
        total, div = diff_total, diff_div
    return go_div(total, div) if div != 0 else total


def _copy_profile(p: WorkProfile) -> WorkProfile:
    """Deep enough a copy for filtering (locations' lines and samples' stacks change)."""
    locs = {id(loc): WLocation(loc.id, loc.mapping, loc.address, list(loc.lines), loc.folded) for loc in p.locations}
    samples = [WSample([locs[id(loc)] for loc in s.locs], list(s.values), s.labels, s.num_labels, s.num_units)
               for s in p.samples]
    return WorkProfile(sample_types=list(p.sample_types), samples=samples, locations=list(locs.values()),
                       functions=p.functions, mappings=p.mappings, period_type=p.period_type, period=p.period,
                       time_nanos=p.time_nanos, duration_nanos=p.duration_nanos, comments=list(p.comments),
                       default_sample_type=p.default_sample_type, drop_frames=p.drop_frames,
                       keep_frames=p.keep_frames)


def build_graph(profile: Profile | WorkProfile | str | os.PathLike[str], options: GraphOptions | None = None,
                warn: Callable[[str], None] | None = None) -> Graph:
    """Build the -top graph of `profile` as go tool pprof does."""
    o = options or GraphOptions()
    warn = warn or (lambda msg: None)
    p = _as_work(profile)
    if any((o.focus, o.ignore, o.hide, o.show, o.show_from, o.tagfocus, o.tagignore, o.prune_from)):
        p = _copy_profile(p)  # the filters edit samples and locations
    else:
        p = dataclasses.replace(p, samples=list(p.samples))  # only the sample list changes
    if o.divide_by == 0:
        raise UsageError("zero divisor specified")
    nodecount = o.nodecount if o.nodecount != -1 else (80 if o.visual else 0)
    nodefraction, edgefraction = o.nodefraction, o.edgefraction
    if not o.trim:
        nodecount, nodefraction, edgefraction = 0, 0.0, 0.0
    nlu = num_label_units(p)
    if o.relative_percentages:
        apply_focus(p, o, nlu, warn)
    ix = sample_index(p, o.sample_index)
    mean_ix = 0 if o.mean else None
    stype, sunit = p.sample_types[ix]
    if o.mean:
        stype = "mean_" + stype
    total = compute_total(p, ix, mean_ix)
    if not o.relative_percentages:
        apply_focus(p, o, nlu, warn)
    agg = _Agg(o.granularity, o.noinlines)
    builder = _Builder(p, agg, ix, mean_ix, o.drop_negative)

    g = builder.build(None)
    total_value = sum(n.flat for n in g)
    node_cutoff = abs(int(float(total_value) * nodefraction))
    edge_cutoff = abs(int(float(total_value) * edgefraction))
    dropped_nodes = 0
    kept_infos: set[NodeInfo] | None = None  # None: every node
    if node_cutoff > 0:
        kept = {n.info for n in g if abs(n.cum) >= node_cutoff}
        if len(kept) != len(g):
            dropped_nodes = len(g) - len(kept)
            g = builder.build(kept)
            kept_infos = kept
    orig_count = len(g)
    _sort_nodes(g, o.cum, o.visual)
    if nodecount > 0:
        _trim_edges(g, edge_cutoff)
        limit = nodecount
        if o.visual:
            tags = _node_tags(p, builder, kept_infos, ix, mean_ix, nlu)
            _trim_tags(tags, node_cutoff)
            limit = _visual_limit(g, nodecount, _tag_counts(tags))
        if limit < len(g):
            kept_infos = {n.info for n in g[:limit]}
            g = builder.build(kept_infos)
            _sort_nodes(g, o.cum, o.visual)
    dropped_edges = _trim_edges(g, edge_cutoff)
    final_tags: dict[NodeInfo, dict[tuple[str, str | None], Tag]] = {}
    if o.visual:  # the tags a picture draws, of the final graph
        final_tags = _node_tags(p, builder, kept_infos, ix, mean_ix, nlu)
        _trim_tags(final_tags, node_cutoff)

    # selectOutputUnit ("minimum" stays when there is nothing to show)
    out_unit = "minimum"
    if g:
        min_value = 0
        for n in g:
            m = abs(_flat_value(n)) or abs(_cum_value(n))
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
        if min_unit != max_unit and min_value * 100 < max_value:
            _, unit = units.scale(100 * min_value, sunit, "minimum")
        out_unit = unit if unit != "" else sunit

    # public objects
    pub: dict[int, Node] = {}
    nodes: list[Node] = []
    for n in g:
        name, _orig, address, file, _start, lineno, objfile = n.info
        node = Node(name=printable_name(n.info), flat=_flat_value(n), cum=_cum_value(n), function=name,
                    filename=file, line=lineno, address=address, objfile=objfile, flat_raw=n.flat,
                    cum_raw=n.cum, flat_div=n.flat_div, cum_div=n.cum_div, info=n.info,
                    tags=list(final_tags.get(n.info, {}).values()))
        pub[id(n)] = node
        nodes.append(node)
    edges: list[Edge] = []
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
                continue
            edge = Edge(src=s, dst=dst, weight=e[0], residual=e[2], inline=e[3], weight_div=e[1])
            edges.append(edge)
            s.outs.append(edge)
            dst.ins.append(edge)
        dst.inline = has_inline and not has_plain
        dst.partial_inline = has_inline and has_plain
    return Graph(nodes=nodes, edges=edges, total=total, unit=out_unit, sample_type=stype, sample_unit=sunit,
                 orig_count=orig_count, dropped_nodes=dropped_nodes, dropped_edges=dropped_edges,
                 node_cutoff=node_cutoff, edge_cutoff=edge_cutoff, options=o, active_filters=active_filters(o),
                 profile=p)

"""The profile itself, after pprof's filters, as go tool pprof writes it:
``-raw`` (profile.Profile.String(): the samples, locations and mappings as
text) and ``-proto`` (the filtered, merged profile as gzip'd profile.proto,
values scaled by ``-divide_by`` as report.printProto does)."""
from __future__ import annotations

import datetime
from typing import Callable

import numpy as np

from .filters import select_and_filter
from .nodes import GraphOptions
from .profile import HAS_FILENAMES, HAS_FUNCTIONS, HAS_INLINE_FRAMES, HAS_LINE_NUMBERS, Profile
from .work import WMapping, WorkProfile, copy_profile

__all__ = ["raw_text", "proto_bytes", "to_profile", "go_duration"]


def filtered(p: WorkProfile, o: GraphOptions, warn: Callable[[str], None]) -> WorkProfile:
    """A copy of `p` after pprof's focus/ignore/hide/show/tag filters (as
    driver.generateRawReport applies them; -raw and -proto aggregate nothing)."""
    p = copy_profile(p)
    if not p.mappings:  # driver.locateBinaries: a profile without mappings gets a fake one, for every location
        fake = WMapping(1, 0, 0, 0, "", "", 0)
        p.mappings = [fake]
        for loc in p.locations:
            loc.mapping = fake
    select_and_filter(p, o, warn)
    return p


def raw_text(p: WorkProfile, o: GraphOptions | None = None, warn: Callable[[str], None] | None = None) -> str:
    """``go tool pprof -raw``: profile.Profile.String() of the filtered profile."""
    p = filtered(p, o or GraphOptions(), warn or (lambda msg: None))
    ss = ["Comment: " + c for c in p.comments]
    pt = p.period_type or ("", "")  # (pprof's decoder makes an empty one when the profile has none)
    ss.append(f"PeriodType: {pt[0]} {pt[1]}")
    ss.append(f"Period: {p.period}")
    if p.time_nanos:
        ss.append("Time: " + go_time_string(p.time_nanos))
    if p.duration_nanos:
        ss.append("Duration: " + go_duration(p.duration_nanos)[:4])
    ss.append("Samples:")
    ss.append(" ".join(f"{t}/{u}{'[dflt]' if t == p.default_sample_type else ''}" for t, u in p.sample_types))
    for s in p.sample_list():
        line = "".join(" %10d" % v for v in s.values) + ": " + "".join(f"{loc.id} " for loc in s.locs)
        ss.append(line)
        if s.labels:
            ss.append(" " * 16 + " ".join(sorted(f"{k}:[{' '.join(v)}]" for k, v in s.labels.items())))
        if s.num_labels:
            ls = []
            for k, vs in s.num_labels.items():
                us = s.num_units.get(k, [])
                if len(us) == len(vs):
                    ls.append(f"{k}:[{' '.join(f'{v} {u}' for v, u in zip(vs, us))}]")
                else:
                    ls.append(f"{k}:[{' '.join(str(v) for v in vs)}]")
            ss.append(" " * 16 + " ".join(sorted(ls)))
    ss.append("Locations")
    for loc in p.locations:
        head = "%6d: %s " % (loc.id, _hex(loc.address))
        if loc.mapping is not None:
            head += f"M={loc.mapping.id} "
        if loc.folded:
            head += "[F] "
        if not loc.lines:
            ss.append(head)
        for fn, line in loc.lines:
            text = "??"
            if fn is not None:
                text = f"{fn.name} {fn.filename}:{line} s={fn.start_line}"
                if fn.name != fn.system_name:
                    text += f"({fn.system_name})"
            ss.append(head + text)
            head = " " * 13
    ss.append("Mappings")
    for m in p.mappings:
        bits = "".join(b for bit, b in ((HAS_FUNCTIONS, "[FN]"), (HAS_FILENAMES, "[FL]"),
                                        (HAS_LINE_NUMBERS, "[LN]"), (HAS_INLINE_FRAMES, "[IN]")) if m.flags & bit)
        ss.append(f"{m.id}: {_hex(m.start)}/{_hex(m.limit)}/{_hex(m.offset)} {m.file} {m.build_id} {bits}")
    return "\n".join(ss) + "\n"


def _hex(v: int) -> str:
    return "%#x" % v if v else "0x0"


def proto_bytes(p: WorkProfile, o: GraphOptions | None = None, warn: Callable[[str], None] | None = None) -> bytes:
    """``go tool pprof -proto``: the filtered profile, gzip'd profile.proto."""
    o = o or GraphOptions()
    prof = to_profile(filtered(p, o, warn or (lambda msg: None)))
    r = 1 / o.divide_by
    if r > 0 and r != 1:  # int64(float64(v) * r): truncation toward zero
        prof.values = np.trunc(prof.values.astype(np.float64) * r).astype(np.int64)
    return prof.to_bytes()


def to_profile(p: WorkProfile) -> Profile:
    """A working profile as a :class:`Profile` (what Profile.write encodes):
    its samples, locations, functions and mappings with their ids."""
    ix = {"": 0}  # string -> index; the table is its keys, in insertion order

    def s_(x: str) -> int:
        return ix.setdefault(x, len(ix))

    values: list[list[int]] = []
    loc_off, loc_ids = [0], []
    lab_off, lk, ls, ln, lu = [0], [], [], [], []
    for s in p.sample_list():
        values.append(list(s.values))
        loc_ids.extend(loc.id for loc in s.locs)
        loc_off.append(len(loc_ids))
        for k in sorted(s.labels):
            for v in s.labels[k]:
                lk.append(s_(k)), ls.append(s_(v)), ln.append(0), lu.append(0)
        for k in sorted(s.num_labels):
            us = s.num_units.get(k, [])
            for i, v in enumerate(s.num_labels[k]):
                u = us[i] if i < len(us) else ""
                lk.append(s_(k)), ls.append(0), ln.append(v), lu.append(s_(u) if u else 0)
        lab_off.append(len(lk))
    line_off, line_fn, line_no = [0], [], []
    for loc in p.locations:
        for fn, line in loc.lines:
            line_fn.append(fn.id if fn is not None else 0)
            line_no.append(line)
        line_off.append(len(line_fn))
    I64, U64 = np.int64, np.uint64
    nt = len(p.sample_types)
    fs, ms, ls_ = p.functions, p.mappings, p.locations
    fn_names = [s_(f.name) for f in fs], [s_(f.system_name) for f in fs], [s_(f.filename) for f in fs]
    map_names = [s_(m.file) for m in ms], [s_(m.build_id) for m in ms]
    return Profile(
        strings=list(ix), sample_types=list(p.sample_types),
        values=np.array(values, dtype=I64).reshape(len(values), nt),
        sample_loc_offsets=np.array(loc_off, dtype=I64), sample_loc_ids=np.array(loc_ids, dtype=U64),
        sample_label_offsets=np.array(lab_off, dtype=I64), label_key=np.array(lk, dtype=I64),
        label_str=np.array(ls, dtype=I64), label_num=np.array(ln, dtype=I64), label_unit=np.array(lu, dtype=I64),
        location_id=np.array([loc.id for loc in ls_], dtype=U64),
        location_mapping=np.array([loc.mapping.id if loc.mapping is not None else 0 for loc in ls_], dtype=U64),
        location_address=np.array([loc.address for loc in ls_], dtype=U64),
        location_folded=np.array([loc.folded for loc in ls_], dtype=np.bool_),
        location_line_offsets=np.array(line_off, dtype=I64), line_function=np.array(line_fn, dtype=U64),
        line_line=np.array(line_no, dtype=I64),
        function_id=np.array([f.id for f in fs], dtype=U64),
        function_name=np.array(fn_names[0], dtype=I64), function_system_name=np.array(fn_names[1], dtype=I64),
        function_filename=np.array(fn_names[2], dtype=I64),
        function_start_line=np.array([f.start_line for f in fs], dtype=I64),
        mapping_id=np.array([m.id for m in ms], dtype=U64), mapping_start=np.array([m.start for m in ms], dtype=U64),
        mapping_limit=np.array([m.limit for m in ms], dtype=U64),
        mapping_offset=np.array([m.offset for m in ms], dtype=U64),
        mapping_filename=np.array(map_names[0], dtype=I64), mapping_build_id=np.array(map_names[1], dtype=I64),
        mapping_flags=np.array([m.flags for m in ms], dtype=np.uint8),
        period_type=p.period_type if p.period_type != ("", "") else None, period=p.period,
        time_nanos=p.time_nanos, duration_nanos=p.duration_nanos, comments=list(p.comments),
        default_sample_type=p.default_sample_type, drop_frames=p.drop_frames, keep_frames=p.keep_frames,
    )


def go_time_string(nanos: int) -> str:
    """time.Unix(0, nanos).String(): "2006-01-02 15:04:05.999999999 -0700 MST" in local time."""
    secs, frac = divmod(nanos, 1_000_000_000)
    t = datetime.datetime.fromtimestamp(secs, tz=datetime.timezone.utc).astimezone()
    off = t.utcoffset() or datetime.timedelta(0)
    mins = int(off.total_seconds()) // 60
    sign = "-" if mins < 0 else "+"
    zone = t.tzname() or ""
    fr = ("." + ("%09d" % frac).rstrip("0")) if frac else ""
    return (f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}{fr} "
            f"{sign}{abs(mins) // 60:02d}{abs(mins) % 60:02d} {zone}")


def go_duration(d: int) -> str:
    """time.Duration(d).String(): "1h2m3.5s", "1.5ms", "0s"."""
    if d == 0:
        return "0s"
    neg = d < 0
    u = -d if neg else d
    if u < 1_000_000_000:
        for div, unit in ((1, "ns"), (1_000, "µs"), (1_000_000, "ms")):
            if u < div * 1000:
                out = _frac(u, div) + unit
                break
    else:
        secs, rem = divmod(u, 1_000_000_000)
        out = _frac(u % 60_000_000_000, 1_000_000_000) + "s"
        mins = secs // 60
        if mins:
            out = f"{mins % 60}m" + out
            hours = mins // 60
            if hours:
                out = f"{hours}h" + out
        del rem
    return ("-" if neg else "") + out


def _frac(v: int, div: int) -> str:
    whole, frac = divmod(v, div)
    if not frac:
        return str(whole)
    digits = len(str(div)) - 1
    return f"{whole}." + ("%0*d" % (digits, frac)).rstrip("0")

"""Sample selection and filters: ``-sample_index``/``-mean``,
``-focus``/``-ignore``/``-hide``/``-show``/``-show_from``/``-prune_from``,
``-tagfocus``/``-tagignore`` (``driver/driver_focus.go``,
``profile/filter.go``) and the report total."""
from __future__ import annotations

import re
from typing import Callable

from .lazynp import np

from . import units
from ..errors import InputError, UsageError
from .gostd import go_div, go_regexp, wrap64
from .work import WFunction, WLocation, WSample, WorkProfile, simplify_func
from .nodes import GraphOptions


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
    if p.arr is not None:
        return p.arr.num_label_units()
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
    rxs = [go_regexp(v, name) for v in value.split(",")]
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
    focus = go_regexp(o.focus, "focus") if o.focus else None
    ignore = go_regexp(o.ignore, "ignore") if o.ignore else None
    hide = go_regexp(o.hide, "hide") if o.hide else None
    show = go_regexp(o.show, "show") if o.show else None
    show_from = go_regexp(o.show_from, "show_from") if o.show_from else None
    tagfocus = _compile_tag_filter("tagfocus", o.tagfocus, nlu, warn)
    tagignore = _compile_tag_filter("tagignore", o.tagignore, nlu, warn)
    prune_from = go_regexp(o.prune_from, "prune_from") if o.prune_from else None

    # FilterSamplesByName
    fm = im = hm = hnm = False
    foi: dict[int, bool] = {}
    hidden: set[int] = set()
    no_name_filter = focus is None and ignore is None and hide is None and show is None
    scan = p.locations
    if no_name_filter and p.arr is not None:  # every location focused: only samples without a stack go
        p.arr = p.arr.take(np.diff(p.arr.loc_off) > 0)
        scan = []
    for loc in scan:
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
    if p.arr is not None and not no_name_filter:
        _focus_arrays(p, foi, hidden)
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
        if p.arr is not None:
            from .samples import seg_max, seg_pos

            rows = _rows_of(p, locs_from)
            a = p.arr
            pos = seg_pos(a.loc_off)
            top = seg_max(a.loc_off, np.where(rows[a.loc_rows], pos, -1), -1)
            a = a.keep_frames(pos <= np.repeat(top, np.diff(a.loc_off)))
            p.arr = a.take(top >= 0)
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
        if p.arr is not None:
            gid, first = p.arr.label_groups()
            reps = [p.sample_at(i) for i in first.tolist()]
            focused = np.array([tagfocus(r) if tagfocus is not None else True for r in reps], dtype=np.bool_)
            ignored = np.array([tagignore(r) if tagignore is not None else False for r in reps], dtype=np.bool_)
            tfm, tim = bool(focused.any()), bool(ignored.any())
            p.arr = p.arr.take((focused & ~ignored)[gid])
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
                if fn is not None and fn.name and prune_from.search(simplify_func(fn.name)):
                    beneath.add(loc.id)
                    loc.lines = loc.lines[i:]
                    break
        if p.arr is not None:
            from .samples import seg_max, seg_pos

            a = p.arr
            pos = seg_pos(a.loc_off)
            lens = np.diff(a.loc_off)
            big = np.iinfo(np.int64).max
            lowest = -seg_max(a.loc_off, np.where(_rows_of(p, beneath)[a.loc_rows], -pos, -big), -big)
            p.arr = a.keep_frames(pos >= np.repeat(np.where(lowest == big, 0, lowest), lens))
        for s in p.samples:
            for i, loc in enumerate(s.locs):
                if loc.id in beneath:
                    s.locs = s.locs[i:]
                    break


def _rows_of(p: WorkProfile, loc_ids: set[int]) -> np.ndarray:
    """A flag per row of p.locations: its id is in `loc_ids`."""
    return np.fromiter((loc.id in loc_ids for loc in p.locations), dtype=np.bool_, count=len(p.locations))


def _focus_arrays(p: WorkProfile, foi: dict[int, bool], hidden: set[int]) -> None:
    """FilterSamplesByName's sample part on arrays: keep samples with a
    focused location and no ignored one, without their hidden frames."""
    from .samples import seg_sum

    a = p.arr
    assert a is not None
    state = np.fromiter((foi.get(loc.id, -1) for loc in p.locations), dtype=np.int8, count=len(p.locations))
    fs = state[a.loc_rows]
    keep = (seg_sum(a.loc_off, fs == 0) == 0) & (seg_sum(a.loc_off, fs == 1) > 0)
    a = a.take(keep)
    if hidden:
        a = a.keep_frames(~_rows_of(p, hidden)[a.loc_rows])
        a = a.take(np.diff(a.loc_off) > 0)
    p.arr = a


def select_and_filter(p: WorkProfile, o: GraphOptions, warn: Callable[[str], None]) -> tuple:
    """What every report does first (driver.generateRawReport): the numeric
    label units, then focus filters around the sample selection and the
    report total (before it, with -relative_percentages).  `p` is filtered
    in place.  Returns (nlu, value index, mean index or None, sample type
    (``mean_…`` with -mean), sample unit, total)."""
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
    return nlu, ix, mean_ix, stype, sunit, total


def active_filters(o: GraphOptions) -> list[str]:
    out = []
    for k, v in (("focus", o.focus), ("ignore", o.ignore), ("hide", o.hide), ("show", o.show),
                 ("show_from", o.show_from), ("tagfocus", o.tagfocus), ("tagignore", o.tagignore)):
        if v:
            out.append(f"{k}={v}")
    return out


def compute_total(p: WorkProfile, ix: int, mean_ix: int | None) -> int:
    """report.computeTotal: sum of |values|; only the diff base with -diff_base."""
    if p.arr is not None:
        a = p.arr
        v = np.abs(a.values[:, ix]).astype(object) if len(a) else np.zeros(0, dtype=object)
        d = a.values[:, mean_ix].astype(object) if mean_ix is not None else None
        base = a.has_label("pprof::base", "true")
        # exact sums, then Go's int64 wrap (modular, so the same as pprof's running sums)
        total, div = wrap64(int(v.sum())), wrap64(int(d.sum())) if d is not None else 0
        diff_total = wrap64(int(v[base].sum()))
        diff_div = wrap64(int(d[base].sum())) if d is not None else 0
        if diff_total > 0:
            total, div = diff_total, diff_div
        return go_div(total, div) if div != 0 else total
    div = total = diff_div = diff_total = 0
    for s in p.samples:
        v = s.values[ix]
        d = s.values[mean_ix] if mean_ix is not None else 0
        v = wrap64(-v) if v < 0 else v
        total = wrap64(total + v)
        div = wrap64(div + d)
        if "true" in s.labels.get("pprof::base", ()):
            diff_total = wrap64(diff_total + v)
            diff_div = wrap64(diff_div + d)
    if diff_total > 0:
        total, div = diff_total, diff_div
    return go_div(total, div) if div != 0 else total

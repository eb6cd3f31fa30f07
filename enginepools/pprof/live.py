"""What the live endpoint serves beyond a plain profile, as Go's
``net/http/pprof`` and ``runtime/pprof`` (Go 1.19) make it.

* :func:`heap_delta` — ``heap?seconds=N`` / ``allocs?seconds=N``: take the
  heap profile, wait N seconds, take it again, and return the second minus
  the first (``serveDeltaProfile``: the first scaled by −1, the two merged
  with ``profile.Merge``, which drops all-zero samples and what only they
  used; ``time_nanos`` is the second's time and ``duration_nanos`` the time
  between the two).  The
  ``alloc_*`` values are then what was allocated during the window; the
  ``inuse_*`` values the change of the live heap (negative where it shrank).
* :func:`heap_text` — ``heap?debug=1``: the legacy text form
  (``writeHeapInternal`` with debug=1) that pprof also reads: a header
  ``heap profile: IN_OBJ: IN_BYTES [ALLOC_OBJ: ALLOC_BYTES] @ heap/2*RATE``,
  one record per sampled stack and size, ordered by in-use bytes (largest
  first; equal ones in the profiler's order), with its raw sampled counts,
  its return addresses and one ``#`` line per frame, through Go's
  tabwriter.  Go's frames are Go functions; ours are C functions (inlined
  ones each get a line of their own at the same address).  Go's trailer
  lists ``runtime.MemStats``; ours lists the counters we have: the
  ``ep_alloc`` totals (``# enginepools.MemStats``) and ``# MaxRSS``.
"""
from __future__ import annotations

import resource
import sys
import time
from typing import Any, Callable, Sequence

import numpy as np

from .. import _core
from .profile import Profile, string_interner
from .symbolize import Symbolizer
from .traces import go_tabwriter
from .work import WorkProfile, merge

__all__ = ["heap_delta", "heap_text", "to_profile"]


def heap_delta(seconds: float, default_sample_type: str | None = None,
               wait: Callable[[float], Any] | None = None) -> Profile:
    """The change of the heap profile over `seconds` (see the module note)."""
    from .profilers import heap_profile

    p0 = heap_profile(default_sample_type)
    t0 = time.time_ns()
    (wait or time.sleep)(seconds)
    p1 = heap_profile(default_sample_type)
    t1 = time.time_ns()
    w0, w1 = WorkProfile.from_profile(p0), WorkProfile.from_profile(p1)
    w0.scale_n([-1.0] * len(w0.sample_types))
    d = merge([w0, w1])
    assert d.arr is not None
    if len(np.unique(d.arr.loc_rows)) < len(d.locations):
        # a sample summed to zero (so the first profile's locations it used
        # are left over): profile.Merge merges the result again, which keeps
        # only the locations, functions and mappings samples still use
        d = merge([d])
    d.time_nanos, d.duration_nanos = t1, t1 - t0
    return to_profile(d)


def heap_text(snapshot: dict[str, Any] | None = None, counters: dict[str, int] | None = None,
              symbolizer: Symbolizer | None = None) -> str:
    """The heap profile's debug=1 text (see the module note)."""
    if counters is None:  # read first, as Go reads its MemStats first
        counters = _core.alloc_counters()
    snap = snapshot if snapshot is not None else _core.heapprof_snapshot()
    sym = symbolizer or Symbolizer()
    records = sorted(snap["records"], key=lambda r: -(r[5] - r[7]))  # stable: ties keep their order
    in_obj = sum(r[4] - r[6] for r in records)
    in_bytes = sum(r[5] - r[7] for r in records)
    out = [f"heap profile: {in_obj}: {in_bytes} [{sum(r[4] for r in records)}: {sum(r[5] for r in records)}]"
           f" @ heap/{2 * int(snap['rate'])}\n"]
    for pcs, _size, _pool, _cls, a_obj, a_bytes, f_obj, f_bytes in records:
        out.append(f"{a_obj - f_obj}: {a_bytes - f_bytes} [{a_obj}: {a_bytes}] @"
                   + "".join(f" {pc:#x}" for pc in pcs) + "\n")
        out.extend(_stack_record(pcs, sym))
    alloc, freed = int(counters["alloc_bytes"]), int(counters["free_bytes"])
    out.append("\n# enginepools.MemStats (the ep_alloc counters, all threads)\n")
    out.append(f"# Alloc = {alloc - freed}\n")
    out.append(f"# TotalAlloc = {alloc}\n")
    out.append(f"# Mallocs = {int(counters['alloc_objects'])}\n")
    out.append(f"# Frees = {int(counters['free_objects'])}\n")
    out.append(f"# HeapObjects = {int(counters['alloc_objects']) - int(counters['free_objects'])}\n")
    if sys.platform.startswith("linux"):  # Go's addMaxRSS: ru_maxrss is in KiB on Linux
        out.append(f"# MaxRSS = {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}\n")
    return go_tabwriter("".join(out), padding=1, minwidth=1, padchar="\t", tabwidth=8)


def _stack_record(pcs: tuple[int, ...], sym: Symbolizer) -> list[str]:
    """printStackRecord: a ``#`` line per frame (return addresses are shown
    at the call, pc-1, as Go's CallersFrames does), then an empty line."""
    lines = []
    for pc in pcs:
        frames = sym.frames(pc)
        if not frames:
            lines.append(f"#\t{pc - 1:#x}\n")
            continue
        entry = sym.entry(pc)
        for fr in frames:
            at = f"{fr.function}+{fr.address - entry:#x}" if entry is not None else fr.function
            lines.append(f"#\t{fr.address:#x}\t{at}\t{fr.filename}:{fr.line}\n")
    lines.append("\n")
    return lines


# ---- writing back ----------------------------------------------------------------------

def to_profile(p: WorkProfile) -> Profile:
    """The :class:`~enginepools.pprof.profile.Profile` of a working profile
    whose samples are arrays (as :meth:`WorkProfile.from_profile` and
    :func:`merge` of such make them), ids and order kept."""
    a = p.arr
    if a is None:
        raise ValueError("to_profile: the profile's samples are objects, not arrays")
    strings = list(a.strings) or [""]  # index 0 is "" (a label's "no string"), as pprof's table
    s_ = string_interner(strings)

    def arr(xs: Sequence[int], dt: type) -> np.ndarray:
        return np.array(xs, dtype=dt) if len(xs) else np.zeros(0, dtype=dt)

    locs, fns, maps = p.locations, p.functions, p.mappings
    loc_ids = arr([loc.id for loc in locs], np.uint64)
    lines = [ln for loc in locs for ln in loc.lines]
    line_off = np.zeros(len(locs) + 1, dtype=np.int64)
    np.cumsum([len(loc.lines) for loc in locs], out=line_off[1:])
    return Profile(
        strings=strings, sample_types=list(p.sample_types),
        values=np.ascontiguousarray(a.values, dtype=np.int64).reshape(len(a), len(p.sample_types)),
        sample_loc_offsets=np.asarray(a.loc_off, dtype=np.int64),
        sample_loc_ids=loc_ids[a.loc_rows] if len(a.loc_rows) else np.zeros(0, dtype=np.uint64),
        sample_label_offsets=np.asarray(a.lab_off, dtype=np.int64),
        label_key=np.asarray(a.lab_key, dtype=np.int64), label_str=np.asarray(a.lab_str, dtype=np.int64),
        label_num=np.asarray(a.lab_num, dtype=np.int64), label_unit=np.asarray(a.lab_unit, dtype=np.int64),
        location_id=loc_ids, location_mapping=arr([loc.mapping.id if loc.mapping else 0 for loc in locs], np.uint64),
        location_address=arr([loc.address for loc in locs], np.uint64),
        location_folded=arr([loc.folded for loc in locs], np.bool_),
        location_line_offsets=line_off,
        line_function=arr([f.id if f else 0 for f, _ in lines], np.uint64),
        line_line=arr([ln for _, ln in lines], np.int64),
        function_id=arr([f.id for f in fns], np.uint64),
        function_name=arr([s_(f.name) for f in fns], np.int64),
        function_system_name=arr([s_(f.system_name) for f in fns], np.int64),
        function_filename=arr([s_(f.filename) for f in fns], np.int64),
        function_start_line=arr([f.start_line for f in fns], np.int64),
        mapping_id=arr([m.id for m in maps], np.uint64), mapping_start=arr([m.start for m in maps], np.uint64),
        mapping_limit=arr([m.limit for m in maps], np.uint64), mapping_offset=arr([m.offset for m in maps], np.uint64),
        mapping_filename=arr([s_(m.file) for m in maps], np.int64),
        mapping_build_id=arr([s_(m.build_id) for m in maps], np.int64),
        mapping_flags=arr([m.flags for m in maps], np.uint8),
        period_type=p.period_type if p.period_type != ("", "") else None, period=p.period,
        time_nanos=p.time_nanos, duration_nanos=p.duration_nanos, comments=list(p.comments),
        default_sample_type=p.default_sample_type, drop_frames=p.drop_frames, keep_frames=p.keep_frames,
    )

"""A small profile read straight into pprof's object model, without numpy.

``enginepools top small.prof`` is mostly Python's start and imports; numpy's
import alone costs about as much as the rest.  A file of at most
:data:`SMALL_BYTES` bytes (inflating to at most :data:`SMALL_INFLATED`) is
decoded by the C decoder as usual and its tables turned into the working
profile's objects here; the graph is then built by pprof's loop on those
objects (``Builder`` does so for small profiles).  Anything out of the
ordinary — bigger, bad gzip, a malformed message — returns None and the
caller takes the numpy path, which reports errors as always."""
from __future__ import annotations

from .labels import label_dicts
from .work import WFunction, WLocation, WMapping, WorkProfile, WSample

__all__ = ["work_profile", "SMALL_BYTES", "SMALL_INFLATED"]

#: files up to this size are read into objects directly
SMALL_BYTES = 64 << 10
#: ... when their message is at most this long
SMALL_INFLATED = 1 << 20


def work_profile(data: bytes, source: str) -> WorkProfile | None:
    """The working profile (objects) of profile.proto `data` (gzip'd or not),
    or None when it is not small or does not decode cleanly."""
    from .. import _core
    from .._inputs import max_inflated
    from . import inflate

    if len(data) == 0 or len(data) > SMALL_BYTES:
        return None
    cap = max_inflated()
    try:
        if inflate.is_gzip(data):
            data = inflate.gunzip(data, min(cap, SMALL_INFLATED))
        if len(data) > SMALL_INFLATED:
            return None
        d = _core.pprof_decode(data)
    except ValueError:  # GzipError too: the numpy path says what is wrong
        return None

    def ints(key: str, fmt: str = "q") -> list[int]:
        return memoryview(d[key]).cast("B").cast(fmt).tolist()

    S = d["strings"]
    maps: dict[int, WMapping] = {}
    for mid, start, limit, off, fname, bid, flags in zip(
            ints("mapping_id", "Q"), ints("mapping_start", "Q"), ints("mapping_limit", "Q"),
            ints("mapping_offset", "Q"), ints("mapping_filename"), ints("mapping_build_id"),
            ints("mapping_flags", "B")):
        maps[mid] = WMapping(mid, start, limit, off, S[fname], S[bid], flags)
    funcs: dict[int, WFunction] = {}
    for fid, name, sysname, fname, start in zip(ints("function_id", "Q"), ints("function_name"),
                                                ints("function_system_name"), ints("function_filename"),
                                                ints("function_start_line")):
        funcs[fid] = WFunction(fid, S[name], S[sysname], S[fname], start)
    lo, lf, ll = ints("location_line_offsets"), ints("line_function", "Q"), ints("line_line")
    locs: dict[int, WLocation] = {}
    for i, (lid, mid, addr, folded) in enumerate(zip(ints("location_id", "Q"), ints("location_mapping", "Q"),
                                                     ints("location_address", "Q"), ints("location_folded", "B"))):
        lines = [(funcs.get(lf[j]), ll[j]) for j in range(lo[i], lo[i + 1])]
        locs[lid] = WLocation(lid, maps.get(mid), addr, lines, bool(folded))
    tt, tu = ints("type_type"), ints("type_unit")
    nt = len(tt)
    values, so, sl = ints("values"), ints("sample_loc_offsets"), ints("sample_loc_ids", "Q")
    lab_off, lk, ls, ln, lu = (ints("sample_label_offsets"), ints("label_key"), ints("label_str"),
                               ints("label_num"), ints("label_unit"))
    samples = []
    for i in range(len(so) - 1):
        a, b = lab_off[i], lab_off[i + 1]
        labels, nums, units = label_dicts(S, lk[a:b], ls[a:b], ln[a:b], lu[a:b])
        samples.append(WSample([locs[x] for x in sl[so[i]:so[i + 1]]], values[i * nt:(i + 1) * nt], labels, nums,
                               units))
    pt = d["period_type"]
    return WorkProfile(
        sample_types=[(S[a], S[b]) for a, b in zip(tt, tu)], samples=samples, locations=list(locs.values()),
        functions=list(funcs.values()), mappings=list(maps.values()),
        period_type=(S[pt[0]], S[pt[1]]) if pt else ("", ""), period=d["period"], time_nanos=d["time_nanos"],
        duration_nanos=d["duration_nanos"], comments=[S[i] for i in ints("comments")],
        default_sample_type=S[d["default_sample_type"]], drop_frames=S[d["drop_frames"]],
        keep_frames=S[d["keep_frames"]])

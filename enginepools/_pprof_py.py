"""Pure-Python profile.proto codec: the reference the C codec is tested
against, and the fallback when the extension lacks it.  Slow; do not use for
large profiles."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .profile import Profile

_I64 = np.int64
_U64 = np.uint64


# ---- encoding -------------------------------------------------------------------

def _varint(out: bytearray, v: int) -> None:
    v &= 0xFFFFFFFFFFFFFFFF
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _key(out: bytearray, field: int, wt: int) -> None:
    _varint(out, (field << 3) | wt)


def _int(out: bytearray, field: int, v: int) -> None:
    """A scalar int field; proto3 drops zeros."""
    if v:
        _key(out, field, 0)
        _varint(out, int(v))


def _bytes(out: bytearray, field: int, b: bytes) -> None:
    _key(out, field, 2)
    _varint(out, len(b))
    out += b


def _packed(out: bytearray, field: int, vals) -> None:
    if len(vals) == 0:
        return
    body = bytearray()
    for v in vals:
        _varint(body, int(v))
    _bytes(out, field, bytes(body))


def encode(p: "Profile") -> bytes:
    strings = list(p.strings) if p.strings else [""]
    if strings[0] != "":
        raise ValueError("string table must start with the empty string")
    ix = {}
    for i, s in enumerate(strings):
        ix.setdefault(s, i)

    def s(x: str) -> int:
        i = ix.get(x)
        if i is None:
            i = ix[x] = len(strings)
            strings.append(x)
        return i

    out = bytearray()
    for t, u in p.sample_types:
        vt = bytearray()
        _int(vt, 1, s(t))
        _int(vt, 2, s(u))
        _bytes(out, 1, bytes(vt))
    so, sl = p.sample_loc_offsets, p.sample_loc_ids
    lo = p.sample_label_offsets
    for i in range(p.n_samples):
        m = bytearray()
        _packed(m, 1, sl[so[i]:so[i + 1]])
        _packed(m, 2, p.values[i])
        for j in range(lo[i], lo[i + 1]):
            lb = bytearray()
            _int(lb, 1, p.label_key[j])
            _int(lb, 2, p.label_str[j])
            _int(lb, 3, p.label_num[j])
            _int(lb, 4, p.label_unit[j])
            _bytes(m, 3, bytes(lb))
        _bytes(out, 2, bytes(m))
    for i in range(len(p.mapping_id)):
        m = bytearray()
        _int(m, 1, p.mapping_id[i])
        _int(m, 2, p.mapping_start[i])
        _int(m, 3, p.mapping_limit[i])
        _int(m, 4, p.mapping_offset[i])
        _int(m, 5, p.mapping_filename[i])
        _int(m, 6, p.mapping_build_id[i])
        f = int(p.mapping_flags[i])
        for bit, fld in ((1, 7), (2, 8), (4, 9), (8, 10)):
            _int(m, fld, 1 if f & bit else 0)
        _bytes(out, 3, bytes(m))
    lno = p.location_line_offsets
    for i in range(len(p.location_id)):
        m = bytearray()
        _int(m, 1, p.location_id[i])
        _int(m, 2, p.location_mapping[i])
        _int(m, 3, p.location_address[i])
        for j in range(lno[i], lno[i + 1]):
            ln = bytearray()
            _int(ln, 1, p.line_function[j])
            _int(ln, 2, p.line_line[j])
            _bytes(m, 4, bytes(ln))
        _int(m, 5, 1 if p.location_folded[i] else 0)
        _bytes(out, 4, bytes(m))
    for i in range(len(p.function_id)):
        m = bytearray()
        _int(m, 1, p.function_id[i])
        _int(m, 2, p.function_name[i])
        _int(m, 3, p.function_system_name[i])
        _int(m, 4, p.function_filename[i])
        _int(m, 5, p.function_start_line[i])
        _bytes(out, 5, bytes(m))
    scal = bytearray()
    _int(scal, 7, s(p.drop_frames) if p.drop_frames else 0)
    _int(scal, 8, s(p.keep_frames) if p.keep_frames else 0)
    _int(scal, 9, p.time_nanos)
    _int(scal, 10, p.duration_nanos)
    if p.period_type:
        vt = bytearray()
        _int(vt, 1, s(p.period_type[0]))
        _int(vt, 2, s(p.period_type[1]))
        _bytes(scal, 11, bytes(vt))
    _int(scal, 12, p.period)
    for c in p.comments:
        _key(scal, 13, 0)
        _varint(scal, s(c))
    _int(scal, 14, s(p.default_sample_type) if p.default_sample_type else 0)
    for st in strings:  # after all s() calls above
        _bytes(out, 6, st.encode("utf-8"))
    out += scal
    return bytes(out)


# ---- decoding -------------------------------------------------------------------

class _Err(Exception):
    def __init__(self, msg: str, off: int) -> None:
        self.msg, self.off = msg, off


def _read_varint(b: bytes, pos: int, end: int) -> tuple[int, int]:
    v = 0
    shift = 0
    start = pos
    while True:
        if pos >= end:
            raise _Err("truncated varint", start)
        c = b[pos]
        pos += 1
        if shift == 63 and c > 1:
            raise _Err("varint overflows 64 bits", start)
        v |= (c & 0x7F) << shift
        if c < 0x80:
            return v, pos
        shift += 7
        if shift > 63:
            raise _Err("varint longer than 10 bytes", start)


def _fields(b: bytes, pos: int, end: int):
    """Yield (field, wiretype, value_or_start, stop, key_offset)."""
    while pos < end:
        koff = pos
        key, pos = _read_varint(b, pos, end)
        fld, wt = key >> 3, key & 7
        if fld == 0:
            raise _Err("field number 0", koff)
        if wt == 0:
            v, pos = _read_varint(b, pos, end)
            yield fld, wt, v, pos, koff
        elif wt == 1:
            if pos + 8 > end:
                raise _Err("truncated fixed64", pos)
            yield fld, wt, int.from_bytes(b[pos:pos + 8], "little"), pos + 8, koff
            pos += 8
        elif wt == 5:
            if pos + 4 > end:
                raise _Err("truncated fixed32", pos)
            yield fld, wt, int.from_bytes(b[pos:pos + 4], "little"), pos + 4, koff
            pos += 4
        elif wt == 2:
            n, p2 = _read_varint(b, pos, end)
            if n > end - p2:
                raise _Err("length-delimited field runs past its end", pos)
            yield fld, wt, p2, p2 + n, koff
            pos = p2 + n
        else:
            raise _Err(f"unsupported wire type {wt}", koff)


def _s64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _ints(b: bytes, fld_wt: int, v: int, stop: int, off: int, out: list[int]) -> None:
    """Append a repeated int field, packed (wt 2) or not (wt 0)."""
    if fld_wt == 0:
        out.append(v)
    elif fld_wt == 2:
        pos = v
        while pos < stop:
            x, pos = _read_varint(b, pos, stop)
            out.append(x)
    else:
        raise _Err("bad wire type for an integer field", off)


def _scalar(wt: int, v: int, off: int) -> int:
    if wt != 0:
        raise _Err("bad wire type for an integer field", off)
    return v


def decode(b: bytes, source: str) -> "Profile":
    from .profile import Profile, ProfileFormatError

    try:
        return _decode(b, Profile)
    except _Err as e:
        raise ProfileFormatError(e.msg, source, e.off) from None


def _decode(b: bytes, Profile):  # noqa: C901 - one pass over the message, field by field
    end = len(b)
    st_raw: list[tuple[int, int]] = []
    strings: list[str] = []
    sample_types: list[tuple[int, int, int]] = []
    vals: list[list[int]] = []
    s_off = [0]
    s_ids: list[int] = []
    l_off = [0]
    lk: list[int] = []
    ls: list[int] = []
    ln: list[int] = []
    lu: list[int] = []
    label_offs: list[int] = []  # byte offsets, for string checks
    maps: list[list[int]] = []
    locs: list[list[int]] = []
    loc_line_off = [0]
    line_fn: list[int] = []
    line_ln: list[int] = []
    fns: list[list[int]] = []
    sc = {7: 0, 8: 0, 9: 0, 10: 0, 12: 0, 14: 0}
    period_type = None
    comments: list[tuple[int, int]] = []
    for fld, wt, v, stop, off in _fields(b, 0, end):
        if fld == 1 or fld == 11:
            if wt != 2:
                raise _Err("bad wire type for ValueType", off)
            t = u = 0
            for f2, w2, v2, _s, o2 in _fields(b, v, stop):
                if f2 == 1:
                    t = _scalar(w2, v2, o2)
                elif f2 == 2:
                    u = _scalar(w2, v2, o2)
            if fld == 1:
                sample_types.append((t, u, off))
            else:
                period_type = (t, u, off)
        elif fld == 2:
            if wt != 2:
                raise _Err("bad wire type for Sample", off)
            row: list[int] = []
            for f2, w2, v2, s2, o2 in _fields(b, v, stop):
                if f2 == 1:
                    _ints(b, w2, v2, s2, o2, s_ids)
                elif f2 == 2:
                    _ints(b, w2, v2, s2, o2, row)
                elif f2 == 3:
                    if w2 != 2:
                        raise _Err("bad wire type for Label", o2)
                    k = s_ = n = un = 0
                    for f3, w3, v3, _s3, o3 in _fields(b, v2, s2):
                        if f3 == 1:
                            k = _scalar(w3, v3, o3)
                        elif f3 == 2:
                            s_ = _scalar(w3, v3, o3)
                        elif f3 == 3:
                            n = _scalar(w3, v3, o3)
                        elif f3 == 4:
                            un = _scalar(w3, v3, o3)
                    lk.append(k), ls.append(s_), ln.append(_s64(n)), lu.append(un)
                    label_offs.append(o2)
            vals.append([_s64(x) for x in row])
            s_off.append(len(s_ids))
            l_off.append(len(lk))
        elif fld == 3 or fld == 5:
            if wt != 2:
                raise _Err("bad wire type for Mapping/Function", off)
            r = [0] * 11
            for f2, w2, v2, _s, o2 in _fields(b, v, stop):
                if 1 <= f2 <= 10:
                    r[f2] = _scalar(w2, v2, o2)
            r[0] = off
            (maps if fld == 3 else fns).append(r)
        elif fld == 4:
            if wt != 2:
                raise _Err("bad wire type for Location", off)
            r = [off, 0, 0, 0, 0]
            for f2, w2, v2, s2, o2 in _fields(b, v, stop):
                if f2 in (1, 2, 3, 5):
                    r[f2 if f2 != 5 else 4] = _scalar(w2, v2, o2)
                elif f2 == 4:
                    if w2 != 2:
                        raise _Err("bad wire type for Line", o2)
                    fn = li = 0
                    for f3, w3, v3, _s3, o3 in _fields(b, v2, s2):
                        if f3 == 1:
                            fn = _scalar(w3, v3, o3)
                        elif f3 == 2:
                            li = _s64(_scalar(w3, v3, o3))
                    line_fn.append(fn), line_ln.append(li)
            locs.append(r)
            loc_line_off.append(len(line_fn))
        elif fld == 6:
            if wt != 2:
                raise _Err("bad wire type for string", off)
            st_raw.append((v, stop))
        elif fld == 13:
            cs: list[int] = []
            _ints(b, wt, v, stop, off, cs)
            comments.extend((c, off) for c in cs)
        elif fld in sc:
            sc[fld] = (_scalar(wt, v, off), off)[0]
            sc[-fld] = off  # type: ignore[index]
    for a, z in st_raw:
        try:
            strings.append(b[a:z].decode("utf-8"))
        except UnicodeDecodeError:
            strings.append(b[a:z].decode("utf-8", "replace"))
    if not strings or strings[0] != "":
        raise _Err("string table does not start with the empty string", st_raw[0][0] if st_raw else 0)
    ns = len(strings)

    def S(i: int, off: int) -> str:
        if i >= ns:
            raise _Err(f"string index {i} out of range (string table has {ns})", off)
        return strings[i]

    types = [(S(t, o), S(u, o)) for t, u, o in sample_types]
    nt = len(types)
    for i, row in enumerate(vals):
        if len(row) != nt:
            raise _Err(f"sample {i} has {len(row)} values, profile has {nt} sample types", 0)
    for arr, offs in ((lk, label_offs), (ls, label_offs), (lu, label_offs)):
        for x, o in zip(arr, offs):
            S(x, o)
    for r in fns:
        for k in (2, 3, 4):
            S(r[k], r[0])
    for r in maps:
        S(r[5], r[0]), S(r[6], r[0])
    loc_ids = {r[1] for r in locs}
    fn_ids = {r[1] for r in fns}
    map_ids = {r[1] for r in maps}
    for r in locs:
        if r[1] == 0:
            raise _Err("location with id 0", r[0])
        if r[2] and r[2] not in map_ids:
            raise _Err(f"location {r[1]} names missing mapping {r[2]}", r[0])
    for i in range(len(locs)):
        for j in range(loc_line_off[i], loc_line_off[i + 1]):
            if line_fn[j] and line_fn[j] not in fn_ids:
                raise _Err(f"location {locs[i][1]} names missing function {line_fn[j]}", locs[i][0])
    for x in s_ids:
        if x not in loc_ids:
            raise _Err(f"a sample names missing location {x}", 0)
    pt = (S(period_type[0], period_type[2]), S(period_type[1], period_type[2])) if period_type else None
    return Profile(
        strings=strings,
        sample_types=types,
        values=np.array(vals, dtype=_I64).reshape(len(vals), nt),
        sample_loc_offsets=np.array(s_off, dtype=_I64),
        sample_loc_ids=np.array(s_ids, dtype=_U64),
        sample_label_offsets=np.array(l_off, dtype=_I64),
        label_key=np.array(lk, dtype=_I64), label_str=np.array(ls, dtype=_I64),
        label_num=np.array(ln, dtype=_I64), label_unit=np.array(lu, dtype=_I64),
        location_id=np.array([r[1] for r in locs], dtype=_U64),
        location_mapping=np.array([r[2] for r in locs], dtype=_U64),
        location_address=np.array([r[3] for r in locs], dtype=_U64),
        location_folded=np.array([bool(r[4]) for r in locs], dtype=np.bool_),
        location_line_offsets=np.array(loc_line_off, dtype=_I64),
        line_function=np.array(line_fn, dtype=_U64),
        line_line=np.array(line_ln, dtype=_I64),
        function_id=np.array([r[1] for r in fns], dtype=_U64),
        function_name=np.array([r[2] for r in fns], dtype=_I64),
        function_system_name=np.array([r[3] for r in fns], dtype=_I64),
        function_filename=np.array([r[4] for r in fns], dtype=_I64),
        function_start_line=np.array([_s64(r[5]) for r in fns], dtype=_I64),
        mapping_id=np.array([r[1] for r in maps], dtype=_U64),
        mapping_start=np.array([r[2] for r in maps], dtype=_U64),
        mapping_limit=np.array([r[3] for r in maps], dtype=_U64),
        mapping_offset=np.array([r[4] for r in maps], dtype=_U64),
        mapping_filename=np.array([r[5] for r in maps], dtype=_I64),
        mapping_build_id=np.array([r[6] for r in maps], dtype=_I64),
        mapping_flags=np.array([(r[7] and 1) | (r[8] and 2) | (r[9] and 4) | (r[10] and 8) for r in maps],
                               dtype=np.uint8),
        period_type=pt,
        period=_s64(sc[12]),
        time_nanos=_s64(sc[9]),
        duration_nanos=_s64(sc[10]),
        comments=[S(c, o) for c, o in comments],
        default_sample_type=S(sc[14], 0),
        drop_frames=S(sc[7], 0),
        keep_frames=S(sc[8], 0),
    )

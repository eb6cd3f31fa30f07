"""pprof profiles: the in-memory model, a builder, and the profile.proto codec.

A :class:`Profile` holds one ``profile.proto`` message as numpy arrays (one
row per sample, per location, per line, …) plus its string table, so large
profiles cost a few arrays rather than millions of Python objects.  Ids
(location, function, mapping) are kept as they are in the file; string fields
of samples/locations/functions/mappings are indices into ``strings``.

:class:`ProfileBuilder` is how our profilers make profiles: give it samples
with leaf-first stacks of frames and it interns functions, locations and
strings the way Go's ``runtime/pprof`` does.

Encoding and decoding are done in C (``enginepools._core``); gzip'd input
is inflated by :mod:`enginepools.pprof.inflate` (ISA-L's igzip, zlib as the
fallback).  Bad input raises :class:`ProfileFormatError` (a ``ValueError``)
naming the file and the byte offset of the problem.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence, Union

import numpy as np

from ..errors import InputError

__all__ = ["Profile", "ProfileBuilder", "ProfileFormatError", "Frame"]


class ProfileFormatError(InputError):
    """A profile that is not valid (gzip'd) profile.proto.  Names the file and
    the byte offset (in the uncompressed message) where decoding failed."""

    def __init__(self, message: str, source: str = "<bytes>", offset: int | None = None) -> None:
        self.source = source
        self.offset = offset
        where = f" at byte offset {offset}" if offset is not None else ""
        super().__init__(f"{source}: not a valid pprof profile: {message}{where}")


# A frame is an address, a (function, file, line[, address]) tuple, or a list of
# such tuples (inline frames sharing one location, innermost first).
FrameTuple = tuple  # (name, filename, line) or (name, filename, line, address)
Frame = Union[int, FrameTuple, Sequence[FrameTuple]]

_I64 = np.int64
_U64 = np.uint64

# mapping flag bits (Profile.mapping_flags)
HAS_FUNCTIONS, HAS_FILENAMES, HAS_LINE_NUMBERS, HAS_INLINE_FRAMES = 1, 2, 4, 8


def _arr(x: Iterable[int], dtype: Any) -> np.ndarray:
    return np.asarray(list(x) if not isinstance(x, np.ndarray) else x, dtype=dtype)


@dataclass(eq=False)
class Profile:
    """One pprof profile.  Arrays are parallel per table:

    * samples: ``values`` int64 [n_samples, n_types]; stacks as CSR
      ``sample_loc_offsets`` [n_samples+1] into ``sample_loc_ids`` (leaf first);
      labels as CSR ``sample_label_offsets`` into ``label_key``, ``label_str``,
      ``label_num``, ``label_unit`` (string indices, 0 when absent).
    * locations: ``location_id``, ``location_mapping``, ``location_address``,
      ``location_folded``; their lines as CSR ``location_line_offsets`` into
      ``line_function`` (function id) and ``line_line`` (innermost first).
    * functions: ``function_id``, ``function_name``, ``function_system_name``,
      ``function_filename`` (string indices), ``function_start_line``.
    * mappings: ``mapping_id``, ``mapping_start``, ``mapping_limit``,
      ``mapping_offset``, ``mapping_filename``, ``mapping_build_id``,
      ``mapping_flags`` (HAS_* bits).
    """

    strings: list[str]
    sample_types: list[tuple[str, str]]
    values: np.ndarray
    sample_loc_offsets: np.ndarray
    sample_loc_ids: np.ndarray
    sample_label_offsets: np.ndarray
    label_key: np.ndarray
    label_str: np.ndarray
    label_num: np.ndarray
    label_unit: np.ndarray
    location_id: np.ndarray
    location_mapping: np.ndarray
    location_address: np.ndarray
    location_folded: np.ndarray
    location_line_offsets: np.ndarray
    line_function: np.ndarray
    line_line: np.ndarray
    function_id: np.ndarray
    function_name: np.ndarray
    function_system_name: np.ndarray
    function_filename: np.ndarray
    function_start_line: np.ndarray
    mapping_id: np.ndarray
    mapping_start: np.ndarray
    mapping_limit: np.ndarray
    mapping_offset: np.ndarray
    mapping_filename: np.ndarray
    mapping_build_id: np.ndarray
    mapping_flags: np.ndarray
    period_type: tuple[str, str] | None = None
    period: int = 0
    time_nanos: int = 0
    duration_nanos: int = 0
    comments: list[str] = field(default_factory=list)
    default_sample_type: str = ""
    drop_frames: str = ""
    keep_frames: str = ""
    source: str = "<bytes>"

    ARRAY_FIELDS = (
        "values", "sample_loc_offsets", "sample_loc_ids", "sample_label_offsets", "label_key",
        "label_str", "label_num", "label_unit", "location_id", "location_mapping",
        "location_address", "location_folded", "location_line_offsets", "line_function",
        "line_line", "function_id", "function_name", "function_system_name", "function_filename",
        "function_start_line", "mapping_id", "mapping_start", "mapping_limit", "mapping_offset",
        "mapping_filename", "mapping_build_id", "mapping_flags",
    )
    SCALAR_FIELDS = (
        "strings", "sample_types", "period_type", "period", "time_nanos", "duration_nanos",
        "comments", "default_sample_type", "drop_frames", "keep_frames",
    )

    # ---- basic views ------------------------------------------------------
    @property
    def n_samples(self) -> int:
        return int(self.values.shape[0])

    def sample_type_names(self) -> list[str]:
        return [t for t, _ in self.sample_types]

    def string(self, i: int) -> str:
        return self.strings[int(i)]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Profile):
            return NotImplemented
        for f in self.SCALAR_FIELDS:
            if getattr(self, f) != getattr(other, f):
                return False
        for f in self.ARRAY_FIELDS:
            a, b = getattr(self, f), getattr(other, f)
            if a.shape != b.shape or not np.array_equal(a, b):
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"Profile({self.source}: {self.n_samples} samples of "
                f"{', '.join(f'{t}/{u}' for t, u in self.sample_types)}, "
                f"{len(self.location_id)} locations, {len(self.function_id)} functions)")

    def _repr_html_(self) -> str:
        from .build import profile_html

        return profile_html(self)

    # ---- I/O --------------------------------------------------------------
    def to_bytes(self, compress: bool = True) -> bytes:
        """The profile as profile.proto, gzip'd unless ``compress=False``."""
        return _encode(self, 6 if compress else 0)

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write gzip'd profile.proto to `path` atomically (temp file + rename)."""
        from .._atomic import write_bytes

        write_bytes(path, self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, source: str = "<bytes>") -> "Profile":
        """Decode a profile, gzip'd or not.  Raises ProfileFormatError."""
        prof = _decode(data, source)
        prof.source = source
        return prof

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> "Profile":
        """Read a pprof profile file.  Raises ProfileFormatError on bad content,
        InputError when the file cannot be read."""
        from .._inputs import GiB, read_input

        p = os.fspath(path)
        return cls.from_bytes(read_input(p, "pprof profile", 4 * GiB), source=p)


# ---- codec (C) -----------------------------------------------------------------

# the array order enginepools._core.pprof_encode takes
_ENCODE_ORDER = (
    ("values", _I64), ("sample_loc_offsets", _I64), ("sample_loc_ids", _U64),
    ("sample_label_offsets", _I64), ("label_key", _I64), ("label_str", _I64), ("label_num", _I64),
    ("label_unit", _I64), ("location_id", _U64), ("location_mapping", _U64), ("location_address", _U64),
    ("location_folded", np.uint8), ("location_line_offsets", _I64), ("line_function", _U64),
    ("line_line", _I64), ("function_id", _U64), ("function_name", _I64), ("function_system_name", _I64),
    ("function_filename", _I64), ("function_start_line", _I64), ("mapping_id", _U64),
    ("mapping_start", _U64), ("mapping_limit", _U64), ("mapping_offset", _U64),
    ("mapping_filename", _I64), ("mapping_build_id", _I64), ("mapping_flags", np.uint8),
)
_DECODED_DTYPES = dict(_ENCODE_ORDER)
_STRING_INDEX_FIELDS = ("label_key", "label_str", "label_unit", "function_name", "function_system_name",
                        "function_filename", "mapping_filename", "mapping_build_id")


def string_interner(strings: list[str]) -> Callable[[str], int]:
    """``s_(x)``: the index of `x` in the string table `strings` (its first
    occurrence), appending it when it is not there yet."""
    ix: dict[str, int] = {}
    for i, s in enumerate(strings):
        ix.setdefault(s, i)

    def s_(x: str) -> int:
        i = ix.get(x)
        if i is None:
            i = ix[x] = len(strings)
            strings.append(x)
        return i

    return s_


def _encode(p: Profile, level: int) -> bytes:
    from .. import _core

    strings = list(p.strings) if p.strings else [""]
    if strings[0] != "":
        raise ValueError("Profile.strings must start with the empty string")
    ns = len(strings)
    for f in _STRING_INDEX_FIELDS:
        a = getattr(p, f)
        if len(a) and (a.min() < 0 or a.max() >= ns):
            raise ValueError(f"Profile.{f}: string index out of range (string table has {ns})")
    s_ = string_interner(strings)
    tt = np.array([s_(t) for t, _ in p.sample_types], dtype=_I64)
    tu = np.array([s_(u) for _, u in p.sample_types], dtype=_I64)
    arrays = [tt, tu] + [np.ascontiguousarray(getattr(p, f), dtype=dt).reshape(-1) for f, dt in _ENCODE_ORDER]
    arrays.append(np.array([s_(c) for c in p.comments], dtype=_I64))
    pt = p.period_type
    scal = (s_(p.drop_frames) if p.drop_frames else 0, s_(p.keep_frames) if p.keep_frames else 0,
            int(p.time_nanos), int(p.duration_nanos), int(p.period),
            s_(p.default_sample_type) if p.default_sample_type else 0,
            1 if pt else 0, s_(pt[0]) if pt else 0, s_(pt[1]) if pt else 0)
    return _core.pprof_encode(tuple(arrays), strings, scal, level)


#: the most a gzip'd profile may inflate to (more is refused as it inflates)


def _format_error(e: ValueError, source: str, env: str) -> None:
    """Raise the ProfileFormatError for the decoder's ValueError(message,
    offset, stage) (re-raise anything else)."""
    if len(e.args) == 3:
        msg, off, stage = e.args
        where = " (in the gzip stream)" if stage == "gzip" else ""
        if "inflates to more than" in msg:
            where = f" (the cap on gzip'd input; {env} raises it)"
        raise ProfileFormatError(f"{msg}{where}", source, off) from None
    raise e


def _decode(data: bytes | bytearray | memoryview, source: str) -> Profile:
    from .. import _core

    from .._inputs import MAX_INFLATE_RATIO_ENV, MAX_INFLATED_ENV, max_inflate_ratio, max_inflated
    from . import inflate

    if len(data) == 0:
        raise ProfileFormatError("empty input file", source, 0)
    cap = max_inflated()
    d = None
    ratio = max_inflate_ratio()
    if inflate.is_gzip(data):  # ISA-L's inflate when installed (2-3x zlib's), refused past the cap or the ratio
        from . import gzstream

        try:  # big ones inflated and parsed at once, in two threads
            d = gzstream.decode(data, cap, ratio)
        except ValueError as e:
            _format_error(e, source, MAX_INFLATED_ENV)
    if d is None and inflate.is_gzip(data):
        try:
            data = inflate.gunzip(data, cap, ratio)
        except inflate.GzipError as e:
            where = (f" (the cap on gzip'd input; {MAX_INFLATED_ENV} raises it)" if "inflates to more than" in e.message
                     else f" (the limit on gzip'd input; {MAX_INFLATE_RATIO_ENV} raises it, 0 turns it off)"
                     if "inflates more than" in e.message else " (in the gzip stream)")
            raise ProfileFormatError(f"{e.message}{where}", source, e.offset) from None
    if d is None:
        try:
            d = _core.pprof_decode(data, cap)
        except ValueError as e:
            _format_error(e, source, MAX_INFLATED_ENV)
    strings = d["strings"]
    tt = np.frombuffer(d["type_type"], dtype=_I64)
    tu = np.frombuffer(d["type_unit"], dtype=_I64)
    nt = len(tt)
    arrays = {f: np.frombuffer(d[f], dtype=dt) for f, dt in _ENCODE_ORDER}
    arrays["location_folded"] = arrays["location_folded"].view(np.bool_)  # 0/1 bytes
    arrays["values"] = arrays["values"].reshape(-1, nt) if nt else arrays["values"].reshape(0, 0)
    pt = d["period_type"]
    return Profile(
        strings=strings,
        sample_types=[(strings[a], strings[b]) for a, b in zip(tt.tolist(), tu.tolist())],
        period_type=(strings[pt[0]], strings[pt[1]]) if pt else None,
        period=d["period"], time_nanos=d["time_nanos"], duration_nanos=d["duration_nanos"],
        comments=[strings[i] for i in np.frombuffer(d["comments"], dtype=_I64).tolist()],
        default_sample_type=strings[d["default_sample_type"]],
        drop_frames=strings[d["drop_frames"]], keep_frames=strings[d["keep_frames"]],
        **arrays,
    )


# ---- builder ------------------------------------------------------------------

HEAP_SAMPLE_TYPES = (("alloc_objects", "count"), ("alloc_space", "bytes"),
                     ("inuse_objects", "count"), ("inuse_space", "bytes"))


class ProfileBuilder:
    """Make a Profile sample by sample.

    >>> b = ProfileBuilder()          # Go heap profile layout by default
    >>> b.add_sample([1, 512, 1, 512], [("malloc", "a.c", 10), ("main", "a.c", 3)])
    >>> prof = b.build()

    Stacks are leaf first.  A frame is an int address (a location with no
    line info, attached to the mapping covering it), a tuple
    ``(function, filename, line[, address])``, or a list of such tuples for
    inline frames sharing one location (innermost first).  Locations are
    interned by address when one is given, else by their lines; functions by
    (name, filename).
    """

    def __init__(
        self,
        sample_types: Sequence[tuple[str, str]] = HEAP_SAMPLE_TYPES,
        period_type: tuple[str, str] | None = ("space", "bytes"),
        period: int = 524288,
        default_sample_type: str | None = None,
        time_nanos: int | None = None,
        duration_nanos: int | None = None,
        comments: Sequence[str] = (),
        drop_frames: str = "",
        keep_frames: str = "",
    ) -> None:
        if not sample_types:
            raise ValueError("sample_types: need at least one (type, unit)")
        self.sample_types = [(str(t), str(u)) for t, u in sample_types]
        names = [t for t, _ in self.sample_types]
        if default_sample_type and default_sample_type not in names:
            raise ValueError(f"default_sample_type {default_sample_type!r} is not one of {names}")
        self.period_type = (str(period_type[0]), str(period_type[1])) if period_type else None
        self.period = int(period)
        self.default_sample_type = default_sample_type or ""
        self.time_nanos = int(time_nanos or 0)
        self.duration_nanos = int(duration_nanos or 0)
        self.comments = [str(c) for c in comments]
        self.drop_frames = drop_frames
        self.keep_frames = keep_frames
        self._strings: list[str] = [""]
        self._string_ix: dict[str, int] = {"": 0}
        for t, u in self.sample_types:
            self._s(t), self._s(u)
        if self.period_type:
            self._s(self.period_type[0]), self._s(self.period_type[1])
        for c in self.comments:
            self._s(c)
        for s in (self.drop_frames, self.keep_frames):
            self._s(s)
        self._functions: dict[tuple[str, str], int] = {}
        self._fn_rows: list[tuple[int, int, int, int]] = []  # name, system_name, filename, start_line
        self._locations: dict[Any, int] = {}
        self._loc_rows: list[tuple[int, int]] = []  # mapping id, address
        self._loc_lines: list[list[tuple[int, int]]] = []
        self._loc_unmapped: list[int] = []  # location index needing a mapping lookup
        self._mappings: list[tuple[int, int, int, int, int]] = []
        self._values: list[Sequence[int]] = []
        self._stacks: list[int] = []
        self._stack_offsets: list[int] = [0]
        self._lk: list[int] = []
        self._ls: list[int] = []
        self._ln: list[int] = []
        self._lu: list[int] = []
        self._label_offsets: list[int] = [0]

    def _s(self, s: str) -> int:
        i = self._string_ix.get(s)
        if i is None:
            i = self._string_ix[s] = len(self._strings)
            self._strings.append(s)
        return i

    def add_mapping(self, start: int, limit: int, offset: int = 0, filename: str = "",
                    build_id: str = "", has_functions: bool = True) -> int:
        """Add a mapping (a loaded binary or library); returns its id."""
        if not 0 <= start <= limit:
            raise ValueError(f"mapping [{start:#x}, {limit:#x}): start must be <= limit")
        flags = (HAS_FUNCTIONS | HAS_FILENAMES | HAS_LINE_NUMBERS) if has_functions else 0
        self._mappings.append((int(start), int(limit), int(offset), self._s(filename), self._s(build_id), flags))
        return len(self._mappings)

    def _function(self, name: str, filename: str) -> int:
        key = (name, filename)
        fid = self._functions.get(key)
        if fid is None:
            ni = self._s(name)
            self._fn_rows.append((ni, ni, self._s(filename), 0))
            fid = self._functions[key] = len(self._fn_rows)
        return fid

    def _location(self, frame: Frame) -> int:
        if isinstance(frame, (int, np.integer)):
            key: Any = ("addr", int(frame))
            lines: list[tuple] = []
            addr = int(frame)
        else:
            lines = [frame] if isinstance(frame, tuple) else list(frame)
            if not lines:
                raise ValueError("empty inline frame list")
            addrs = [int(t[3]) for t in lines if len(t) > 3 and t[3]]
            addr = addrs[0] if addrs else 0
            key = ("addr", addr) if addr else ("lines", tuple((str(t[0]), str(t[1]), int(t[2])) for t in lines))
        lid = self._locations.get(key)
        if lid is not None:
            return lid
        rows = []
        for t in lines:
            if len(t) < 3:
                raise ValueError(f"frame {t!r}: expected (function, filename, line[, address])")
            rows.append((self._function(str(t[0]), str(t[1])), int(t[2])))
        self._loc_rows.append((0, addr))
        self._loc_lines.append(rows)
        if addr:
            self._loc_unmapped.append(len(self._loc_rows) - 1)
        lid = self._locations[key] = len(self._loc_rows)
        return lid

    def add_sample(self, values: Sequence[int], stack: Sequence[Frame],
                   labels: Mapping[str, str | Sequence[str]] | None = None,
                   num_labels: Mapping[str, tuple[int, str] | int] | None = None) -> None:
        """Add one sample: `values` (one per sample type), `stack` leaf first,
        string labels ``{key: value}`` and numeric labels ``{key: (value, unit)}``."""
        if len(values) != len(self.sample_types):
            raise ValueError(f"sample has {len(values)} values, profile has {len(self.sample_types)} sample types")
        self._values.append([int(v) for v in values])
        self._stacks.extend(self._location(f) for f in stack)
        self._stack_offsets.append(len(self._stacks))
        for k, v in (labels or {}).items():
            for one in ([v] if isinstance(v, str) else v):
                self._lk.append(self._s(str(k)))
                self._ls.append(self._s(str(one)))
                self._ln.append(0)
                self._lu.append(0)
        for k, nv in (num_labels or {}).items():
            num, unit = (nv, "") if isinstance(nv, (int, np.integer)) else (nv[0], nv[1])
            self._lk.append(self._s(str(k)))
            self._ls.append(0)
            self._ln.append(int(num))
            self._lu.append(self._s(unit) if unit else 0)
        self._label_offsets.append(len(self._lk))

    def build(self) -> Profile:
        """The profile made so far (the builder can go on adding samples)."""
        ms = self._mappings
        if ms and self._loc_unmapped:
            starts = np.array([m[0] for m in ms], dtype=np.uint64)
            limits = np.array([m[1] for m in ms], dtype=np.uint64)
            for li in self._loc_unmapped:
                mid, addr = self._loc_rows[li]
                if mid == 0:
                    hit = np.nonzero((starts <= addr) & (addr < limits))[0]
                    if len(hit):
                        self._loc_rows[li] = (int(hit[0]) + 1, addr)
            self._loc_unmapped = [li for li in self._loc_unmapped if self._loc_rows[li][0] == 0]
        nt = len(self.sample_types)
        line_off = np.zeros(len(self._loc_lines) + 1, dtype=_I64)
        np.cumsum([len(r) for r in self._loc_lines], out=line_off[1:])
        flat_lines = [ln for r in self._loc_lines for ln in r]
        fn = self._fn_rows
        return Profile(
            strings=list(self._strings),
            sample_types=list(self.sample_types),
            values=np.array(self._values, dtype=_I64).reshape(len(self._values), nt),
            sample_loc_offsets=_arr(self._stack_offsets, _I64),
            sample_loc_ids=_arr(self._stacks, _U64),
            sample_label_offsets=_arr(self._label_offsets, _I64),
            label_key=_arr(self._lk, _I64), label_str=_arr(self._ls, _I64),
            label_num=_arr(self._ln, _I64), label_unit=_arr(self._lu, _I64),
            location_id=np.arange(1, len(self._loc_rows) + 1, dtype=_U64),
            location_mapping=_arr((r[0] for r in self._loc_rows), _U64),
            location_address=_arr((r[1] for r in self._loc_rows), _U64),
            location_folded=np.zeros(len(self._loc_rows), dtype=np.bool_),
            location_line_offsets=line_off,
            line_function=_arr((ln[0] for ln in flat_lines), _U64),
            line_line=_arr((ln[1] for ln in flat_lines), _I64),
            function_id=np.arange(1, len(fn) + 1, dtype=_U64),
            function_name=_arr((r[0] for r in fn), _I64),
            function_system_name=_arr((r[1] for r in fn), _I64),
            function_filename=_arr((r[2] for r in fn), _I64),
            function_start_line=_arr((r[3] for r in fn), _I64),
            mapping_id=np.arange(1, len(ms) + 1, dtype=_U64),
            mapping_start=_arr((m[0] for m in ms), _U64),
            mapping_limit=_arr((m[1] for m in ms), _U64),
            mapping_offset=_arr((m[2] for m in ms), _U64),
            mapping_filename=_arr((m[3] for m in ms), _I64),
            mapping_build_id=_arr((m[4] for m in ms), _I64),
            mapping_flags=_arr((m[5] for m in ms), np.uint8),
            period_type=self.period_type,
            period=self.period,
            time_nanos=self.time_nanos,
            duration_nanos=self.duration_nanos,
            comments=list(self.comments),
            default_sample_type=self.default_sample_type,
            drop_frames=self.drop_frames,
            keep_frames=self.keep_frames,
        )

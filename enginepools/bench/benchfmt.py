"""Read and write benchmark results: the Go benchmark format and our JSON.

The Go format (golang proposal 14313, what ``go test -bench`` prints and
``benchstat`` reads) is line based:

* a *configuration line* ``key: value`` (key starts lower-case, has no
  spaces and no upper-case letters) sets ``key`` for every result that
  follows, until the key is set again;
* a *result line* ``BenchmarkName/key=value/…-N  <iters>  <v> <unit> …``
  holds one sample: a name (sub-benchmark parts after ``/``, the
  GOMAXPROCS suffix ``-N``), an iteration count and any number of
  value/unit pairs;
* every other line (``PASS``, ``ok …``, ``# comments``, test logs, a bare
  ``BenchmarkName`` that ``go test -v`` prints before running it) is
  ignored.

Our JSON result file (``"format": "enginepools.bench/1"``, written by
``enginepools bench``) holds the same samples with the file-wide
configuration.  :func:`read` tells the two apart by content, not by the
file name, and returns a flat list of :class:`Record`.  Anything that
cannot be read is an :class:`~enginepools.errors.InputError` naming the
file and line, so the CLI reports it in one line.
"""
from __future__ import annotations

import codecs
import json
import math
import os
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, overload

from .._atomic import write_text
from ..errors import InputError

JSON_FORMAT = "enginepools.bench/1"

# proposal 14313: key begins with a lower-case letter and contains neither
# spaces nor upper-case letters; one or more spaces/tabs follow "key:".
_CONFIG_RE = re.compile(r"^([a-z][^\sA-Z]*?):(?:[ \t]+(.*?))?[ \t]*$")
# "Benchmark" followed by end of name or a character that is not lower-case,
# so "BenchmarkFoo" is a benchmark and "Benchmarking…" is prose.
_RESULT_RE = re.compile(r"^Benchmark(?![a-z])\S*")
_PROCS_RE = re.compile(r"^(.*?)-(\d+)$")


@dataclass(frozen=True)
class Record:
    """One benchmark sample.

    ``name`` is the full name as written (``BenchmarkHashBuffer/impl=pool-2``);
    ``base`` the part before the first ``/`` without the ``-N`` suffix;
    ``sub`` every ``/``-separated part after it, in order; ``parts`` the
    ``key=value`` ones among them as a dict; ``procs`` the GOMAXPROCS
    suffix (None when absent, as Go prints for GOMAXPROCS=1).
    """

    name: str
    base: str
    sub: tuple[str, ...]
    parts: Mapping[str, str]
    procs: int | None
    iterations: int
    values: Mapping[str, float]
    config: Mapping[str, str] = field(default_factory=dict)
    file: str = ""
    line: int = 0

    def label(self, drop: Iterable[str] = ()) -> str:
        """The name as benchstat prints it: without the ``Benchmark``
        prefix, without the ``key=value`` parts whose key is in `drop`."""
        dropped = set(drop)
        kept = [s for s in self.sub if _part_key(s) not in dropped]
        name = self.base[len("Benchmark"):] if self.base.startswith("Benchmark") else self.base
        return join_name(name, kept, self.procs)

    def with_name(self, base: str, sub: Sequence[str]) -> "Record":
        """A copy renamed to `base` + `sub` (same procs, values and origin)."""
        sub = tuple(sub)
        return replace(self, name=join_name(base, sub, self.procs), base=base, sub=sub, parts=_keyed(sub))


def _part_key(part: str) -> str | None:
    return part.split("=", 1)[0] if "=" in part else None


def _keyed(sub: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for s in sub:
        if "=" in s:
            k, v = s.split("=", 1)
            out[k] = v
    return out


def join_name(base: str, sub: Iterable[str], procs: int | None) -> str:
    name = "/".join([base, *sub])
    return f"{name}-{procs}" if procs is not None else name


def parse_name(full: str) -> tuple[str, tuple[str, ...], dict[str, str], int | None]:
    """Split ``BenchmarkX/a=1/b-8`` into (``BenchmarkX``, (``a=1``, ``b``),
    {``a``: ``1``}, 8).  As in Go's benchfmt, a trailing ``-<digits>`` is
    always the GOMAXPROCS suffix."""
    procs: int | None = None
    m = _PROCS_RE.match(full)
    if m:
        full, procs = m.group(1), int(m.group(2))
    base, *sub = full.split("/")
    return base, tuple(sub), _keyed(sub), procs


# Values beyond this magnitude are refused: Go's ParseFloat refuses what
# overflows float64 (1e400), and values near 1.8e308 overflow the sums,
# medians and ratios computed from them.
MAX_MAGNITUDE = 1e300
OUT_OF_RANGE = f" (out of range: magnitude above {MAX_MAGNITUDE:g})"


def parse_number(text: str) -> float:
    """A value as Go prints it; raises ValueError on anything else
    (``ValueError("range")`` for a finite-looking number too large)."""
    v = float(text)
    if text.strip().lower().lstrip("+-") in {"nan", "inf", "infinity"} or math.isnan(v):
        raise ValueError(text)
    return check_magnitude(v)


def check_magnitude(v: float | int) -> float:
    """`v` as a float, ValueError("range") past :data:`MAX_MAGNITUDE`."""
    try:
        f = float(v)
    except OverflowError:
        raise ValueError("range") from None
    if not abs(f) <= MAX_MAGNITUDE:
        raise ValueError("range")
    return f


# ---------------------------------------------------------------- reading

def read(path: str | os.PathLike[str]) -> Sequence[Record]:
    """All samples in `path` (Go text or our JSON, detected by content)."""
    from .._inputs import GiB, read_input

    p = os.fspath(path)
    data = read_input(p, "benchmark result file", 2 * GiB)
    return parse_bytes(data, p)


def _decode(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{file}: not a text file ({e.reason} at byte {e.start})") from None


def _check_utf8(data: bytes, file: str, chunk: int = 1 << 24) -> None:
    """:func:`_decode`'s error, without holding the whole text at once."""
    dec = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    for start in range(0, len(data), chunk):
        pending = len(dec.getstate()[0])
        try:
            dec.decode(view[start:start + chunk], final=start + chunk >= len(data))
        except UnicodeDecodeError as e:
            at = start - pending + e.start
            raise InputError(f"{file}: not a text file ({e.reason} at byte {at})") from None


_LEADING_SPACE = re.compile(rb"[ \t\n\r\x0b\x0c\x1c-\x1f]*")


def parse_bytes(data: bytes, file: str = "<input>") -> Sequence[Record]:
    """:func:`parse` for the bytes of a file: Go benchmark text goes through
    the C scanner (csrc/benchtext.c) into a :class:`Records` sequence that
    makes each :class:`Record` when it is asked for, so 10⁶ lines take
    seconds and a few hundred MB; the lines the scanner leaves (configuration,
    anything unusual) are read here by the same rules as :func:`parse_text`."""
    first = _LEADING_SPACE.match(data).end()  # type: ignore[union-attr]
    if data[first:first + 1] == b"{" or data[first:first + 1] >= b"\x80":
        return parse(_decode(data, file), file)
    from .. import _core

    cols = _core.bench_text_scan(data)
    if cols is None:  # a line break outside ASCII: str.splitlines() rules
        return parse(_decode(data, file), file)
    if cols["non_ascii"]:
        _check_utf8(data, file)
    records = _from_scan(data, cols, file)
    if not records:
        raise InputError(f"{file}: no benchmark results in file")
    return records


def read_many(paths: Iterable[str | os.PathLike[str]]) -> list[Record]:
    out: list[Record] = []
    for p in paths:
        out.extend(read(p))
    return out


def parse(text: str, file: str = "<input>") -> list[Record]:
    """Parse file contents; `file` names the source in records and errors."""
    if text.lstrip().startswith("{"):
        records = parse_json(text, file)
    else:
        records = parse_text(text, file)
    if not records:
        raise InputError(f"{file}: no benchmark results in file")
    return records


def parse_text(text: str, file: str = "<input>") -> list[Record]:
    """Records from Go benchmark text (may be empty)."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: only the line reader takes them
        return parse_lines(text, file)
    from .. import _core

    cols = _core.bench_text_scan(data)
    if cols is None:
        return parse_lines(text, file)
    return list(_from_scan(data, cols, file))


def parse_lines(text: str, file: str = "<input>") -> list[Record]:
    """:func:`parse_text` one line at a time in Python: the reference the
    scanner's fast path keeps to, and the reader of what it leaves."""
    return _read_lines(enumerate(text.splitlines(), 1), file)


def _read_lines(lines: Iterable[tuple[int, str]], file: str,
                on_config: Callable[[int, dict[str, str]], None] | None = None) -> list[Record]:
    """The records of numbered lines; `on_config(lineno, config)` sees each
    configuration change."""
    config: dict[str, str] = {}
    records: list[Record] = []
    for lineno, line in lines:
        if _RESULT_RE.match(line):
            rec = _parse_result(line, config, file, lineno)
            if rec is not None:
                records.append(rec)
            continue
        m = _CONFIG_RE.match(line)
        if m:
            key, value = m.group(1), m.group(2) or ""
            if value:
                config = {**config, key: value}
            else:  # "key:" with an empty value unsets the key
                config = {k: v for k, v in config.items() if k != key}
            if on_config is not None:
                on_config(lineno, config)
    return records


def _parse_result(line: str, config: Mapping[str, str], file: str, lineno: int) -> Record | None:
    fields = line.split()
    if len(fields) == 1:
        return None  # "BenchmarkFoo" alone: go test -v announcing a benchmark
    where = f"{file}:{lineno}"
    name = fields[0]
    try:
        iterations = int(fields[1])
    except ValueError:
        raise InputError(f"{where}: {name}: iteration count {fields[1]!r} is not an integer") from None
    if iterations < 0:
        raise InputError(f"{where}: {name}: negative iteration count {iterations}")
    rest = fields[2:]
    if not rest:
        raise InputError(f"{where}: {name}: no measurements after the iteration count")
    if len(rest) % 2:
        raise InputError(f"{where}: {name}: value {rest[-1]!r} has no unit")
    values: dict[str, float] = {}
    for v, unit in zip(rest[::2], rest[1::2]):
        try:
            values[unit] = parse_number(v)
        except ValueError as e:
            why = OUT_OF_RANGE if e.args == ("range",) else ""
            raise InputError(f"{where}: {name}: malformed value {v!r} for unit {unit}{why}") from None
    base, sub, parts, procs = parse_name(name)
    return Record(name, base, sub, parts, procs, iterations, values, dict(config), file, lineno)


def _from_scan(data: bytes, cols: dict, file: str) -> "Records":
    """Records from the scanner's arrays, with the lines it left (in file
    order: configuration lines, unusual result lines) read by
    :func:`parse_lines`' rules."""
    import numpy as np

    lines = np.frombuffer(cols["line"], dtype=np.int64)
    names: list[str] = cols["names"]
    units: list[str] = cols["units"]
    name_idx = np.frombuffer(cols["name"], dtype=np.int32)
    iters = np.frombuffer(cols["iters"], dtype=np.int64)
    vend = np.frombuffer(cols["vend"], dtype=np.int64)
    values = np.frombuffer(cols["value"], dtype=np.float64)
    unit_idx = np.frombuffer(cols["unit"], dtype=np.int32)
    other = zip(*(np.frombuffer(cols[k], dtype=np.int64).tolist() for k in ("other_line", "other_off", "other_len")))
    configs: list[dict[str, str]] = [{}]
    changes: list[int] = [0]

    def changed(lineno: int, config: dict[str, str]) -> None:
        configs.append(config)
        changes.append(lineno)

    extras = _read_lines(((lineno, data[off:off + n].decode("utf-8")) for lineno, off, n in other), file, changed)
    cfg_idx = np.searchsorted(np.asarray(changes, dtype=np.int64), lines, side="right").astype(np.int32) - 1
    return Records(file, names, units, lines, name_idx, iters, vend, values, unit_idx, cfg_idx, configs, extras)


class Records(Sequence[Record]):
    """The records of one Go benchmark text, held as arrays (see
    :func:`parse_bytes`): a read-only sequence that makes each
    :class:`Record` when indexed or iterated.  Compares equal to a list of
    the same records; ``+`` gives a list."""

    _CHUNK = 1 << 14

    def __init__(self, file: str, names: list[str], units: list[str], lines: Any, name_idx: Any, iters: Any,
                 vend: Any, values: Any, unit_idx: Any, cfg_idx: Any, configs: list[dict[str, str]],
                 extras: list[Record]) -> None:
        import numpy as np

        self._file, self._names, self._units, self._configs = file, names, units, configs
        self._lines, self._name_idx, self._iters, self._vend = lines, name_idx, iters, vend
        self._values, self._unit_idx, self._cfg_idx = values, unit_idx, cfg_idx
        self._extras = extras
        self._parsed: dict[int, tuple[str, str, tuple[str, ...], dict[str, str], int | None]] = {}
        self._n = len(lines) + len(extras)
        self._order = None  # merged position -> scanned index (>= 0) or -1 - extra index
        if extras:
            ex_lines = np.asarray([r.line for r in extras], dtype=np.int64)
            order = np.empty(self._n, dtype=np.int64)
            scanned_pos = np.arange(len(lines)) + np.searchsorted(ex_lines, lines)
            extra_pos = np.arange(len(extras)) + np.searchsorted(lines, ex_lines)
            order[scanned_pos] = np.arange(len(lines))
            order[extra_pos] = -1 - np.arange(len(extras))
            self._order = order

    def __len__(self) -> int:
        return self._n

    def _name(self, i: int) -> tuple[str, str, tuple[str, ...], dict[str, str], int | None]:
        got = self._parsed.get(i)
        if got is None:
            name = self._names[i]
            got = self._parsed[i] = (name, *parse_name(name))
        return got

    def _scanned(self, i: int) -> Record:
        name, base, sub, parts, procs = self._name(int(self._name_idx[i]))
        a = int(self._vend[i - 1]) if i else 0
        b = int(self._vend[i])
        values = dict(zip([self._units[u] for u in self._unit_idx[a:b].tolist()], self._values[a:b].tolist()))
        return Record(name, base, sub, parts, procs, int(self._iters[i]), values,
                      dict(self._configs[int(self._cfg_idx[i])]), self._file, int(self._lines[i]))

    def _at(self, k: int) -> Record:
        if self._order is None:
            return self._scanned(k)
        j = int(self._order[k])
        return self._scanned(j) if j >= 0 else self._extras[-1 - j]

    @overload
    def __getitem__(self, k: int) -> Record: ...

    @overload
    def __getitem__(self, k: slice) -> list[Record]: ...

    def __getitem__(self, k: int | slice) -> Record | list[Record]:
        if isinstance(k, slice):
            return [self._at(i) for i in range(*k.indices(self._n))]
        if k < 0:
            k += self._n
        if not 0 <= k < self._n:
            raise IndexError("Records index out of range")
        return self._at(k)

    def __iter__(self) -> Iterator[Record]:
        if self._order is not None:
            for k in range(self._n):
                yield self._at(k)
            return
        units, configs, file = self._units, self._configs, self._file
        for start in range(0, self._n, self._CHUNK):
            stop = min(self._n, start + self._CHUNK)
            v0 = int(self._vend[start - 1]) if start else 0
            ends = (self._vend[start:stop] - v0).tolist()
            vals = self._values[v0:int(self._vend[stop - 1])].tolist()
            unit_names = [units[u] for u in self._unit_idx[v0:int(self._vend[stop - 1])].tolist()]
            a = 0
            for i, name_i, it, cfg, line, b in zip(range(start, stop), self._name_idx[start:stop].tolist(),
                                                   self._iters[start:stop].tolist(),
                                                   self._cfg_idx[start:stop].tolist(),
                                                   self._lines[start:stop].tolist(), ends):
                name, base, sub, parts, procs = self._name(name_i)
                yield Record(name, base, sub, parts, procs, it, dict(zip(unit_names[a:b], vals[a:b])),
                             dict(configs[cfg]), file, line)
                a = b

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Records, list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: Iterable[Record]) -> list[Record]:
        return [*self, *other]

    def __radd__(self, other: Iterable[Record]) -> list[Record]:
        return [*other, *self]

    def __repr__(self) -> str:
        return f"<Records: {self._n} from {self._file}>"


def parse_json(text: str, file: str = "<input>") -> list[Record]:
    """Records from an ``enginepools.bench/1`` JSON document (may be empty)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{file}:{e.lineno}: not valid JSON: {e.msg}") from None
    if not isinstance(doc, dict) or not str(doc.get("format", "")).startswith("enginepools.bench/"):
        raise InputError(f"{file}: JSON but not an enginepools result file (no \"format\": \"{JSON_FORMAT}\")")
    if doc["format"] != JSON_FORMAT:
        raise InputError(f"{file}: unsupported result format {doc['format']!r} (this version reads {JSON_FORMAT})")
    raw_config = doc.get("config") or {}
    if not isinstance(raw_config, dict):
        raise InputError(f"{file}: \"config\" must be an object")
    config = {str(k): str(v) for k, v in raw_config.items()}
    samples = doc.get("samples")
    if not isinstance(samples, list):
        raise InputError(f"{file}: \"samples\" must be a list")
    lines = _sample_lines(text, len(samples))
    records: list[Record] = []
    for i, s in enumerate(samples):
        where = f"{file}:{lines[i]}" if lines[i] else f"{file}: samples[{i}]"
        if not isinstance(s, dict) or not isinstance(s.get("name"), str) or not s["name"]:
            raise InputError(f"{where}: sample without a \"name\"")
        name = s["name"]
        it = s.get("iterations")
        if not isinstance(it, int) or isinstance(it, bool) or it < 0:
            raise InputError(f"{where}: {name}: \"iterations\" must be a non-negative integer, got {it!r}")
        vals = s.get("values")
        if not isinstance(vals, dict) or not vals:
            raise InputError(f"{where}: {name}: \"values\" must be a non-empty object of unit: number")
        values: dict[str, float] = {}
        for unit, v in vals.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or isinstance(v, float) and not math.isfinite(v):
                raise InputError(f"{where}: {name}: malformed value {v!r} for unit {unit}")
            try:
                values[str(unit)] = check_magnitude(v)
            except ValueError:
                raise InputError(f"{where}: {name}: malformed value {v!r} for unit {unit}{OUT_OF_RANGE}") from None
        base, sub, parts, procs = parse_name(name)
        records.append(Record(name, base, sub, parts, procs, it, values, dict(config), file, lines[i]))
    return records


def _sample_lines(text: str, count: int) -> list[int]:
    """Best-effort line number of each sample's ``"name"`` key, so errors
    point into the file; 0 where it cannot be told."""
    out: list[int] = []
    start = text.find('"samples"')
    if start < 0:
        return [0] * count
    for m in re.finditer(r'"name"\s*:', text[start:]):
        out.append(text.count("\n", 0, start + m.start()) + 1)
    return out[:count] if len(out) >= count else [0] * count


# ---------------------------------------------------------------- writing

def format_value(v: float) -> str:
    """Shortest text that reads back as the same float (integers bare)."""
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def format_result(rec: Record) -> str:
    pairs = "\t".join(f"{format_value(v)} {unit}" for unit, v in rec.values.items())
    return f"{rec.name}\t{rec.iterations}\t{pairs}"


def format_text(records: Iterable[Record]) -> str:
    """Go benchmark text for `records`: a configuration line wherever the
    configuration changes (and an empty value to unset a key), then the
    result lines.  :func:`parse_text` reads it back to equal records."""
    out: list[str] = []
    current: dict[str, str] = {}
    for rec in records:
        cfg = dict(rec.config)
        if cfg != current:
            changed = [k for k in cfg if current.get(k) != cfg[k]]
            removed = [k for k in current if k not in cfg]
            if out:
                out.append("")
            out.extend(f"{k}:" for k in removed)
            out.extend(f"{k}: {cfg[k]}" for k in changed)
            current = cfg
        out.append(format_result(rec))
    return "\n".join(out) + "\n"


def write(path: str | os.PathLike[str], records: Iterable[Record]) -> None:
    """Write `records` as Go benchmark text, atomically."""
    write_text(path, format_text(records))


def make_record(name: str, iterations: int, values: Mapping[str, float],
                config: Mapping[str, str] | None = None, file: str = "", line: int = 0) -> Record:
    """Build a Record from a full benchmark name (helper for writers/tests)."""
    base, sub, parts, procs = parse_name(name)
    return Record(name, base, sub, parts, procs, int(iterations), dict(values), dict(config or {}), file, line)


__all__ = [
    "JSON_FORMAT", "Record", "Records", "read", "read_many", "parse", "parse_bytes", "parse_text", "parse_lines",
    "parse_json", "parse_name",
    "join_name", "format_text", "format_result", "format_value", "write", "make_record",
]


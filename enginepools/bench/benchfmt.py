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

import json
import math
import os
import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Sequence

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

def read(path: str | os.PathLike[str]) -> list[Record]:
    """All samples in `path` (Go text or our JSON, detected by content)."""
    from .._inputs import GiB, read_input

    p = os.fspath(path)
    data = read_input(p, "benchmark result file", 2 * GiB)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{p}: not a text file ({e.reason} at byte {e.start})") from None
    return parse(text, p)


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
    config: dict[str, str] = {}
    records: list[Record] = []
    for lineno, line in enumerate(text.splitlines(), 1):
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
    "JSON_FORMAT", "Record", "read", "read_many", "parse", "parse_text", "parse_json", "parse_name",
    "join_name", "format_text", "format_result", "format_value", "write", "make_record",
]


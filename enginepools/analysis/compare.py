"""Comparison tables, benchstat style.

Three ways to lay samples out in columns:

* :func:`compare` / :func:`compare_files` — one column per file, every
  other file compared with the first (``benchstat old.txt new.txt``);
* :func:`compare_columns` — one column per value of a name part, e.g.
  ``-col /impl``: ``BenchmarkHashBuffer/impl=pool`` against
  ``BenchmarkHashBuffer/impl=std`` within one file, base ``std``;
  :func:`pair_variants` first maps suffix-named variants
  (``BenchmarkStringBuilderWithPool`` / ``…Standard``) onto such a part;
* :func:`summarize_records` — a single column, no comparison.

Rows are benchmarks (the name without the column part), one table per
package and unit.  Each cell is a :class:`~enginepools.analysis.stats.Summary`; each
(row, non-base column) pair is a :class:`Row` holding both summaries, Δ,
the U-test p-value and the warnings.  Rendering is in
:mod:`enginepools.analysis.tables`.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..bench import benchfmt
from . import stats
from ..bench.benchfmt import Record
from ..errors import InputError, UsageError



@dataclass(frozen=True)
class Row:
    """One comparison: benchmark `name`, `unit`, column `new_label` against
    the base column `old_label`."""

    name: str
    unit: str
    pkg: str
    old_label: str
    new_label: str
    old: stats.Summary
    new: stats.Summary
    old_values: tuple[float, ...]
    new_values: tuple[float, ...]
    comparison: stats.Comparison
    delta: float | None  # fraction: (new - old) / old of the medians
    p_value: float | None  # Holm-adjusted when the table was corrected
    alpha: float
    holm: bool = False

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value <= self.alpha

    @property
    def delta_pct(self) -> float | None:
        return None if self.delta is None else 100.0 * self.delta

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.old.warnings + self.new.warnings + self.comparison.warnings))

    def to_dict(self) -> dict[str, Any]:
        """The JSON row: ``name, unit, old, new, delta_pct, p_value,
        significant`` plus ``pkg, old_label, new_label, p_raw, holm,
        warnings``."""
        return {
            "name": self.name,
            "unit": self.unit,
            "old": summary_dict(self.old),
            "new": summary_dict(self.new),
            "delta_pct": self.delta_pct,
            "p_value": self.p_value,
            "significant": self.significant,
            "pkg": self.pkg,
            "old_label": self.old_label,
            "new_label": self.new_label,
            "p_raw": self.comparison.p,
            "holm": self.holm,
            "warnings": list(self.warnings),
        }


def summary_dict(s: stats.Summary) -> dict[str, Any]:
    finite = s.has_ci
    return {"median": s.center, "ci_low": s.lo if finite else None,
            "ci_high": s.hi if finite else None, "n": s.n}


@dataclass
class Table:
    """All benchmarks of one package in one unit."""

    pkg: str
    unit: str
    columns: list[str]  # base first
    base: str
    names: list[str]
    cells: dict[tuple[str, str], stats.Summary]  # (name, column) -> summary
    rows: list[Row]
    # The geomean row (benchstat's), present when the table has more than one
    # row: per column the geomean of its medians (None unless all are > 0),
    # per compared column the geomean of the row ratios new/old (None when
    # a base median is 0 or a ratio is not > 0), and the warnings of each.
    geomeans: dict[str, float | None] = field(default_factory=dict)  # empty: no geomean row
    geomean_ratios: dict[str, float | None] = field(default_factory=dict)
    geomean_warnings: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def compared(self) -> bool:
        return len(self.columns) > 1

    def geomean_delta(self, column: str) -> float | None:
        """Δ of `column` against the base column in the geomean row: the
        geomean of the row ratios minus 1 (None when it has none)."""
        ratio = self.geomean_ratios.get(column)
        return None if ratio is None else ratio - 1.0


@dataclass
class Result:
    tables: list[Table]
    config: dict[str, str]  # configuration shared by every record
    alpha: float
    holm: bool
    confidence: float
    mode: str  # "files", "col" or "single"
    col: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> list[Row]:
        return [r for t in self.tables for r in t.rows]

    def _repr_html_(self) -> str:
        from .tables import to_html

        return to_html(self)

    def to_json_rows(self) -> list[dict[str, Any]]:
        if self.mode == "single":
            return [
                {"name": n, "unit": t.unit, "old": summary_dict(t.cells[(n, t.base)]), "new": None,
                 "delta_pct": None, "p_value": None, "significant": False, "pkg": t.pkg,
                 "old_label": t.base, "new_label": None, "p_raw": None, "holm": False,
                 "warnings": list(t.cells[(n, t.base)].warnings)}
                for t in self.tables for n in t.names if (n, t.base) in t.cells
            ]
        return [r.to_dict() for r in self.rows]


# ------------------------------------------------------------ entry points

def _load(src: Any) -> list[Record]:
    if isinstance(src, (str, os.PathLike)):
        return benchfmt.read(src)
    return list(src)


def compare(old: Any, new: Any, **kw: Any) -> Result:
    """``benchstat OLD NEW``: `old` and `new` are paths or record lists."""
    return compare_files([old, new], **kw)


def compare_files(sources: Sequence[Any], labels: Sequence[str] | None = None, *,
                  alpha: float = stats.ALPHA, holm: bool = False, filter: str | None = None,
                  confidence: float = stats.CONFIDENCE) -> Result:
    """One column per source; every column compared with the first.
    Units must match between sources for each benchmark."""
    if len(sources) < 2:
        raise InputError("compare_files: need at least two inputs")
    loaded = [_load(s) for s in sources]
    if labels is None:
        labels = file_labels([s if isinstance(s, (str, os.PathLike)) else (recs[0].file if recs else f"#{i}")
                              for i, (s, recs) in enumerate(zip(sources, loaded))])
    if len(set(labels)) != len(labels):
        raise InputError(f"column labels are not unique: {', '.join(labels)}")
    entries = []
    for label, recs in zip(labels, loaded):
        for r in _filtered(recs, filter):
            entries.append((r, r.label(), label))
    tables = _build(entries, list(labels), labels[0], alpha=alpha, holm=holm, confidence=confidence,
                    strict_units=True)
    notes = _config_notes(entries)
    compared = {r.new_label for t in tables for r in t.rows}
    for label in labels[1:]:
        if label not in compared:
            notes.append(f"nothing compared for {label}: no benchmark in it has the same pkg and name "
                         f"as one in {labels[0]}")
    return Result(tables, _common_config(entries), alpha, holm, confidence, "files", notes=notes)


def compare_columns(records: Iterable[Record], col: str = "impl", base: str | None = None, *,
                    pairs: Sequence[tuple[str, str]] = (), alpha: float = stats.ALPHA, holm: bool = False,
                    filter: str | None = None, confidence: float = stats.CONFIDENCE) -> Result:
    """``-col /KEY``: columns are the values of name part KEY (default
    ``impl``); `base` (default the old suffix of the first pair, else
    ``std``) is compared with every other value.  `pairs` are
    (new_suffix, old_suffix) for :func:`pair_variants`."""
    key = parse_col(col)
    recs = _filtered(list(records), filter)
    if pairs:
        recs = pair_variants(recs, pairs, key)
    entries = []
    missing: list[str] = []
    for r in recs:
        if key in r.parts:
            entries.append((r, r.label(drop=[key]), r.parts[key]))
        elif r.label() not in missing:
            missing.append(r.label())
    if not entries:
        how = f" after -pair {', '.join(f'{a}:{b}' for a, b in pairs)}" if pairs else ""
        keys = sorted({k for r in recs for k in r.parts})
        hint = (f" (the names have {', '.join(f'/{k}=' for k in keys)}: try -col /{keys[0]})" if keys
                else " (pair by name suffix with -pair NEW:OLD)")
        raise InputError(f"no benchmark name has a /{key}= part{how}{hint}")
    seen = list(dict.fromkeys(c for _, _, c in entries))
    # Column groups (base, others): one per distinct OLD suffix of the pairs
    # (each pair compares its own two variants), else one for -base.
    if pairs and base is None:
        groups = [(old, [n for n, o in pairs if o == old]) for old in dict.fromkeys(o for _, o in pairs)]
    else:
        base = base or "std"
        groups = [(base, [c for c in seen if c != base])]
    tables: list[Table] = []
    for gbase, others in groups:
        if gbase not in seen:
            raise InputError(f"no benchmark has /{key}={gbase} to compare against "
                             f"(values seen: {', '.join(seen)}; choose one with -base)")
        columns = [gbase] + [c for c in others if c in seen]
        chosen = [e for e in entries if e[2] in columns]
        tables += _build(chosen, columns, gbase, alpha=alpha, holm=holm, confidence=confidence,
                         strict_units=False)
    notes = _config_notes(entries)
    if missing:
        notes.append(f"not compared (no /{key}): {', '.join(missing)}")
    return Result(tables, _common_config(entries), alpha, holm, confidence, "col", col=key, notes=notes)


def summarize_records(records: Iterable[Record], *, filter: str | None = None,
                      confidence: float = stats.CONFIDENCE, label: str | None = None) -> Result:
    """A single column: median ± interval per benchmark and unit."""
    recs = _filtered(list(records), filter)
    label = label or (file_labels(list(dict.fromkeys(r.file for r in recs)))[0] if recs else "")
    entries = [(r, r.label(), label) for r in recs]
    tables = _build(entries, [label], label, alpha=stats.ALPHA, holm=False, confidence=confidence,
                    strict_units=False)
    return Result(tables, _common_config(entries), stats.ALPHA, False, confidence, "single",
                  notes=_config_notes(entries))


# ---------------------------------------------------------------- helpers

def parse_col(col: str) -> str:
    """``/impl`` or ``impl`` -> ``impl``."""
    key = col[1:] if col.startswith("/") else col
    if not key or "/" in key or "=" in key or any(c.isspace() for c in key):
        raise UsageError(f"-col {col!r}: expected /KEY, e.g. /impl")
    return key


def parse_pair(text: str) -> tuple[str, str]:
    """``NEW:OLD`` suffixes, e.g. ``WithPool:Standard``."""
    new, sep, old = text.partition(":")
    if not sep or not new or not old or new == old or ":" in old:
        raise UsageError(f"-pair {text!r}: expected NEW:OLD name suffixes, e.g. WithPool:Standard")
    return new, old


def pair_variants(records: Iterable[Record], pairs: Sequence[tuple[str, str]], key: str = "impl") -> list[Record]:
    """Turn suffix-named variants into one benchmark with a ``key`` part.

    For each pair (new, old), a benchmark whose last positional name
    segment ends with ``new`` or ``old`` is renamed: the suffix is cut off
    and ``/key=<suffix>`` takes its place, so ``BenchmarkStringBuilderWithPool-8``
    becomes ``BenchmarkStringBuilder/impl=WithPool-8`` and
    ``BenchmarkPool/NoPool`` becomes ``BenchmarkPool/impl=NoPool``.  The
    longest matching suffix wins; names that already have ``key``, or that
    would lose their whole base name, are left alone."""
    suffixes = sorted({s for p in pairs for s in p}, key=len, reverse=True)
    out: list[Record] = []
    for r in records:
        out.append(_pair_one(r, suffixes, key) if key not in r.parts else r)
    return out


def _pair_one(r: Record, suffixes: Sequence[str], key: str) -> Record:
    positional = [i for i, s in enumerate(r.sub) if "=" not in s]
    idx = positional[-1] if positional else -1  # -1: the base name
    segment = r.sub[idx] if idx >= 0 else r.base
    for suffix in suffixes:
        if not segment.endswith(suffix):
            continue
        rest = segment[: -len(suffix)]
        part = f"{key}={suffix}"
        if idx < 0:
            if rest in ("", "Benchmark"):
                return r
            return r.with_name(rest, (part, *r.sub))
        sub = list(r.sub)
        sub[idx: idx + 1] = [rest, part] if rest else [part]
        return r.with_name(r.base, sub)
    return r


def file_labels(paths: Sequence[Any]) -> list[str]:
    """Column labels for files: base names, or the paths as given when
    base names collide."""
    names = [os.path.basename(os.fspath(p)) or os.fspath(p) for p in paths]
    if len(set(names)) == len(names):
        return names
    return [os.fspath(p) for p in paths]


def _filtered(records: list[Record], pattern: str | None) -> list[Record]:
    if not pattern:
        return records
    try:
        rx = re.compile(pattern)
    except re.error as e:
        raise UsageError(f"-filter {pattern!r}: bad regular expression: {e}") from None
    kept = [r for r in records if rx.search(r.name)]
    if not kept:
        raise InputError(f"-filter {pattern!r}: no benchmark name matches")
    return kept


def _common_config(entries: Sequence[tuple[Record, str, str]]) -> dict[str, str]:
    recs = [e[0] for e in entries]
    if not recs:
        return {}
    common = dict(recs[0].config)
    for r in recs[1:]:
        common = {k: v for k, v in common.items() if r.config.get(k) == v}
    return common


def _config_notes(entries: Sequence[tuple[Record, str, str]]) -> list[str]:
    """Say when inputs differ in configuration other than pkg (e.g. cpu)."""
    seen: dict[str, dict[str, None]] = {}
    for r, _, _ in entries:
        for k, v in r.config.items():
            seen.setdefault(k, {})[v] = None
    return [f"{k} differs between inputs: {' | '.join(vs)}" for k, vs in seen.items()
            if k != "pkg" and len(vs) > 1]


def _build(entries: Sequence[tuple[Record, str, str]], columns: list[str], base: str, *, alpha: float,
           holm: bool, confidence: float, strict_units: bool) -> list[Table]:
    """Group (record, row name, column) into tables per (pkg, unit)."""
    # pkg -> name -> column -> unit -> values, all in first-seen order
    data: dict[str, dict[str, dict[str, dict[str, list[float]]]]] = {}
    origin: dict[tuple[str, str, str], str] = {}
    for r, name, column in entries:
        pkg = r.config.get("pkg", "")
        cell = data.setdefault(pkg, {}).setdefault(name, {}).setdefault(column, {})
        for unit, v in r.values.items():
            cell.setdefault(unit, []).append(v)
        origin.setdefault((pkg, name, column), r.file)
    if strict_units:
        _check_units(data, base, origin)
    tables: list[Table] = []
    for pkg, names in data.items():
        units = list(dict.fromkeys(u for cols in names.values() for unit_map in cols.values() for u in unit_map))
        for unit in units:
            tables.append(_table(pkg, unit, names, columns, base, alpha, holm, confidence))
    return tables


def _check_units(data: Mapping[str, Mapping[str, Mapping[str, Mapping[str, list[float]]]]], base: str,
                 origin: Mapping[tuple[str, str, str], str]) -> None:
    for pkg, names in data.items():
        for name, cols in names.items():
            if base not in cols:
                continue
            want = list(cols[base])
            for col, unit_map in cols.items():
                if col != base and set(unit_map) != set(want):
                    raise InputError(
                        f"{name}: units differ between {origin[(pkg, name, base)]} ({', '.join(want)}) "
                        f"and {origin[(pkg, name, col)]} ({', '.join(unit_map)})")


def _table(pkg: str, unit: str, names: Mapping[str, Mapping[str, Mapping[str, list[float]]]],
           columns: list[str], base: str, alpha: float, holm: bool, confidence: float) -> Table:
    cells: dict[tuple[str, str], stats.Summary] = {}
    values: dict[tuple[str, str], np.ndarray] = {}
    row_names: list[str] = []
    for name, cols in names.items():
        present = False
        for col in columns:
            v = cols.get(col, {}).get(unit)
            if v:
                arr = np.asarray(v, dtype=float)
                values[(name, col)] = arr
                cells[(name, col)] = stats.summarize(arr, confidence)
                present = True
        if present:
            row_names.append(name)
    # As benchstat: a table has only the columns that have a value in it,
    # and its first column is its base.
    columns = [c for c in columns if any((n, c) in cells for n in row_names)]
    if base not in columns:
        base = columns[0]
    pending: list[tuple[str, str, stats.Comparison, float | None]] = []
    for name in row_names:
        for col in columns[1:]:
            if (name, base) in cells and (name, col) in cells:
                cmp = stats.compare_samples(values[(name, base)], values[(name, col)], alpha)
                d = stats.delta(cells[(name, base)].center, cells[(name, col)].center)
                pending.append((name, col, cmp, d))
    raw = [c.p for _, _, c, _ in pending]
    reported = stats.holm(raw) if holm else raw
    rows = [
        Row(name, unit, pkg, base, col, cells[(name, base)], cells[(name, col)],
            tuple(values[(name, base)].tolist()), tuple(values[(name, col)].tolist()), cmp, d, p, alpha, holm)
        for (name, col, cmp, d), p in zip(pending, reported)
    ]
    table = Table(pkg, unit, columns, base, row_names, cells, rows)
    if len(row_names) > 1:
        _geomean_row(table)
    return table


GEOMEAN_SET_DIFFERS = "benchmark set differs from baseline; geomeans may not be comparable"
GEOMEAN_NOT_POSITIVE = "summaries must be >0 to compute geomean"
GEOMEAN_RATIOS_NOT_POSITIVE = "ratios must be >0 to compute geomean"


def _geomean_row(t: Table) -> None:
    """benchstat's summary row: every column's medians, and for compared
    columns the ratios to the base of the rows that have both."""
    n_base = sum((n, t.base) in t.cells for n in t.names)
    for col in t.columns:
        is_base = col == t.base
        centers: list[float] = []
        ratios: list[float] = []
        bad_ratio = False
        for name in t.names:
            cell = t.cells.get((name, col))
            if cell is None:
                continue
            centers.append(cell.center)
            old = t.cells.get((name, t.base))
            if is_base or old is None:
                continue
            if cell.center == old.center:
                ratios.append(1.0)
            elif old.center == 0:
                bad_ratio = True
                ratios.append(0.0)
            else:
                ratios.append(cell.center / old.center)
        warnings: list[str] = []
        if not is_base and n_base != len(ratios):
            warnings.append(GEOMEAN_SET_DIFFERS)
        t.geomeans[col] = stats.geomean(centers)
        if t.geomeans[col] is None:
            warnings.append(GEOMEAN_NOT_POSITIVE)
        if not is_base:
            t.geomean_ratios[col] = None if bad_ratio else stats.geomean(ratios)
            if not bad_ratio and t.geomean_ratios[col] is None:
                warnings.append(GEOMEAN_RATIOS_NOT_POSITIVE)
        t.geomean_warnings[col] = tuple(warnings)


def geomean_delta(table: Table, column: str) -> float | None:
    return table.geomean_delta(column)


__all__ = ["Row", "Table", "Result", "compare", "compare_files", "compare_columns", "summarize_records",
           "pair_variants", "parse_pair", "parse_col", "file_labels", "geomean_delta"]

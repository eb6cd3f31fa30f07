"""Render a :class:`~enginepools.analysis.compare.Result` as text, CSV, Markdown or JSON.

Text is benchstat's (golang.org/x/perf/cmd/benchstat, v2): one table per
unit, ``median ± CI%`` per column, then against the base column either
``~`` (not significant at α, or not testable) or Δ, the U-test p-value and
the sample counts, a geomean row, and numbered footnotes for warnings.
Units are tidied and values scaled as benchstat does: ``ns`` in a unit's
numerator becomes ``sec`` (``ns/op`` → ``sec/op``, ``clear-ns/op`` →
``clear-sec/op``), ``MB`` becomes ``B`` (``MB/s`` → ``B/s``); units with
bytes in the numerator take binary prefixes (``64.00Ki``), the others SI
prefixes; every row shares one scale, chosen so that its smallest value
keeps four significant digits.  The column layout is benchstat's texttab:
tests/test_benchstat_fixtures.py checks the output byte for byte against
benchstat's on recorded inputs.

CSV and JSON carry the raw numbers in the input's units, one row per
(benchmark, unit, compared column).
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from typing import TYPE_CHECKING, Any, Sequence

from . import stats

if TYPE_CHECKING:
    from .compare import Result, Row, Table

FORMATS = ("text", "csv", "markdown", "json")

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def render(result: Result, fmt: str = "text") -> str:
    if fmt == "text":
        return render_text(result)
    if fmt == "csv":
        return render_csv(result)
    if fmt == "markdown":
        return render_markdown(result)
    if fmt == "json":
        return render_json(result)
    raise ValueError(f"unknown format {fmt!r} (want one of {', '.join(FORMATS)})")


# ------------------------------------------------------- units and scaling

_UNIT_TOKEN = re.compile(r"[^*/\-\s]+|[*/]")


def _unit_tokens(unit: str) -> list[tuple[int, str, bool]]:
    """(position, token, in denominator) as benchunit's parser splits a
    unit: ``*`` and ``/`` switch numerator/denominator, ``-`` and spaces
    only separate."""
    out: list[tuple[int, str, bool]] = []
    denom = False
    for m in _UNIT_TOKEN.finditer(unit):
        tok = m.group()
        if tok in ("*", "/"):
            denom = tok == "/"
        else:
            out.append((m.start(), tok, denom))
    return out


def tidy_unit(unit: str) -> tuple[str, float]:
    """benchunit.Tidy: (display unit, factor to multiply values by)."""
    factor = 1.0
    edits: list[tuple[int, int, str]] = []
    for pos, tok, denom in _unit_tokens(unit):
        if denom:
            continue
        if tok == "ns":
            edits.append((pos, 2, "sec"))
            factor /= 1e9
        elif tok == "MB":
            edits.append((pos, 2, "B"))
            factor *= 1e6
    for pos, n, rep in reversed(edits):
        unit = unit[:pos] + rep + unit[pos + n:]
    return unit, factor


def unit_kind(unit: str) -> str:
    """benchunit.ClassOf: ``iec`` (powers of 1024) when bytes are in the
    numerator, else ``si``."""
    binary = any(tok in ("B", "MB", "bytes") and not denom for _, tok, denom in _unit_tokens(unit))
    return "iec" if binary else "si"


def display_unit(unit: str) -> tuple[str, float, str]:
    """(label, factor, prefix kind) benchstat uses to show `unit`."""
    label, factor = tidy_unit(unit)
    return label, factor, unit_kind(label)


def _si_factors() -> list[tuple[float, str, float, float, float]]:
    out = []
    exp = 12
    for prefix in ("T", "G", "M", "k", "", "m", "µ", "n"):
        out.append((10.0 ** exp, prefix, float(f"99.995e{exp}"), float(f"9.9995e{exp}"), float(f".99995e{exp}")))
        exp -= 3
    return out


def _iec_factors() -> list[tuple[float, str, float, float, float]]:
    out = []
    exp = 40
    for prefix in ("Ti", "Gi", "Mi", "Ki", ""):
        out.append((2.0 ** exp, prefix, float.fromhex(f"0x1.8ffae147ae148p{6 + exp}"),
                    float.fromhex(f"0x1.3ffbe76c8b439p{3 + exp}"), float.fromhex(f"0x1.fff972474538fp{exp - 1}")))
        exp -= 10
    return out


_FACTORS = {"si": _si_factors(), "iec": _iec_factors()}
# thresholds for 3, 4, … 10 digits after the point below the smallest prefix
_SIGFIGS = [float(f"9.9995e{e}") for e in range(-1, -9, -1)]


def common_scale(values: Sequence[float], kind: str = "si") -> tuple[int, float, str]:
    """benchunit.CommonScale: (decimals, factor, prefix) showing at least
    three significant digits of every value, set by the non-zero value
    closest to zero."""
    nonzero = [abs(v) for v in values if v != 0]
    if not nonzero:
        return 3, 1.0, ""
    least = min(nonzero)
    factors = _FACTORS[kind]
    for factor, prefix, t100, t10, t1 in factors:
        if least >= t100:
            return 1, factor, prefix
        if least >= t10:
            return 2, factor, prefix
        if least >= t1:
            return 3, factor, prefix
    factor, prefix = factors[-1][0], factors[-1][1]
    val = least / factor
    for i, thresh in enumerate(_SIGFIGS):
        if val >= thresh or i == len(_SIGFIGS) - 1:
            return i + 3, factor, prefix
    raise AssertionError("not reachable")


def scaled(v: float, scale: tuple[int, float, str]) -> str:
    decimals, factor, prefix = scale
    if not math.isfinite(v):
        return ("+Inf" if v > 0 else "-Inf") + prefix if not math.isnan(v) else "NaN" + prefix
    return f"{v / factor:.{decimals}f}{prefix}"


def format_quantity(v: float, kind: str = "si") -> str:
    """benchunit.Scale: `v` with its own scale (``5.988e-08`` -> ``59.88n``,
    ``65536`` B -> ``64.00Ki``)."""
    return scaled(v, common_scale([v], kind))


def format_pct(fraction: float | None) -> str:
    """A Δ as benchstat prints it: ``+17.60%``; ``?`` if undefined."""
    if fraction is None:
        return "?"
    return f"{100.0 * fraction:+.2f}%"


def format_ci(s: stats.Summary) -> str:
    """benchstat's ``PctRangeString``: the larger distance from the median
    to an interval bound, in percent of the median."""
    if not s.has_ci:
        return "∞"
    signs = {(v > 0) - (v < 0) for v in (s.center, s.lo, s.hi)}
    if len(signs) > 1:
        return "?"
    if s.center == 0:
        return "0%"
    return f"{100 * max(s.hi / s.center - 1, 1 - s.lo / s.center):.0f}%"


def format_delta(row: Row) -> str:
    """benchstat's ``FormatDelta``: ``~`` unless significant, then the
    change of the medians (``+17.60%``, ``0.00%`` when equal, ``?`` from 0)."""
    if not row.significant:
        return "~"
    old, new = row.old.center, row.new.center
    if old == new:
        return "0.00%"
    if old == 0:
        return "?"
    return f"{((new / old) - 1.0) * 100.0:+.2f}%"


def format_test(row: Row) -> str:
    """``p=0.002 n=6`` (``n=6+10`` for unequal sizes): the reported p-value,
    or the test's own where these sizes could not reach α."""
    c = row.comparison
    p = row.p_value if row.p_value is not None else c.p_test
    n = f"n={c.n1}" if c.n1 == c.n2 else f"n={c.n1}+{c.n2}"
    return (f"p={p:.3f} " if p != 0 else "") + n


class _Footnotes:
    def __init__(self) -> None:
        self.notes: dict[str, int] = {}

    def mark(self, warnings: Sequence[str]) -> str:
        nums = []
        for w in warnings:
            if w not in self.notes:
                self.notes[w] = len(self.notes) + 1
            nums.append(str(self.notes[w]).translate(_SUPERSCRIPT))
        return " ".join(nums)

    def lines(self) -> list[str]:
        return [f"{str(i).translate(_SUPERSCRIPT)} {w}" for w, i in self.notes.items()]


# One table row as benchstat lays it out: per column (value, ± range, notes)
# and, for compared columns, (Δ or ~, p and n, notes); None where absent.
_Center = tuple[str, str, str]
_Versus = tuple[str, str, str]


def _table_rows(t: Table, foot: _Footnotes) -> list[tuple[str, list[tuple[_Center | None, _Versus | None]]]]:
    _, factor, kind = display_unit(t.unit)
    rowmap = {(r.name, r.new_label): r for r in t.rows}
    out = []
    for name in t.names:
        present = [t.cells[(name, c)] for c in t.columns if (name, c) in t.cells]
        scale = common_scale([s.center * factor for s in present], kind)
        cells: list[tuple[_Center | None, _Versus | None]] = []
        for col in t.columns:
            s = t.cells.get((name, col))
            if s is None:
                cells.append((None, None))
                continue
            center = (scaled(s.center * factor, scale), format_ci(s), foot.mark(s.warnings))
            r = rowmap.get((name, col))
            versus = None if r is None else (format_delta(r), f"({format_test(r)})", foot.mark(r.comparison.warnings))
            cells.append((center, versus))
        out.append((name, cells))
    return out


def _geomean_cells(t: Table, foot: _Footnotes) -> list[tuple[str | None, str | None, str]]:
    """Per column: (geomean, Δ of the ratios or ``?``, notes); None where absent."""
    _, factor, kind = display_unit(t.unit)
    out = []
    for col in t.columns:
        g = t.geomeans.get(col)
        value = None if g is None else format_quantity(g * factor, kind)
        ratio = None
        if col != t.base:
            gr = t.geomean_ratios.get(col)
            ratio = "?" if gr is None else f"{(gr - 1) * 100:+.2f}%"
        out.append((value, ratio, foot.mark(t.geomean_warnings.get(col, ()))))
    return out


def _table_cells(t: Table, foot: _Footnotes) -> tuple[list[str], list[list[tuple[str, str]]]]:
    """Row labels and, per row, (left, right) text pairs for the Markdown
    and HTML tables: per column ``value`` / ``± range notes``, then (not
    for the base) ``Δ or ~`` / ``(p n) notes``; the geomean row last."""
    def joined(*parts: str) -> str:
        return " ".join(p for p in parts if p)

    labels: list[str] = []
    body: list[list[tuple[str, str]]] = []
    for name, cells in _table_rows(t, foot):
        row: list[tuple[str, str]] = []
        for i, (center, versus) in enumerate(cells):
            row.append(("", "") if center is None else (center[0], joined("±", center[1], center[2])))
            if i > 0:
                row.append(("", "") if versus is None else (versus[0], joined(versus[1], versus[2])))
        labels.append(name)
        body.append(row)
    if len(t.names) > 1:
        row = []
        for i, (value, ratio, notes) in enumerate(_geomean_cells(t, foot)):
            if i == 0:
                row.append((value or "", notes))
            else:
                row += [(value or "", ""), (ratio or "", notes)]
        labels.append("geomean")
        body.append(row)
    return labels, body


# ------------------------------------------------------------------- text

class _TextTab:
    """benchstat's texttab: cells on a grid of columns, each with a left
    margin and an alignment; spanning cells widen the non-shrinking
    columns they cover."""

    def __init__(self) -> None:
        self.cells: list[list[Any]] = []  # [row, col, span, value, margin, align]
        self.cols = 0
        self.row = 0
        self.col = 0
        self.shrink: set[int] = set()

    def new_row(self) -> None:
        if self.cells:
            self.row += 1
        self.col = 0

    def at(self, col: int) -> "_TextTab":
        assert col >= self.col
        self.col = col
        return self

    def span(self, n: int, value: str, align: str = "<", margin: str | None = None) -> "_TextTab":
        if margin is None:
            margin = "" if self.col == 0 or not value else " "
        self.cells.append([self.row, self.col, n, value, margin, align])
        self.col += n
        self.cols = max(self.cols, self.col)
        return self

    def cell(self, value: str, align: str = "<", margin: str | None = None) -> "_TextTab":
        return self.span(1, value, align, margin)

    def format(self) -> list[str]:
        lmargin = [0] * self.cols
        for c in self.cells:
            lmargin[c[1]] = max(lmargin[c[1]], len(c[4]))
        ws = [0] * self.cols
        for row, col, span, value, margin, align in sorted(self.cells, key=lambda c: c[2]):
            w = len(value) + lmargin[col]
            if span == 1:
                ws[col] = max(ws[col], w)
                continue
            if sum(ws[col:col + span]) >= w:
                continue
            grow = []
            for k in range(col, col + span):
                if k in self.shrink:
                    w -= ws[k]
                else:
                    grow.append(k)
            grow.sort(key=lambda k: -ws[k])
            left = len(grow)
            for k in grow:
                avg = (w + left - 1) // left
                ws[k] = max(ws[k], avg)
                w -= ws[k]
                left -= 1
        offs = [0]
        for w in ws:
            offs.append(offs[-1] + w)
        lines: list[str] = []
        cur: list[str] = []
        row = off = 0
        for r, col, span, value, margin, align in sorted(self.cells, key=lambda c: (c[0], c[1])):
            if not value.strip() and not margin.strip():
                continue
            while r > row:
                lines.append("".join(cur))
                cur, off, row = [], 0, row + 1
            cur.append(" " * (offs[col] - off) + margin.rjust(lmargin[col]))
            off = offs[col] + lmargin[col]
            width = offs[col + span] - offs[col] - lmargin[col]
            if align == ">":
                text = value.rjust(width)
            elif align == "^":
                text = " " * ((width - len(value)) // 2) + value
            else:
                text = value
            cur.append(text)
            off += len(text)
        if self.cells:
            lines.append("".join(cur))
        return lines


def render_text(result: Result) -> str:
    out: list[str] = [f"{k}: {v}" for k, v in result.config.items()]
    shown_pkg = "pkg" in result.config
    last_pkg: str | None = None
    for i, t in enumerate(result.tables):
        if i:
            out.append("")
        if not shown_pkg and t.pkg != last_pkg:
            if t.pkg:
                out.append(f"pkg: {t.pkg}")
            last_pkg = t.pkg
        out.extend(_text_table(t, result.holm))
    if result.notes and result.tables:
        out.append("")
    for note in result.notes:
        out.append(f"note: {note}")
    return "\n".join(out) + "\n" if out else ""


def _text_table(t: Table, holm: bool) -> list[str]:
    """benchstat's ``Table.ToText``."""
    foot = _Footnotes()
    o = _TextTab()
    center_cols = delta_cols = 3

    def start(i: int) -> int:
        return 1 if i == 0 else 1 + center_cols + (i - 1) * (center_cols + delta_cols)

    redge = start(len(t.columns) + 1)
    o.new_row()
    for i, col in enumerate(t.columns):
        o.at(start(i)).span(start(i + 1) - start(i), col, "^", " │ ")
    o.at(redge).cell("", margin=" │")
    o.new_row()
    unit_label = display_unit(t.unit)[0]
    for i in range(len(t.columns)):
        left = start(i)
        o.at(left).span(center_cols, unit_label, "^", " │ ")
        if i > 0:
            o.span(delta_cols, "vs base (Holm)" if holm else "vs base", "<", "  ")
        o.shrink.update(range(left + 1, o.col))
    o.at(redge).cell("", margin=" │")
    for name, cells in _table_rows(t, foot):
        o.new_row()
        o.cell(name)
        for i, (center, versus) in enumerate(cells):
            if center is None:
                continue
            o.at(start(i)).cell(center[0], ">").cell(center[1], ">", " ± ").cell(center[2])
            if versus is not None:
                o.cell(versus[0], ">").cell(versus[1]).cell(versus[2])
    if len(t.names) > 1:
        o.new_row()
        o.cell("geomean")
        for i, (value, ratio, notes) in enumerate(_geomean_cells(t, foot)):
            if value is not None:
                o.at(start(i)).cell(value, ">")
            if i > 0:
                o.at(start(i) + center_cols)
                o.cell(ratio or "?", ">" if ratio != "?" else "<")
            o.at(start(i + 1) - 1).cell(notes)
    return o.format() + foot.lines()


# --------------------------------------------------------------- markdown

def _md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def render_markdown(result: Result) -> str:
    out: list[str] = []
    if result.config:
        out.append(", ".join(f"{k}: `{v}`" for k, v in result.config.items()))
        out.append("")
    multi_pkg = "pkg" not in result.config
    for t in result.tables:
        foot = _Footnotes()
        labels, body = _table_cells(t, foot)
        unit_label = display_unit(t.unit)[0]
        title = f"### {unit_label}" + (f" — {t.pkg}" if multi_pkg and t.pkg else "")
        head = ["benchmark"]
        for i, col in enumerate(t.columns):
            head.append(f"{col} ({unit_label})")
            if i > 0:
                head.append(f"vs {t.base}" + (" (Holm)" if result.holm else ""))
        out += [title, "", "| " + " | ".join(_md_escape(h) for h in head) + " |",
                "|" + "|".join(["---"] + ["---:" if h.endswith(")") and not h.startswith("vs ") else "---"
                                          for h in head[1:]]) + "|"]
        for label, cells in zip(labels, body):
            texts = [(f"{a} {b}".strip()) for a, b in cells]
            out.append("| " + " | ".join(_md_escape(x) for x in [label, *texts]) + " |")
        if foot.notes:
            out.append("")
            out.extend(foot.lines())
        out.append("")
    for note in result.notes:
        out.append(f"*Note: {note}*")
        out.append("")
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


# --------------------------------------------------------------- csv/json

CSV_FIELDS = ["pkg", "name", "unit", "old_label", "old_median", "old_ci_low", "old_ci_high", "old_n",
              "new_label", "new_median", "new_ci_low", "new_ci_high", "new_n", "delta_pct", "p_value",
              "significant", "warnings"]


def render_csv(result: Result) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for d in result.to_json_rows():
        old, new = d["old"], d["new"] or {}
        w.writerow([d["pkg"], d["name"], d["unit"], d["old_label"], _num(old["median"]), _num(old["ci_low"]),
                    _num(old["ci_high"]), old["n"], d["new_label"] or "", _num(new.get("median")),
                    _num(new.get("ci_low")), _num(new.get("ci_high")), new.get("n", ""), _num(d["delta_pct"]),
                    _num(d["p_value"]), "true" if d["significant"] else "false", "; ".join(d["warnings"])])
    return buf.getvalue()


def _num(x: Any) -> str:
    return "" if x is None else repr(float(x))


def render_json(result: Result) -> str:
    return json.dumps(stats.json_finite(result.to_json_rows()), indent=2, allow_nan=False) + "\n"


__all__ = ["FORMATS", "render", "render_text", "render_csv", "render_markdown", "render_json",
           "format_quantity", "format_pct", "format_ci", "display_unit"]


def to_html(result: Any) -> str:
    """A :class:`~enginepools.analysis.compare.Result` as HTML: one table per (pkg, unit), the
    same cells as the text rendering (median ± CI, Δ and the test)."""
    from ..render import html

    parts = []
    for t in result.tables:
        foot = _Footnotes()
        labels, body = _table_cells(t, foot)
        head = ["benchmark"]
        for i, col in enumerate(t.columns):
            head.append(col)
            if i > 0:
                head.append(f"vs {t.base}" + (" (Holm)" if result.holm else ""))
        sig = {r.name for r in t.rows if r.significant}
        rows = [[label] + [f"{a} {b}".strip() for a, b in cells] for label, cells in zip(labels, body)]
        classes = ["ep-sig" if label in sig else "" for label in labels]
        caption = display_unit(t.unit)[0] + (f" · {t.pkg}" if t.pkg else "")
        parts.append(html.table(head, rows, caption=caption, numeric=[False] + [True] * (len(head) - 1),
                                row_class=classes, notes=foot.lines()))
    notes = [f"note: {n}" for n in result.notes]
    if notes:
        parts.append("".join(f'<div class="ep-note">{html.esc(n)}</div>' for n in notes))
    if not parts:
        return "<p>no benchmarks</p>"
    return "".join(parts)

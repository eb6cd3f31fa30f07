"""Render a :class:`~enginepools.analysis.compare.Result` as text, CSV, Markdown or JSON.

Text reads like benchstat: one table per unit, ``median ± CI%`` per column,
then Δ against the base column with the U-test p-value and sample counts,
a geomean row, and numbered footnotes for warnings.  Unlike benchstat, Δ is
always printed (it is the measured difference of the medians); ``~`` after
it says the difference is not significant at α, or could not be tested.
Values are scaled as benchstat does (ns/op shown as sec/op with SI
prefixes, B/op with binary prefixes).

CSV and JSON carry the raw numbers in the input's units, one row per
(benchmark, unit, compared column).
"""
from __future__ import annotations

import csv
import io
import json
import math
from typing import TYPE_CHECKING, Any, Sequence

from . import stats

if TYPE_CHECKING:
    from .compare import Result, Row, Table

GEOMEAN_NOT_POSITIVE = "summaries must be >0 to compute geomean"

FORMATS = ("text", "csv", "markdown", "json")

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SI = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"),
       (1e-12, "p")]
_IEC = [(1024.0**4, "Ti"), (1024.0**3, "Gi"), (1024.0**2, "Mi"), (1024.0, "Ki"), (1.0, "")]


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


# ------------------------------------------------------------ formatting

def display_unit(unit: str) -> tuple[str, float, str]:
    """(label, factor, prefix kind) benchstat uses to show `unit`."""
    if unit == "ns/op":
        return "sec/op", 1e-9, "si"
    if unit == "MB/s":
        return "B/s", 1e6, "si"
    if unit.startswith("B/") or unit == "B":
        return unit, 1.0, "iec"
    return unit, 1.0, "si"


def format_quantity(v: float, kind: str = "si") -> str:
    """Four significant digits with an SI (or binary, ``kind="iec"``) prefix:
    ``5.988e-08`` -> ``59.88n``, ``1729`` B -> ``1.688Ki``."""
    if not math.isfinite(v):
        return "∞" if v > 0 else ("-∞" if v < 0 else "NaN")
    if v == 0:
        return "0.000"
    sign = "-" if v < 0 else ""
    a = abs(v)
    table = _IEC if kind == "iec" else _SI
    i = next((k for k, (f, _) in enumerate(table) if a >= f), len(table) - 1)
    bumped = False
    while True:
        factor, prefix = table[i]
        s = a / factor
        digits = 3 if bumped else max(0, 3 - int(math.floor(math.log10(s))))
        text = f"{s:.{digits}f}"
        if float(text) >= (1024 if kind == "iec" else 1000) and i > 0:
            i, bumped = i - 1, True  # rounding reached the next prefix
            continue
        return f"{sign}{text}{prefix}"


def format_pct(fraction: float | None) -> str:
    """Δ as a signed percentage, one decimal (``+17.6%``); ``?`` if undefined."""
    if fraction is None:
        return "?"
    pct = 100.0 * fraction
    if pct != 0 and abs(pct) < 0.05:
        return f"{pct:+.2g}%"
    return f"{pct:+.1f}%"


def format_ci(s: stats.Summary) -> str:
    """benchstat's ``PctRangeString``: the larger distance from the median
    to an interval bound, in percent of the median."""
    if not s.has_ci:
        return "∞"
    signs = {math.copysign(1, x) if x != 0 else 0 for x in (s.center, s.lo, s.hi)}
    if len(signs) > 1:
        return "?"
    if s.center == 0:
        return "0%"
    return f"{100 * max(s.hi / s.center - 1, 1 - s.lo / s.center):.0f}%"


def format_n(n1: int, n2: int) -> str:
    return f"n={n1}" if n1 == n2 else f"n={n1}+{n2}"


def format_test(row: Row) -> str:
    """``(p=0.002 n=6)`` when significant, ``~ (p=0.394 n=6)`` when not,
    ``~ (n=1)`` when no p-value could be computed."""
    c = row.comparison
    n = format_n(c.n1, c.n2)
    if row.p_value is None:
        return f"~ ({n})"
    mark = "" if row.significant else "~ "
    return f"{mark}(p={row.p_value:.3f} {n})"


class _Footnotes:
    def __init__(self) -> None:
        self.notes: dict[str, int] = {}

    def mark(self, warnings: Sequence[str]) -> str:
        nums = []
        for w in warnings:
            if w not in self.notes:
                self.notes[w] = len(self.notes) + 1
            nums.append(str(self.notes[w]).translate(_SUPERSCRIPT))
        return (" " + " ".join(nums)) if nums else ""

    def lines(self) -> list[str]:
        return [f"{str(i).translate(_SUPERSCRIPT)} {w}" for w, i in self.notes.items()]


def _table_cells(t: Table, foot: _Footnotes) -> tuple[list[str], list[list[tuple[str, str]]]]:
    """Row labels and, per row, (left, right) text pairs for every
    sub-column: per column a value cell, then (not for the base) a
    comparison cell."""
    _, factor, kind = display_unit(t.unit)
    rowmap = {(r.name, r.new_label): r for r in t.rows}
    labels: list[str] = []
    body: list[list[tuple[str, str]]] = []
    for name in t.names:
        cells: list[tuple[str, str]] = []
        for i, col in enumerate(t.columns):
            s = t.cells.get((name, col))
            if s is None:
                cells.append(("", ""))
            else:
                cells.append((format_quantity(s.center * factor, kind), f"± {format_ci(s)}{foot.mark(s.warnings)}"))
            if i > 0:
                r = rowmap.get((name, col))
                if r is None:
                    cells.append(("", ""))
                else:
                    cells.append((format_pct(r.delta), format_test(r) + foot.mark(r.comparison.warnings)))
        labels.append(name)
        body.append(cells)
    if t.geomeans:
        cells = []
        for i, col in enumerate(t.columns):
            g = t.geomeans.get(col)
            if g is None:
                cells.append(("", foot.mark([GEOMEAN_NOT_POSITIVE]).strip()))
            else:
                cells.append((format_quantity(g * factor, kind), ""))
            if i > 0:
                d = t.geomean_delta(col)
                cells.append((format_pct(d) if d is not None else "", ""))
        labels.append("geomean")
        body.append(cells)
    return labels, body


# ------------------------------------------------------------------- text

def render_text(result: Result) -> str:
    out: list[str] = [f"{k}: {v}" for k, v in result.config.items()]
    shown_pkg = "pkg" in result.config
    last_pkg: str | None = None
    for t in result.tables:
        if not shown_pkg and t.pkg != last_pkg:
            if t.pkg:
                out.append(f"pkg: {t.pkg}")
            last_pkg = t.pkg
        out.extend(_text_table(t, result.holm))
        out.append("")
    for note in result.notes:
        out.append(f"note: {note}")
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def _text_table(t: Table, holm: bool) -> list[str]:
    foot = _Footnotes()
    labels, body = _table_cells(t, foot)
    unit_label = display_unit(t.unit)[0]
    vs = "vs base (Holm)" if holm else "vs base"
    # header text for every sub-column
    sub_headers: list[str] = []
    groups: list[tuple[str, int]] = []  # (column label, number of sub-columns)
    for i, col in enumerate(t.columns):
        sub_headers.append(unit_label)
        if i > 0:
            sub_headers.append(vs)
        groups.append((col, 1 if i == 0 else 2))
    nsub = len(sub_headers)
    lw = [max([len(c[k][0]) for c in body] + [0]) for k in range(nsub)]
    rw = [max([len(c[k][1]) for c in body] + [0]) for k in range(nsub)]
    width = [max(len(sub_headers[k]), lw[k] + (1 if rw[k] else 0) + rw[k]) for k in range(nsub)]
    name_w = max(len(x) for x in labels + [""])

    def group_spans() -> list[list[int]]:
        spans, k = [], 0
        for _, n in groups:
            spans.append(list(range(k, k + n)))
            k += n
        return spans

    spans = group_spans()
    gwidth = [sum(width[k] for k in span) + 2 * (len(span) - 1) for span in spans]
    # a group is at least as wide as its column label
    for g, (col, _) in enumerate(groups):
        if len(col) > gwidth[g]:
            width[spans[g][-1]] += len(col) - gwidth[g]
            gwidth[g] = len(col)

    def line(sep: str, group_texts: list[str], label: str = "") -> str:
        parts = [label.ljust(name_w)]
        for g, text in enumerate(group_texts):
            parts.append(f"{sep} {text.ljust(gwidth[g])} ")
        s = "".join(parts)
        return (s + sep).rstrip() if sep != " " else s.rstrip()

    lines = [line("│", [col.center(gwidth[g]).rstrip() for g, (col, _) in enumerate(groups)])]
    hdr = []
    for span in spans:
        cells = []
        for k in span:
            h = sub_headers[k]
            cells.append(h.center(width[k]) if k == span[0] else h.ljust(width[k]))
        hdr.append("  ".join(cells))
    lines.append(line("│", hdr))
    for label, cells in zip(labels, body):
        texts = []
        for span in spans:
            parts = []
            for k in span:
                left, right = cells[k]
                txt = left.rjust(lw[k]) + (" " + right if right else "")
                parts.append(txt.ljust(width[k]))
            texts.append("  ".join(parts))
        lines.append(line(" ", texts, label))
    lines.extend(foot.lines())
    return lines


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

"""Compact HTML tables for Jupyter (``_repr_html_``).

Renderers take result objects and return an HTML string; they never
measure or compute statistics themselves beyond formatting.  Every value is
escaped.  One small inline style block keeps numbers right-aligned and
significant rows visible in both light and dark notebook themes.
"""
from __future__ import annotations

import html
import math
from typing import Any, Iterable, Sequence

_STYLE = ("<style>.ep-t{border-collapse:collapse;font-size:12px}"
          ".ep-t th,.ep-t td{padding:2px 8px;border-bottom:1px solid rgba(128,128,128,.3)}"
          ".ep-t td.n{text-align:right;font-variant-numeric:tabular-nums}"
          ".ep-t caption{text-align:left;font-weight:bold;padding:4px 0}"
          ".ep-sig{font-weight:bold}.ep-keep{color:#1a7f37}.ep-remove{color:#cf222e}"
          ".ep-inconclusive{color:#9a6700}.ep-note{font-size:11px;opacity:.75}</style>")


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def num(v: float | None, digits: int = 4) -> str:
    """A value with `digits` significant digits (thousands separated)."""
    if v is None:
        return "—"
    if isinstance(v, float) and not math.isfinite(v):
        return "∞" if v > 0 else "−∞"
    if v == 0:
        return "0"
    mag = abs(v)
    if mag >= 10 ** digits:
        return f"{v:,.0f}"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(mag))))
    return f"{v:,.{decimals}f}"


def pct(v: float | None) -> str:
    return "—" if v is None else f"{v:+.1f}%"


def pval(p: float | None) -> str:
    return "—" if p is None else f"{p:.3f}"


def table(head: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str | None = None,
          numeric: Sequence[bool] | None = None, row_class: Sequence[str] | None = None,
          notes: Sequence[str] = ()) -> str:
    """A table; cells are escaped unless given as ``Raw``."""
    out = [_STYLE, '<table class="ep-t">']
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr></thead><tbody>")
    numeric = list(numeric or [False] * len(head))
    for i, row in enumerate(rows):
        cls = row_class[i] if row_class and i < len(row_class) and row_class[i] else ""
        tr = f'<tr class="{esc(cls)}">' if cls else "<tr>"
        cells = []
        for j, c in enumerate(row):
            text = c.html if isinstance(c, Raw) else esc(c)
            cells.append(f'<td class="n">{text}</td>' if j < len(numeric) and numeric[j] else f"<td>{text}</td>")
        out.append(tr + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    for n in notes:
        out.append(f'<div class="ep-note">{esc(n)}</div>')
    return "".join(out)


class Raw:
    """Pre-rendered HTML for a cell."""

    def __init__(self, html_text: str) -> None:
        self.html = html_text


def median_ci(center: float, lo: float | None, hi: float | None) -> str:
    """``70.4 ±3%`` (the larger side of the interval), or the bare median."""
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)) or center == 0:
        return num(center)
    spread = max(center - lo, hi - center) / abs(center) * 100
    return f"{num(center)} ±{spread:.0f}%"


# ------------------------------------------------------------------ renderers

def pybench_result(r: Any) -> str:
    """:class:`enginepools.pybench.PyBenchResult`."""
    rows = []
    for unit in r.units():
        s = r.summary(unit)
        rows.append([unit, median_ci(s.center, s.lo, s.hi), s.n])
    return table(["unit", "median ±CI", "n"], rows, caption=f"{r.name} (N={int(r.iterations[0])}, "
                 f"benchtime {r.benchtime})", numeric=[False, True, True])


def compare_result(result: Any) -> str:
    """:class:`enginepools.compare.Result`: one table per (pkg, unit), the
    same cells as the text rendering (median ± CI, Δ and the test)."""
    from ..analysis.tables import _Footnotes, _table_cells, display_unit

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
        parts.append(table(head, rows, caption=caption, numeric=[False] + [True] * (len(head) - 1),
                           row_class=classes, notes=foot.lines()))
    notes = [f"note: {n}" for n in result.notes]
    if notes:
        parts.append("".join(f'<div class="ep-note">{esc(n)}</div>' for n in notes))
    if not parts:
        return "<p>no benchmarks</p>"
    return "".join(parts)


def verdicts(vs: Sequence[Any]) -> str:
    """A list of :class:`enginepools.verdict.Verdict`."""
    head = ["pool", "vs", "verdict", "time Δ", "p", "B/op Δ", "p", "rule"]
    rows = []
    for v in vs:
        rows.append([v.pool, f"{v.candidate} vs {v.baseline}",
                     Raw(f'<span class="ep-{esc(v.decision)}"><b>{esc(v.decision)}</b></span>'),
                     *_evidence_cells(v.time), *_evidence_cells(v.memory), v.rule])
    return table(head, rows, caption="verdicts", numeric=[False, False, False, True, True, True, True, False])


def _evidence_cells(e: Any) -> list[str]:
    if e is None:
        return ["—", ""]
    return [pct(e.delta_pct), pval(e.p_value)]


# ------------------------------------------------------------------ profiles

TOP_ROWS = 20


def top_graph(g: Any, rows: int = TOP_ROWS) -> str:
    """:class:`enginepools.pprof_graph.Graph`: the ``-top`` table (flat,
    flat%, sum%, cum, cum%, name) with pprof's numbers, first `rows` entries."""
    from ..pprof.units import percentage

    body = []
    flat_sum = 0
    for n in g.nodes[:rows]:
        flat_sum += n.flat
        name = n.name + (f" {n.inline_label}" if n.inline_label else "")
        body.append([g.format_value(n.flat), percentage(n.flat, g.total).strip(), percentage(flat_sum, g.total).strip(),
                     g.format_value(n.cum), percentage(n.cum, g.total).strip(), name])
    notes = []
    if len(g.nodes) > rows:
        notes.append(f"{len(g.nodes) - rows} more entries (pprof_report.top_text(graph) prints all)")
    if g.dropped_nodes:
        notes.append(f"dropped {g.dropped_nodes} nodes below {g.format_value(g.node_cutoff)}")
    caption = f"{g.sample_type} — total {g.format_value(g.total)}"
    return table(["flat", "flat%", "sum%", "cum", "cum%", "function"], body, caption=caption,
                 numeric=[True] * 5 + [False], notes=notes)


def profile(p: Any, rows: int = TOP_ROWS) -> str:
    """:class:`enginepools.profile.Profile`: what it holds, then the top
    table of its default sample type (as ``go tool pprof -top`` picks it)."""
    head = (f"<div><b>{esc(p.source)}</b>: {p.n_samples} samples · "
            f"{esc(', '.join(f'{t}/{u}' for t, u in p.sample_types))} · {len(p.location_id)} locations · "
            f"{len(p.function_id)} functions</div>")
    if p.n_samples == 0:
        return head
    try:
        from ..pprof.graph import build_graph

        return head + top_graph(build_graph(p), rows)
    except Exception as e:  # a notebook preview must never raise
        return head + f'<div class="ep-note">no top table: {esc(e)}</div>'


# ------------------------------------------------------------------ benchmark runs

def bench_result(res: Any) -> str:
    """:class:`enginepools.benchresult.BenchResult`: per benchmark the
    number of samples and, per unit, the median ± the larger side of its
    95% interval (bare median below 6 samples)."""
    import numpy as np

    from ..analysis import stats
    from ..bench.result import STANDARD_UNITS

    series = list(res.series.values())
    present = {u for s in series for u in s.values}
    cols = [u for u in STANDARD_UNITS if u in present] + sorted(present - set(STANDARD_UNITS))
    body = []
    for s in series:
        row: list[Any] = [s.name, len(s)]
        for u in cols:
            a = s.values.get(u)
            a = a[~np.isnan(a)] if a is not None else None
            if a is None or a.size == 0:
                row.append("")
                continue
            sm = stats.summarize(a)
            row.append(median_ci(sm.center, sm.lo, sm.hi))
        body.append(row)
    notes = [] if res.complete else ["incomplete run (interrupted): only finished samples are shown"]
    return table(["benchmark", "samples", *cols], body, caption=f"{len(res)} samples, median ±95% CI",
                 numeric=[False] + [True] * (len(cols) + 1), notes=notes)


# ------------------------------------------------------------------ end-to-end A/B

def ab_result(ab: Any) -> str:
    """:class:`enginepools.ab.ABResult`: one row per (unit, configuration)
    with the median, Δ against ``none`` with its bootstrap interval, the
    U-test p-value and the verdict, as ``ABResult.table()`` prints them."""
    from ..e2e.ab import TABLE_UNITS, _fmt

    head = ["unit", "pools", "n", "median", "Δ vs none", "95% CI of Δ", "p", "verdict"]
    body, classes = [], []
    for unit in TABLE_UNITS:
        rows = [r for r in ab.summary(unit) if r["n"]]
        if not rows:
            continue
        for r in rows:
            if r["config"] == "none":
                delta = ci = p = ""
                verdict = "(baseline)"
            else:
                delta = pct(r.get("delta_pct"))
                lo_hi = r.get("delta_ci_pct")
                ci = "—" if not lo_hi else f"[{lo_hi[0]:+.1f}%, {lo_hi[1]:+.1f}%]"
                p = pval(r.get("p_value")) + ("" if r.get("significant") else " ~")
                verdict = r.get("verdict", "") if unit == "ns/op" else ""
            body.append([unit, r["config"], r["n"], _fmt(unit, r["median"]), delta, ci, p,
                         Raw(f'<span class="ep-{esc(verdict)}">{esc(verdict)}</span>') if verdict else ""])
            classes.append("ep-sig" if r.get("significant") else "")
    notes = [] if ab.complete else ["incomplete run (interrupted): only finished runs are shown"]
    caption = f"pipeline A/B: {ab.count} interleaved runs per configuration, {ab.threads} hash workers"
    return table(head, body, caption=caption, numeric=[False, False, True, True, True, True, True, False],
                 row_class=classes, notes=notes)

"""Compact HTML tables for Jupyter (``_repr_html_``).

A leaf: it takes plain data (strings, numbers, lists of rows) and returns an
HTML string; the result objects' ``_repr_html_`` methods build the rows and
call it.  It imports nothing of the package.  Every value is
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

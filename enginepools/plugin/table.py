"""The results table the terminal summary prints: one row a benchmark,
median ns/op ± CI, B/op, allocs/op, and Δ / p against the compared run."""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from .session import State


def fmt(v: float) -> str:
    """A value with about four significant digits, thousands grouped."""
    if v == 0:
        return "0"
    if not math.isfinite(v):
        return "inf"
    mag = abs(v)
    if mag >= 1e4 or float(v).is_integer():
        return f"{v:,.0f}"
    digits = max(0, 3 - int(math.floor(math.log10(mag))))
    return f"{v:.{digits}f}"


def _ci(s: Any) -> str:
    if not s.has_ci or s.center == 0:
        return f"{fmt(s.center)}"
    return f"{fmt(s.center)} ±{max(s.center - s.lo, s.hi - s.center) / abs(s.center) * 100:.0f}%"


def summary_rows(st: State) -> tuple[list[str], list[list[str]]]:
    head = ["benchmark", "ns/op (median ±CI)", "B/op", "allocs/op", "Δ ns/op", "p"]
    rows = []
    for e in st.entries:
        r = e.result
        mem = [fmt(r.summary(u).center) if u in r.units() else "—" for u in ("B/op", "allocs/op")]
        row = e.rows.get("ns/op")
        if st.compare_path is None:
            d, p = "", ""
        elif row is None:
            d, p = "new", ""
        else:
            d = "?" if row.delta_pct is None else f"{row.delta_pct:+.1f}%"
            if not row.significant:
                d += " ~"
            p = "—" if row.p_value is None else f"{row.p_value:.3f}"
        status = " FAIL" if e.failures else ""
        rows.append([e.name + status, _ci(r.summary("ns/op")), *mem, d, p])
    if st.compare_path is None:
        head, rows = head[:4], [row[:4] for row in rows]
    return head, rows


def display(tr: Any, st: State, saved: tuple[Path, Path] | None) -> None:
    """Write the table (and where the run was saved) to the terminal reporter `tr`."""
    head, rows = summary_rows(st)
    title = "enginepools benchmarks"
    if st.compare_path is not None:
        title += f" (Δ vs {os.path.relpath(st.compare_path) if st.compare_path.is_absolute() else st.compare_path}, " \
                 f"~ = not significant at α={st.alpha:g})"
    tr.write_sep("-", title)
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(len(head))]
    tr.write_line("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths))))
    for row in rows:
        tr.write_line("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    if saved:
        tr.write_line(f"saved: {saved[0]} and {saved[1]}")

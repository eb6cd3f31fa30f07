"""The ``-top`` text report, character for character as go tool pprof prints
it (google/pprof ``internal/report``: ProfileLabels, reportLabels,
printText)."""
from __future__ import annotations

import datetime
import time
from typing import TYPE_CHECKING, Any

from . import units
from .gostd import go_base, wrap64

if TYPE_CHECKING:
    from .nodes import Graph

__all__ = ["profile_labels", "report_labels", "top_text"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def go_time_label(nanos: int) -> str:
    """time.Unix(0, nanos).Format("Jan 2, 2006 at 3:04pm (MST)") in local time."""
    secs = nanos // 1_000_000_000
    t = datetime.datetime.fromtimestamp(secs, tz=datetime.timezone.utc).astimezone()
    zone = t.tzname() or time.strftime("%Z")
    hour = t.hour % 12 or 12
    ampm = "pm" if t.hour >= 12 else "am"
    return f"{_MONTHS[t.month - 1]} {t.day}, {t.year} at {hour}:{t.minute:02d}{ampm} ({zone})"


def profile_labels(g: Graph) -> list[str]:
    """report.ProfileLabels: File, Build ID, comments, Type, Time, Duration."""
    p = g.profile
    out: list[str] = []
    if p is None:
        return out
    if p.mappings:
        m0 = p.mappings[0]
        if m0.file:
            out.append("File: " + go_base(m0.file))
        if m0.build_id:
            out.append("Build ID: " + m0.build_id)
    out.extend(c for c in p.comments if not c.startswith("#"))
    if g.sample_type:
        out.append("Type: " + g.sample_type)
    if p.time_nanos:
        out.append("Time: " + go_time_label(p.time_nanos))
    if p.duration_nanos:
        duration = units.label(p.duration_nanos, "nanoseconds")
        total_nanos, total_unit = units.scale(g.total, g.sample_unit, "nanoseconds")
        ratio = ""
        if total_unit == "ns" and total_nanos != 0:
            ratio = "(" + units.percentage(int(total_nanos), p.duration_nanos) + ")"
        out.append(f"Duration: {duration}, Total samples = {g.format_value(g.total)} {ratio}")
    return out


def _go_truncate(s: str, n: int) -> str:
    b = s.encode("utf-8")
    if len(b) <= n:
        return s
    return b[:n].decode("utf-8", "ignore") + "\u2026"


def report_labels(g: Graph, edges: bool = False) -> list[str]:
    """report.reportLabels as TextItems calls it (no dropped-edge line), or
    with `edges` as GetDOT calls it (with that line, for pictures)."""
    out = profile_labels(g)
    flat_sum = wrap64(sum(n.flat for n in g.nodes))
    if g.active_filters:
        out.append("Active filters:")
        out.extend("   " + _go_truncate(f, 80) for f in g.active_filters)
    out.append(f"Showing nodes accounting for {g.format_value(flat_sum)}, "
               f"{units.percentage(flat_sum, g.total).strip()} of {g.format_value(g.total)} total")
    if g.total != 0:
        if g.dropped_nodes > 0:
            cutoff = abs(int(float(g.total) * g.options.nodefraction)) if g.options.trim else 0
            noun = "nodes" if g.dropped_nodes > 1 else "node"
            out.append(f"Dropped {g.dropped_nodes} {noun} (cum <= {g.format_value(cutoff)})")
        if edges and g.dropped_edges > 0:
            cutoff = abs(int(float(g.total) * g.options.edgefraction)) if g.options.trim else 0
            noun = "edges" if g.dropped_edges > 1 else "edge"
            out.append(f"Dropped {g.dropped_edges} {noun} (freq <= {g.format_value(cutoff)})")
        if 0 < len(g.nodes) < g.orig_count:
            out.append(f"Showing top {len(g.nodes)} nodes out of {g.orig_count}")
    return out


def top_text(g: Graph) -> str:
    """The whole ``go tool pprof -top`` output for graph `g`."""
    lines = ["\n".join(report_labels(g))]
    lines.append("%10s %5s%% %5s%% %10s %5s%%" % ("flat", "flat", "sum", "cum", "cum"))
    flat_sum = 0
    for n in g.nodes:
        inl = n.inline_label
        if inl:
            inl = " " + inl
        flat_sum = wrap64(flat_sum + n.flat)
        lines.append("%10s %s %s %10s %s  %s%s" % (
            g.format_value(n.flat), units.percentage(n.flat, g.total), units.percentage(flat_sum, g.total),
            g.format_value(n.cum), units.percentage(n.cum, g.total), n.name, inl))
    return "\n".join(lines) + "\n"


TOP_ROWS = 20  # rows of the notebook's top table


def top_html(g: Any, rows: int = TOP_ROWS) -> str:
    """A :class:`~enginepools.pprof.nodes.Graph` as HTML: the ``-top`` table (flat,
    flat%, sum%, cum, cum%, name) with pprof's numbers, first `rows` entries."""
    from ..render import html

    body = []
    flat_sum = 0
    for n in g.nodes[:rows]:
        flat_sum = wrap64(flat_sum + n.flat)
        name = n.name + (f" {n.inline_label}" if n.inline_label else "")
        body.append([g.format_value(n.flat), units.percentage(n.flat, g.total).strip(), units.percentage(flat_sum, g.total).strip(),
                     g.format_value(n.cum), units.percentage(n.cum, g.total).strip(), name])
    notes = []
    if len(g.nodes) > rows:
        notes.append(f"{len(g.nodes) - rows} more entries (pprof_report.top_text(graph) prints all)")
    if g.dropped_nodes:
        notes.append(f"dropped {g.dropped_nodes} nodes below {g.format_value(g.node_cutoff)}")
    caption = f"{g.sample_type} — total {g.format_value(g.total)}"
    return html.table(["flat", "flat%", "sum%", "cum", "cum%", "function"], body, caption=caption,
                      numeric=[True] * 5 + [False], notes=notes)

"""Sample-by-sample reports, as go tool pprof prints them (``internal/report``):
``-traces`` (every sample with its labels, value and stack; printTraces) and
``-tags`` (the value per label value; printTags, through Go's tabwriter)."""
from __future__ import annotations

from typing import Callable

from . import units
from .filters import sample_index, select_and_filter
from .gostd import go_div
from .granularity import Aggregator, printable_name
from .nodes import Graph, GraphOptions
from .report import profile_labels
from .work import WorkProfile, copy_profile

SEPARATOR = "-----------+-------------------------------------------------------"


def _filtered(p: WorkProfile, o: GraphOptions, warn: Callable[[str], None]) -> tuple[WorkProfile, Graph, dict]:
    """The profile after pprof's filters, a graph shell with the report's
    total, sample type and units (for labels and value formatting), and the
    numeric label units."""
    p = copy_profile(p)
    nlu, _ix, _mean_ix, stype, sunit, total = select_and_filter(p, o, warn)
    g = Graph(nodes=[], edges=[], total=total, unit=o.unit or "minimum", sample_type=stype, sample_unit=sunit,
              options=o, profile=p)
    return p, g, nlu


def traces_text(p: WorkProfile, o: GraphOptions | None = None, warn: Callable[[str], None] | None = None) -> str:
    """The whole ``go tool pprof -traces`` output for working profile `p`
    (left as it is)."""
    o = o or GraphOptions()
    p, g, nlu = _filtered(p, o, warn or (lambda msg: None))
    ix = sample_index(p, o.sample_index)
    mean_ix = 0 if o.mean else None
    agg = Aggregator(o.granularity, o.noinlines)
    infos: dict[int, list[str]] = {}  # location id -> printable names, innermost first
    out = ["\n".join(profile_labels(g)) + "\n"]
    for s in p.sample_list():
        stack: list[tuple[str, bool]] = []
        for loc in s.locs:
            names = infos.get(loc.id)
            if names is None:
                names = infos[loc.id] = [printable_name(i) for i in agg.location_infos(loc)]
            last = len(names) - 1
            stack.extend((name, i != last) for i, name in enumerate(names))
        if not stack:
            continue
        out.append(SEPARATOR + "\n")
        out.extend(sorted("%10s:  %s\n" % (k, " ".join(vs)) for k, vs in s.labels.items()))
        out.extend(sorted("%10s:  %s\n" % (k, " ".join(units.label(v, nlu.get(k, "")) for v in vs))
                          for k, vs in s.num_labels.items()))
        v = s.values[ix]
        d = s.values[mean_ix] if mean_ix is not None else 0
        if d != 0:
            v = go_div(v, d)
        for i, (name, inline) in enumerate(stack):
            out.append("%10s   %s%s\n" % (g.format_value(v) if i == 0 else "", name, " (inline)" if inline else ""))
    out.append(SEPARATOR + "\n")
    return "".join(out)


def tags_text(p: WorkProfile, o: GraphOptions | None = None, warn: Callable[[str], None] | None = None) -> str:
    """The whole ``go tool pprof -tags`` output for working profile `p`."""
    o = o or GraphOptions()
    p, g, nlu = _filtered(p, o, warn or (lambda msg: None))
    ix = sample_index(p, o.sample_index)
    out_unit = o.unit or "minimum"
    tag_map: dict[str, dict[str, int]] = {}
    for s in p.sample_list():
        v = s.values[ix]
        for key, vals in s.labels.items():
            m = tag_map.setdefault(key, {})
            for val in vals:
                m[val] = m.get(val, 0) + v
        for key, nvals in s.num_labels.items():
            m = tag_map.setdefault(key, {})
            for nv in nvals:
                name = units.scaled_label(nv, nlu.get(key, ""), out_unit)
                m[name] = m.get(name, 0) + v
    rows: list[str] = []
    for key in sorted(tag_map):
        total = sum(tag_map[key].values())
        f, u = units.scale(total, g.sample_unit, out_unit)
        rows.append("%s:\t Total %.1f%s\n" % (key, f, u))
        for name, c in sorted(tag_map[key].items(), key=lambda t: (-abs(t[1]), t[0])):
            f, u = units.scale(c, g.sample_unit, out_unit)
            if total > 0:
                rows.append(" \t%.1f%s (%s):\t %s\n" % (f, u, units.percentage(c, total), name))
            else:
                rows.append(" \t%.1f%s:\t %s\n" % (f, u, name))
        rows.append("\n")
    return go_tabwriter("".join(rows), padding=1, align_right=True)


def go_tabwriter(text: str, padding: int = 1, align_right: bool = False, minwidth: int = 0,
                 padchar: str = " ", tabwidth: int = 8) -> str:
    """Go's text/tabwriter (no flags but AlignRight): cells end with a tab; a
    column is aligned over each block of consecutive lines that have a cell
    in it; a line's last (unterminated) cell is not aligned.  With padchar
    ``"\\t"`` a column is as wide as the next multiple of `tabwidth` and is
    padded with tabs (always aligned left), as Go does."""
    if padchar == "\t":
        align_right = False
    lines = [ln.split("\t") for ln in text.split("\n")]
    trailing = text.endswith("\n")
    if trailing:
        lines = lines[:-1]
    out: list[str] = []
    widths: list[int] = []

    def write_lines(a: int, b: int) -> None:
        for cells in lines[a:b]:
            parts = []
            for j, c in enumerate(cells):
                if j >= len(widths):
                    pad = ""
                elif padchar == "\t":
                    cellw = -(-widths[j] // tabwidth) * tabwidth
                    pad = "\t" * -(-(cellw - len(c)) // tabwidth)
                else:
                    pad = padchar * (widths[j] - len(c))
                parts.append(pad + c if align_right else c + pad)
            out.append("".join(parts))

    def fmt(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write_lines(line0, line1)

    fmt(0, len(lines))
    return "\n".join(out) + ("\n" if trailing else "")

"""``-traces``: every sample of the (filtered) profile with its labels, value
and stack, as go tool pprof prints it (``internal/report`` printTraces)."""
from __future__ import annotations

from typing import Callable

from . import units
from .filters import apply_focus, compute_total, num_label_units, sample_index
from .gostd import go_div
from .granularity import Aggregator, printable_name
from .nodes import Graph, GraphOptions
from .report import profile_labels
from .work import WorkProfile, copy_profile

SEPARATOR = "-----------+-------------------------------------------------------"


def traces_text(p: WorkProfile, o: GraphOptions | None = None, warn: Callable[[str], None] | None = None) -> str:
    """The whole ``go tool pprof -traces`` output for working profile `p`
    (left as it is)."""
    o = o or GraphOptions()
    warn = warn or (lambda msg: None)
    p = copy_profile(p)
    nlu = num_label_units(p)
    if o.relative_percentages:
        apply_focus(p, o, nlu, warn)
    ix = sample_index(p, o.sample_index)
    mean_ix = 0 if o.mean else None
    stype, sunit = p.sample_types[ix]
    if o.mean:
        stype = "mean_" + stype
    total = compute_total(p, ix, mean_ix)
    if not o.relative_percentages:
        apply_focus(p, o, nlu, warn)
    g = Graph(nodes=[], edges=[], total=total, unit=o.unit or "minimum", sample_type=stype, sample_unit=sunit,
              options=o, profile=p)
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

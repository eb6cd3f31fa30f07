"""``pprof-results-analysis.md``: who holds the heap at its peak (for heap
profiles taken there) with the in-use timeline; per profile, the top table
of every sample index (the rows ``go tool pprof -top -nodecount=20``
prints, same values and percentages), the heap and allocation call graphs,
a flame graph; and the differential flame graph of two heap profiles."""
from __future__ import annotations

import os

from . import md
from .common import PPROF, Context, header
from .profiles import INDEX_TITLES, TOP_NODES, ProfileAnalysis, peak_shares

FILE = PPROF


def render(ctx: Context) -> str:
    out = [header(ctx, FILE)]
    if not ctx.data.profiles:
        out.append("No pprof profile was given to this report (`enginepools report --profile FILE`, or run "
                   "`enginepools study`, which profiles the heap of a representative workload).")
        return md.join(*out)
    out.append("Each table lists the same rows, values and percentages as `go tool pprof -top "
               f"-nodecount={TOP_NODES} -sample_index=INDEX FILE` on the same file: *flat* is what a function "
               "allocated (or spent) itself, *cum* includes its callees, *sum%* is the running total of flat%. "
               "pprof's kB and MB are 1024 and 1024² bytes.")
    findings = [f for pa in ctx.profiles for f in pa.findings()]
    if findings:
        out += [md.heading(2, "Findings"), md.bullets(findings)]
    out.append(_peak(ctx))
    for pa in ctx.profiles:
        out.append(_profile(ctx, pa))
    if ctx.diff is not None:
        base, new, ix = ctx.diff
        out.append(md.heading(2, f"{new} vs {base}: differential flame graph"))
        out.append(f"Every stack of `{base}` and of `{new}` (`{ix}`): a frame's width is its value in `{base}` plus "
                   f"its value in `{new}`, its colour (and label, where it fits) the change from `{base}` to `{new}` "
                   "(red: grew, blue: shrank). A stack that vanished — allocations the new run no longer makes — "
                   f"is drawn at its `{base}` width in blue, so what a pool removes is in the picture. pprof "
                   "has no such view; `go tool pprof -top -diff_base` gives the numbers as a table.")
        from .findings import diff_findings

        out.append(md.bullets(diff_findings(ctx)))
        out.append(ctx.figure("flame-diff"))
    return md.join(*out)


def _peak(ctx: Context) -> str:
    """Who holds the heap at its peak, per heap profile taken there."""
    shares = [s for s in (peak_shares(pa.source) for pa in ctx.profiles) if s is not None]
    if not shares:
        return ""
    out = [md.heading(2, "The heap at its peak"),
           "These heap profiles were taken at the run's in-use high-water mark (as memray's peak snapshot): "
           "their `inuse_*` values are the blocks live at the moment the in-use total first reached its "
           "maximum; their `alloc_*` values are the whole run's. Shares below are of that peak's `inuse_space`, "
           "from the same profile `go tool pprof -sample_index=inuse_space` reads."]
    out.append(md.bullets([s for sh in shares for s in sh.sentences()]))
    out.append(ctx.figure("heap-timeline"))
    return md.join(*out)


def _profile(ctx: Context, pa: ProfileAnalysis) -> str:
    p = pa.source
    kind = {"heap": "heap profile", "cpu": "CPU profile"}.get(p.kind, "profile")
    prof = p.profile
    out = [md.heading(2, f"`{pa.label}` — {kind}")]
    facts = [f"File: `{os.path.basename(p.path)}`", f"sample types: {', '.join(f'`{t}`' for t in p.sample_types)}",
             f"{prof.n_samples} samples"]
    if getattr(prof, "period_type", None):
        pt = prof.period_type
        facts.append(f"period: {prof.period} {pt[0]}/{pt[1]}")
        if p.kind == "heap" and prof.period == 1:
            facts.append("every allocation recorded")
        elif p.kind == "heap" and prof.period > 1:
            facts.append("allocations sampled, values unbiased as Go's runtime does")
    out.append("; ".join(facts) + ".")
    for ix, g in pa.tops.items():
        out.append(md.heading(3, f"{INDEX_TITLES.get(ix, ix)}: `{ix}`"))
        out.append(top_table(g))
        if ix in pa.graph_keys:
            out.append(ctx.figure(pa.graph_keys[ix]))
    if pa.flame_key:
        key, ix = pa.flame_key
        out.append(md.heading(3, f"Flame graph: `{ix}`"))
        out.append(ctx.figure(key))
    return md.join(*out)


def top_table(g) -> str:  # type: ignore[no-untyped-def]
    """pprof's labels, then its -top rows as a table (values and
    percentages formatted by pprof_report's own code)."""
    from ..pprof import units
    from ..pprof.report import report_labels

    labels = report_labels(g)
    showing = [line for line in labels if line.startswith("Showing nodes accounting for")]
    others = [line for line in labels if line not in showing]
    rows = []
    flat_sum = 0
    for n in g.nodes:
        flat_sum += n.flat
        name = f"`{n.name}`" + (f" {n.inline_label}" if n.inline_label else "")
        rows.append([g.format_value(n.flat), units.percentage(n.flat, g.total).strip(),
                     units.percentage(flat_sum, g.total).strip(), g.format_value(n.cum),
                     units.percentage(n.cum, g.total).strip(), name])
    if not rows:
        return md.join(md.bullets(others), "No samples with a non-zero value.")
    return md.join(md.bullets(others) if others else "", *showing,
                   md.table(["flat", "flat%", "sum%", "cum", "cum%", "function"], rows, "rrrrrl"))

"""Draw every figure of a report by calling the renderers in
:mod:`enginepools.render.charts`, :mod:`enginepools.render.callgraph` and
:mod:`enginepools.render.flamegraph` (they get data; they never measure).

Each figure is optional: when its data is absent the figure is skipped;
when a renderer refuses the data (``ValueError``: "no data to chart") the
document says why instead of showing the image.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..analysis.verdict import Verdict
from .common import Context, Figure

Progress = Callable[[str], None]
Spec = tuple[str, str, str, Callable[[], Any]]  # key, title, caption, draw() -> matplotlib Figure


def render_all(ctx: Context, outdir: Path, progress: Progress | None = None) -> None:
    from . import profiles

    ctx.profiles = profiles.analyse_all(ctx.data)
    specs = bench_specs(ctx) + profile_specs(ctx)
    from ..render import charts

    for key, title, caption, draw in specs:
        if progress:
            progress(f"drawing {title}")
        try:
            fig = draw()
        except ValueError as e:  # the renderer's "no data to chart: …"
            ctx.figure_notes[key] = f"{title} not drawn: {e}"
            continue
        stem = outdir / key
        written = charts.save(fig, stem)
        _close(fig)
        names = {p.suffix: p.name for p in map(Path, written)}
        ctx.figures[key] = Figure(key, title, caption, names[".png"], names.get(".svg"))
    _pipeline(ctx, outdir, progress)
    for pa in ctx.profiles:
        for ix in pa.dot:
            name = f"{pa.dot_stem(ix)}.dot"
            (outdir / name).write_text(pa.dot[ix], encoding="utf-8")
            ctx.extra_files.append(name)


def _pipeline(ctx: Context, outdir: Path, progress: Progress | None) -> None:
    """The end-to-end section (markdown and figures) from pipeline_report."""
    d = ctx.data
    if d.ab is None:
        return
    from ..render import charts
    from .pipeline import pipeline_section

    if progress:
        progress("drawing the pipeline A/B")
    heaps = {p.label: p.profile for p in d.heap_profiles()}
    section = pipeline_section(d.ab.data, heaps or None)
    ctx.pipeline_md = str(section)
    for key, fig in section.figures.items():
        fkey = key.replace("_", "-")
        fkey = fkey if fkey.startswith("pipeline") else "pipeline-" + fkey
        written = charts.save(fig, outdir / fkey)
        _close(fig)
        names = {p.suffix: p.name for p in map(Path, written)}
        if "ab" in key:
            title = "End-to-end A/B: Δ of the pipeline's wall time per configuration against pools=none"
        else:
            title = "Where the pipeline's bytes go, by stage" + (f" ({key.split('heap_', 1)[-1]})"
                                                                   if "heap_" in key else "")
        ctx.figures[fkey] = Figure(fkey, title, title + ".", names[".png"], names.get(".svg"))
        ctx.pipeline_figures.append(fkey)


def _close(fig: Any) -> None:
    try:
        fig.clf()
    except Exception:  # pragma: no cover - never let cleanup sink a report
        pass


# ------------------------------------------------------------------ bench

def bench_specs(ctx: Context) -> list[Spec]:
    from ..render import charts

    d = ctx.data
    rows = d.rows
    units = {r.unit for r in rows}
    out: list[Spec] = []
    t = d.time_unit()
    if t:
        trows = [r for r in rows if r.unit == t and _is_pool(r.new_label, rows)]
        out.append(("time", "Time per operation", f"Median {t}, plain vs pooled, with 95% confidence intervals.",
                    lambda: charts.time_chart(trows, unit=t)))
        thresholds = (d.rules.keep_faster_pct, d.rules.remove_within_pct)
        out.append(("impact", "Performance impact", f"Δ {t} = (pooled − plain) / plain per pool, 95% interval; "
                    "* marks significant differences; shaded: the verdict bands.",
                    lambda: charts.impact_chart(trows, unit=t, thresholds=thresholds)))
    # one grid of panels per unit (a combined B/op + allocs/op figure is one panel per pool in a row)
    for unit, key, title in (("B/op", "memory", "Bytes allocated per operation"),
                             ("allocs/op", "allocs", "Allocations per operation")):
        if unit in units:
            urows = [r for r in rows if r.unit == unit and _is_pool(r.new_label, rows)]
            out.append((key, title, f"Median {unit}, plain vs pooled, with 95% confidence intervals.",
                        lambda urows=urows, unit=unit, title=title: charts.paired_chart(
                            urows, unit, f"{title}, plain vs pooled")))
    if "MB/s" in units:
        out.append(("throughput", "Throughput", "Median MB/s, plain vs pooled (higher is better).",
                    lambda: charts.throughput_chart([r for r in rows if r.unit == "MB/s"], unit="MB/s")))
    if d.verdicts and any(v.time and v.memory for v in d.verdicts):
        vs: list[Verdict] = _distinct_names(d.verdicts)
        out.append(("quadrant", "Speed vs memory", "Δ time against Δ B/op per pool, coloured by verdict.",
                    lambda: charts.quadrant_chart(vs)))
    stats = pool_stats(ctx)
    if stats:
        out.append(("pool-counters", "Pool behaviour", "Hit rate and bytes retained per pooled benchmark "
                    "(medians of the pools' own counters).", lambda: charts.pool_stats_chart(stats)))
    series = scaling_series(ctx)
    if series:
        name, ser = series
        out.append(("scaling", "Thread scaling", f"{name}: median ns/op at each thread count, 95% CI.",
                    lambda: charts.scaling_chart(ser, title=f"{name}: time per operation vs threads")))
    return out


def _heap_top(g: Any, charts: Any) -> Any:
    """pprof's top rows as a bar chart, without the rows whose flat value is
    0 (callers that only pass allocations on: their share is in their callees)."""
    items = [(f"{n.name} {n.inline_label}".strip(), n.flat) for n in g.nodes if n.flat > 0]
    if not items:
        raise ValueError("no data to chart: no function has a non-zero flat value")
    return charts.heap_top_chart(items, g.total, g.sample_unit, f"Top consumers: {g.sample_type}", n=10,
                                 sample=g.sample_type, fmt=g.format_value)


def _distinct_names(verdicts: list[Verdict]) -> list[Verdict]:
    """Verdicts whose pool names tell variants of one benchmark apart
    (``HashBuffer (pool-noclear)``), for labels on a chart."""
    import dataclasses
    from collections import Counter

    n = Counter(v.pool for v in verdicts)
    return [dataclasses.replace(v, pool=f"{v.pool} ({v.candidate})") if n[v.pool] > 1 else v for v in verdicts]


def _is_pool(label: str, rows: Any) -> bool:
    pooled = any("pool" in r.new_label.lower() for r in rows)
    return not pooled or "pool" in label.lower()


def pool_stats(ctx: Context) -> list[Any]:
    """PoolStat per pooled benchmark from its hits/op, misses/op, retained-B."""
    from ..render import charts

    comp = ctx.data.comparison
    if comp is None:
        return []
    by: dict[tuple[str, str], dict[str, float]] = {}
    for t in comp.tables:
        if t.unit not in ("hits/op", "misses/op", "retained-B"):
            continue
        for (name, col), s in t.cells.items():
            by.setdefault((name, col), {})[t.unit] = s.center
    out = []
    for (name, col), v in by.items():
        if "hits/op" not in v and "misses/op" not in v:
            continue
        # per-op counts: scale to a million ops so the integer counters keep their ratio
        out.append(charts.PoolStat(f"{name} ({col})", int(round(v.get("hits/op", 0) * 1e6)),
                                   int(round(v.get("misses/op", 0) * 1e6)), float(v.get("retained-B", 0))))
    return out


def scaling_series(ctx: Context) -> tuple[str, dict[str, Any]] | None:
    """The contention kernel's series (or the first benchmark run at several
    thread counts)."""
    from ..render import charts

    recs = [r for r in ctx.data.records if "ns/op" in r.values]
    names: dict[str, set[int]] = {}
    for r in recs:
        names.setdefault(r.base, set()).add(r.procs or 1)
    multi = [n for n, ps in names.items() if len(ps) > 1]
    if not multi:
        return None
    pick = next((n for n in multi if "Contention" in n), multi[0])
    chosen = [r for r in recs if r.base == pick]
    series = charts.scaling_from_records(chosen, "ns/op", key="impl")
    return pick.removeprefix("Benchmark"), series


# --------------------------------------------------------------- profiles

def profile_specs(ctx: Context) -> list[Spec]:
    from ..render import callgraph, charts, flamegraph
    from ..pprof.graph import GraphOptions, build_graph
    from .profiles import GRAPH_NODES

    out: list[Spec] = []
    heap = [pa for pa in ctx.profiles if pa.source.kind == "heap"]
    first_heap = heap[0] if heap else None
    hix = first_heap.main_index if first_heap is not None else None
    if first_heap is not None and hix is not None and first_heap.tops[hix].nodes:
        g = first_heap.tops[hix]
        out.append(("heap-top", "Heap: top consumers", f"Share of `{hix}` in `{first_heap.label}` per function "
                    "(flat), as `go tool pprof -top` reports it.",
                    lambda: _heap_top(g, charts)))
    timelines = {pa.label: pa.source.timeline for pa in heap if pa.source.timeline}
    if timelines:
        from ..render.timeline import inuse_timeline_chart

        out.append(("heap-timeline", "Heap in use over time", "In-use bytes of each run over time, stacked by "
                    "`pool` label (allocations under no pool tag at the bottom), read every few milliseconds "
                    "while the run went on; the dashed line marks the peak the peak profile was taken at (its "
                    "exact size is printed; a short-lived peak can fall between two readings).",
                    lambda: inuse_timeline_chart(timelines)))
    single = len(ctx.profiles) == 1
    for pa in ctx.profiles:
        p = pa.source
        graph_indices = [("inuse_space", "heap-profile-graph",
                          "Heap profile graph (in use at the peak)" if p.at_peak else "Heap profile graph (in use)"),
                         ("alloc_space", "allocation-profile-graph", "Allocation profile graph")] \
            if p.kind == "heap" else [(pa.main_index, "cpu-profile-graph" if p.kind == "cpu" else "profile-graph",
                                       "Call graph")]
        for ix, stem, title in graph_indices:
            if ix is None or ix not in pa.tops:
                continue
            key = stem if single else f"{stem}-{p.label}"
            cg = build_graph(p.profile, GraphOptions(sample_index=ix, nodecount=GRAPH_NODES, visual=True))
            if not cg.nodes or cg.total == 0:
                ctx.figure_notes[key] = f"no call graph: `{p.label}` has no `{ix}` left (nothing in use, or empty)"
                pa.graph_keys[ix] = key
                continue
            pa.graph_keys[ix] = key
            pa.dot[ix] = callgraph.to_dot(cg, title=f"{p.label}: {ix}")
            out.append((key, f"{title}: {p.label}", f"pprof call graph of `{p.label}`, sample index `{ix}`: a box "
                        "per function sized by its flat value; edges weighted by the value passed along the call. "
                        f"Graphviz users: `{key}.dot`.",
                        lambda cg=cg, t=f"{p.label} — {ix}": callgraph.draw(cg, title=t)))
        fix = "alloc_space" if "alloc_space" in pa.tops else pa.main_index
        if fix is not None:
            key = "flame-graph" if single else f"flame-graph-{p.label}"
            pa.flame_key = (key, fix)
            out.append((key, f"Flame graph: {p.label}", f"`{fix}` of `{p.label}`: root at the bottom, callees "
                        "above, width = inclusive value.",
                        lambda prof=p.profile, fix=fix, lab=p.label: flamegraph.flame_graph(
                            prof, fix, title=f"{lab} — {fix}")))
    if len(heap) >= 2:
        base, new = heap[0], heap[1]
        ix = "alloc_space" if "alloc_space" in base.tops and "alloc_space" in new.tops else base.main_index
        # the study profiles the same work twice: compare amounts; arbitrary files: compare shares
        normalize = ctx.data.study is None
        ctx.diff = (base.label, new.label, ix)
        how = ("share of its total in each, added; colour = the change of its share" if normalize else
               f"value in each, added; colour and label = the change of its value (as a fraction of "
               f"`{base.label}`'s total for the colour; both runs did the same work)")
        out.append(("flame-diff", f"Differential flame graph: {new.label} vs {base.label}",
                    f"Every stack of `{base.label}` and `{new.label}` (`{ix}`): width = {how}. Red grew, blue "
                    f"shrank; stacks gone from `{new.label}` are drawn at their `{base.label}` width in blue.",
                    lambda: flamegraph.diff_flame_graph(base.source.profile, new.source.profile, ix,
                                                        base_label=base.label, new_label=new.label,
                                                        normalize=normalize)))
    return out

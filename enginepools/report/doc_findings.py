"""``profiling-analysis-findings.md``: each verdict with the evidence that
decided it, what the profiles and the A/B run add, the risks of acting on
the numbers, and next steps — all derived from the data."""
from __future__ import annotations

from ..analysis import stats
from ..analysis.verdict import INCONCLUSIVE, KEEP, REMOVE, Verdict
from . import findings, fmt, md
from .common import FINDINGS, PPROF, TITLES, Context, absent_block, comparison_table, header, pool_name, verdict_table

FILE = FINDINGS


def render(ctx: Context) -> str:
    d = ctx.data
    out = [header(ctx, FILE)]
    out.append(md.heading(2, "Summary"))
    kf = findings.key_findings(ctx)
    out.append(md.bullets(kf) if kf else "The inputs held no comparison, profile or A/B run to draw findings from.")
    out.append(absent_block(d))
    if d.verdicts:
        out.append(md.heading(2, "Verdicts and their evidence"))
        out.append(verdict_table(d.verdicts, with_rule=False))
        for v in d.verdicts:
            out.append(_pool_section(ctx, v))
    if ctx.profiles:
        out.append(md.heading(2, "What the profiles show"))
        out.append(md.bullets(f for pa in ctx.profiles for f in pa.findings()))
        out.append(f"Tables and graphs: {md.link(TITLES[PPROF], PPROF)}.")
    ab = _ab_section(ctx)
    if ab:
        out.append(ab)
    out.append(md.heading(2, "Risks"))
    out.append(md.bullets(risks(ctx)))
    out.append(md.heading(2, "Next steps"))
    out.append(md.bullets(next_steps(ctx)))
    return md.join(*out)


def _pool_section(ctx: Context, v: Verdict) -> str:
    items = [f"Deciding rule: {v.rule}."]
    items.append(f"Time: {findings.evidence_phrase(v.time, 'time')}.")
    if v.memory is not None:
        items.append(f"Memory: {findings.evidence_phrase(v.memory, 'memory')}.")
    if v.allocs is not None:
        items.append(f"Allocations: {findings.evidence_phrase(v.allocs, 'allocation')}.")
    held = _retained(ctx, v)
    if held:
        items.append(f"Held: the pool keeps {fmt.bytes_(held)} between operations (`retained-B`, median at the end "
                     "of a sample). The memory line counts bytes allocated per operation, not what a pool holds: "
                     "weigh the two where memory is short.")
    warns = [w for r in ctx.data.rows if r.name == v.pool and r.new_label == v.candidate for w in r.warnings]
    for w in dict.fromkeys(warns):
        items.append(f"Warning: {w}.")
    name = pool_name(v, ctx.data.verdicts)
    return md.join(md.heading(3, f"{name}: {v.decision}"), md.bullets(items))


def _retained(ctx: Context, v: Verdict) -> float:
    """The pooled variant's median retained-B (0 when it reports none)."""
    comp = ctx.data.comparison
    for t in comp.tables if comp is not None else []:
        if t.unit == "retained-B":
            s = t.cells.get((v.pool, v.candidate))
            if s is not None and s.center > 0:
                return float(s.center)
    return 0.0


def _ab_section(ctx: Context) -> str:
    """pipeline_report's section, with the medians its Δs come from."""
    if ctx.data.ab is None or not ctx.pipeline_md:
        return ""
    text = ctx.pipeline_md.rstrip("\n")
    medians = _ab_medians(ctx)
    cut = text.find("\n### ")
    head, tail = (text, "") if cut < 0 else (text[:cut], text[cut:])
    return md.join(head, medians, *(ctx.figure(k) for k in ctx.pipeline_figures), tail)


AB_UNITS = ("ns/op", "peak-RSS-B", "B/op", "allocs/op")


def _ab_medians(ctx: Context) -> str:
    ab = ctx.data.ab.data if ctx.data.ab else None
    comparison = getattr(ab, "comparison", None)
    if not callable(comparison):
        return ""
    rows = [r for r in comparison().rows if r.unit in AB_UNITS]
    if not rows:
        return ""
    out = ["Medians behind these Δs (*plain* = `pools=none`, *pooled* = the configuration; ns/op is the "
           "pipeline's wall time per run):"]
    for unit in AB_UNITS:
        urows = [r for r in rows if r.unit == unit]
        if urows:
            out.append(comparison_table(urows))
    return md.join(*out)


def risks(ctx: Context) -> list[str]:
    d = ctx.data
    out = []
    if d.rows:
        ns = sorted({min(r.old.n, r.new.n) for r in d.rows})
        conf = d.comparison.confidence if d.comparison is not None else stats.CONFIDENCE
        if ns[0] < stats.min_samples_for_test(d.rules.alpha):
            out.append(f"Too few samples: some comparisons have only {ns[0]} sample(s) per side, so no "
                       f"difference can be shown significant at α = {d.rules.alpha:g} and no verdict is final.")
        elif ns[0] < stats.min_samples_for_ci(conf):
            out.append(f"Few samples: some comparisons have {ns[0]} samples per side — enough for a test at "
                       f"α = {d.rules.alpha:g}, not for a {fmt.num(conf * 100)}% interval of the median.")
        m = len({(r.name, r.new_label) for r in d.rows if r.unit in d.rules.time_units and r.p_value is not None})
        if m > 1 and not d.rules.holm:
            out.append(f"Multiple comparisons: {m} time comparisons were each tested at α = {d.rules.alpha:g} "
                       "without correction; by chance alone some may come out significant. Set `holm = true` "
                       "in the rules to correct them.")
        conflicts = [pool_name(v, d.verdicts) for v in d.verdicts if "trade-off" in v.rule]
        if conflicts:
            out.append(f"Trade-offs: {', '.join(conflicts)} save memory but cost time; the verdict depends on "
                       "which the program is short of.")
    if d.machine:
        cpu = d.machine.get("cpu") or d.machine.get("platform") or "this machine"
        out.append(f"One machine: every number was measured on `{cpu}`. Allocators, caches and core counts "
                   "differ between machines; re-run the study where the code runs in production.")
    if d.study is not None:
        out.append("Shared machine: benchmarks ran briefly on a machine other work may share; variants ran "
                   "interleaved so drift hits both, but absolute numbers are less reliable than the ratios.")
    if d.verdicts:
        out.append("Micro-benchmarks measure one operation. Whether a pool pays in a whole program depends on "
                   "how often that operation runs; " +
                   ("the end-to-end A/B run measures that." if d.ab else
                    "no end-to-end A/B run was given to measure that."))
    if not d.profiles:
        out.append("No heap profile: whether the pooled objects matter to the program's memory at all is "
                   "not known from this report.")
    return out


def next_steps(ctx: Context) -> list[str]:
    d = ctx.data
    out = []
    names = {id(v): pool_name(v, d.verdicts) for v in d.verdicts}
    removes = [names[id(v)] for v in d.verdicts if v.decision == REMOVE]
    keeps = [names[id(v)] for v in d.verdicts if v.decision == KEEP]
    if removes:
        out.append(f"Remove the pool{'s' * (len(removes) > 1)} behind {_list(removes)} (use plain allocation) and "
                   "confirm with an end-to-end A/B run.")
    if keeps:
        them = "them" if len(keeps) > 1 else "it"
        out.append(f"Keep the pool{'s' * (len(keeps) > 1)} behind {_list(keeps)}; guard {them} with a benchmark "
                   f"regression gate (the enginepools pytest plugin) so that a later change cannot make {them} "
                   "slower unnoticed.")
    undecided = [v for v in d.verdicts if v.decision == INCONCLUSIVE]
    few = [v for v in undecided if v.time is not None and v.time.p_value is None]
    if few:
        out.append(f"Re-run with more samples (`-count 10`) for {_list([names[id(v)] for v in few])}: "
                   "too few samples to decide.")
    rest = [v for v in undecided if v not in few]
    trade = [v for v in rest if "trade-off" in v.rule]
    shown = [v for v in rest if v not in trade and any(e is not None and e.significant for e in (v.time, v.memory))]
    unproven = [v for v in rest if v not in trade and v not in shown]
    if trade:
        out.append(f"Measure {_list([names[id(v)] for v in trade])} in the real workload (A/B): a trade-off, "
                   "less memory for more time.")
    if shown:
        out.append(f"Measure {_list([names[id(v)] for v in shown])} in the real workload (A/B): the micro-benchmark "
                   f"difference is significant at α = {d.rules.alpha:g} but below the thresholds.")
    if unproven:
        out.append(f"Re-run {_list([names[id(v)] for v in unproven])} with more samples, or measure it in the real "
                   f"workload (A/B): the micro-benchmark difference is not significant at α = {d.rules.alpha:g}, so "
                   "it may be noise.")
    if d.ab is None:
        out.append("Run the end-to-end pipeline A/B (`enginepools ab`) to see whether the pools change the "
                   "whole program's time and memory.")
    if not d.heap_profiles():
        out.append("Profile the heap of a representative workload (`enginepools study` does) to see which "
                   "allocations matter.")
    if not d.bench:
        out.append("Benchmark the pools against plain allocation (`enginepools bench` or `go test -bench "
                   "-count 6`) to decide per pool.")
    return out or ["Nothing to do: the inputs gave no reason for a change."]


def _list(names: list[str]) -> str:
    bold = [f"**{n}**" for n in names]
    return bold[0] if len(bold) == 1 else ", ".join(bold[:-1]) + " and " + bold[-1]


__all__ = ["render", "risks", "next_steps", "fmt"]

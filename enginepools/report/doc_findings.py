"""``profiling-analysis-findings.md``: each verdict with the evidence that
decided it, what the profiles and the A/B run add, the risks of acting on
the numbers, and next steps — all derived from the data."""
from __future__ import annotations

from ..analysis import paired, stats
from ..analysis.decision import INCONCLUSIVE, KEEP, REMOVE
from . import decisions, findings, fmt, md
from .common import FINDINGS, PPROF, README, TITLES, Context, absent_block, comparison_table, header

FILE = FINDINGS


def render(ctx: Context) -> str:
    d = ctx.data
    out = [header(ctx, FILE)]
    out.append(absent_block(d))
    if d.decisions:
        out.append(md.heading(2, "Each pool's evidence chain"))
        out.append(f"Decisions and rules: {md.link('README', README)}. Micro Δ, predicted and measured effects "
                   "are paired by round: Hodges–Lehmann estimate of pooled / plain − 1 with its 95% interval.")
        for dec in d.decisions:
            out.append(decisions.evidence_chain(dec, d.rules.margin_pct))
    elif not d.bench:
        kf = findings.key_findings(ctx)
        if kf:
            out.append(md.heading(2, "Summary"))
            out.append(md.bullets(kf))
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
        conflicts = [x.pool for x in d.decisions if x.decision == "trade-off"]
        if conflicts:
            out.append(f"Trade-offs: {', '.join(conflicts)} gain in time or memory and lose in the other; which "
                       "matters depends on what the program is short of.")
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
    removes = [x.pool for x in d.decisions if x.decision == REMOVE]
    keeps = [x.pool for x in d.decisions if x.decision == KEEP]
    if removes:
        out.append(f"Remove the {_list(removes)} pool{'s' * (len(removes) > 1)} (use plain allocation): "
                   "a pool that does not pay is code to maintain.")
    if keeps:
        them = "them" if len(keeps) > 1 else "it"
        out.append(f"Keep the {_list(keeps)} pool{'s' * (len(keeps) > 1)}; guard {them} with a benchmark "
                   f"regression gate (the enginepools pytest plugin) so that a later change cannot make {them} "
                   "slower unnoticed.")
    for x in d.decisions:
        if x.decision == INCONCLUSIVE:
            more = (f"about {x.rounds_needed} rounds" if x.rounds_needed
                    else f"at least {paired.min_rounds(1 - d.rules.alpha)} rounds")
            out.append(f"Measure **{x.pool}** again with {more} (A/B `-count`, or benchmark `-count`).")
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

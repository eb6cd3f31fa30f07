"""``README.md``: the index, the key findings and the verdict table."""
from __future__ import annotations

from . import decisions, findings, md
from .common import BENCH, FINDINGS, PPROF, README, TITLES, VISUAL, Context, absent_block, header

FILE = README

_ABOUT = {
    PPROF: "top consumers per profile and sample index, heap and allocation call graphs, flame graphs "
           "(and the pooled-vs-plain differential flame graph when two profiles are given)",
    BENCH: "the raw Go-format benchmark output and the tables computed from it: medians, 95% intervals, "
           "Δ, p-values, throughput, pool counters",
    VISUAL: "the charts: time, memory and throughput per pool, the performance-impact chart, the heap's top "
            "consumers, the speed-vs-memory quadrant",
    FINDINGS: "each pool's evidence chain (micro Δ, share, predicted and measured end-to-end effect, memory held), the risks of acting on it, next steps",
}


def render(ctx: Context) -> str:
    d = ctx.data
    out = [header(ctx, FILE)]
    m = d.machine
    if d.decisions:
        out.append(decisions.answer(d.decisions, d.rules, d.ab.data if d.ab else None))
        out.append(md.heading(2, "Decisions"))
        r = d.rules
        out.append(f"One row per pool (its kernel variants and thread counts together). Δ = pooled / plain − 1, "
                   f"paired by round (Hodges–Lehmann estimate, 95% interval). Rules, margin ±{r.margin_pct:g}%, "
                   f"α = {r.alpha:g}: **keep** when the end-to-end time or peak RSS improves significantly by at "
                   f"least the margin; **trade-off** when one improves so and the other worsens significantly by "
                   f"at least the margin; **remove** when neither can improve by the margin (each 90% interval "
                   f"starts above −margin: equivalent or worse); otherwise — an improvement of the margin possible "
                   f"but not proven — **inconclusive**, with the rounds that would resolve it. End to end means measured by the A/B when it ran the pool alone, else predicted "
                   f"as CPU share × micro Δ.")
        out.append(decisions.decision_table(d.decisions))
        bound = decisions.share_bound(d.decisions, m.get("pkg"))
        if bound:
            out.append(bound)
        out.append(f"Each pool's evidence chain: {md.link(TITLES[FINDINGS], FINDINGS)}; per-variant and "
                   f"per-thread tables: {md.link(TITLES[BENCH], BENCH)}.")
    elif not d.bench:
        kf = findings.key_findings(ctx)
        out.append(md.heading(2, "Key findings"))
        out.append(md.bullets(kf) if kf else "Nothing to report: the inputs held no comparison, profile or A/B run.")
    if m:
        where = " / ".join(f"`{m[k]}`" for k in ("cpu", "goos", "goarch") if k in m)
        if where:
            out.append(f"Benchmarks measured on {where}" + (" by `enginepools study`." if d.study else "."))
    out.append(md.heading(2, "Documents"))
    out.append(md.bullets(f"{md.link(TITLES[f], f)} — {about}" for f, about in _ABOUT.items()))
    out.append(absent_block(d))
    out.append(md.heading(2, "Reproduce"))
    out.append(md.code(_command(ctx), "sh"))
    return md.join(*out)


def _command(ctx: Context) -> str:
    d = ctx.data
    if d.study is not None:
        flags = " --quick" if d.study.get("quick") else ""
        return f"enginepools study{flags}"
    parts = ["enginepools report"]
    import os

    parts += [f"--bench {os.path.basename(b.path)}" for b in d.bench]
    parts += [f"--profile {os.path.basename(p.path)}" for p in d.profiles]
    if d.ab:
        parts.append(f"--ab {os.path.basename(d.ab.path)}")
    parts.append("--out DIR")
    return " ".join(parts)

"""``README.md``: the index, the key findings and the verdict table."""
from __future__ import annotations

from . import findings, md
from .common import BENCH, FINDINGS, PPROF, README, TITLES, VISUAL, Context, absent_block, header, verdict_table

FILE = README

_ABOUT = {
    PPROF: "top consumers per profile and sample index, heap and allocation call graphs, flame graphs "
           "(and the pooled-vs-plain differential flame graph when two profiles are given)",
    BENCH: "the raw Go-format benchmark output and the tables computed from it: medians, 95% intervals, "
           "Δ, p-values, throughput, pool counters",
    VISUAL: "the charts: time, memory and throughput per pool, the performance-impact chart, the heap's top "
            "consumers, the speed-vs-memory quadrant",
    FINDINGS: "each verdict with the evidence that decided it, the risks of acting on it, next steps",
}


def render(ctx: Context) -> str:
    d = ctx.data
    out = [header(ctx, FILE)]
    m = d.machine
    if m:
        where = " / ".join(f"`{m[k]}`" for k in ("cpu", "goos", "goarch") if k in m)
        if where:
            out.append(f"Benchmarks measured on {where}" + (" by `enginepools study`." if d.study else "."))
    out.append(md.heading(2, "Documents"))
    out.append(md.bullets(f"{md.link(TITLES[f], f)} — {about}" for f, about in _ABOUT.items()))
    out.append(md.heading(2, "Key findings"))
    kf = findings.key_findings(ctx)
    out.append(md.bullets(kf) if kf else "Nothing to report: the inputs held no comparison, profile or A/B run.")
    out.append(absent_block(d))
    if d.verdicts:
        out.append(md.heading(2, "Verdicts"))
        r = d.rules
        out.append(f"Δ = (pooled − plain) / plain of the medians. Rules (significant results only, α = "
                   f"{r.alpha:g}): **keep** when ≥ {r.keep_faster_pct:g}% faster or ≥ "
                   f"{r.keep_less_memory_pct:g}% less B/op; **remove** when slower, or within "
                   f"±{r.remove_within_pct:g}% with no memory gain; a pool that is both significantly "
                   f"slower and significantly leaner is a trade-off, decided by the `on_conflict` rule "
                   f"(**{r.on_conflict}**); otherwise **inconclusive**. A `-2` after a name means the "
                   f"kernel ran on 2 threads (Go's -cpu suffix).")
        out.append(verdict_table(d.verdicts))
        out.append(f"Evidence and caveats per pool: {md.link(TITLES[FINDINGS], FINDINGS)}.")
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

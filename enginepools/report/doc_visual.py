"""``visual-performance-summary.md``: the charts, each with one line on how
to read it, and the micro-benchmarks' verdicts per variant in words."""
from __future__ import annotations

from ..analysis.verdict import Verdict
from . import md
from .common import VISUAL, Context, absent_block, header

FILE = VISUAL

#: (figure key, heading, how to read it) in the order shown.
SECTIONS = (
    ("time", "Time per operation", "Median ns/op of each pooled variant beside its plain twin; bars are 95% "
     "confidence intervals of the median. Lower is better."),
    ("impact", "Performance impact", "Δ = (pooled − plain) / plain of the median ns/op, per pool, with its "
     "95% interval; left of zero the pool is faster. Green and vermillion bars are significant (faster, "
     "slower), grey ones are not; the p-value is beside each bar."),
    ("memory", "Bytes per operation", "Median B/op (bytes allocated per operation), pooled beside plain. "
     "Lower is better."),
    ("allocs", "Allocations per operation", "Median allocs/op, pooled beside plain. Lower is better."),
    ("throughput", "Throughput", "Median MB/s of the kernels that process data, pooled beside plain. Higher "
     "is better."),
    ("quadrant", "Speed vs memory", "Each pool placed by its Δ time (x) and Δ B/op (y) and coloured by "
     "verdict: bottom-left pools are faster and smaller, top-right slower and larger."),
    ("pool-counters", "Pool behaviour", "Hit rate (hits / (hits + misses)) and bytes retained by each pool."),
    ("scaling", "Thread scaling", "ns/op of the contention kernel at each thread count."),
    ("heap-timeline", "Heap in use over time", "In-use bytes of each profiled run over time, stacked by pool "
     "label; the dashed line marks the peak its heap profile was taken at. A pool's retained buffers show as "
     "a band that stays up; a plain run's transient buffers as spikes."),
    ("heap-top", "Heap: top consumers", "Share of the heap profile's total held by each of its top functions "
     "(flat), with the values `go tool pprof -top` prints."),
)


def render(ctx: Context) -> str:
    d = ctx.data
    out = [header(ctx, FILE)]
    out.append(absent_block(d))
    drawn = 0
    for key, title, how in SECTIONS:
        fig = ctx.figure(key)
        if not fig:
            continue
        drawn += key in ctx.figures
        out += [md.heading(2, title), how, fig]
    if not drawn:
        out.append("No chart could be drawn from the inputs of this report.")
    if d.verdicts:
        out.append(md.heading(2, "Micro-benchmark matrix"))
        out.append("Per benchmark variant and thread count, in words: what the micro-benchmark alone says. "
                   "These do not decide a pool; the per-pool decisions, on the end-to-end effect, are in the "
                   f"{md.link('README', 'README.md')}.")
        out.append(_matrix(d.verdicts))
    return md.join(*out)


def _effect(e, better: str, worse: str) -> str:  # type: ignore[no-untyped-def]
    if e is None:
        return "not measured"
    if e.p_value is None:
        return "untested (too few samples)"
    if not e.significant or e.delta_pct is None or e.delta_pct == 0:
        return "no significant change"
    return better if e.delta_pct < 0 else worse


def _matrix(verdicts: list[Verdict]) -> str:
    from collections import Counter

    n = Counter(v.pool for v in verdicts)
    rows = [[f"{v.pool} ({v.candidate})" if n[v.pool] > 1 else v.pool, _effect(v.time, "faster", "slower"), _effect(v.memory, "less memory", "more memory"),
             f"**{v.decision}**"] for v in verdicts]
    return md.table(["benchmark", "speed", "memory", "micro verdict"], rows, "llll")

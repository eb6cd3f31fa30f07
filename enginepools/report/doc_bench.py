"""``benchmark-results-summary.md``: the raw Go-format output and the
tables computed from it (pooled vs plain per unit, throughput, pool
counters, benchmarks without a twin, thread scaling)."""
from __future__ import annotations

import math
import os
import re
from typing import Sequence

from ..bench.benchfmt import Record
from . import fmt, md
from .common import BENCH, Context, by_unit, comparison_table, header, machine_table, median_table, unit_order, warnings_list

FILE = BENCH


def render(ctx: Context) -> str:
    d = ctx.data
    out = [header(ctx, FILE)]
    if not d.bench:
        out.append("No benchmark results were given to this report "
                   "(`enginepools report --bench FILE`, or run `enginepools study`).")
        return md.join(*out)
    out.append(md.heading(2, "Environment"))
    out.append(machine_table(d) or "The results carry no machine description.")
    out.append(_method(ctx))
    if d.comparison:
        out.append(md.heading(2, "Pooled vs plain allocation"))
        out.append("Each pooled benchmark is compared with its plain-allocation twin. Δ = (pooled − plain) / "
                   "plain of the medians: a positive Δ ns/op means the pool is slower, a negative Δ B/op "
                   "means it allocates less. *p* is the two-sided Mann–Whitney U test "
                   f"(significant when p ≤ α = {d.rules.alpha:g}); *n* is the number of samples per side.")
        rows_by_unit = by_unit(d.rows)
        for unit in unit_order(list(rows_by_unit)):
            out.append(md.heading(3, f"{unit} ({_unit_name(unit)})"))
            out.append(comparison_table(rows_by_unit[unit]))
        out.append(_throughput(ctx))
        out.append(_pool_only_units(ctx))
        warns = warnings_list(d.rows)
        if warns:
            out.append(md.heading(3, "Warnings"))
            out.append(md.bullets(warns))
    if d.others and d.others.tables:
        out.append(md.heading(2, "Benchmarks without a plain twin"))
        out.append("Medians and 95% confidence intervals of the median; no comparison is possible.")
        for t in d.others.tables:
            out.append(md.heading(3, t.unit))
            out.append(median_table(t))
    out.append(_noise(ctx))
    out.append(_scaling(d.records))
    if d.notes:
        out.append(md.heading(2, "Notes on the input"))
        out.append(md.bullets(d.notes))
    out.append(md.heading(2, "Raw output"))
    out.append("The results exactly as read, in the Go benchmark format "
               "(`benchstat` reads them unchanged).")
    for b in d.bench:
        title = os.path.basename(b.path) + (" (rendered from JSON)" if b.kind == "json" else "")
        out.append(md.heading(3, title))
        out.append(md.code(b.raw, "text"))
    return md.join(*out)


def _unit_name(unit: str) -> str:
    return {"ns/op": "time per operation", "B/op": "bytes allocated per operation", "MB/s": "throughput",
            "allocs/op": "allocations per operation"}.get(unit, "per operation" if unit.endswith("/op") else unit)


def _method(ctx: Context) -> str:
    d = ctx.data
    lines = [md.heading(2, "Method")]
    counts = sorted({r.old.n for r in d.rows} | {r.new.n for r in d.rows})
    items = []
    if d.study:
        s = d.study
        items.append(f"Run by `enginepools study`: `-count {s.get('count')}`, `-benchtime {s.get('benchtime')}`, "
                     f"variants interleaved (pooled, plain, pooled, plain, …) so that drift hits both; "
                     f"{fmt.seconds(float(s.get('bench_seconds', 0)))} of benchmarking.")
    if counts:
        items.append(f"Samples per benchmark and variant: {', '.join(map(str, counts))}.")
        if min(counts) < 4:
            items.append("With fewer than 4 samples per side no difference can be significant at α = 0.05: "
                         "re-run with `-count 6` or more for a verdict.")
    items.append("Centre: the median of the samples; interval: the 95% confidence interval of the median from "
                  "order statistics (needs at least 6 samples).")
    lines.append(md.bullets(items))
    return md.join(*lines)


def _throughput(ctx: Context) -> str:
    rows = [r for r in ctx.data.rows if r.unit == "ns/op" and r.old.center > 0 and r.new.center > 0]
    if not rows:
        return ""
    body = []
    for r in rows:
        old_ops, new_ops = 1e9 / r.old.center, 1e9 / r.new.center
        b, a = fmt.ratio_pair(new_ops, old_ops)
        body.append([r.name, f"{r.new_label} vs {r.old_label}", a, b, fmt.ratio(fmt.parse(b), fmt.parse(a))])
    return md.join(
        md.heading(3, "Throughput"),
        "Operations per second = 10⁹ / median ns/op; the ratio is pooled / plain (above 1.00× the pool "
        "is faster).",
        md.table(["benchmark", "pooled vs plain", "plain ops/s", "pooled ops/s", "ratio pooled/plain"], body,
                 "llrrr"))


def _pool_only_units(ctx: Context) -> str:
    """Units only the pooled variant reports (pool counters: hits/op, …)."""
    comp = ctx.data.comparison
    if not comp:
        return ""
    compared_units = {r.unit for r in comp.rows}
    out = []
    for t in comp.tables:
        if t.unit in compared_units:
            continue
        cols = [c for c in t.columns if any((n, c) in t.cells for n in t.names)]
        table = median_table(t, cols)
        if table:
            out += [md.heading(4, t.unit), table]
    if not out:
        return ""
    return md.join(md.heading(3, "Pool counters"),
                   "Counters only the pooled variants report (per operation unless the unit says otherwise): "
                   "they show *why* a pool is fast or slow.", *out)


_PROCS_NAME = re.compile(r"^(.*)-(\d+)$")

_READING = {"machine": "the machine's (follows the probe)", "kernel": "the kernel's own (probe steadier)",
            "unclear": "unclear (probe varied, ns/op does not follow)"}


def _noise(ctx: Context) -> str:
    """How much each benchmark varied between samples, and whether the
    machine probe in the JSON results says why (enginepools.bench.noise)."""
    from ..bench import noise
    from ..bench.result import BenchResult
    from ..errors import InputError

    found: list[noise.Stability] = []
    probed = False
    for b in ctx.data.bench:
        try:
            res = BenchResult.read(b.path)
        except (OSError, InputError, ValueError):
            continue
        for st in noise.check(res, only_noisy=False):
            found.append(st)
            probed = probed or not math.isnan(st.zero_cv)
    if not found:
        return ""
    limit = f"{noise.CV_LIMIT * 100:g}"
    noisy = [st for st in found if st.noisy]
    intro = (f"The coefficient of variation (CV) of each benchmark's ns/op over its samples, from the raw output "
             f"below: {len(found) - len(noisy)} of {len(found)} benchmarks varied by at most the {limit}% that a "
             f"steady measurement stays within" + ("." if not noisy else "; the others are listed here."))
    if not noisy:
        return md.join(md.heading(2, "Measurement noise"), intro)
    if probed:
        intro += (" Beside the noisy ones, what the harness's machine probe measured between the same samples: "
                  "the time to zero 64 KiB (store-bound, slowed by other work on this core or its caches), "
                  "and the correlation *r* of ns/op with it. A spread that follows the probe is the machine's, "
                  "not the pool's; the U test and the intervals above hold either way, only wider.")
    body = []
    for st in noisy:
        lo, hi = st.zero_range
        probe = "—" if math.isnan(lo) else f"{lo:.0f}–{hi:.0f} ns"
        r = max((x for x in (st.r_zero, st.r_chain) if not math.isnan(x)), default=math.nan)
        body.append([f"`{st.name}`", str(st.samples), f"{st.cv * 100:.1f}%", probe,
                     "—" if math.isnan(r) else f"{r:.2f}", _READING[st.cause] if probed else "no probe in the input"])
    return md.join(md.heading(2, "Measurement noise"), intro,
                   md.table(["benchmark", "n", "CV of ns/op", "probe: zeroing 64 KiB", "r", "the spread is"],
                            body, "lrrrrl"))


def _scaling(records: Sequence[Record]) -> str:
    """ns/op of benchmarks run at several thread counts (``-cpu 1,2``)."""
    groups: dict[str, dict[int, list[float]]] = {}
    for r in records:
        if "ns/op" not in r.values:
            continue
        base = r.label()
        if r.procs is not None:
            m = _PROCS_NAME.match(base)
            base = m.group(1) if m else base
        # Go omits the suffix at GOMAXPROCS=1
        groups.setdefault(base, {}).setdefault(r.procs or 1, []).append(r.values["ns/op"])
    groups = {k: v for k, v in groups.items() if len(v) > 1}
    if not groups:
        return ""
    import numpy as np

    body = []
    for name, per in groups.items():
        procs = sorted(per)
        first = float(np.median(per[procs[0]]))
        for p in procs:
            med = float(np.median(per[p]))
            speedup = fmt.ratio_phrase(first, med) if p != procs[0] else "1.00× (baseline)"
            body.append([name, str(p), fmt.num(med), str(len(per[p])), speedup])
    return md.join(
        md.heading(2, "Thread scaling"),
        "Median ns/op at each thread count (RunParallel semantics: wall time / total operations); speed-up "
        "is ns/op at the fewest threads divided by ns/op here.",
        md.table(["benchmark", "threads", "ns/op", "n", "speed-up"], body))

"""The per-pool decisions in words and tables: the README's answer and
decision table, each pool's evidence chain (printed once, in the findings
document), and the share bound for profiles of another program."""
from __future__ import annotations

from typing import Any, Sequence

from ..analysis.decision import INCONCLUSIVE, KEEP, REMOVE, TRADE_OFF, Effect, PoolDecision, Share
from . import fmt, md

BASIS = {"measured": "measured A/B", "predicted": "predicted (share × micro)", "bound": "share bound",
         "micro": "micro only"}


def effect_text(e: Effect | None) -> str:
    """``−3.2% [−5.1%, −1.0%]`` (paired Hodges–Lehmann estimate and interval)."""
    if e is None:
        return "—"
    if e.lo is None or e.hi is None:
        return f"{fmt.pct(e.delta)} (no interval: {e.n} round{'s' * (e.n != 1)})"
    return f"{fmt.pct(e.delta)} [{fmt.pct(e.lo)}, {fmt.pct(e.hi)}]"


def share_text(s: Share | None) -> str:
    if s is None:
        return "—"
    if s.unit == "bytes":
        return fmt.share_phrase(s.part, s.total, scale=fmt.byte_scale([s.total]))
    if s.unit == "nanoseconds":
        return fmt.share_phrase(s.part, s.total, scale=(1e6, "ms"))
    return fmt.share_phrase(s.part, s.total, s.unit)


def _e2e_cell(d: PoolDecision) -> str:
    """The end-to-end time effect the decision rests on (the bound, when only that is known)."""
    if d.basis == "bound" and d.bound is not None:
        return f"at most {fmt.pct(d.bound, signed=False)} faster (share bound)"
    return "—" if d.basis == "micro" else effect_text(d.time)


def decision_table(decisions: Sequence[PoolDecision]) -> str:
    """One row per pool."""
    head = ["pool", "decision", "decided on", "end-to-end time Δ", "peak RSS Δ", "micro time Δ", "share of CPU",
            "held", "rule"]
    rows = []
    for d in decisions:
        rows.append([d.pool, f"**{d.decision}**", BASIS[d.basis], _e2e_cell(d),
                     effect_text(d.measured.get("peak RSS")), effect_text(d.micro),
                     share_text(d.cpu_share),
                     fmt.bytes_(d.held) if d.held else "—", d.rule])
    return md.table(head, rows, "lll" + "r" * 5 + "l")


def text_table(decisions: Sequence[PoolDecision]) -> str:
    """The decision table for a terminal (``enginepools verdict`` / ``study``)."""
    head = ["pool", "decision", "decided on", "e2e time Δ", "peak RSS Δ", "micro time Δ", "CPU share"]
    body = [[d.pool, d.decision, BASIS[d.basis], _e2e_cell(d), effect_text(d.measured.get("peak RSS")),
             effect_text(d.micro), fmt.pct(d.cpu_share.fraction, signed=False) if d.cpu_share else "—"]
            for d in decisions]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head, *body]]
    lines += [f"{d.pool}: {d.rule}" for d in decisions]
    return "\n".join(lines) + "\n"


def answer(decisions: Sequence[PoolDecision], rules: Any, ab: Any = None) -> str:
    """The README's opening paragraph: do the pools pay?"""
    if not decisions:
        return ""
    by = {k: [d.pool for d in decisions if d.decision == k] for k in (KEEP, TRADE_OFF, REMOVE, INCONCLUSIVE)}
    n = len(decisions)
    parts = [f"{n} pool{'s' * (n != 1)} decided, one decision each, on their end-to-end effect with a "
             f"±{rules.margin_pct:g}% margin (B/op alone never keeps a pool):"]
    words = {KEEP: "pay for themselves (keep)", TRADE_OFF: "trade time against memory",
             REMOVE: "do not pay (remove)", INCONCLUSIVE: "cannot be decided yet (inconclusive)"}
    said = [f"{_names(v)} {words[k]}" for k, v in by.items() if v]
    parts.append("; ".join(said) + ".")
    measured = [d for d in decisions if d.basis == "measured"]
    if measured:
        parts.append(f"{_names([d.pool for d in measured])} rest on the measured A/B of the pipeline; the others "
                     "on the prediction share × micro Δ (Amdahl).")
    elif any(d.basis in ("predicted", "bound") for d in decisions):
        parts.append("No A/B ran a pool on its own, so each decision rests on the prediction share × micro Δ "
                     "(Amdahl): a pool cannot change the whole program by more than its share of the CPU.")
    if ab is not None:
        from ..analysis.decision import paired_effect

        effects = []
        if "all" in getattr(ab, "configs", ()):
            for what, unit in (("wall time", "ns/op"), ("CPU time", "cpu-ns/op"), ("peak RSS", "peak-RSS-B")):
                e = paired_effect(what, ab.values("none", unit), ab.values("all", unit), rules.alpha)
                if e is not None:
                    effects.append(e)
        if effects:
            parts.append("Measured end to end, all pools together (`pools=all` against `pools=none`, paired by "
                         f"round, {effects[0].n} rounds) changed the pipeline's "
                         + ", ".join(f"{e.what} by {effect_text(e)}" for e in effects) + ".")
    return " ".join(parts)


def _names(names: Sequence[str]) -> str:
    b = [f"**{n}**" for n in names]
    return b[0] if len(b) == 1 else ", ".join(b[:-1]) + " and " + b[-1]


def share_bound(decisions: Sequence[PoolDecision], pkg: str | None) -> str:
    """For profiles of another program (no A/B): what the pools' share allows."""
    ds = [d for d in decisions if d.cpu_share is not None or d.heap_share is not None]
    if not ds or not pkg or "." not in pkg.split("/")[0] or any(d.basis == "measured" for d in decisions):
        return ""  # only for profiles of a Go program (its benchmarked package is an import path)
    cpu = max((d.cpu_share for d in ds if d.cpu_share), key=lambda s: s.fraction, default=None)
    heap = max((d.heap_share for d in ds if d.heap_share), key=lambda s: s.fraction, default=None)
    where = f"the benchmarked package `{pkg}`"
    bits = []
    if heap is not None:
        bits.append(f"{share_text(heap)} of the allocations in `{heap.profile}`")
    if cpu is not None:
        bits.append(f"{share_text(cpu)} of the CPU time in `{cpu.profile}`")
    text = f"Stacks through {where} — the pools these benchmarks measure — are at most " + " and ".join(bits) + "."
    if cpu is not None:
        text += (f" By Amdahl's law the pools cannot make that program faster by more than their CPU share, "
                 f"{fmt.pct(cpu.fraction, signed=False)}, however much faster the micro-benchmarks say they are: "
                 "a claim of faster builds larger than that does not follow from these results.")
    return text


def evidence_chain(d: PoolDecision, margin_pct: float) -> str:
    """The pool's evidence (a)–(e), once."""
    items = [f"Decision: {d.rule}."]
    if d.micro is not None:
        items.append(f"(a) Micro: time per op {effect_text(d.micro)} pooled against plain, paired over "
                     f"{d.micro.n} rounds (each round's log-ratio averaged over {len(d.kernels)} kernel "
                     f"variant{'s' * (len(d.kernels) != 1)}: {', '.join(f'`{k}`' for k in d.kernels)}); "
                     f"signed-rank p={fmt.p_value(d.micro.p_value)}.")
    else:
        items.append(f"(a) Micro: no paired time comparison ({', '.join(f'`{k}`' for k in d.kernels)}).")
    for t in d.totals:
        items.append(f"(a) {t.unit}, medians summed over the kernels: {fmt.delta_phrase(t.plain, t.pooled, t.unit)}.")
    if d.cpu_share is not None or d.heap_share is not None:
        s = [f"{share_text(x)} of the {what} (`{x.profile}`)"
             for x, what in ((d.cpu_share, "CPU time"), (d.heap_share, "bytes allocated")) if x is not None]
        items.append(f"(b) Share: the pooled path runs {' and '.join(s)} of the end-to-end workload.")
    if d.cpu_share is None:
        items.append("(b) No CPU profile was given: the micro effect is taken as the whole program's "
                     "(its share taken as the 100% upper bound).")
    if d.predicted is not None and d.cpu_share is not None:
        items.append(f"(c) Predicted end-to-end time: {effect_text(d.predicted)} = "
                     f"{fmt.pct(d.cpu_share.fraction, signed=False)} × {effect_text(d.micro)}.")
    elif d.bound is not None:
        items.append(f"(c) Predicted: with no paired micro interval, only the bound — the pool can improve "
                     f"end-to-end time by at most its CPU share, {fmt.pct(d.bound, signed=False)}.")
    if d.measured:
        ms = "; ".join(f"{w} {effect_text(e)} (p={fmt.p_value(e.p_value)}, {e.n} rounds)"
                       for w, e in d.measured.items())
        items.append(f"(d) Measured end-to-end (A/B `pools={d.ab_config}` against `pools=none`, paired by "
                     f"round): {ms}.")
    else:
        items.append("(d) Measured: the A/B did not run this pool on its own (all pools together, when it ran "
                     "`pools=all`: see the README's first paragraph).")
    if d.disagreement:
        items.append(f"Prediction and measurement disagree: {d.disagreement}.")
    held = f"the pool holds {fmt.bytes_(d.held)} between operations (`retained-B`)" if d.held else \
        "no retained-B reported"
    rss = d.measured.get("peak RSS")
    rss_t = f"; end to end, peak RSS {effect_text(rss)}" if rss is not None else ""
    items.append(f"(e) Held: {held}{rss_t}.")
    if d.decision == INCONCLUSIVE and d.rounds_needed:
        items.append(f"More rounds: about {d.rounds_needed} would settle it at the present spread (the interval "
                     f"above the lower edge of ±{margin_pct:g}%: remove; or below 0 with the estimate beyond the {margin_pct:g}% "
                     f"margin: keep).")
    return md.join(md.heading(3, f"{d.pool}: {d.decision}"), md.bullets(items))


__all__ = ["decision_table", "text_table", "answer", "share_bound", "evidence_chain", "effect_text", "share_text"]

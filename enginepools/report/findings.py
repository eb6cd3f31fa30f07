"""Sentences about the results, built only from the numbers (no template
holds a figure): one per verdict, per heap profile, per A/B run."""
from __future__ import annotations

from typing import Any

from ..analysis.verdict import INCONCLUSIVE, KEEP, REMOVE, Evidence, Verdict
from . import fmt
from .common import Context

_MEANING = {
    "ns/op": ("slower", "faster"),
    "sec/op": ("slower", "faster"),
    "B/op": ("more bytes allocated", "fewer bytes allocated"),
    "allocs/op": ("more allocations", "fewer allocations"),
}


def evidence_phrase(e: Evidence | None, name: str = "") -> str:
    """``time +17.6% (59.88 → 70.40 ns/op, p=0.002, n=6+6)`` with a word
    saying what the sign means."""
    if e is None:
        return f"no {name} comparison" if name else "no comparison"
    d = fmt.delta(e.old_median, e.new_median)
    a, b = fmt.pair(e.old_median, e.new_median)
    more, less = _MEANING.get(e.unit, ("higher", "lower"))
    word = "" if d is None or d == 0 else (f", {more}" if d > 0 else f", {less}")
    p = "no p-value" if e.p_value is None else f"p={e.p_value:.3f}"
    sig = "" if e.p_value is None else (" significant" if e.significant else " not significant")
    return f"{fmt.pct(d)} ({a} → {b} {e.unit}{word}; {p}{sig}, n={e.n_old}+{e.n_new})"


def verdict_sentence(v: Verdict) -> str:
    what = {KEEP: "keep", REMOVE: "remove", INCONCLUSIVE: "inconclusive"}[v.decision]
    parts = [f"**{v.pool}** ({v.candidate} vs {v.baseline}): **{what}**"]
    parts.append(f"time {evidence_phrase(v.time, 'time')}")
    if v.memory is not None:
        parts.append(f"memory {evidence_phrase(v.memory, 'memory')}")
    return " — ".join(parts[:1]) + " — " + "; ".join(parts[1:]) + "."


def counts(verdicts: list[Verdict]) -> dict[str, int]:
    out = {KEEP: 0, REMOVE: 0, INCONCLUSIVE: 0}
    for v in verdicts:
        out[v.decision] += 1
    return out


def key_findings(ctx: Context) -> list[str]:
    d = ctx.data
    out: list[str] = []
    if d.verdicts:
        c = counts(d.verdicts)
        out.append(f"{len(d.verdicts)} pool{'s' * (len(d.verdicts) != 1)} compared with plain allocation: "
                   f"{c[KEEP]} keep, {c[REMOVE]} remove, {c[INCONCLUSIVE]} inconclusive.")
        out += [verdict_sentence(v) for v in d.verdicts]
    for pa in ctx.profiles:
        out += pa.findings()
    out += diff_findings(ctx)
    if d.ab is not None:
        out += ab_findings(d.ab.data)
    return out


def diff_findings(ctx: Context) -> list[str]:
    """The totals of the two profiles of the differential flame graph."""
    if ctx.diff is None:
        return []
    base_label, new_label, ix = ctx.diff
    tops = {pa.label: pa.tops for pa in ctx.profiles}
    b, n = tops.get(base_label, {}).get(ix), tops.get(new_label, {}).get(ix)
    if b is None or n is None or b.total == 0:
        return []
    if b.sample_unit == "bytes":
        div, unit = fmt.byte_scale([b.total, n.total])
    else:
        div, unit = 1.0, b.sample_unit
    return [f"`{ix}` of `{new_label}` against `{base_label}`: "
            f"{fmt.delta_phrase(b.total / div, n.total / div, unit)}."]


def ab_findings(ab: Any) -> list[str]:
    """One sentence per pipeline configuration: wall time and bytes allocated
    against ``pools=none``."""
    comparison = getattr(ab, "comparison", None)
    if not callable(comparison):
        return []
    rows = comparison().rows
    out = []
    for r in (r for r in rows if r.unit == "ns/op"):
        p = "no p-value" if r.p_value is None else f"p={r.p_value:.3f}"
        sig = "" if r.p_value is None else (", significant" if r.significant else ", not significant")
        text = (f"End to end, the pipeline with pools={r.new_label} against pools={r.old_label}: wall time "
                f"{fmt.delta_phrase(r.old.center / 1e6, r.new.center / 1e6, 'ms')}, {p}{sig}")
        mem = next((m for m in rows if m.unit == "B/op" and m.new_label == r.new_label and m.name == r.name), None)
        if mem is not None:
            div, unit = fmt.byte_scale([mem.old.center, mem.new.center])
            text += f"; bytes allocated {fmt.delta_phrase(mem.old.center / div, mem.new.center / div, unit)}"
        out.append(text + ".")
    return out

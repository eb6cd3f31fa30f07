"""Pieces several documents share: the document index, the sources line,
the verdict table and the comparison tables."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..analysis.compare import Row, Table
from ..analysis.verdict import Verdict
from . import fmt, md
from .model import ReportData

README = "README.md"
PPROF = "pprof-results-analysis.md"
BENCH = "benchmark-results-summary.md"
VISUAL = "visual-performance-summary.md"
FINDINGS = "profiling-analysis-findings.md"

TITLES = {
    README: "Memory pool analysis",
    PPROF: "pprof results analysis",
    BENCH: "Benchmark results summary",
    VISUAL: "Visual performance summary",
    FINDINGS: "Profiling analysis findings",
}

UNIT_NAMES = {"ns/op": "time", "sec/op": "time", "B/op": "memory", "allocs/op": "allocations"}


@dataclass
class Figure:
    """One rendered image (paths relative to the report directory)."""

    key: str
    title: str
    caption: str
    png: str
    svg: str | None = None


@dataclass
class Context:
    """What every document writer gets."""

    data: ReportData
    figures: dict[str, Figure] = field(default_factory=dict)
    figure_notes: dict[str, str] = field(default_factory=dict)  # key -> why it is missing
    profiles: list[Any] = field(default_factory=list)  # profile analyses (see doc_pprof)
    diff: tuple[str, str, str] | None = None  # (base label, new label, sample index) of the diff flame graph
    extra_files: list[str] = field(default_factory=list)
    pipeline_md: str = ""  # the end-to-end section (pipeline_report.pipeline_section)
    pipeline_figures: list[str] = field(default_factory=list)  # other files written (e.g. .dot graphs)

    def figure(self, key: str, alt: str | None = None) -> str:
        """The image with its caption and SVG link, or why it is missing."""
        f = self.figures.get(key)
        if f is None:
            why = self.figure_notes.get(key)
            return f"*({why})*\n" if why else ""
        svg = f"([SVG]({f.svg}))" if f.svg else ""
        caption = f"*{f.caption}* {svg}" if f.caption else svg
        return md.join(md.image(f.png, alt or f.title), caption)


def header(ctx: Context, doc: str) -> str:
    d = ctx.data
    lines = [md.heading(1, TITLES[doc])]
    src = sources_line(d)
    index = "" if doc == README else f" Part of the report set — see the {md.link('index', README)}."
    lines.append(f"Generated {d.generated} by enginepools from {src}.{index}")
    return md.join(*lines)


def sources_line(d: ReportData) -> str:
    parts = []
    if d.bench:
        n = len(d.records)
        parts.append(f"{fmt.count(n)} benchmark sample{'s' * (n != 1)} "
                     f"({', '.join(f'`{_base(b.path)}`' for b in d.bench)})")
    if d.profiles:
        parts.append(f"{len(d.profiles)} profile{'s' * (len(d.profiles) != 1)} "
                     f"({', '.join(f'`{_base(p.path)}`' for p in d.profiles)})")
    if d.ab:
        parts.append(f"a pipeline A/B run (`{_base(d.ab.path)}`)")
    return ", ".join(parts) if parts else "no inputs"


def _base(path: str) -> str:
    import os

    return os.path.basename(path)


def absent_block(d: ReportData) -> str:
    if not d.absent:
        return ""
    return md.join("**Not in this report:**", md.bullets(s[0].upper() + s[1:] + "." for s in d.absent))


def machine_table(d: ReportData) -> str:
    if not d.machine:
        return ""
    return md.table(["key", "value"], [[k, f"`{v}`"] for k, v in d.machine.items()], "ll")


# --------------------------------------------------------------- verdicts

def pool_name(v: Verdict, verdicts: Sequence[Verdict]) -> str:
    """The pool's name, with the variant when one benchmark has several
    pooled variants (``HashBuffer (pool-noclear)``)."""
    several = sum(1 for w in verdicts if w.pool == v.pool) > 1
    return f"{v.pool} ({v.candidate})" if several else v.pool


def verdict_table(verdicts: Sequence[Verdict], with_rule: bool = True) -> str:
    """Pool, verdict, time and B/op medians with Δ and p, and the rule."""
    time_unit = next((v.time.unit for v in verdicts if v.time), "ns/op")
    head = ["pool", "pooled vs plain", "verdict", f"plain {time_unit}", f"pooled {time_unit}", f"Δ {time_unit}",
            "p (time)", "plain B/op", "pooled B/op", "Δ B/op", "p (B/op)"]
    if with_rule:
        head.append("deciding rule")
    rows = []
    for v in verdicts:
        row = [v.pool, f"{v.candidate} vs {v.baseline}", f"**{v.decision}**",
               *_evidence_cells(v.time), *_evidence_cells(v.memory)]
        if with_rule:
            row.append(v.rule)
        rows.append(row)
    return md.table(head, rows, "lll" + "r" * 8 + ("l" if with_rule else ""))


def _evidence_cells(e: Any) -> list[str]:
    if e is None:
        return ["—", "—", "—", "—"]
    a, b = fmt.pair(e.old_median, e.new_median)
    return [a, b, fmt.pct(fmt.delta(e.old_median, e.new_median)), fmt.p_value(e.p_value)]


# ------------------------------------------------------------ comparisons

def comparison_table(rows: Sequence[Row]) -> str:
    """Pooled vs plain for one unit: medians, intervals, Δ, p, n."""
    unit = rows[0].unit
    head = ["benchmark", "pooled vs plain", f"plain {unit}", "plain 95% CI", f"pooled {unit}", "pooled 95% CI",
            f"Δ {unit}", "p", "n", "significant"]
    body = []
    for r in rows:
        a, b = fmt.pair(r.old.center, r.new.center)
        sig = "yes" if r.significant else ("no" if r.p_value is not None else "untestable")
        body.append([r.name, f"{r.new_label} vs {r.old_label}", a, fmt.interval(r.old.lo, r.old.hi), b,
                     fmt.interval(r.new.lo, r.new.hi), fmt.pct(fmt.delta(r.old.center, r.new.center)),
                     fmt.p_value(r.p_value), f"{r.old.n}+{r.new.n}", sig])
    return md.table(head, body, "ll" + "r" * 7 + "l")


def median_table(t: Table, columns: Sequence[str] | None = None) -> str:
    """Medians (and intervals) of the cells of a table, no comparison."""
    cols = list(columns or t.columns)
    head = ["benchmark"]
    for c in cols:
        head += [f"{c} {t.unit}" if len(cols) > 1 else f"median {t.unit}", "95% CI", "n"]
    body = []
    for name in t.names:
        row: list[str] = [name]
        if not any((name, c) in t.cells for c in cols):
            continue
        for c in cols:
            s = t.cells.get((name, c))
            row += ["—", "—", "—"] if s is None else [fmt.num(s.center), fmt.interval(s.lo, s.hi), str(s.n)]
        body.append(row)
    return md.table(head, body) if body else ""


def warnings_list(rows: Sequence[Row]) -> list[str]:
    seen: dict[str, None] = {}
    for r in rows:
        for w in r.warnings:
            seen[w] = None
    return list(seen)


def finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def by_unit(rows: Sequence[Row]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for r in rows:
        out.setdefault(r.unit, []).append(r)
    return out


def unit_order(units: Sequence[str], key: Callable[[str], int] | None = None) -> list[str]:
    pref = ["ns/op", "sec/op", "B/op", "allocs/op"]
    return sorted(units, key=lambda u: (pref.index(u) if u in pref else len(pref), units.index(u)))

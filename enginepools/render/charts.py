"""The study's charts, drawn from data (never measured here).

Every function takes plain data — comparison rows from
:mod:`enginepools.analysis.compare` (``Row`` objects or their JSON dicts), verdicts
from :mod:`enginepools.analysis.verdict`, or small dataclasses defined here — and
returns a :class:`matplotlib.figure.Figure`.  Write it with :func:`save`
(PNG and SVG, atomically).  Empty input raises ``ValueError`` naming what
is missing.

=========================  =================================================
:func:`time_chart`         ns/op, plain vs pooled, 95% CI of each median
:func:`memory_chart`       B/op and allocs/op, plain vs pooled
:func:`throughput_chart`   MB/s, plain vs pooled
:func:`impact_chart`       Δ% per pool with its 95% CI, significant marked
:func:`heap_top_chart`     a heap profile's top consumers, % of total
:func:`pool_stats_chart`   pool hit rate and bytes retained
:func:`scaling_chart`      contention kernel: time per op vs threads
:func:`quadrant_chart`     Δ time vs Δ memory per pool, with verdicts
:func:`ab_chart`           end-to-end A/B: Δ wall time per configuration
=========================  =================================================

The Δ interval of :func:`impact_chart` and :func:`ab_chart` is the
Hodges–Lehmann interval of the ratio new/old (pairwise log-ratios, exact
Mann–Whitney critical value): it is the interval the U test inverts, so it
excludes 0 exactly when the test is significant at the same level (up to
ties), and the marked bars agree with their intervals.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ..pprof import units
from . import style as ps
from .style import save, styled

__all__ = ["Estimate", "Pair", "PoolStat", "ScalingPoint", "QuadrantPoint", "pairs_from_rows",
           "time_chart", "memory_chart", "throughput_chart", "paired_chart", "impact_chart", "heap_top_chart",
           "heap_top_from_graph", "pool_stats_chart", "scaling_chart", "scaling_from_records", "quadrant_chart", "quadrant_points",
           "ab_chart", "format_value", "save"]


# ------------------------------------------------------------------- data

@dataclass(frozen=True)
class Estimate:
    """A median and its confidence interval (``lo``/``hi`` None: no interval)."""

    median: float
    lo: float | None = None
    hi: float | None = None
    n: int = 0

    @property
    def has_ci(self) -> bool:
        return self.lo is not None and self.hi is not None and math.isfinite(self.lo) and math.isfinite(self.hi)


@dataclass(frozen=True)
class Pair:
    """One benchmark in one unit: the plain baseline against the pooled candidate."""

    name: str
    unit: str
    plain: Estimate
    pooled: Estimate
    plain_label: str = "plain"
    pooled_label: str = "pooled"
    delta_pct: float | None = None
    p_value: float | None = None
    significant: bool = False
    plain_values: tuple[float, ...] = ()
    pooled_values: tuple[float, ...] = ()


@dataclass(frozen=True)
class PoolStat:
    """A pool's counters after a run."""

    name: str
    hits: int
    misses: int
    retained_bytes: float

    @property
    def hit_rate(self) -> float | None:
        total = self.hits + self.misses
        return None if total == 0 else self.hits / total


@dataclass(frozen=True)
class ScalingPoint:
    threads: int
    estimate: Estimate


@dataclass(frozen=True)
class QuadrantPoint:
    name: str
    time_delta_pct: float
    memory_delta_pct: float
    decision: str  # keep / remove / inconclusive


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _estimate(s: Any) -> Estimate:
    """From a stats.Summary, a JSON summary dict or an Estimate."""
    if isinstance(s, Estimate):
        return s
    if isinstance(s, Mapping):
        return Estimate(float(s["median"]), s.get("ci_low"), s.get("ci_high"), int(s.get("n", 0)))
    lo, hi = getattr(s, "lo", None), getattr(s, "hi", None)
    lo = lo if lo is not None and math.isfinite(lo) else None
    hi = hi if hi is not None and math.isfinite(hi) else None
    return Estimate(float(s.center), lo, hi, int(getattr(s, "n", 0)))


def pairs_from_rows(rows: Iterable[Any], unit: str | None = None) -> list[Pair]:
    """:class:`Pair` objects from comparison rows (``compare.Row`` or
    their JSON dicts), keeping only `unit` when given."""
    out = []
    for r in rows:
        if isinstance(r, Pair):
            if unit is None or r.unit == unit:
                out.append(r)
            continue
        if _get(r, "new") is None:
            continue
        if unit is not None and _get(r, "unit") != unit:
            continue
        old_v = tuple(_get(r, "old_values", ()) or ())
        new_v = tuple(_get(r, "new_values", ()) or ())
        out.append(Pair(
            name=str(_get(r, "name")), unit=str(_get(r, "unit")),
            plain=_estimate(_get(r, "old")), pooled=_estimate(_get(r, "new")),
            plain_label=str(_get(r, "old_label") or "plain"), pooled_label=str(_get(r, "new_label") or "pooled"),
            delta_pct=_get(r, "delta_pct"), p_value=_get(r, "p_value"), significant=bool(_get(r, "significant")),
            plain_values=old_v, pooled_values=new_v))
    return out


# ------------------------------------------------------------ formatting

_SCALES = {
    "ns": [(1e9, "s"), (1e6, "ms"), (1e3, "µs"), (1.0, "ns")],
    "B": [(2.0 ** 30, "GiB"), (2.0 ** 20, "MiB"), (2.0 ** 10, "KiB"), (1.0, "B")],
}


def format_value(v: float, unit: str) -> str:
    """``1500, "ns/op"`` → ``1.50 µs``; ``65536, "B/op"`` → ``64.0 KiB``;
    other units: three significant digits and the unit's first part."""
    base = unit[: -len("/op")] if unit.endswith("/op") else unit
    if base in _SCALES and v != 0 and math.isfinite(v):
        for factor, name in _SCALES[base]:
            if abs(v) >= factor:
                return f"{_sig(v / factor)} {name}"
    if base in ("allocs", "ops"):
        return _sig(v)
    return f"{_sig(v)} {base}" if base else _sig(v)


def _pct(d: float) -> str:
    """``+25.4%``; one more decimal where rounding would say ±100% or 0%
    for a value that is neither."""
    text = f"{d:+.1f}%"
    if d != 0 and (text in ("+0.0%", "-0.0%") or (abs(d) != 100 and text in ("+100.0%", "-100.0%"))):
        text = f"{d:+.2f}%"
    return text


def _sig(x: float) -> str:
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    if x == int(x) and abs(x) < 1000:
        return f"{int(x)}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    digits = max(0, 2 - int(math.floor(math.log10(abs(x)))))
    return f"{x:.{digits}f}"


# ------------------------------------------------------- Δ interval (HL)

def _ci_pct(p: Pair, confidence: float) -> tuple[float, float] | None:
    """The Hodges–Lehmann interval of a pair's Δ, in percent (the bars' unit)."""
    from ..analysis.stats import delta_ci_hodges_lehmann

    if not (p.plain_values and p.pooled_values):
        return None
    ci = delta_ci_hodges_lehmann(p.plain_values, p.pooled_values, confidence)
    return None if ci is None else (100.0 * ci[0], 100.0 * ci[1])


# ---------------------------------------------------------- paired bars

def _require(items: Sequence[Any], what: str) -> None:
    if not items:
        raise ValueError(f"no data to chart: {what}")


def _err(e: Estimate) -> tuple[float, float]:
    if not e.has_ci:
        return 0.0, 0.0
    assert e.lo is not None and e.hi is not None
    return max(0.0, e.median - e.lo), max(0.0, e.hi - e.median)


def _grid(count: int, max_cols: int = 4) -> tuple[int, int]:
    """Rows and columns for `count` panels: one row up to max_cols + 1,
    else rows as full as possible (6 → 2×3, not 4 + 2)."""
    if count <= max_cols + 1:
        return 1, count
    rows = int(math.ceil(count / max_cols))
    return rows, int(math.ceil(count / rows))


def _pair_panel(ax: Axes, p: Pair, unit: str, higher_is_better: bool) -> None:
    vals = [p.plain.median, p.pooled.median]
    errs = np.array([_err(p.plain), _err(p.pooled)]).T
    labels = [p.plain_label, p.pooled_label]
    bars = ax.bar([0, 1], vals, width=0.6, color=[ps.PLAIN, ps.POOLED])
    bars.set_label(f"{p.name} {unit}")
    with_ci = [i for i, e in enumerate((p.plain, p.pooled)) if e.has_ci]
    if with_ci:  # whiskers only where there is an interval (no zero-length caps)
        ax.errorbar(with_ci, [vals[i] for i in with_ci], yerr=errs[:, with_ci], fmt="none", ecolor="#333333",
                    elinewidth=1.2, capsize=3)
    ax.set_xticks([0, 1], labels)
    ax.set_ylabel(unit)
    top = max(v + e for v, e in zip(vals, errs[1])) or 1.0
    for x, v, e in zip([0, 1], vals, errs[1]):
        ax.annotate(format_value(v, unit), (x, v + e), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=8.5)
    ax.set_ylim(0, top * 1.22)
    ax.set_xlim(-0.6, 1.6)
    title = _wrap_name(p.name, 26)
    if p.delta_pct is not None:
        better = (p.delta_pct > 0) if higher_is_better else (p.delta_pct < 0)
        if p.p_value is None:  # own line: panels are narrow
            sig = f"\nuntested: n={p.plain.n}+{p.pooled.n}"
        else:
            sig = "" if p.significant else " (n.s.)"
        if p.delta_pct == 0:
            title += f"\nΔ 0%: no change{sig}"
        else:
            title += f"\nΔ {_pct(p.delta_pct)} {'better' if better else 'worse'}{sig}"
    ax.set_title(title, fontsize=10)
    ax.yaxis.grid(True)
    if unit.startswith("allocs"):
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))


@styled
def paired_chart(rows: Iterable[Any], unit: str, title: str, *, higher_is_better: bool = False,
                 max_cols: int = 4) -> Figure:
    """Small multiples: one panel per benchmark with the plain and pooled
    medians of `unit` and their 95% CIs (no error bar: fewer than 6 samples)."""
    pairs = pairs_from_rows(rows, unit)
    _require(pairs, f"no comparison rows in {unit}")
    nrows, ncols = _grid(len(pairs), max_cols)
    fig = ps.new_figure(max(6.5, 2.6 * ncols + 0.4), 2.7 * nrows + 0.9)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, p in zip(axes.flat, pairs):
        _pair_panel(ax, p, unit, higher_is_better)
    for ax in list(axes.flat)[len(pairs):]:
        ax.set_visible(False)
    hint = "higher is better" if higher_is_better else "lower is better"
    fig.suptitle(f"{title}\n{unit}, {hint}; bars: median, whiskers: 95% CI")
    _fit_titles(fig)
    return fig


def time_chart(rows: Iterable[Any], unit: str = "ns/op", title: str = "Time per operation, plain vs pooled") -> Figure:
    """ns/op of each benchmark, plain vs pooled, with 95% CIs."""
    return paired_chart(rows, unit, title)


def throughput_chart(rows: Iterable[Any], unit: str = "MB/s", title: str = "Throughput, plain vs pooled") -> Figure:
    """MB/s of each benchmark, plain vs pooled (higher is better)."""
    return paired_chart(rows, unit, title, higher_is_better=True)


@styled
def memory_chart(rows: Iterable[Any], units: Sequence[str] = ("B/op", "allocs/op"),
                 title: str = "Memory per operation, plain vs pooled") -> Figure:
    """One row of panels per unit (B/op, allocs/op), one column per benchmark."""
    rows = list(rows)
    by_unit = [pairs_from_rows(rows, u) for u in units]
    present = [(u, ps_) for u, ps_ in zip(units, by_unit) if ps_]
    _require(present, f"no comparison rows in {' or '.join(units)}")
    names = list(dict.fromkeys(p.name for _, pl in present for p in pl))
    fig = ps.new_figure(max(6.5, 2.5 * len(names) + 0.4), 2.7 * len(present) + 0.9)
    axes = fig.subplots(len(present), len(names), squeeze=False)
    for i, (u, pl) in enumerate(present):
        by_name = {p.name: p for p in pl}
        for j, name in enumerate(names):
            ax = axes[i, j]
            if name in by_name:
                _pair_panel(ax, by_name[name], u, False)
            else:
                ax.set_visible(False)
    fig.suptitle(f"{title}\nlower is better; bars: median, whiskers: 95% CI")
    _fit_titles(fig)
    return fig


# ---------------------------------------------------------- Δ bar charts

def _delta_bars(ax: Axes, labels: Sequence[str], deltas: Sequence[float], cis: Sequence[tuple[float, float] | None],
                significant: Sequence[bool], p_values: Sequence[float | None], higher_is_better: bool,
                sizes: Sequence[tuple[int, int]] = ()) -> None:
    y = np.arange(len(labels))[::-1]
    colors = []
    for d, s in zip(deltas, significant):
        if not s:
            colors.append(ps.NOT_SIGNIFICANT)
        elif (d > 0) == higher_is_better:
            colors.append(ps.FASTER)
        else:
            colors.append(ps.SLOWER)
    ax.barh(y, deltas, height=0.6, color=colors)
    with_ci = [i for i, c in enumerate(cis) if c]
    if with_ci:  # whiskers only where there is an interval (no zero-length caps)
        lo_err = [max(0.0, deltas[i] - cis[i][0]) for i in with_ci]  # type: ignore[index]
        hi_err = [max(0.0, cis[i][1] - deltas[i]) for i in with_ci]  # type: ignore[index]
        ax.errorbar([deltas[i] for i in with_ci], [y[i] for i in with_ci], xerr=[lo_err, hi_err], fmt="none",
                    ecolor="#333333", elinewidth=1.2, capsize=3)
    ax.axvline(0, color="#333333", linewidth=0.9)
    ax.set_yticks(y, [ps.shorten(s, 40) for s in labels])
    ax.xaxis.grid(True)
    ends_lo = [c[0] if c else d for d, c in zip(deltas, cis)]
    ends_hi = [c[1] if c else d for d, c in zip(deltas, cis)]
    span_lo, span_hi = min([0.0] + ends_lo), max([0.0] + ends_hi)
    width = (span_hi - span_lo) or 10.0
    ax.set_xlim(span_lo - 0.08 * width, span_hi + 0.3 * width)
    sizes = list(sizes) or [(0, 0)] * len(deltas)
    for yi, d, hi_end, s, p, c, (n1, n2) in zip(y, deltas, ends_hi, significant, p_values, cis, sizes):
        n = f"n={n1}+{n2}" if n1 or n2 else "too few samples"
        if p is None:
            mark = f"untested ({n})"
        else:
            mark = ("*" if s else "n.s.") + (f", p={p:.3f}" if p >= 0.001 else ", p<0.001")
            if not c:
                mark += f", no CI ({n})"
        ax.annotate(f"{_pct(d)} {mark}", (max(hi_end, 0.0), yi), xytext=(4, 0), textcoords="offset points",
                    va="center", ha="left", fontsize=8.5, fontweight="bold" if s else "normal")


def _wrap_name(name: str, width: int) -> str:
    """A benchmark name over lines of about `width` characters, broken
    after ``/`` (parts are kept whole; at most three lines)."""
    parts = name.split("/")
    lines: list[str] = []
    for i, part in enumerate(parts):
        piece = part + ("/" if i < len(parts) - 1 else "")
        if lines and len(lines[-1]) + len(piece) <= width:
            lines[-1] += piece
        else:
            lines.append(piece)
    if len(lines) > 3:
        lines = lines[:2] + ["".join(lines[2:])]
    return "\n".join(lines)


def _fit_titles(fig: Figure, smallest: float = 7.0) -> None:
    """Shrink panel titles that are wider than their panel plus the gap."""
    fig.draw_without_rendering()
    r = ps.renderer(fig)
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        title = ax.title
        limit = ax.get_window_extent(r).width
        size = title.get_fontsize()
        while title.get_window_extent(r).width > limit and size > smallest:
            size -= 0.5
            title.set_fontsize(size)
        lines = title.get_text().split("\n")
        names = [i for i, line in enumerate(lines) if not line.startswith(("Δ", "untested"))]
        while title.get_window_extent(r).width > limit and names:  # still too wide: cut the longest name line
            i = max(names, key=lambda k: len(lines[k]))
            if len(lines[i]) <= 12:
                break
            lines[i] = ps.shorten(lines[i], len(lines[i]) - 2)
            title.set_text("\n".join(lines))


def _fit_annotations(fig: Figure, ax: Axes, rounds: int = 4) -> None:
    """Widen the x range until every annotation ends inside the axes."""
    for _ in range(rounds):
        fig.draw_without_rendering()
        r = ps.renderer(fig)
        box = ax.get_window_extent(r)
        right = max((t.get_window_extent(r).x1 for t in ax.texts), default=box.x1)
        over = right - (box.x1 - 4)
        if over <= 0:
            return
        x0, x1 = ax.get_xlim()
        ax.set_xlim(x0, x1 + over * (x1 - x0) / max(box.width - over, box.width * 0.2))


def _impact_legend(ax: Axes, better: str, worse: str, extra: Sequence[Any] = ()) -> None:
    handles = [Patch(color=ps.FASTER, label=f"significantly {better}"),
               Patch(color=ps.SLOWER, label=f"significantly {worse}"),
               Patch(color=ps.NOT_SIGNIFICANT, label="not significant (n.s.) or untested"), *extra]
    ax.figure.legend(handles=handles, loc="outside lower center", ncol=3 if len(handles) <= 3 else 3,
                     fontsize=8.5)


@styled
def impact_chart(rows: Iterable[Any], unit: str = "ns/op", title: str = "Performance impact of each pool",
                 *, confidence: float = 0.95, thresholds: tuple[float, float] | None = None) -> Figure:
    """Horizontal bars: Δ% of the pooled median vs plain, per pool, with the
    Hodges–Lehmann 95% interval; significant ones bold with ``*``.
    `thresholds` = (keep_faster_pct, remove_within_pct) shades the verdict
    bands (e.g. ``(15, 10)``)."""
    pairs = [p for p in pairs_from_rows(rows, unit) if p.delta_pct is not None]
    _require(pairs, f"no comparison rows with a Δ in {unit}")
    higher = unit.endswith("/s")
    cis = [_ci_pct(p, confidence) for p in pairs]
    fig = ps.new_figure(8.0, 0.55 * len(pairs) + 1.9)
    ax = fig.add_subplot()
    extra: list[Any] = []
    if thresholds is not None:
        keep, within = thresholds
        ax.axvspan(-within, within, color=ps.LIGHT_GREY, alpha=0.5, linewidth=0)
        ax.axvline(-keep if not higher else keep, color=ps.KEEP, linestyle="--", linewidth=1)
        extra = [Patch(color=ps.LIGHT_GREY, alpha=0.5, label=f"within ±{within:g}%: no benefit (remove)"),
                 Line2D([], [], color=ps.KEEP, linestyle="--", label=f"{'-' if not higher else '+'}{keep:g}%: "
                                                                        f"keep threshold")]
    _delta_bars(ax, [f"{p.name} ({p.pooled_label} vs {p.plain_label})" for p in pairs],
                [float(p.delta_pct) for p in pairs], cis, [p.significant for p in pairs],
                [p.p_value for p in pairs], higher, [(p.plain.n, p.pooled.n) for p in pairs])
    better = "faster" if unit in ("ns/op", "sec/op") else "better"
    worse = "slower" if unit in ("ns/op", "sec/op") else "worse"
    ax.set_xlabel(f"Δ {unit} of pooled vs plain median (%)  —  negative = {'worse' if higher else better}")
    _impact_legend(ax, better, worse, extra)
    ax.set_title(f"{title}: Δ {unit} with {confidence:.0%} CI")
    _fit_annotations(fig, ax)
    return fig


@styled
def ab_chart(rows: Iterable[Any], unit: str | None = None, title: str = "End-to-end A/B: wall time vs baseline",
             *, confidence: float = 0.95) -> Figure:
    """Per configuration: Δ% of the median wall time against the baseline
    configuration, with its interval (rows: the pipeline's comparison rows;
    `unit` defaults to the first time unit found)."""
    rows = list(rows)
    if unit is None:
        units = [_get(r, "unit") for r in rows if _get(r, "new") is not None]
        unit = next((u for u in ("sec/op", "ns/op") if u in units), units[0] if units else "sec/op")
    pairs = [p for p in pairs_from_rows(rows, unit) if p.delta_pct is not None]
    _require(pairs, f"no A/B comparison rows in {unit}")
    cis = [_ci_pct(p, confidence) for p in pairs]
    fig = ps.new_figure(8.0, 0.55 * len(pairs) + 1.9)
    ax = fig.add_subplot()
    labels = [f"{p.pooled_label} vs {p.plain_label}" + (f" · {p.name}" if len({q.name for q in pairs}) > 1 else "")
              for p in pairs]
    _delta_bars(ax, labels, [float(p.delta_pct) for p in pairs], cis, [p.significant for p in pairs],
                [p.p_value for p in pairs], False, [(p.plain.n, p.pooled.n) for p in pairs])
    base = pairs[0].plain_label
    ax.set_xlabel(f"Δ wall time vs {base} (%, median {unit})  —  negative = faster")
    _impact_legend(ax, "faster", "slower")
    ax.set_title(f"{title} ({confidence:.0%} CI)")
    _fit_annotations(fig, ax)
    return fig


# ------------------------------------------------------------- heap top

@styled
def heap_top_chart(items: Iterable[tuple[str, float]], total: float, unit: str = "bytes",
                   title: str = "Heap profile: top consumers", *, n: int = 10, sample: str = "",
                   fmt: Callable[[Any], str] | None = None) -> Figure:
    """Horizontal bars: each function's share (flat value / `total`, %) of
    the profile, largest on top; the rest in one grey "other" bar.  Values
    and percentages are written as ``go tool pprof -top`` writes them
    (``48.10%``; values with `fmt`, e.g. a pprof graph's ``format_value``,
    else pprof's auto-scaled label)."""
    label = fmt or (lambda v: units.label(v, unit))
    pairs = [(str(k), float(v)) for k, v in items]
    _require(pairs, "no functions in the profile")
    if not total or total <= 0:
        raise ValueError(f"heap_top_chart: total must be > 0, got {total}")
    pairs.sort(key=lambda kv: -abs(kv[1]))
    top, rest = pairs[:n], pairs[n:]
    labels = [ps.shorten(k, 48) for k, _ in top]
    values = [v for _, v in top]
    diff = any(v < 0 for _, v in pairs)  # a -diff_base profile: values are changes
    # "other": what the rest adds up to (for a diff, the signed sum of the rest)
    rest_v = sum(v for _, v in rest) if diff else total - sum(values)
    if rest and rest_v != 0:
        labels.append(f"other ({len(rest)} functions)")
        values.append(rest_v)
    pct = [100.0 * v / total for v in values]
    if diff:
        colors = [ps.SLOWER if v > 0 else ps.FASTER for v in values[:len(top)]]
    else:
        colors = [ps.OKABE_ITO["vermillion"] if i == 0 else ps.OKABE_ITO["blue"] for i in range(len(top))]
    colors += [ps.GREY] * (len(values) - len(top))
    y = np.arange(len(values))[::-1]
    fig = ps.new_figure(8.5, 0.42 * len(values) + 1.6)
    ax = fig.add_subplot()
    ax.barh(y, pct, height=0.65, color=colors)
    ax.set_yticks(y, labels)
    lo, hi = min(0.0, min(pct)), max(0.0, max(pct))
    span = (hi - lo) or 1.0
    ax.set_xlim(lo - (0.05 * span if lo < 0 else 0), hi + 0.4 * span)
    for yi, p, v in zip(y, pct, values):
        # a shrinking function's label sits right of 0, beside the end of its bar
        ax.annotate(f"{units.percentage(v, total).strip()}  ({label(_intish(v))})", (max(p, 0.0), yi),
                    xytext=(4, 0), textcoords="offset points", va="center", ha="left", fontsize=8.5)
    if diff:
        ax.axvline(0, color="#333333", linewidth=0.9)
    ax.xaxis.grid(True)
    what = f"{sample}, " if sample else ""
    ax.set_xlabel(f"share of total {label(_intish(total))} ({what}flat, %)"
                  + ("\ndifference of two profiles: red grew, green shrank" if diff else ""))
    ax.set_title(title)
    return fig


def _intish(v: float) -> Any:
    return int(v) if float(v).is_integer() else v


def heap_top_from_graph(graph: Any, n: int = 10, title: str | None = None) -> Figure:
    """:func:`heap_top_chart` of a :class:`enginepools.pprof.graph.Graph`
    (``build_graph(profile, GraphOptions(sample_index=...))``): the same
    functions, values and percentages as ``go tool pprof -top``."""
    nodes = list(getattr(graph, "nodes", []) or [])
    _require(nodes, "no functions in the profile graph")
    stype = str(getattr(graph, "sample_type", "") or "")
    fmt = getattr(graph, "format_value", None)
    def name(nd: Any) -> str:
        inl = getattr(nd, "inline_label", "")
        return f"{nd.name} {inl}" if inl else nd.name

    return heap_top_chart([(name(nd), nd.flat) for nd in nodes], graph.total,
                          str(getattr(graph, "sample_unit", "") or getattr(graph, "unit", "")),
                          title or (f"Top consumers: {stype}" if stype else "Top consumers"), n=n, sample=stype,
                          fmt=fmt if callable(fmt) else None)


# ------------------------------------------------------------ pool stats

def _pool_stat(o: Any) -> PoolStat:
    if isinstance(o, PoolStat):
        return o
    return PoolStat(str(_get(o, "name")), int(_get(o, "hits", 0)), int(_get(o, "misses", 0)),
                    float(_get(o, "retained_bytes", _get(o, "bytes_retained", 0)) or 0))


@styled
def pool_stats_chart(stats: Iterable[Any], title: str = "Pool effectiveness") -> Figure:
    """Two panels: hit rate (% of gets served from the pool) and bytes
    retained by the pool, one bar per pool."""
    pools = [_pool_stat(s) for s in stats]
    _require(pools, "no pool counters")
    fig = ps.new_figure(9.0, 0.5 * len(pools) + 1.9)
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(pools))[::-1]
    rates = [100.0 * (p.hit_rate or 0.0) for p in pools]
    ax1.barh(y, rates, height=0.6, color=ps.OKABE_ITO["bluish_green"])
    ax1.set_yticks(y, [ps.shorten(p.name, 30) for p in pools])
    ax1.set_xlim(0, 118)
    ax1.set_xlabel("hit rate (% of gets)")
    ax1.set_title("Hit rate")
    for yi, p, r in zip(y, pools, rates):
        txt = "no gets" if p.hit_rate is None else _pct(r).lstrip("+")
        ax1.annotate(txt, (r, yi), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8.5)
    ret = [p.retained_bytes for p in pools]
    scale, name = _byte_scale(max(ret))
    ax2.barh(y, [v / scale for v in ret], height=0.6, color=ps.OKABE_ITO["blue"])
    ax2.set_xlim(0, max(max(ret) / scale * 1.3, 1e-9))
    ax2.set_xlabel(f"bytes retained ({name})")
    ax2.set_title("Memory held by the pool")
    for yi, v in zip(y, ret):
        ax2.annotate(format_value(v, "B"), (v / scale, yi), xytext=(4, 0), textcoords="offset points",
                     va="center", fontsize=8.5)
    for ax in (ax1, ax2):
        ax.xaxis.grid(True)
    fig.suptitle(title)
    return fig


def _byte_scale(v: float) -> tuple[float, str]:
    for factor, name in _SCALES["B"]:
        if v >= factor:
            return factor, name
    return 1.0, "B"


# --------------------------------------------------------------- scaling

def scaling_from_records(records: Iterable[Any], unit: str = "ns/op", key: str = "impl",
                         confidence: float = 0.95) -> dict[str, list[ScalingPoint]]:
    """Series for :func:`scaling_chart` from benchmark records: one series
    per value of name part `key` (or per benchmark when absent), x = the
    ``-N`` thread suffix (or a ``threads=``/``cpu=`` part)."""
    from ..analysis import stats

    samples: dict[str, dict[int, list[float]]] = {}
    for r in records:
        if unit not in r.values:
            continue
        threads = r.procs
        for k in ("threads", "cpu", "procs"):
            if k in r.parts:
                threads = int(r.parts[k])
        threads = 1 if threads is None else threads
        label = r.parts.get(key) or r.label(drop=["threads", "cpu", "procs"]).rsplit("-", 1)[0]
        samples.setdefault(label, {}).setdefault(threads, []).append(float(r.values[unit]))
    out: dict[str, list[ScalingPoint]] = {}
    for label, by_t in samples.items():
        pts = []
        for t in sorted(by_t):
            s = stats.summarize(by_t[t], confidence)
            pts.append(ScalingPoint(t, _estimate(s)))
        out[label] = pts
    return out


@styled
def scaling_chart(series: Mapping[str, Sequence[Any]], unit: str = "ns/op",
                  title: str = "Contention: time per operation vs threads") -> Figure:
    """One line per variant (e.g. pooled / plain): median `unit` at each
    thread count with its 95% CI.  Points are :class:`ScalingPoint` or
    ``(threads, Estimate | median)`` tuples."""
    norm: dict[str, list[ScalingPoint]] = {}
    for label, pts in series.items():
        lst = []
        for p in pts:
            if isinstance(p, ScalingPoint):
                lst.append(p)
            else:
                t, e = p
                lst.append(ScalingPoint(int(t), e if isinstance(e, Estimate) else Estimate(float(e))))
        if lst:
            norm[str(label)] = sorted(lst, key=lambda sp: sp.threads)
    _require(list(norm), "no scaling series")
    fig = ps.new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    colors = {"plain": ps.PLAIN, "std": ps.PLAIN, "pool": ps.POOLED, "pooled": ps.POOLED}
    threads_all: set[int] = set()
    markers = ["o", "s", "^", "D", "v", "P"]
    for i, (label, pts) in enumerate(norm.items()):
        xs = [p.threads for p in pts]
        ys = [p.estimate.median for p in pts]
        errs = np.array([_err(p.estimate) for p in pts]).T
        threads_all.update(xs)
        color = colors.get(label.lower(), ps.CYCLE[(i + 2) % len(ps.CYCLE)] if label.lower() not in colors else None)
        ax.errorbar(xs, ys, yerr=errs, marker=markers[i % len(markers)], label=label, color=color,
                    linewidth=1.8, markersize=6, capsize=3)
    ticks = sorted(threads_all)
    if len(ticks) > 1 and ticks[-1] / max(ticks[0], 1) >= 8:
        ax.set_xscale("log", base=2)
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("threads")
    ax.set_ylabel(unit)
    ax.set_ylim(bottom=0)
    ax.yaxis.grid(True)
    ax.legend(title="variant")
    ax.set_title(f"{title} (median, 95% CI)")
    return fig


# -------------------------------------------------------------- quadrant

_DECISION_STYLE = {
    "keep": (ps.KEEP, "o"),
    "remove": (ps.REMOVE, "X"),
    "inconclusive": (ps.INCONCLUSIVE, "D"),
}


def quadrant_points(verdicts: Iterable[Any]) -> list[QuadrantPoint]:
    """From :class:`~enginepools.analysis.verdict.Verdict` objects (or their dicts);
    pools without a time or memory Δ are left out."""
    out = []
    for v in verdicts:
        if isinstance(v, QuadrantPoint):
            out.append(v)
            continue
        t, m = _get(v, "time"), _get(v, "memory")
        td = _get(t, "delta_pct") if t is not None else None
        md = _get(m, "delta_pct") if m is not None else None
        if td is None or md is None:
            continue
        out.append(QuadrantPoint(str(_get(v, "pool")), float(td), float(md), str(_get(v, "decision"))))
    return out


def _place_labels(fig: Figure, ax: Axes, anchors: Sequence[tuple[float, float]], labels: Sequence[str],
                  marker_pt: float = 7.0, obstacles: Sequence[Any] = (), **text_kw: Any) -> list[Any]:
    """Annotate each anchor (data coordinates) with its label, choosing for
    each, in order, the first of a ring of candidate positions (nearest
    first) whose box stays inside the axes and overlaps no label placed so
    far and no marker.  Falls back to the candidate with the least overlap.

    The figure's layout is computed and frozen first, so the pixel checks
    stay true when the figure is saved."""
    r = ps.renderer(fig)
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    px = fig.dpi / 72.0
    axbox = ax.get_window_extent(r)
    pts = ax.transData.transform(np.asarray(anchors, dtype=float).reshape(-1, 2))
    rad = marker_pt * px
    markers = [(x - rad, y - rad, x + rad, y + rad) for x, y in pts]
    placed: list[tuple[float, float, float, float]] = []
    for o in obstacles:
        ob = o.get_window_extent(r)
        placed.append((ob.x0, ob.y0, ob.x1, ob.y1))
    out = []
    dirs = [(1, 1), (-1, 1), (1, -1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1)]
    for (x, y), label in zip(pts, labels):
        ann = ax.annotate(label, (0, 0), xycoords="figure pixels", xytext=(0, 0), textcoords="offset points",
                          annotation_clip=False, **text_kw)
        ann.set_in_layout(False)
        bb = ann.get_window_extent(r)
        w, h = bb.width + 4 * px, bb.height + 4 * px  # room for the white box behind the text
        best: tuple[float, tuple[float, float, float, float]] | None = None
        for radius in (8, 16, 28, 44, 64, 90, 120, 160):
            for dx, dy in dirs:
                cx = x + dx * (radius * px + (w / 2 if dx else 0))
                cy = y + dy * (radius * px + (h / 2 if dy else 0))
                box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                cost = sum(_overlap(box, o) for o in placed + markers)
                inside = (box[0] >= axbox.x0 + 2 and box[2] <= axbox.x1 - 2 and box[1] >= axbox.y0 + 2
                          and box[3] <= axbox.y1 - 2)
                if not inside:
                    cost += 1e9
                if best is None or cost < best[0]:
                    best = (cost, box)
                if cost == 0:
                    break
            if best is not None and best[0] == 0:
                break
        assert best is not None
        box = best[1]
        placed.append(box)
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        ann.remove()
        # a leader line unless the label sits right by its point (the gap between
        # the marker and the nearest edge of the label's box is small)
        gx = max(box[0] - x, 0.0, x - box[2])
        gy = max(box[1] - y, 0.0, y - box[3])
        far = math.hypot(gx, gy) > rad + 6 * px
        ann = ax.annotate(label, (x, y), xycoords="data", annotation_clip=False,
                          xytext=((cx - x) / px, (cy - y) / px), textcoords="offset points", ha="center",
                          va="center",
                          arrowprops=dict(arrowstyle="-", color="#777777", linewidth=0.7, shrinkA=0, shrinkB=5)
                          if far else None, **text_kw)
        ann.xy = tuple(ax.transData.inverted().transform((x, y)))
        ann.set_in_layout(False)
        out.append(ann)
    return out


def _padded(v: np.ndarray, least: float = 10.0, floor: float | None = None) -> tuple[float, float]:
    """Axis limits that include 0 and ±`least`, with room for labels; not
    much below `floor` (a Δ% of a non-negative measure is never below −100)."""
    lo, hi = min(float(v.min()), -least), max(float(v.max()), least)
    pad = 0.25 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    if floor is not None:
        lo = max(lo, floor - 0.08 * (hi - floor))
    return lo, hi


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


@styled
def quadrant_chart(verdicts: Iterable[Any], title: str = "Speed vs memory, with verdicts",
                   time_unit: str = "ns/op", memory_unit: str = "B/op") -> Figure:
    """Each pool at (Δ time %, Δ memory %) against plain allocation; the
    lower-left quadrant is faster *and* leaner.  Marker and colour give the
    verdict; labels are moved apart so none overlaps another or a point."""
    pts = quadrant_points(verdicts)
    _require(pts, "no verdicts with both a time and a memory Δ")
    fig = ps.new_figure(7.5, 6.0)
    ax = fig.add_subplot()
    xs = np.array([p.time_delta_pct for p in pts])
    ys = np.array([p.memory_delta_pct for p in pts])
    x0, x1 = _padded(xs, floor=-100.0)
    y0, y1 = _padded(ys, floor=-100.0)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.axhline(0, color="#333333", linewidth=0.9)
    ax.axvline(0, color="#333333", linewidth=0.9)
    ax.fill_between([x0, 0], y0, 0, color=ps.KEEP, alpha=0.08, linewidth=0)
    ax.fill_between([0, x1], 0, y1, color=ps.REMOVE, alpha=0.08, linewidth=0)
    corner = dict(fontsize=8.5, color="#555555", transform=ax.transAxes)
    corners = [ax.text(0.02, 0.02, "faster, less memory", ha="left", va="bottom", **corner),
               ax.text(0.98, 0.98, "slower, more memory", ha="right", va="top", **corner),
               ax.text(0.02, 0.98, "faster, more memory", ha="left", va="top", **corner),
               ax.text(0.98, 0.02, "slower, less memory", ha="right", va="bottom", **corner)]
    order = list(_DECISION_STYLE) + sorted({p.decision for p in pts} - set(_DECISION_STYLE))
    for decision in order:
        group = [p for p in pts if p.decision == decision]
        if not group:
            continue
        color, marker = _DECISION_STYLE.get(decision, (ps.GREY, "s"))
        ax.scatter([p.time_delta_pct for p in group], [p.memory_delta_pct for p in group], s=90, color=color,
                   marker=marker, zorder=3, edgecolors="white", linewidths=0.8, label=decision)
    ax.set_xlabel(f"Δ time ({time_unit}) vs plain, %  —  left = faster")
    ax.set_ylabel(f"Δ memory ({memory_unit}) vs plain, %  —  down = less")
    fig.legend(title="verdict", loc="outside right upper")
    ax.set_title(title)
    _place_labels(fig, ax, list(zip(xs, ys)), [f"{ps.shorten(p.name, 28)}: {p.decision}" for p in pts],
                  obstacles=corners, fontsize=8.5, zorder=4, bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.85))
    return fig

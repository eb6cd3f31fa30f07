"""In-use heap over time, per ``pool`` label: a stacked area chart.

:func:`inuse_timeline_chart` takes what
:class:`enginepools.pprof.profilers.InuseTimeline` records (plain JSON:
``t`` seconds, ``series`` {label: bytes per reading}, ``peak_bytes``,
``peak_t``) for one or more runs and draws one panel per run, the labels
stacked so the top edge is the total in use, with the peak marked.  Panels
share the y axis, so a pooled run's retained buffers and a plain run's
transient ones read on one scale.  A label keeps its colour in every panel.
"""
from __future__ import annotations

from typing import Any, Mapping

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from . import style as ps

__all__ = ["inuse_timeline_chart", "NO_POOL"]

NO_POOL = "direct (no pool)"  # the label of allocations made under no pool tag


def _labels(runs: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every series label: untagged first (the floor of the stack), then the pools by name."""
    seen: list[str] = []
    for d in runs.values():
        for k in d.get("series", {}):
            if k not in seen:
                seen.append(k)
    return ([NO_POOL] if NO_POOL in seen else []) + sorted(k for k in seen if k != NO_POOL)


@ps.styled
def inuse_timeline_chart(runs: Mapping[str, Mapping[str, Any]], title: str = "Heap in use over time, by pool label",
                         width: float = 10.0) -> Figure:
    """One stacked-area panel per run (``{"plain": timeline, "pooled": timeline}``)."""
    runs = {k: v for k, v in runs.items() if v and len(v.get("t", [])) >= 2}
    if not runs:
        raise ValueError("no data to chart: no in-use timeline with two or more readings")
    labels = _labels(runs)
    colors = {lab: (ps.LIGHT_GREY if lab == NO_POOL else ps.CYCLE[i % len(ps.CYCLE)])
              for i, lab in enumerate(k for k in labels if k != NO_POOL)}
    colors[NO_POOL] = "#BBBBBB"
    top = max(max(max(d.get("total") or [0]), int(d.get("peak_bytes") or 0),
                  max((sum(v[i] for v in d["series"].values()) for i in range(len(d["t"]))), default=0))
              for d in runs.values())
    div, unit = _scale(top)
    n = len(runs)
    fig = ps.new_figure(width, 1.0 + 2.3 * n)
    axes = fig.subplots(n, 1, sharey=True, squeeze=False)[:, 0]
    for ax, (name, d) in zip(axes, runs.items()):
        t_ms = [1000.0 * x for x in d["t"]]
        present = [lab for lab in labels if lab in d["series"]]
        ys = [[v / div for v in d["series"][lab]] for lab in present]
        ax.stackplot(t_ms, ys, colors=[colors[lab] for lab in present], step="post", linewidth=0)
        peak, pt = float(d.get("peak_bytes") or 0), d.get("peak_t")
        if peak > 0 and pt is not None:
            x = 1000.0 * pt
            ax.axvline(x, color="#333333", linestyle="--", linewidth=1)
            ax.plot([x], [peak / div], marker="o", markersize=4, color="#222222")
            between = peak > max(d.get("total") or [0])
            right = x > (t_ms[0] + t_ms[-1]) / 2  # label on the side with room, inside the axes
            ax.annotate(f"peak {peak / div:.1f} {unit}" + (" (between two readings)" if between else ""),
                        xy=(x, peak / div), xytext=(-6 if right else 6, 0), textcoords="offset points",
                        fontsize=9, va="center", ha="right" if right else "left", color="#222222")
        ax.set_title(name, loc="left", fontsize=10, fontweight="bold")
        ax.set_xlim(t_ms[0], t_ms[-1])
        ax.set_ylabel(f"in use ({unit})")
        ax.grid(axis="y", color="#E5E5E5", linewidth=0.6)
        ax.set_axisbelow(True)
    axes[-1].set_xlabel("time since the run started (ms)")
    axes[0].set_ylim(0, top / div * 1.12 if top else 1)
    fig.legend(handles=[Patch(facecolor=colors[lab], label=lab) for lab in labels], loc="upper right",
               ncol=min(len(labels), 5), fontsize=8.5, frameon=False)
    fig.suptitle(title, x=0.02, ha="left", fontsize=12, fontweight="bold")
    return fig


def _scale(v: float) -> tuple[float, str]:
    for div, u in ((1024.0**3, "GiB"), (1024.0**2, "MiB"), (1024.0, "KiB")):
        if v >= div:
            return div, u
    return 1.0, "B"

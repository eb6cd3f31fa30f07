"""Charts: structure (bars, values, error bars, labels, titles), not pixels."""
from __future__ import annotations

import math
import os
from pathlib import Path

import matplotlib
import matplotlib.collections
import numpy as np
import pytest
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure

from enginepools.pprof import units
from enginepools.render import style as _plotstyle, charts
from enginepools.analysis import compare, verdict
from enginepools.bench.benchfmt import make_record
from enginepools.render.charts import Estimate, PoolStat, QuadrantPoint, ScalingPoint

STD = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2]


def _recs() -> list:
    recs = []
    for i, v in enumerate(STD):
        recs.append(make_record("BenchmarkHash/impl=std-2", 100,
                                {"ns/op": v, "B/op": 64.0, "allocs/op": 1.0, "MB/s": 6553.6 / v}))
        recs.append(make_record("BenchmarkHash/impl=pool-2", 100,
                                {"ns/op": 3 * v, "B/op": 16.0, "allocs/op": 1.0, "MB/s": 6553.6 / (3 * v)}))
        recs.append(make_record("BenchmarkTar/impl=std-2", 100, {"ns/op": 10 * v, "B/op": 65536.0, "allocs/op": 2.0}))
        recs.append(make_record("BenchmarkTar/impl=pool-2", 100, {"ns/op": 5 * v, "B/op": 16.0, "allocs/op": 1.0}))
        recs.append(make_record("BenchmarkTag/impl=std-2", 100, {"ns/op": 50 + i % 2, "B/op": 8.0, "allocs/op": 1.0}))
        recs.append(make_record("BenchmarkTag/impl=pool-2", 100, {"ns/op": 50 + (i + 1) % 2, "B/op": 8.0,
                                                                  "allocs/op": 1.0}))
    return recs


@pytest.fixture(scope="module")
def rows() -> list[compare.Row]:
    return compare.compare_columns(_recs(), "/impl").rows


def bars_of(ax) -> list:
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


# ------------------------------------------------------------ paired bars

def test_time_chart_has_plain_and_pooled_medians_with_ci(rows) -> None:
    fig = charts.time_chart(rows)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title().split("\n")[0] for ax in axes] == ["Hash-2", "Tar-2", "Tag-2"]
    hash_ax = axes[0]
    [bars] = bars_of(hash_ax)
    heights = [p.get_height() for p in bars.patches]
    want = [r for r in rows if r.name == "Hash-2" and r.unit == "ns/op"][0]
    assert heights == pytest.approx([want.old.center, want.new.center])
    assert [t.get_text() for t in hash_ax.get_xticklabels()] == ["std", "pool"]
    assert hash_ax.get_ylabel() == "ns/op"
    # error bars span the 95% CI of each median
    [err] = [c for c in hash_ax.containers if isinstance(c, ErrorbarContainer)]
    segs = err.lines[2][0].get_segments()
    assert [s[0][1] for s in segs] == pytest.approx([want.old.lo, want.new.lo])
    assert [s[1][1] for s in segs] == pytest.approx([want.old.hi, want.new.hi])
    assert "+200.0% worse" in hash_ax.get_title()
    assert "ns/op" in fig.get_suptitle() and "95% CI" in fig.get_suptitle()


def test_time_chart_marks_not_significant(rows) -> None:
    fig = charts.time_chart(rows)
    tag = [ax for ax in fig.axes if ax.get_title().startswith("Tag-2")][0]
    assert "(n.s.)" in tag.get_title()


def test_memory_chart_one_row_per_unit(rows) -> None:
    fig = charts.memory_chart(rows)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert {ax.get_ylabel() for ax in visible} == {"B/op", "allocs/op"}
    tar_b = [ax for ax in visible if ax.get_ylabel() == "B/op" and ax.get_title().startswith("Tar-2")][0]
    [bars] = bars_of(tar_b)
    assert [p.get_height() for p in bars.patches] == [65536.0, 16.0]
    assert "64 KiB" in [t.get_text() for t in tar_b.texts]


def test_throughput_chart_higher_is_better(rows) -> None:
    fig = charts.throughput_chart(rows)
    [ax] = [a for a in fig.axes if a.get_visible()]  # only Hash has MB/s
    assert ax.get_ylabel() == "MB/s"
    assert "worse" in ax.get_title()  # pooled throughput is a third
    assert "higher is better" in fig.get_suptitle()


# ------------------------------------------------------------- Δ charts

def test_delta_ci_matches_hodges_lehmann_and_u_test() -> None:
    from enginepools.analysis.stats import delta_ci_hodges_lehmann

    old = STD
    new = [0.8 * v for v in STD]
    lo, hi = delta_ci_hodges_lehmann(old, new)
    assert lo < -0.19 < -0.20 + 0.05 and hi < 0  # around −20%, excludes 0 (U test significant)
    ratios = sorted(n / o - 1 for o in old for n in new)
    assert lo == pytest.approx(ratios[5]) and hi == pytest.approx(ratios[30])  # k = 6 for 6+6
    assert delta_ci_hodges_lehmann([1, 2, 3], [4, 5, 6]) is None  # too few samples for a 95% interval


def test_impact_chart_bars_are_deltas_with_significance(rows) -> None:
    fig = charts.impact_chart(rows)
    ax = fig.axes[0]
    [bars] = bars_of(ax)
    ns_rows = [r for r in rows if r.unit == "ns/op"]
    # top to bottom in row order: y positions descend
    order = sorted(zip(bars.patches, ns_rows), key=lambda pr: -pr[0].get_y())
    assert [p.get_width() for p, _ in order] == pytest.approx([r.delta_pct for r in ns_rows])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [f"{r.name} (pool vs std)" for r in ns_rows]
    notes = [t.get_text() for t in ax.texts]
    assert any(n.startswith("+200.0% *") for n in notes)
    assert any(n.startswith("-50.0% *") for n in notes)
    assert any("n.s." in n for n in notes)  # Tag
    colors = {r.name: p.get_facecolor()[:3] for p, r in order}
    assert colors["Hash-2"] == pytest.approx(matplotlib.colors.to_rgb(_plotstyle.SLOWER))
    assert colors["Tar-2"] == pytest.approx(matplotlib.colors.to_rgb(_plotstyle.FASTER))
    assert colors["Tag-2"] == pytest.approx(matplotlib.colors.to_rgb(_plotstyle.NOT_SIGNIFICANT))
    assert "Δ ns/op" in ax.get_title() and "%" in ax.get_xlabel()


def test_impact_chart_accepts_json_rows(rows) -> None:
    dict_rows = [dict(r.to_dict(), old_values=list(r.old_values), new_values=list(r.new_values)) for r in rows]
    fig = charts.impact_chart(dict_rows)
    [bars] = bars_of(fig.axes[0])
    assert len(bars.patches) == 3


def test_ab_chart_one_bar_per_configuration() -> None:
    recs = []
    for i in range(6):
        for conf, sec in (("baseline", 2.0), ("no-pools", 1.8), ("tar-only", 1.9)):
            recs.append(make_record(f"BenchmarkBuild/config={conf}", 1, {"sec/op": sec + 0.001 * i}))
    rows = compare.compare_columns(recs, "/config", base="baseline").rows
    fig = charts.ab_chart(rows)
    ax = fig.axes[0]
    [bars] = bars_of(ax)
    widths = sorted(p.get_width() for p in bars.patches)
    assert widths == pytest.approx(sorted(r.delta_pct for r in rows))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["no-pools vs baseline", "tar-only vs baseline"]
    assert "wall time" in ax.get_xlabel() and "baseline" in ax.get_xlabel()


# ------------------------------------------------------------- heap top

def test_heap_top_chart_percentages_of_total() -> None:
    items = [("github.com/x/pkg/worker.NewWorkerPool", 5714.03 * 1024), ("bufio.NewReaderSize", 1200 * 1024.0),
             ("a", 10.0), ("b", 5.0)]
    total = 11880.06 * 1024
    fig = charts.heap_top_chart(items, total, "bytes", n=2)
    ax = fig.axes[0]
    [bars] = bars_of(ax)
    widths = [p.get_width() for p in bars.patches]
    assert widths[0] == pytest.approx(48.0975, abs=1e-3)
    assert widths[1] == pytest.approx(100 * 1200 / 11880.06)
    assert widths[2] == pytest.approx(100 - widths[0] - widths[1])  # "other"
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0].endswith("worker.NewWorkerPool") and labels[2] == "other (2 functions)"
    notes = [t.get_text() for t in ax.texts]
    assert notes[0] == "48.10%  (5.58MB)"  # as go tool pprof writes it
    assert "11.60MB" in ax.get_xlabel()


def test_heap_top_chart_rejects_bad_total() -> None:
    with pytest.raises(ValueError, match="total"):
        charts.heap_top_chart([("a", 1.0)], 0)


# ------------------------------------------------------------ pool stats

def test_pool_stats_chart_hit_rate_and_retained() -> None:
    fig = charts.pool_stats_chart([PoolStat("hash", 99, 1, 65536), {"name": "idle", "hits": 0, "misses": 0,
                                                                     "retained_bytes": 0}])
    ax1, ax2 = fig.axes
    [b1] = bars_of(ax1)
    [b2] = bars_of(ax2)
    assert [p.get_width() for p in b1.patches] == pytest.approx([99.0, 0.0])
    assert "no gets" in [t.get_text() for t in ax1.texts]
    assert [p.get_width() for p in b2.patches] == pytest.approx([64.0, 0.0])  # KiB
    assert "KiB" in ax2.get_xlabel() and "%" in ax1.get_xlabel()


# --------------------------------------------------------------- scaling

def test_scaling_chart_lines_per_variant() -> None:
    series = {"plain": [ScalingPoint(t, Estimate(100.0 * t, 95.0 * t, 110.0 * t)) for t in (1, 2, 4)],
              "pool": [(1, 90.0), (2, 91.0), (4, 93.0)]}
    fig = charts.scaling_chart(series)
    ax = fig.axes[0]
    lines = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(lines) == 2
    x, y = lines[0].lines[0].get_data()
    assert list(x) == [1, 2, 4] and list(y) == [100.0, 200.0, 400.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4"]
    assert ax.get_xlabel() == "threads" and ax.get_ylabel() == "ns/op"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["plain", "pool"]


def test_scaling_from_records_groups_by_threads() -> None:
    recs = [make_record(f"BenchmarkContention/impl={impl}-{t}", 10, {"ns/op": base * t + i})
            for impl, base in (("std", 100.0), ("pool", 50.0)) for t in (1, 2, 4) for i in range(6)]
    series = charts.scaling_from_records(recs)
    assert set(series) == {"std", "pool"}
    assert [p.threads for p in series["std"]] == [1, 2, 4]
    assert series["pool"][2].estimate.median == pytest.approx(202.5)


# -------------------------------------------------------------- quadrant

def _boxes_overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_quadrant_chart_markers_and_non_overlapping_labels(rows) -> None:
    verdicts = verdict.decide(rows)
    # crowd the plot: many points close together
    pts = [QuadrantPoint(f"Pool{i}", 1.0 + 0.5 * i, -2.0 - 0.3 * i, "remove") for i in range(8)]
    fig = charts.quadrant_chart(list(verdicts) + pts)
    ax = fig.axes[0]
    offsets = np.vstack([c.get_offsets() for c in ax.collections
                         if isinstance(c, matplotlib.collections.PathCollection)])
    assert len(offsets) == 3 + 8
    by_name = {v.pool: v for v in verdicts}
    assert [by_name["Hash-2"].time.delta_pct, by_name["Hash-2"].memory.delta_pct] in offsets.tolist()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert set(legend) == {v.decision for v in verdicts} | {"remove"}
    labels = [t for t in ax.texts if ":" in t.get_text()]
    assert len(labels) == 11
    assert {t.get_text() for t in labels} >= {f"{v.pool}: {v.decision}" for v in verdicts}
    r = _plotstyle.renderer(fig)
    fig.canvas.draw()
    boxes = [matplotlib.text.Text.get_window_extent(t, r) for t in labels]  # the text, not its leader line
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not _boxes_overlap(boxes[i], boxes[j]), (labels[i].get_text(), labels[j].get_text())
    axbox = ax.get_window_extent(r)
    assert all(axbox.x0 <= b.x0 and b.x1 <= axbox.x1 and axbox.y0 <= b.y0 and b.y1 <= axbox.y1 for b in boxes)


# ------------------------------------------------------- errors and files

@pytest.mark.parametrize("call", [
    lambda: charts.time_chart([]),
    lambda: charts.memory_chart([]),
    lambda: charts.impact_chart([]),
    lambda: charts.ab_chart([]),
    lambda: charts.heap_top_chart([], 1.0),
    lambda: charts.pool_stats_chart([]),
    lambda: charts.scaling_chart({}),
    lambda: charts.quadrant_chart([]),
])
def test_empty_data_is_a_clear_value_error(call) -> None:
    with pytest.raises(ValueError, match="no data to chart"):
        call()


def test_save_writes_png_and_svg_atomically_without_touching_rcparams(rows, tmp_path: Path) -> None:
    before = dict(matplotlib.rcParams)
    fig = charts.time_chart(rows)
    paths = charts.save(fig, tmp_path / "time")
    assert [p.name for p in paths] == ["time.png", "time.svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = paths[1].read_text()
    assert "<svg" in svg and "Time per operation" in svg  # text kept as text
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left
    mask = os.umask(0)
    os.umask(mask)
    assert paths[0].stat().st_mode & 0o777 == 0o666 & ~mask  # like any file the user creates, not 0600
    after = dict(matplotlib.rcParams)
    assert {k: v for k, v in after.items() if before.get(k) != v and not (
        isinstance(v, float) and math.isnan(v))} == {}
    with pytest.raises(ValueError, match="does not exist"):
        charts.save(fig, tmp_path / "missing" / "x")
    with pytest.raises(ValueError, match="unsupported"):
        charts.save(fig, tmp_path / "x", formats=("gif",))


def test_format_value_units() -> None:
    assert charts.format_value(1500, "ns/op") == "1.50 µs"
    assert charts.format_value(65536, "B/op") == "64 KiB"
    assert charts.format_value(2, "allocs/op") == "2"
    assert units.label(11880.06 * 1024, "bytes") == "11.60MB"
    assert units.label(0, "bytes") == "0"
    assert units.percentage(5714.03, 11880.06).strip() == "48.10%"
    assert units.percentage(0.05, 100).strip() == "0.05%"


def test_heap_top_chart_of_a_diff_profile_has_signed_bars() -> None:
    items = [("grew", 3000.0), ("shrank", -1000.0), ("small", 10.0), ("tiny", -5.0)]
    fig = charts.heap_top_chart(items, 4015.0, "bytes", n=2)
    ax = fig.axes[0]
    [bars] = bars_of(ax)
    widths = [p.get_width() for p in bars.patches]
    assert widths[0] > 0 and widths[1] < 0
    assert widths[2] == pytest.approx(100 * 5 / 4015)  # "other": the signed sum of the rest
    assert bars.patches[0].get_facecolor()[:3] == pytest.approx(matplotlib.colors.to_rgb(_plotstyle.SLOWER))
    assert bars.patches[1].get_facecolor()[:3] == pytest.approx(matplotlib.colors.to_rgb(_plotstyle.FASTER))
    assert ax.get_xlim()[0] < widths[1]  # the shrinking bar is inside the axes
    assert "-1000B" in ax.texts[1].get_text()
    assert "red grew, green shrank" in ax.get_xlabel()


def test_single_samples_draw_no_whiskers_and_say_untested() -> None:
    recs = [make_record("BenchmarkX/impl=std-2", 1, {"ns/op": 100.0}),
            make_record("BenchmarkX/impl=pool-2", 1, {"ns/op": 80.0})]
    rows = compare.compare_columns(recs, "/impl").rows
    ax = charts.time_chart(rows).axes[0]
    assert not [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert "untested: n=1+1" in ax.get_title()
    ax = charts.impact_chart(rows).axes[0]
    assert not [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    note = ax.texts[0]
    assert note.get_text() == "-20.0% untested (n=1+1)"
    fig = ax.figure
    r = _plotstyle.renderer(fig)
    fig.draw_without_rendering()
    assert note.get_window_extent(r).x1 <= ax.get_window_extent(r).x1  # fits inside the axes


def test_long_panel_titles_are_shrunk_to_fit() -> None:
    name = "BenchmarkAVeryLongBenchmarkName{}Indeed/impl={}/size=65536-2"
    recs = [make_record(name.format(k, impl), 1, {"ns/op": v}) for k in "ABCDE"
            for impl, v in (("std", 1e5), ("pool", 9.9e4))] * 6
    fig = charts.time_chart(compare.compare_columns(recs, "/impl").rows)
    r = _plotstyle.renderer(fig)
    fig.draw_without_rendering()
    for ax in fig.axes:
        assert ax.title.get_window_extent(r).width <= ax.get_window_extent(r).width * 1.02

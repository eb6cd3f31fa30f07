"""Flame graphs: tree merge, rectangle widths = values, diff colours, folded stacks."""
from __future__ import annotations

import pytest
from matplotlib.colors import to_rgb

from enginepools.render import flamegraph

STACKS = {
    ("main", "run", "alloc"): 60.0,
    ("main", "run", "hash", "alloc"): 25.0,
    ("main", "init"): 10.0,
    ("main", "run"): 5.0,  # self time in run
}


def frames_by_path(fig) -> dict[str, object]:
    ax = fig.axes[0]
    return {p.get_gid()[6:]: p for p in ax.patches if (p.get_gid() or "").startswith("frame:")}


def test_tree_merges_stacks() -> None:
    root = flamegraph.build_tree(STACKS)
    assert root.value == 100
    run = root.children["main"].children["run"]
    assert run.value == 90 and run.self_value == 5
    assert run.children["hash"].children["alloc"].value == 25


def test_rectangle_widths_equal_values_and_children_stack_on_parents() -> None:
    fig = flamegraph.flame_graph(STACKS, title="t", unit="bytes")
    rects = frames_by_path(fig)
    assert rects[""].get_width() == 100  # the root ("all")
    assert rects["main"].get_width() == 100
    assert rects["main;run"].get_width() == 90
    assert rects["main;run;alloc"].get_width() == 60
    assert rects["main;run;hash;alloc"].get_width() == 25
    assert rects["main;init"].get_width() == 10
    # root at the bottom; a child sits one row above its parent, within its span
    assert rects[""].get_y() < rects["main"].get_y() < rects["main;run"].get_y()
    run, alloc, hash_ = rects["main;run"], rects["main;run;alloc"], rects["main;run;hash"]
    assert run.get_x() <= alloc.get_x() and alloc.get_x() + alloc.get_width() <= run.get_x() + run.get_width()
    assert alloc.get_x() + alloc.get_width() == pytest.approx(hash_.get_x())  # sorted by name, adjacent


def test_labels_are_truncated_to_fit() -> None:
    long = "a_really_long_function_name_that_cannot_fit_in_a_small_frame"
    fig = flamegraph.flame_graph({("main", long): 2.0, ("main", "big"): 98.0}, width=6.0)
    texts = {t.get_gid(): t.get_text() for t in fig.axes[0].texts}
    assert texts.get("label:main;big") == "big"
    small = texts.get(f"label:main;{long}")
    assert small is None or (small.endswith("..") and len(small) < len(long))


def test_min_fraction_drops_tiny_frames() -> None:
    fig = flamegraph.flame_graph({("a",): 1e6, ("b",): 1.0}, min_fraction=0.001)
    assert "b" not in frames_by_path(fig)


def test_diff_colours_follow_the_sign_of_the_change() -> None:
    base = {("main", "pool", "alloc"): 50.0, ("main", "work"): 50.0}
    new = {("main", "pool", "alloc"): 20.0, ("main", "work"): 80.0}
    fig = flamegraph.diff_flame_graph(base, new, base_label="plain", new_label="pooled")
    rects = frames_by_path(fig)
    # width = share in base + share in new: 50/100 + 80/100
    assert rects["main;work"].get_width() == pytest.approx(1.3)
    assert rects["main;pool"].get_width() == pytest.approx(0.7)
    r, g, b = rects["main;work"].get_facecolor()[:3]
    assert r > b  # grew: red
    r, g, b = rects["main;pool"].get_facecolor()[:3]
    assert b > r  # shrank: blue
    assert rects["main"].get_facecolor()[:3] == pytest.approx((1.0, 1.0, 1.0))  # 100% in both: unchanged
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[0].startswith("grew in pooled") and legend[1].startswith("shrank")


def test_diff_is_normalised_by_totals() -> None:
    base = {("main", "x"): 100.0}
    new = {("main", "x"): 50.0}  # half the total, same share: unchanged when normalised
    rects = frames_by_path(flamegraph.diff_flame_graph(base, new))
    assert rects["main;x"].get_facecolor()[:3] == pytest.approx((1.0, 1.0, 1.0))
    rects = frames_by_path(flamegraph.diff_flame_graph(base, new, normalize=False))
    r, g, b = rects["main;x"].get_facecolor()[:3]
    assert b > r


def test_diff_colors_scale() -> None:
    cols = flamegraph.diff_colors([0.5, -0.25, 0.0])
    assert cols[0] == pytest.approx(to_rgb("#D55E00"))  # the largest change: full colour
    assert cols[1][2] > cols[1][0]
    assert cols[2] == (1.0, 1.0, 1.0)


def test_diff_draws_vanished_stacks_at_their_base_width_in_blue() -> None:
    # the plain run's buffer allocations, which the pooled run no longer makes
    base = {("main", "hash", "buf_get"): 300.0, ("main", "walk"): 100.0}
    new = {("main", "walk"): 100.0, ("main", "pool_init"): 10.0}
    fig = flamegraph.diff_flame_graph(base, new, normalize=False, unit="bytes", base_label="plain",
                                      new_label="pooled")
    rects = frames_by_path(fig)
    gone = rects["main;hash;buf_get"]
    assert gone.get_width() == 300  # base 300 + new 0
    assert rects["main;hash"].get_width() == 300
    assert rects["main;walk"].get_width() == 200  # 100 + 100
    assert rects["main;pool_init"].get_width() == 10  # new only
    assert rects["main"].get_width() == 510 and rects[""].get_width() == 510
    # the largest change (−300 of a 400 base) is full blue; the new stack is red; walk unchanged
    assert gone.get_facecolor()[:3] == pytest.approx(to_rgb("#0072B2"))
    r, g, b = rects["main;pool_init"].get_facecolor()[:3]
    assert r > b
    assert rects["main;walk"].get_facecolor()[:3] == pytest.approx((1.0, 1.0, 1.0))
    # vanished and new frames lie side by side inside their parent's span
    main = rects["main"]
    for k in ("main;hash", "main;pool_init", "main;walk"):
        assert main.get_x() <= rects[k].get_x() and rects[k].get_x() + rects[k].get_width() <= main.get_x() + 510
    texts = {t.get_gid(): t.get_text() for t in fig.axes[0].texts}
    assert texts["label:main;hash;buf_get"] == "buf_get −300B"


def test_diff_mentions_stacks_gone_from_new() -> None:
    base = {("main", "old_path"): 30.0, ("main", "x"): 70.0}
    new = {("main", "x"): 70.0}
    fig = flamegraph.diff_flame_graph(base, new)
    assert any("30.0% of base is in stacks absent from new" in t.get_text() for t in fig.texts)


def test_folded_round_trip_and_errors() -> None:
    text = flamegraph.to_folded(STACKS)
    assert text.splitlines() == ["main;init 10", "main;run 5", "main;run;alloc 60", "main;run;hash;alloc 25"]
    assert flamegraph.parse_folded(text) == STACKS
    assert flamegraph.parse_folded("a;b 1\na;b 2.5\n") == {("a", "b"): 3.5}
    with pytest.raises(ValueError, match="x.folded:2"):
        flamegraph.parse_folded("a;b 1\nbroken\n", "x.folded")
    fig = flamegraph.flame_graph(text)  # folded text is accepted directly
    assert frames_by_path(fig)["main;run"].get_width() == 90


def test_recursion_makes_deeper_frames() -> None:
    fig = flamegraph.flame_graph({("main", "walk", "walk", "walk"): 3.0, ("main", "walk"): 1.0})
    rects = frames_by_path(fig)
    assert rects["main;walk;walk;walk"].get_width() == 3 and rects["main;walk"].get_width() == 4


def test_empty_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no samples"):
        flamegraph.flame_graph({})
    with pytest.raises(ValueError, match="base profile has no samples"):
        flamegraph.diff_flame_graph({}, STACKS)


def test_module_of() -> None:
    assert flamegraph.module_of("github.com/x/pkg/worker.NewWorkerPool") == "worker"
    assert flamegraph.module_of("ep_pool_get") == "ep_pool"
    assert flamegraph.module_of("std::vector::push_back") == "std"

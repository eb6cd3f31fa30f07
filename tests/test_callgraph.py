"""Call graphs: node labels, edges, styles, DOT export, cycles — structure, not pixels."""
from __future__ import annotations

import re

import matplotlib
import pytest
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from enginepools.render import callgraph
from enginepools.render.callgraph import CallEdge, CallGraph, CallNode

KB = 1024.0


def heap() -> CallGraph:
    main = CallNode("main.main", 0, 100 * KB)
    run = CallNode("example.com/app/pkg/build.(*Builder).Run", 10 * KB, 90 * KB)
    pool = CallNode("example.com/app/pkg/worker.NewWorkerPool", 48 * KB, 48 * KB)
    rec = CallNode("example.com/app/pkg/tree.walk", 20 * KB, 32 * KB)
    leaf = CallNode("runtime.malg", 12 * KB, 12 * KB)
    edges = [CallEdge(main, run, 90 * KB), CallEdge(run, pool, 48 * KB),
             CallEdge(run, rec, 32 * KB, inline=True), CallEdge(rec, rec, 16 * KB),  # recursion
             CallEdge(rec, leaf, 12 * KB, residual=True)]
    return CallGraph([main, run, pool, rec, leaf], edges, total=100 * KB, unit="bytes", title="Type: inuse_space")


def test_node_label_is_pprofs() -> None:
    assert callgraph.node_label("example.com/app/pkg/worker.NewWorkerPool", 48 * KB, 48 * KB, 100 * KB, "bytes") \
        == "worker\nNewWorkerPool\n48kB (48.00%)"
    assert callgraph.node_label("example.com/app/pkg/build.(*Builder).Run", 10 * KB, 90 * KB, 100 * KB, "bytes") \
        == "build\n(*Builder)\nRun\n10kB (10.00%)\nof 90kB (90.00%)"
    assert callgraph.node_label("main.main", 0, 100 * KB, 100 * KB, "bytes") == "main\nmain\n0 of 100kB (100%)"
    assert callgraph.shorten_function_name("github.com/a/b/v2/pkg.F") == "pkg.F"
    assert callgraph.shorten_function_name("ep_pool_get") == "ep_pool_get"


def test_dot_color_matches_pprof() -> None:
    # values from pprof's dotColor for these scores
    assert callgraph.dot_color(0.0) == "#b2b2b2"
    assert callgraph.dot_color(1.0) == "#b20000"
    assert callgraph.dot_color(1.0, True) == "#edd5d5"


def test_draw_has_a_box_and_label_per_node_and_an_arrow_per_edge() -> None:
    g = heap()
    fig = callgraph.draw(g)
    ax = fig.axes[0]
    node_texts = {t.get_gid()[5:]: t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("node:")}
    assert node_texts == {n.name: callgraph.node_label(n.name, n.flat, n.cum, g.total, g.unit) for n in g.nodes}
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch) and (p.get_gid() or "").startswith("box:")]
    assert len(boxes) == 5
    arrows = {p.get_gid(): p for p in ax.patches if isinstance(p, FancyArrowPatch)}
    assert set(arrows) == {f"edge:{e.src.name}->{e.dst.name}" for e in g.edges}
    # width grows with weight (pprof: 1 + 5·w/total), styles per pprof
    big = arrows["edge:main.main->example.com/app/pkg/build.(*Builder).Run"]
    small = arrows["edge:example.com/app/pkg/tree.walk->runtime.malg"]
    assert big.get_linewidth() > small.get_linewidth()
    assert big.get_linestyle() == "solid"
    assert small.get_linestyle() == "dotted"  # residual
    assert arrows["edge:example.com/app/pkg/build.(*Builder).Run->example.com/app/pkg/tree.walk"].get_linestyle() \
        == "dashed"  # inline
    labels = {t.get_gid(): t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("edgelabel:")}
    assert labels["edgelabel:example.com/app/pkg/build.(*Builder).Run->example.com/app/pkg/tree.walk"] \
        == "32kB\n(inline)"
    # bigger flat, bigger font (pprof: 8 + 16·sqrt(flat/maxflat))
    fs = {t.get_gid()[5:]: t.get_fontsize() for t in ax.texts if (t.get_gid() or "").startswith("node:")}
    assert fs["example.com/app/pkg/worker.NewWorkerPool"] == 24
    assert fs["main.main"] == 8


def test_layout_boxes_do_not_overlap_and_callers_are_above() -> None:
    lay = callgraph.layout(big_graph(80))
    boxes = [(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2) for (cx, cy), (w, h) in zip(lay.centers, lay.sizes)]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (lay.names[i], lay.names[j])
    tree_edges = [(s, d) for s, d, *_ in lay.edges if s < d]  # the tree part of big_graph: parent index < child
    above = sum(lay.centers[s][1] < lay.centers[d][1] for s, d in tree_edges)
    assert above >= 0.9 * len(tree_edges)


def test_cycles_and_self_loops_are_drawn() -> None:
    a, b, c = CallNode("a", 1, 3), CallNode("b", 1, 3), CallNode("c", 1, 3)
    g = CallGraph([a, b, c], [CallEdge(a, b, 2), CallEdge(b, c, 2), CallEdge(c, a, 2), CallEdge(b, b, 1)], 3)
    fig = callgraph.draw(g)
    gids = {p.get_gid() for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)}
    assert gids == {"edge:a->b", "edge:b->c", "edge:c->a", "edge:b->b"}
    lay = callgraph.layout(g)
    for path in lay.paths:
        assert len(path) >= 2


def test_edges_by_name_and_unknown_node() -> None:
    g = CallGraph([CallNode("a", 1, 2), CallNode("b", 1, 1)], [CallEdge("a", "b", 1)], 2)
    assert callgraph.layout(g).edges[0][:2] == (0, 1)
    bad = CallGraph([CallNode("a", 1, 1)], [CallEdge("a", "zz", 1)], 1)
    with pytest.raises(ValueError, match="zz"):
        callgraph.layout(bad)


def test_empty_graph_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no nodes"):
        callgraph.draw(CallGraph([], [], 0))
    with pytest.raises(ValueError, match="no nodes"):
        callgraph.to_dot(CallGraph([], [], 0))


def test_to_dot_has_every_node_and_edge_like_pprof() -> None:
    g = heap()
    dot = callgraph.to_dot(g)
    assert dot.startswith('digraph "Type: inuse_space" {\n')
    assert dot.rstrip().endswith("}")
    nodes, edges = callgraph.parse_dot(dot)
    assert sorted(nodes.values()) == sorted(callgraph.node_label(n.name, n.flat, n.cum, g.total, g.unit)
                                            for n in g.nodes)
    name_of = {k: next(n.name for n in g.nodes if callgraph.node_label(n.name, n.flat, n.cum, g.total, g.unit) == v)
               for k, v in nodes.items()}
    got = {(name_of[s], name_of[d]) for s, d, _ in edges}
    assert got == {(e.src.name, e.dst.name) for e in g.edges}
    attrs = {(name_of[s], name_of[d]): a for s, d, a in edges}
    assert attrs[("main.main", "example.com/app/pkg/build.(*Builder).Run")]["penwidth"] == "5"
    assert attrs[("main.main", "example.com/app/pkg/build.(*Builder).Run")]["weight"] == "91"
    assert attrs[("example.com/app/pkg/tree.walk", "runtime.malg")]["style"] == "dotted"
    assert "(inline)" in attrs[("example.com/app/pkg/build.(*Builder).Run", "example.com/app/pkg/tree.walk")]["label"]
    assert re.search(r'N3 \[label="worker\\nNewWorkerPool\\n48kB \(48.00%\)" id="node3" fontsize=24 shape=box', dot)


def test_dot_parses_with_graphviz_when_available(tmp_path) -> None:
    import shutil
    import subprocess

    if shutil.which("dot") is None:
        pytest.skip("graphviz not installed")
    p = tmp_path / "g.dot"
    p.write_text(callgraph.to_dot(heap()))
    subprocess.run(["dot", "-Tsvg", str(p), "-o", str(tmp_path / "g.svg")], check=True)


def big_graph(n: int) -> CallGraph:
    nodes = [CallNode(f"pkg{i % 7}.fn{i}", float(i % 13), float(n - i)) for i in range(n)]
    edges = [CallEdge(nodes[(i - 1) // 2], nodes[i], float(n - i)) for i in range(1, n)]
    edges += [CallEdge(nodes[i], nodes[i // 3], 1.0, residual=True) for i in range(9, n, 9)]  # back edges
    return CallGraph(nodes, edges, float(sum(i % 13 for i in range(n))), "count")


@pytest.mark.slow
def test_eighty_nodes_render_at_readable_size(tmp_path) -> None:
    fig = callgraph.draw(big_graph(80))
    ax = fig.axes[0]
    node_texts = [t for t in ax.texts if (t.get_gid() or "").startswith("node:")]
    assert len(node_texts) == 80
    assert min(t.get_fontsize() for t in node_texts) >= 6  # not shrunk to unreadable
    w, h = fig.get_size_inches()
    assert max(w, h) <= 80.0
    from enginepools.render.charts import save

    [png] = save(fig, tmp_path / "g80", formats=("png",))
    assert png.stat().st_size > 10_000
    assert matplotlib.get_backend()  # no display needed


def test_disconnected_components_are_packed_into_rows() -> None:
    nodes = [CallNode(f"pkg.f{i}", 10.0, 10.0) for i in range(30)]
    lay = callgraph.layout(CallGraph(nodes, [], 300.0, "count"))
    x0, y0, x1, y1 = lay.extent
    assert (x1 - x0) < 4 * (y1 - y0)  # not one long strip
    boxes = [(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2) for (cx, cy), (w, h) in zip(lay.centers, lay.sizes)]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def test_negative_values_of_a_diff_graph() -> None:
    a, b = CallNode("a", -50.0, -80.0), CallNode("b", -30.0, -30.0)
    g = CallGraph([a, b], [CallEdge(a, b, -30.0)], 100.0, "count")
    assert callgraph.node_label("a", -50.0, -80.0, 100.0, "count") == "a\n-50 (50.00%)\nof -80 (80.00%)"
    fig = callgraph.draw(g)
    box = next(p for p in fig.axes[0].patches if p.get_gid() == "box:a")
    r, g_, b_ = box.get_edgecolor()[:3]
    assert g_ > r  # pprof colours decreases green


def test_redundant_residual_edges_are_dropped_like_pprof() -> None:
    names = ["main", "run", "pool", "malg"]
    edges = [(0, 1, 10.0, False, False), (1, 2, 8.0, False, False),
             (0, 2, 1.0, True, False),   # main ⋯> pool: also reachable via run -> dropped
             (0, 3, 2.0, True, False)]   # main ⋯> malg: the only way -> kept
    kept = callgraph.remove_redundant_edges(names, edges)
    assert (0, 2, 1.0, True, False) not in kept and (0, 3, 2.0, True, False) in kept and len(kept) == 3


def test_tags_are_drawn_as_nodelets_under_their_node(tmp_path) -> None:
    from enginepools.pprof.graph import GraphOptions, build_graph
    from enginepools.pprof.profile import ProfileBuilder

    b = ProfileBuilder(default_sample_type="inuse_space")
    M, R = ("main.main", "main.go", 1), ("app.Run", "run.go", 2)
    P, W = ("app.NewPool", "pool.go", 3), ("app.walk", "walk.go", 4)
    for size, n in ((65536, 30), (32, 500), (48, 100)):
        b.add_sample([n, n * size, n, n * size], [P, R, M], num_labels={"bytes": size})
    b.add_sample([9, 9 * 4096, 9, 9 * 4096], [W, R, M], labels={"phase": "walk"}, num_labels={"bytes": 4096})
    b.build().write(tmp_path / "h.prof")
    g = build_graph(tmp_path / "h.prof", GraphOptions(visual=True, nodefraction=0))
    dot = callgraph.to_dot(g)
    fig = callgraph.draw(g)
    texts = {t.get_gid(): t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_gid()}
    # NewPool is a leaf: its sizes with their cum weight; walk's label set
    assert texts["tagtext:app.NewPool:64kB"] == "64kB\n" + g.format_value(30 * 65536) == "64kB\n1920kB"
    assert texts["tagtext:app.NewPool:32B"] == "32B\n" + g.format_value(500 * 32)
    assert "tagtext:app.walk:phase:walk" in texts and "tagtext:main.main:64kB" not in texts  # inner: flat only
    for label in ("64kB", "32B", "48B", "phase:walk"):
        assert f'[label = "{label}"' in dot  # the DOT has the same nodelets
    lay = callgraph.layout(g)
    i = lay.names.index("app.NewPool")
    cx, cy, w, h = lay.boxes[i]
    assert all(y - ch / 2 > cy + h / 2 for _, y, _, ch, *_ in lay.chips[i])  # below the box
    assert lay.sizes[i][1] > h  # and the node's room in the layout holds them

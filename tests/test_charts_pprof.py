"""Charts, call graphs and flame graphs drawn from real profiles (made with
ProfileBuilder, read back through the pprof codec and build_graph)."""
from __future__ import annotations

from enginepools.render import callgraph, charts, flamegraph
from enginepools.pprof import report as pprof_report
from enginepools.pprof.graph import GraphOptions, build_graph
from enginepools.pprof.profile import Profile, ProfileBuilder

KB = 1024


def heap_profile() -> Profile:
    b = ProfileBuilder(default_sample_type="inuse_space")
    W = ("example.com/app/pkg/worker.NewWorkerPool", "worker.go", 20)
    R = ("example.com/app/pkg/build.Run", "build.go", 10)
    M = ("main.main", "main.go", 5)
    T = ("example.com/app/pkg/build.tarFile", "tar.go", 30)
    G = ("example.com/app/pkg/memory.(*BufferPool).Get", "pool.go", 12)
    b.add_sample([1, 5714 * KB, 1, 5714 * KB], [W, R, M])
    b.add_sample([3, 4000 * KB, 3, 4000 * KB], [G, T, R, M])
    b.add_sample([2, 2166 * KB, 2, 2166 * KB], [[("bytes.growSlice", "b.go", 1), T], R, M])  # inlined into tarFile
    return Profile.from_bytes(b.build().to_bytes())


def test_heap_top_from_graph_matches_pprof_top() -> None:
    g = build_graph(heap_profile(), GraphOptions(sample_index="inuse_space"))
    fig = charts.heap_top_from_graph(g, n=3)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    notes = [t.get_text() for t in ax.texts]
    top = pprof_report.top_text(g)
    for node, label, note in zip(g.nodes, labels, notes):
        assert label == (f"{node.name} {node.inline_label}" if node.inline_label else node.name)
        pct = note.split()[0]
        # the same value and percentage as the -top row of that function
        row = next(line for line in top.splitlines() if line.rstrip().endswith(label))
        assert row.split()[0] == note.split("(")[1].rstrip(")") and row.split()[1] == pct
    assert notes[0].startswith("48.10%")  # 5714 of 11880 kB, as the study
    assert g.format_value(g.total) in ax.get_xlabel()


def test_callgraph_from_build_graph_labels_and_edges() -> None:
    g = build_graph(heap_profile(), GraphOptions(sample_index="inuse_space"))
    fig = callgraph.draw(g)
    ax = fig.axes[0]
    got = {t.get_gid()[5:]: t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("node:")}
    assert set(got) == {n.name for n in g.nodes}
    worker = next(n for n in g.nodes if n.name.endswith("NewWorkerPool"))
    assert got[worker.name] == f"worker\nNewWorkerPool\n{g.format_value(worker.flat)} (48.10%)"
    arrows = {p.get_gid() for p in ax.patches if (p.get_gid() or "").startswith("edge:")}
    assert arrows == {f"edge:{e.src.name}->{e.dst.name}" for e in g.edges}
    legend = next(t.get_text() for t in ax.texts if t.get_gid() == "legend")
    assert "Type: inuse_space" in legend and "Showing nodes accounting for" in legend
    dot = callgraph.to_dot(g)
    nodes, edges = callgraph.parse_dot(dot)
    assert len(nodes) == len(g.nodes) and len(edges) == len(g.edges)
    assert any("(inline)" in a["label"] for _, _, a in edges) == any(e.inline for e in g.edges)


def test_flamegraph_from_profile_unrolls_inline_frames() -> None:
    p = heap_profile()
    stacks = flamegraph.stacks_from_profile(p, "inuse_space")
    assert stacks[("main.main", "example.com/app/pkg/build.Run", "example.com/app/pkg/build.tarFile",
                   "bytes.growSlice")] == 2166 * KB
    assert sum(stacks.values()) == (5714 + 4000 + 2166) * KB
    fig = flamegraph.flame_graph(p, "inuse_space")
    assert fig.texts[0].get_text() == "Flame graph: inuse_space"
    folded = flamegraph.to_folded(p, "inuse_space")
    assert "main.main;example.com/app/pkg/build.Run;example.com/app/pkg/worker.NewWorkerPool 5851136\n" in folded
    assert flamegraph.parse_folded(folded) == stacks

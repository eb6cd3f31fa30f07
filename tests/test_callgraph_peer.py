"""Peer test against the real pprof: ``callgraph.to_dot`` writes the same
nodes (labels, font sizes, colours, tooltips) and the same edges (labels,
weights, pen widths, colours, styles) as ``go tool pprof -dot`` on the same
profile.  Node ids may differ: pprof orders the nodes of a picture its own
way, so nodes are matched by their label."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from enginepools.render import callgraph
from enginepools.pprof.graph import GraphOptions, build_graph
from enginepools.pprof.profile import ProfileBuilder

pytestmark = [pytest.mark.go, pytest.mark.skipif(shutil.which("go") is None, reason="needs the go toolchain")]

KB = 1024


def _profile(path: Path) -> None:
    b = ProfileBuilder(default_sample_type="inuse_space")
    W = ("example.com/app/pkg/worker.NewWorkerPool", "worker.go", 20)
    R = ("example.com/app/pkg/build.Run", "build.go", 10)
    M = ("main.main", "main.go", 5)
    T = ("example.com/app/pkg/build.tarFile", "tar.go", 30)
    G = ("example.com/app/pkg/memory.(*BufferPool).Get", "pool.go", 12)
    X = ("example.com/app/pkg/tree.walk", "tree.go", 7)
    b.add_sample([1, 5714 * KB, 1, 5714 * KB], [W, R, M])
    b.add_sample([3, 4000 * KB, 3, 4000 * KB], [G, T, R, M])
    b.add_sample([2, 2166 * KB, 2, 2166 * KB], [[("bytes.growSlice", "b.go", 1), T], R, M])  # inlined
    b.add_sample([1, 900 * KB, 1, 900 * KB], [X, X, X, R, M])  # recursion
    # "tiny" falls under -nodefraction; the path main -> tiny -> NewWorkerPool becomes a residual edge
    # (redundant: main -> Run -> NewWorkerPool exists, so pprof drops it from the picture)
    b.add_sample([1, 60 * KB, 1, 60 * KB], [W, ("tiny", "t.go", 1), M])
    # two pruned callers of malg: main ⋯> malg stays, dotted
    Z = ("runtime.malg", "proc.go", 1)
    b.add_sample([1, 100 * KB, 1, 100 * KB], [Z, ("t1", "t.go", 2), M])
    b.add_sample([1, 100 * KB, 1, 100 * KB], [Z, ("t2", "t.go", 3), M])
    b.build().write(path)


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ, GOTOOLCHAIN="local", GOPROXY="off")
    if not env.get("HOME") or not os.access(env["HOME"], os.W_OK):
        env["HOME"] = str(tmp)
    return env


def _normalize(dot: str) -> tuple[dict[str, dict[str, str]], set[tuple[str, str, tuple[tuple[str, str], ...]]]]:
    nodes, edges = callgraph.parse_dot(dot)
    attr_rx = __import__("re").compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')
    node_attrs: dict[str, dict[str, str]] = {}
    for line in dot.splitlines():
        if line.startswith("N") and " -> " not in line and "[label=" in line:
            nid = line.split(" ", 1)[0]
            attrs = {k: v.strip('"') for k, v in attr_rx.findall(line.split(" ", 1)[1])}
            attrs.pop("id", None)
            node_attrs[nodes[nid]] = attrs
    edge_set = set()
    for s, d, a in edges:
        a = {k: v for k, v in a.items() if k not in ("tooltip", "labeltooltip")}
        edge_set.add((nodes[s], nodes[d], tuple(sorted(a.items()))))
    return node_attrs, edge_set


def test_dot_matches_go_tool_pprof(tmp_path: Path) -> None:
    prof = tmp_path / "heap.prof"
    _profile(prof)
    r = subprocess.run(["go", "tool", "pprof", "-dot", "-sample_index=inuse_space", "-nodefraction=0.01",
                        str(prof)], capture_output=True, text=True, env=_env(tmp_path), timeout=180)
    assert r.returncode == 0, r.stderr
    g = build_graph(prof, GraphOptions(sample_index="inuse_space", nodefraction=0.01))
    ours = callgraph.to_dot(g)
    go_nodes, go_edges = _normalize(r.stdout)
    our_nodes, our_edges = _normalize(ours)
    assert our_nodes == go_nodes
    assert our_edges == go_edges
    assert any("style" in dict(a) for _, _, a in go_edges)  # the fixture does have a residual edge
    assert any("(inline)" in dict(a)["label"] for _, _, a in go_edges)
    # the legend is pprof's
    legend = [line for line in r.stdout.splitlines() if line.startswith("subgraph cluster_L")]
    assert [line for line in ours.splitlines() if line.startswith("subgraph cluster_L")] == legend


def _big_profile(path: Path, seed: int) -> None:
    """Many functions in layers, forks and merges (so the entropy ranking has
    choices), "bytes" numeric labels on every sample and string labels on
    some (so a node's tags count against -nodecount and are drawn as
    nodelets), as Go heap profiles."""
    import random

    rnd = random.Random(seed)
    b = ProfileBuilder(default_sample_type="inuse_space")
    layers = [[(f"example.com/app/l{d}.F{i}", f"l{d}.go", 10 + i) for i in range(6 + 3 * d)] for d in range(7)]
    sizes = [16, 32, 48, 64, 1024, 4096, 65536, 1 << 20]
    for _ in range(400):
        depth = rnd.randint(2, 7)
        stack = [rnd.choice(layers[d]) for d in range(depth)][::-1] + [("main.main", "main.go", 5)]
        size = rnd.choice(sizes)
        n = rnd.randint(1, 40)
        labels = {"phase": rnd.choice(["walk", "tar"])} if rnd.random() < 0.2 else None
        b.add_sample([n, n * size, n, n * size], stack, labels=labels, num_labels={"bytes": size})
    b.build().write(path)


def _nodelets(dot: str) -> set[tuple]:
    """Every tag nodelet as (its parent's label, or its parent nodelet's key;
    label; tooltip; edge attributes): ids differ between pprof and us."""
    import re

    nodes, _ = callgraph.parse_dot(dot)
    lets = {m.group(1): (m.group(2), m.group(3)) for m in
            re.finditer(r'^(N+\d+(?:_\d+)+) \[label = "([^"]*)" id="[^"]*" fontsize=8 shape=box3d '
                        r'tooltip="([^"]*)"\]$', dot, re.M)}
    into = {m.group(2): (m.group(1), m.group(3)) for m in
            re.finditer(r"^(N+\d+(?:_\d+)*) -> (N+\d+(?:_\d+)+) \[(.*)\]$", dot, re.M)}
    assert set(lets) == set(into)

    def key(nid: str) -> tuple | str:
        if nid in nodes:
            return nodes[nid]
        src, attrs = into[nid]
        return (key(src), *lets[nid], attrs)

    return {key(n) for n in lets}


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("flags", [[], ["-nodecount=12"], ["-nodecount=30", "-sample_index=alloc_objects"],
                                   ["-nodecount=5", "-nodefraction=0"]])
def test_picture_selects_the_nodes_pprof_draws(tmp_path: Path, seed: int, flags: list[str]) -> None:
    # a picture ranks nodes by pprof's entropy score and counts their tags as
    # nodes; -nodecount defaults to 80 (a -top list keeps the biggest flat)
    prof = tmp_path / "heap.prof"
    _big_profile(prof, seed)
    r = subprocess.run(["go", "tool", "pprof", "-dot", *flags, str(prof)], capture_output=True, text=True,
                       env=_env(tmp_path), timeout=180)
    assert r.returncode == 0, r.stderr
    kw: dict = {"visual": True}
    for f in flags:
        k, v = f[1:].split("=")
        kw[k] = int(v) if k == "nodecount" else float(v) if k == "nodefraction" else v
    g = build_graph(prof, GraphOptions(**kw))
    go_nodes, go_edges = _normalize(r.stdout)
    our_nodes, our_edges = _normalize(callgraph.to_dot(g))
    assert set(our_nodes) == set(go_nodes)
    assert our_nodes == go_nodes
    assert our_edges == go_edges  # minlen=2 out of nodes with tags included
    assert _nodelets(callgraph.to_dot(g)) == _nodelets(r.stdout)
    if "-nodefraction=0" in flags:  # no tag trimmed: the fixture has what these checks need
        assert any(".." in k[1] for k in _nodelets(r.stdout))  # bytes values collapsed into buckets
        assert any("phase:" in k[1] for k in _nodelets(r.stdout))  # label tags
    top = build_graph(prof, GraphOptions(**{k: v for k, v in kw.items() if k != "visual"}))
    if "-nodecount=12" in flags:  # the -top selection is a different one, as in pprof
        assert {n.name for n in top.nodes} != {n.name for n in g.nodes}

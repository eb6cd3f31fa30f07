"""`enginepools top -dot` byte for byte as `go tool pprof -dot` (the graph
named after the main binary, `[libc.so.6]` kept whole, edges in pprof's
order, nodelets nested under label sets), and the picture (-png/-svg) drawing
every nodelet pprof's DOT has, the sizes under a label set included."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from enginepools.pprof.graph import GraphOptions, build_graph
from enginepools.render import callgraph
from test_pprof_peer import built_heap_profile, go_env, go_profiles  # noqa: F401  (fixtures)
from test_pprof_reports_peer import ENGINE_CI, REPO, engine_heap, go_pprof, same  # noqa: F401

pytestmark = [pytest.mark.go, pytest.mark.skipif(shutil.which("go") is None, reason="needs the go toolchain")]


@pytest.mark.parametrize("args", [
    ("heap2.prof",), ("cpu.prof",), ("-lines", "heap2.prof"), ("-tagfocus=pool=hash", "cpu.prof"),
    ("-sample_index=alloc_space", "allocs.prof"), ("-nodecount=5", "heap2.prof"),
    ("-diff_base=heap1.prof", "heap2.prof"), ("-mean", "heap2.prof"), ("-files", "heap2.prof"),
    ("-edgefraction=0.3", "heap2.prof"), ("-trim=false", "cpu.prof"), ("-focus=NOMATCH", "heap2.prof"),
], ids=" ".join)
def test_dot_of_go_profiles(go_env: dict[str, str], go_profiles: Path, args: tuple[str, ...]) -> None:
    want = same(go_env, go_profiles, "-dot", *args)
    assert want.startswith('digraph "peer" {\n')  # the Go program's binary


@pytest.mark.parametrize("flags", [(), ("-sample_index=alloc_space",), ("-addresses",), ("-lines",),
                                   ("-tagfocus=pool=hash",), ("-unit=kb",)], ids=" ".join)
def test_dot_of_what_we_write(go_env: dict[str, str], tmp_path: Path, flags: tuple[str, ...]) -> None:
    built_heap_profile().build().write(tmp_path / "ours.prof")
    want = same(go_env, tmp_path, "-dot", *flags, "ours.prof")
    assert want.startswith('digraph "app" {\n')
    if "-addresses" not in flags:
        assert 'label="[libc.so.6]\\n' in want  # the unsymbolized frame, not split at its dots


@pytest.mark.parametrize("flags", [(), ("-lines",), ("-nodefraction=0",)], ids=" ".join)
def test_dot_of_our_heap_profile(go_env: dict[str, str], engine_heap: Path, flags: tuple[str, ...]) -> None:
    same(go_env, REPO, "-dot", *flags, str(engine_heap))


@pytest.mark.skipif(not ENGINE_CI.is_dir(), reason="the engine-ci reference profiles are not on this machine")
@pytest.mark.parametrize("name", ["build.prof", "build_cpu.prof", "stress_1.prof"])
@pytest.mark.parametrize("flags", [(), ("-nodefraction=0", "-nodecount=200"), ("-tagfocus=pool=hash",),
                                   ("-unit=mb",)], ids=" ".join)
def test_dot_of_engine_ci_profiles(go_env: dict[str, str], tmp_path: Path, name: str,
                                   flags: tuple[str, ...]) -> None:
    shutil.copy(ENGINE_CI / name, tmp_path / name)
    same(go_env, tmp_path, "-dot", *flags, name)


@pytest.mark.skipif(not ENGINE_CI.is_dir(), reason="the engine-ci reference profiles are not on this machine")
def test_dot_mean_ranks_nodes_as_pprof(go_env: dict[str, str], tmp_path: Path) -> None:
    # -mean keeps samples whose value is 0 (their count is not): zero-weight edges make pprof's
    # entropy score NaN, which Go turns into MinInt64 — those nodes rank as pprof ranks them
    shutil.copy(ENGINE_CI / "build.prof", tmp_path / "build.prof")
    same(go_env, tmp_path, "-dot", "-mean", "build.prof")


_NODELET = re.compile(r'^N+(\d+(?:_\d+)+) \[label = "([^"]*)"', re.M)  # pprof: N1_0, NN1_0_0 under it
_NODE = re.compile(r'^(N\d+) \[label="([^"]*)"', re.M)


def test_picture_draws_every_nodelet_of_pprofs_dot(go_env: dict[str, str], tmp_path: Path) -> None:
    built_heap_profile().build().write(tmp_path / "ours.prof")
    dot = go_pprof(go_env, tmp_path, "-dot", "-sample_index=alloc_space", "ours.prof").stdout.decode()
    names = {nid: label.split("\\n")[0] for nid, label in _NODE.findall(dot)}
    labels = dict(_NODELET.findall(dot))
    want = set()
    for nid, label in labels.items():  # the label path of each nodelet, as pprof nests them
        parts = nid.split("_")
        path = [labels["_".join(parts[:k])] for k in range(2, len(parts))] + [label]
        want.add((names["N" + parts[0]], "/".join(p.replace("\\n", ",") for p in path)))
    assert ("[libc.so.6]", "pool:hash,size_class:65536/64kB") in want  # a size under a label set
    g = build_graph(tmp_path / "ours.prof", GraphOptions(sample_index="alloc_space", visual=True))
    lay = callgraph.layout(g)
    shown = {(callgraph._name_lines(name, node.info)[0], chip[8])
             for name, node, chips in zip(lay.names, g.nodes, lay.chips) for chip in chips}
    assert shown == want
    by_key = {chip[8]: chip for chips in lay.chips for chip in chips}
    parent, child = by_key["pool:hash,size_class:65536"], by_key["pool:hash,size_class:65536/64kB"]
    assert child[1] - child[3] / 2 > parent[1] + parent[3] / 2  # under its label set's chip
    assert child[7] == (parent[0], parent[1] + parent[3] / 2)  # hung from it

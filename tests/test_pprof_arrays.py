"""The graph layer on the decoder's arrays must give what the per-sample
object model (pprof's own loop, kept as the reference path) gives: the same
-top text, the same edges, for every filter and option, on profiles with
recursion, inline frames, labels, zero samples and drop_frames."""
from __future__ import annotations

import random

import numpy as np
import pytest

from enginepools.pprof.graph import GraphOptions, build_graph, load_profile
from enginepools.pprof.profile import ProfileBuilder
from enginepools.pprof.report import top_text
from enginepools.pprof.samples import group_csr
from enginepools.pprof.work import WorkProfile

FUNCS = ["main", "run", "ep_pool_get", "ep_alloc", "hash_put", "tar_write", "walk", "runtime.mallocgc"]


def random_profile(seed: int, drop_frames: str = ""):
    rng = random.Random(seed)
    b = ProfileBuilder(drop_frames=drop_frames)
    b.add_mapping(0x400000, 0x800000, 0, "/opt/app", "cafe")
    frames = []
    for i in range(25):
        f = rng.choice(FUNCS)
        if rng.random() < 0.3:  # a location with an inlined call
            frames.append([(rng.choice(FUNCS), f"{f}.c", rng.randint(1, 9), 0x400000 + 16 * i),
                           (f, f"{f}.c", rng.randint(10, 19), 0x400000 + 16 * i)])
        else:
            frames.append((f, f"{f}.c", rng.randint(1, 30), 0x400000 + 16 * i))
    for _ in range(300):
        stack = [rng.choice(frames) for _ in range(rng.randint(1, 8))]  # repeats: recursion
        n = rng.choice([0, 0, 1, 2, 5])
        size = rng.choice([16, 256, 4096, 65536])
        labels = {"pool": rng.choice(["hash", "tar", "strbuf"])} if rng.random() < 0.7 else None
        b.add_sample([n, n * size, rng.choice([0, n]), rng.choice([0, n]) * size], stack, labels=labels,
                     num_labels={"bytes": (size, "bytes")} if rng.random() < 0.8 else None)
    return b.build()


OPTIONS = [
    {}, {"cum": True}, {"nodefraction": 0}, {"nodecount": 3}, {"sample_index": "alloc_objects", "mean": True},
    {"focus": "ep_"}, {"ignore": "walk"}, {"hide": "run"}, {"show": "ep_|hash"}, {"show_from": "run"},
    {"prune_from": "ep_pool"}, {"tagfocus": "pool=hash"}, {"tagignore": "pool=tar"}, {"tagfocus": "bytes=4kb:"},
    {"granularity": "lines"}, {"granularity": "addresses"}, {"granularity": "files", "noinlines": True},
    {"focus": "run", "relative_percentages": True}, {"drop_negative": True}, {"edgefraction": 0.2, "visual": True},
    {"visual": True, "nodecount": 5},
]


def both(prof, **opts):
    arr = load_profile([WorkProfile.from_profile(prof)])
    objs = WorkProfile.from_profile(prof)
    objs.materialize()
    assert objs.arr is None and arr.arr is not None
    objs = load_profile([objs])
    o = GraphOptions(**opts)
    return build_graph(arr, o), build_graph(objs, o)


def edges(g):
    return sorted((e.src.name, e.dst.name, e.weight, e.residual, e.inline) for e in g.edges)


@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_arrays_match_the_object_model(seed: int, opts: dict) -> None:
    g_arr, g_obj = both(random_profile(seed), **opts)
    assert top_text(g_arr) == top_text(g_obj)
    assert edges(g_arr) == edges(g_obj)
    assert [e.src.name for e in g_arr.edges] == [e.src.name for e in g_obj.edges]  # the order pictures use
    assert [(t.name, t.flat, t.cum) for n in g_arr.nodes for t in n.tags] == \
        [(t.name, t.flat, t.cum) for n in g_obj.nodes for t in n.tags]


def test_top_without_edge_objects_keeps_inline_labels() -> None:
    prof = random_profile(4)
    g_edges = build_graph(load_profile([prof]), GraphOptions(nodefraction=0))
    g_lean = build_graph(load_profile([prof]), GraphOptions(nodefraction=0, edges=False))
    assert not g_lean.edges and g_edges.edges
    assert top_text(g_lean) == top_text(g_edges)
    assert any(n.inline_label for n in g_lean.nodes)


@pytest.mark.parametrize("opts", [{}, {"focus": "run"}, {"visual": True, "nodecount": 6}, {"hide": "walk"}])
def test_chunked_passes_give_the_same_graph(monkeypatch: pytest.MonkeyPatch, opts: dict) -> None:
    """Big profiles are handled in chunks of slots and partitions of pairs
    (by numpy, past what the C tally takes); tiny chunks here make every
    boundary case happen."""
    import enginepools.pprof.builder as builder
    import enginepools.pprof.samples as samples

    prof = random_profile(6)
    want = both(prof, **opts)[1]
    monkeypatch.setattr(builder, "C_SLOTS", 0)
    monkeypatch.setattr(builder, "_CHUNK", 7)
    monkeypatch.setattr(samples, "_CHUNK", 5)
    got = both(prof, **opts)[0]
    assert top_text(got) == top_text(want)
    assert [(e.src.name, e.dst.name, e.weight, e.residual, e.inline) for e in got.edges] == \
        [(e.src.name, e.dst.name, e.weight, e.residual, e.inline) for e in want.edges]


@pytest.mark.parametrize("drop", ["ep_.*", "run|walk", "hash_put"])
def test_drop_frames_on_arrays(drop: str) -> None:
    g_arr, g_obj = both(random_profile(5, drop_frames=drop), nodefraction=0)
    assert top_text(g_arr) == top_text(g_obj)


def test_group_csr_is_exact() -> None:
    rng = np.random.default_rng(3)
    lens = rng.integers(0, 5, 2000)
    off = np.concatenate(([0], np.cumsum(lens)))
    a = rng.integers(0, 3, int(off[-1]))
    b = rng.integers(0, 2, int(off[-1]))
    gid, first = group_csr(off, [a, b])
    seen: dict[tuple, int] = {}
    want = []
    for i in range(len(lens)):
        key = (tuple(a[off[i]:off[i + 1]]), tuple(b[off[i]:off[i + 1]]))
        want.append(seen.setdefault(key, len(seen)))
    assert gid.tolist() == want
    assert first.tolist() == [want.index(g) for g in range(len(seen))]


def _objects(prof):
    w = WorkProfile.from_profile(prof)
    w.materialize()
    return w


@pytest.mark.parametrize("diff", [False, True])
@pytest.mark.parametrize("opts", [{}, {"nodefraction": 0, "cum": True}, {"tagfocus": "pool=hash"},
                                  {"visual": True, "nodecount": 8}, {"focus": "ep_", "drop_negative": True}])
def test_base_and_merge_on_arrays(diff: bool, opts: dict) -> None:
    a, b, c = random_profile(7), random_profile(8), random_profile(9)
    o = GraphOptions(**opts)
    for srcs, base in (([a], [b]), ([a, c], [b]), ([a, a], [])):
        arr = load_profile([WorkProfile.from_profile(x) for x in srcs],
                           base=[WorkProfile.from_profile(x) for x in base], diff_base=diff and bool(base))
        objs = load_profile([_objects(x) for x in srcs], base=[_objects(x) for x in base],
                            diff_base=diff and bool(base))
        assert arr.arr is not None and objs.arr is None
        assert [loc.id for loc in arr.locations] == [loc.id for loc in objs.locations]
        g_arr, g_obj = build_graph(arr, o), build_graph(objs, o)
        assert top_text(g_arr) == top_text(g_obj)
        assert edges(g_arr) == edges(g_obj)
        assert [(t.name, t.flat, t.cum) for n in g_arr.nodes for t in n.tags] == \
            [(t.name, t.flat, t.cum) for n in g_obj.nodes for t in n.tags]
        from enginepools.pprof.traces import tags_text, traces_text
        assert traces_text(arr, o) == traces_text(objs, o)
        assert tags_text(arr, o) == tags_text(objs, o)


def test_group_stacks_in_c_is_exact() -> None:
    from enginepools import _core

    rng = np.random.default_rng(5)
    lens = rng.integers(0, 5, 3000)
    off = np.concatenate(([0], np.cumsum(lens))).astype(np.int64)
    rows = rng.integers(0, 3, int(off[-1])).astype(np.int32)
    gid, first = (np.frombuffer(x, dtype=np.int64) for x in _core.group_stacks(off, rows))
    seen: dict[tuple, int] = {}
    want = [seen.setdefault(tuple(rows[off[i]:off[i + 1]].tolist()), len(seen)) for i in range(len(lens))]
    assert gid.tolist() == want
    assert first.tolist() == [want.index(g) for g in range(len(seen))]


def _graph_facts(nodes):
    ns = sorted((n.info, n.flat, n.flat_div, n.cum, n.cum_div) for n in nodes)
    es = sorted((src.info, dst.info, e[0], e[1], e[2], e[3]) for dst in nodes for src, e in dst.ins.items())
    return ns, es


@pytest.mark.parametrize("c_tally", [True, False], ids=["C", "numpy"])
@pytest.mark.parametrize("seed", [1, 2, 7])
def test_graph_tally_matches_pprofs_loop(monkeypatch: pytest.MonkeyPatch, seed: int, c_tally: bool) -> None:
    """Nodes (flat, cum) and edges (weight, residual, inline) from the slot
    arrays — by the C tally, or by the numpy passes it replaces for huge
    profiles — equal pprof's newGraph loop transcribed (build_reference), with
    every node kept and with some dropped (residual edges)."""
    from enginepools.pprof import builder as builder_mod
    from enginepools.pprof.filters import select_and_filter
    from enginepools.pprof.granularity import Aggregator

    if not c_tally:
        monkeypatch.setattr(builder_mod, "C_SLOTS", 0)
    p = load_profile([random_profile(seed)])
    o = GraphOptions(sample_index="alloc_objects", mean=seed == 7)
    _, ix, mean_ix, *_ = select_and_filter(p, o, lambda m: None)
    b = builder_mod.Builder(p, Aggregator("functions", False), ix, mean_ix)
    infos = list(b.infos)
    for kept in (None, set(infos[::2]), set(infos[1::3])):
        b._values = None
        assert _graph_facts(b.build(kept, True)) == _graph_facts(b.build_reference(kept))

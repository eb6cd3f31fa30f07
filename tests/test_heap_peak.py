"""The heap at its peak and the in-use timeline: profiles of a workload with
a known high-water mark, the pipeline's pools' retained buffers in its peak
profile, and the timeline chart drawn from the recorded series."""
from __future__ import annotations

import json

import pytest

from enginepools import _core
from enginepools.pprof.profilers import NO_POOL, HeapProfiler, InuseTimeline
from enginepools.report.pipeline import heap_breakdown


def _inuse_by_function(prof) -> dict[str, float]:
    from enginepools.pprof.graph import GraphOptions, build_graph

    g = build_graph(prof, GraphOptions(sample_index="inuse_space", nodecount=0))
    return {n.name: n.flat for n in g.nodes if n.flat}


def test_peak_profile_has_the_live_set_at_the_peak_and_the_whole_runs_allocations() -> None:
    with HeapProfiler(rate=1) as hp:
        ka = _core.proftest_alloc(0, 8, 512, 1)      # 4096 B
        kb = _core.proftest_alloc(1, 3, 4096, 1)     # + 12288 B = 16384: the peak
        _core.proftest_release(kb)
        kc = _core.proftest_alloc(2, 4, 1024, 1)     # 8192 B in use, below the peak
        _core.proftest_release(ka)
    end, peak = hp.profile(), hp.profile(peak=True)
    _core.proftest_release(kc)
    assert _inuse_by_function(peak) == {"proftest_site_a": 4096, "proftest_site_b": 12288}
    assert _inuse_by_function(end) == {"proftest_site_c": 4096}
    # alloc_* are the whole run's in both
    col = [t for t, _ in peak.sample_types].index("alloc_space")
    assert peak.values[:, col].sum() == end.values[:, col].sum() == 4096 + 12288 + 4096
    assert any(c.startswith("inuse at peak: 16384 sampled bytes") for c in peak.comments)
    assert not end.comments


def test_timeline_series_add_up_to_the_total_and_the_peak_is_marked(tmp_path) -> None:
    from enginepools.e2e.pipeline import profile_pipeline_peak
    from enginepools.e2e.treegen import TreeSpec, default_tree

    root = default_tree(TreeSpec(files=300, dirs=15)).path
    prof, tl = profile_pipeline_peak(root, "all", 1, interval=0.0005, threads=2)
    json.dumps(tl)  # plain JSON
    n = len(tl["t"])
    assert n >= 2 and all(len(v) == n for v in tl["series"].values())
    for i in range(n):
        assert sum(v[i] for v in tl["series"].values()) == tl["total"][i]
    assert tl["t"] == sorted(tl["t"]) and tl["events"] == sorted(tl["events"])
    assert max(tl["total"]) <= tl["peak_bytes"]
    assert tl["peak_t"] is not None and tl["t"][0] <= tl["peak_t"] <= tl["t"][-1]
    assert {"hash", "tar", NO_POOL} <= set(tl["series"])
    # the peak profile: the pools' retained buffers are in it, and it adds up to the peak
    hb = heap_breakdown(prof, "inuse_space")
    assert hb.total == tl["peak_bytes"]
    pools = dict(hb.pools)
    # each of the 2 hash workers and the tar phase hold a 64 KiB buffer at the peak
    assert pools["hash"] >= 2 * 65536 and pools["tar"] >= 65536


def test_plain_pipeline_peak_has_no_pool_labels() -> None:
    from enginepools.e2e.pipeline import profile_pipeline
    from enginepools.e2e.treegen import TreeSpec, default_tree

    root = default_tree(TreeSpec(files=300, dirs=15)).path
    hb = heap_breakdown(profile_pipeline(root, "none", 1, peak=True, threads=2), "inuse_space")
    assert [k for k, _ in hb.pools] == [NO_POOL] and hb.total > 0


def test_timeline_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval"):
        InuseTimeline(0)


def test_timeline_chart_stacks_each_label_and_shares_the_y_axis() -> None:
    from enginepools.render.timeline import inuse_timeline_chart

    plain = {"t": [0.0, 0.001, 0.002], "total": [0, 300, 100], "series": {NO_POOL: [0, 300, 100]},
             "peak_bytes": 300, "peak_t": 0.001}
    pooled = {"t": [0.0, 0.001, 0.002], "total": [0, 250, 250],
              "series": {NO_POOL: [0, 50, 50], "hash": [0, 200, 200]}, "peak_bytes": 250, "peak_t": 0.001}
    fig = inuse_timeline_chart({"plain": plain, "pooled": pooled})
    a0, a1 = fig.axes[:2]
    assert a0.get_ylim() == a1.get_ylim() and a0.get_ylim()[1] >= 300
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [NO_POOL, "hash"]
    # the pooled panel: two stacked areas whose top edge is the total
    polys = a1.collections
    assert len(polys) == 2
    tops = max(p.get_paths()[0].vertices[:, 1].max() for p in polys)
    assert tops == 250
    assert any("peak 300" in t.get_text() for t in a0.texts)
    with pytest.raises(ValueError, match="no data to chart"):
        inuse_timeline_chart({"plain": {"t": [0.0], "series": {}}})

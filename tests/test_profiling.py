"""HeapProfiler / CPUProfiler: the pprof profiles they write."""
from __future__ import annotations

import math

import numpy as np
import pytest

from enginepools import _core
from enginepools.pprof.profile import Profile
from enginepools.pprof.profilers import CPUProfiler, HeapProfiler, scale_heap_sample


@pytest.fixture(autouse=True)
def _heap_off():
    yield
    _core.heapprof_stop()


def leaf_names(p: Profile) -> list[str]:
    """Leaf function name of each sample (innermost line of its first location)."""
    loc_index = {int(lid): i for i, lid in enumerate(p.location_id)}
    fn_index = {int(fid): i for i, fid in enumerate(p.function_id)}
    out = []
    for s in range(p.n_samples):
        lo = p.sample_loc_offsets[s]
        if lo == p.sample_loc_offsets[s + 1]:
            out.append("")
            continue
        li = loc_index[int(p.sample_loc_ids[lo])]
        first_line = p.location_line_offsets[li]
        if first_line == p.location_line_offsets[li + 1]:
            out.append("")
            continue
        f = fn_index[int(p.line_function[first_line])]
        out.append(p.string(int(p.function_name[f])))
    return out


def labels(p: Profile, s: int) -> dict[str, object]:
    a, b = p.sample_label_offsets[s], p.sample_label_offsets[s + 1]
    out: dict[str, object] = {}
    for k, sv, nv in zip(p.label_key[a:b], p.label_str[a:b], p.label_num[a:b]):
        out[p.string(int(k))] = p.string(int(sv)) if sv else int(nv)
    return out


def test_go_scale_heap_sample() -> None:
    assert scale_heap_sample(0, 0, 512) == (0, 0)
    assert scale_heap_sample(3, 300, 1) == (3, 300)
    s = 1 / (1 - math.exp(-100 / 524288))
    assert scale_heap_sample(3, 300, 524288) == (int(3 * s), int(300 * s))


def test_heap_profile_has_go_heap_layout_and_exact_values_at_rate_1(tmp_path) -> None:
    with HeapProfiler(rate=1) as hp:
        keep = _core.proftest_alloc(0, 1000, 64, 10)
    path = tmp_path / "mem.pprof"
    hp.write(path)
    p = Profile.read(path)
    assert p.sample_types == [("alloc_objects", "count"), ("alloc_space", "bytes"),
                              ("inuse_objects", "count"), ("inuse_space", "bytes")]
    assert p.period_type == ("space", "bytes") and p.period == 1
    rows = [i for i, n in enumerate(leaf_names(p)) if n == "proftest_site_a"]
    assert rows
    assert p.values[rows].sum(axis=0).tolist() == [1000, 64000, 100, 6400]
    assert all(labels(p, i)["bytes"] == 64 for i in rows)
    _core.proftest_release(keep)
    p2 = hp.profile()
    rows = [i for i, n in enumerate(leaf_names(p2)) if n == "proftest_site_a"]
    assert p2.values[rows].sum(axis=0).tolist() == [1000, 64000, 0, 0]


def test_heap_profile_values_are_unbiased_with_gos_formula() -> None:
    rate = 64 * 1024
    hp = HeapProfiler(rate=rate, seed=99).start()
    _core.proftest_alloc(1, 20000, 1000)
    hp.stop()
    raw = hp.snapshot()
    p = hp.profile()
    want = {}
    for pcs, size, pool, cls, ao, ab, fo, fb in raw["records"]:
        want[size] = [a + b for a, b in zip(want.get(size, [0, 0, 0, 0]),
                                           [*scale_heap_sample(ao, ab, rate), *scale_heap_sample(ao - fo, ab - fb, rate)])]
    got = {}
    for s in range(p.n_samples):
        size = labels(p, s)["bytes"]
        got[size] = [a + int(b) for a, b in zip(got.get(size, [0, 0, 0, 0]), p.values[s])]
    assert got == want
    est = got[1000][1]
    assert abs(est - 20000 * 1000) < 0.15 * 20000 * 1000


def test_pool_allocations_are_labelled_in_the_profile() -> None:
    with HeapProfiler(rate=1) as hp:
        _core.proftest_pool("hash-test", 20, 60000)
    p = hp.profile()
    labelled = [labels(p, s) for s in range(p.n_samples) if "pool" in labels(p, s)]
    assert any(lb.get("pool") == "hash-test" and lb.get("size_class") == 65536 for lb in labelled)
    assert any(lb.get("pool") == "hash-test" and "size_class" not in lb for lb in labelled)  # magazines


def test_rate_0_is_off_and_gives_an_empty_profile() -> None:
    with HeapProfiler(rate=0) as hp:
        _core.proftest_alloc(0, 100, 64)
    assert hp.profile().n_samples == 0
    with pytest.raises(ValueError):
        HeapProfiler(rate=-1)


def test_cpu_profile_layout_and_spinning_function() -> None:
    with CPUProfiler(hz=250) as cp:
        _core.proftest_spin(0.5)
    p = cp.profile()
    assert p.sample_types == [("samples", "count"), ("cpu", "nanoseconds")]
    assert p.period_type == ("cpu", "nanoseconds") and p.period == 4_000_000
    assert p.duration_nanos >= 400_000_000
    np.testing.assert_array_equal(p.values[:, 1], p.values[:, 0] * 4_000_000)
    names = leaf_names(p)
    spin = sum(int(p.values[i, 0]) for i, n in enumerate(names) if n == "proftest_spin_loop")
    assert spin >= 0.5 * int(p.values[:, 0].sum()) and spin > 10
    assert any(len(p.mapping_filename) and p.string(int(f)).endswith(".so") for f in p.mapping_filename)


def test_two_cpu_profilers_share_the_timer_and_see_their_own_window() -> None:
    outer = CPUProfiler(100).start()
    _core.proftest_spin(0.3)
    inner = CPUProfiler(100).start()
    inner.stop()  # an empty window
    outer.stop()
    assert sum(inner.counts().values()) <= 2
    assert sum(outer.counts().values()) >= 5
    with pytest.raises(ValueError):
        CPUProfiler(hz=0)


def test_stack_stops_at_a_return_address_outside_code() -> None:
    from enginepools.pprof.profilers import _Stacks

    addr = _core.proftest_addresses()["proftest_spin_loop"]
    frames = _Stacks().frames([addr + 8, addr + 16, 0x10, addr + 8], leaf_exact=False)
    assert len(frames) == 2 and all(isinstance(f, list) for f in frames)
    assert frames[0][-1][0] == "proftest_spin_loop"


def test_overhead_benchmark_script_reports_ratios(tmp_path) -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "heapprof_overhead.py"
    out = tmp_path / "o.json"
    r = subprocess.run([sys.executable, str(script), "-rounds", "1", "-benchtime", "0.005",
                        "-kernels", "MallocFree/size=64", "-json", str(out)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())["MallocFree/size=64"]
    assert set(res["ratio_vs_off"]) == {"default", "rate1", "off2"}
    assert set(res["median_ns_per_op"]) == {"off", "default", "rate1", "off2"} and res["rounds"] == 1
    # one round: each ratio is that round's mode / off, i.e. the medians' ratio exactly
    med = res["median_ns_per_op"]
    for mode, ratio in res["ratio_vs_off"].items():
        assert ratio == pytest.approx(med[mode] / med["off"], rel=1e-12), mode

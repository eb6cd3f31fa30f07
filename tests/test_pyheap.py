"""The Python heap profiler (enginepools.pprof.pyheap over csrc/py/pyalloc.c):
exact at rate 1, unbiased as Go at a rate, stacks, peak, coexistence with
tracemalloc, memory from before it started, threads, the context manager
and the cell magic."""
from __future__ import annotations

import math
import sys
import threading
import tracemalloc
from pathlib import Path

import pytest

from enginepools import _core, memprofile
from enginepools.pprof.pyheap import PyHeapProfiler
from enginepools.pprof.profile import Profile

KEPT: list[object] = []


def by_leaf(prof: Profile, sample_type: str) -> dict[str, int]:
    """Sum of `sample_type` per leaf function name, from the decoded profile."""
    ix = [t for t, _ in prof.sample_types].index(sample_type)
    names = dict(zip(prof.function_id.tolist(), prof.function_name.tolist()))
    loc_fn: dict[int, int] = {}
    for i, lid in enumerate(prof.location_id.tolist()):
        first = prof.location_line_offsets[i]
        loc_fn[lid] = int(prof.line_function[first])
    out: dict[str, int] = {}
    for s in range(prof.n_samples):
        leaf_loc = int(prof.sample_loc_ids[prof.sample_loc_offsets[s]])
        name = prof.strings[int(names[loc_fn[leaf_loc]])]
        out[name] = out.get(name, 0) + int(prof.values[s, ix])
    return out


def site(snap: dict, func: str, size: int) -> tuple[int, int, int, int]:
    """(alloc_objects, alloc_bytes, free_objects, free_bytes) sampled at
    blocks of `size` bytes whose leaf frame is `func`."""
    out = [0, 0, 0, 0]
    for frames, sz, a_obj, a_bytes, f_obj, f_bytes, _, _ in snap["records"]:
        if frames and frames[0][0] == func and sz == size:
            out = [out[0] + a_obj, out[1] + a_bytes, out[2] + f_obj, out[3] + f_bytes]
    return out[0], out[1], out[2], out[3]


def _values_at(prof: Profile, func: str, size: int) -> list[tuple[int, int]]:
    """(alloc_objects, alloc_space) of the samples at leaf `func` with label bytes=size."""
    names = dict(zip(prof.function_id.tolist(), prof.function_name.tolist()))
    loc_fn = {lid: int(prof.line_function[prof.location_line_offsets[i]])
              for i, lid in enumerate(prof.location_id.tolist())}
    out = []
    for s in range(prof.n_samples):
        leaf = int(prof.sample_loc_ids[prof.sample_loc_offsets[s]])
        lo, hi = prof.sample_label_offsets[s], prof.sample_label_offsets[s + 1]
        sizes = [int(prof.label_num[j]) for j in range(lo, hi) if prof.strings[int(prof.label_key[j])] == "bytes"]
        if prof.strings[int(names[loc_fn[leaf]])] == func and sizes == [size]:
            out.append((int(prof.values[s, 0]), int(prof.values[s, 1])))
    return out


def make_blocks(n: int, size: int) -> list[bytes]:
    out = []
    for _ in range(n):
        out.append(bytes(size))
    return out


def keep_blocks(n: int, size: int) -> None:
    for _ in range(n):
        KEPT.append(bytes(size))


def drop_blocks(n: int, size: int) -> None:
    for _ in range(n):
        bytes(size)


def test_rate_1_is_exact() -> None:
    KEPT.clear()
    with PyHeapProfiler(rate=1) as hp:
        keep_blocks(100, 5000)
        drop_blocks(300, 2000)
    snap, prof = hp.snapshot(), hp.profile()
    one_keep, one_drop = sys.getsizeof(bytes(5000)), sys.getsizeof(bytes(2000))
    assert site(snap, "keep_blocks", one_keep) == (100, 100 * one_keep, 0, 0)
    assert site(snap, "drop_blocks", one_drop) == (300, 300 * one_drop, 300, 300 * one_drop)
    # the profile adds the functions' other blocks (their loop's range and ints): a few hundred bytes
    assert 300 * one_drop <= by_leaf(prof, "alloc_space")["drop_blocks"] < 300 * one_drop + 4096
    assert by_leaf(prof, "inuse_space").get("drop_blocks", 0) < 4096
    # the 100 kept blocks (and the list's growth: its storage, reallocated) are in use
    kept = by_leaf(prof, "inuse_space")["keep_blocks"]
    assert 100 * one_keep <= kept < 100 * one_keep + 4096
    assert prof.period == 1 and prof.period_type == ("space", "bytes")
    KEPT.clear()


def test_stacks_name_function_file_and_line() -> None:
    with PyHeapProfiler(rate=1) as hp:
        drop_blocks(10, 100000)
    snap = hp.snapshot()
    frames = max(snap["records"], key=lambda r: r[3])[0]
    name, filename, line = frames[0]
    assert name == "drop_blocks" and filename == __file__
    src = Path(__file__).read_text().splitlines()
    assert "bytes(size)" in src[line - 1]
    assert frames[1][0] == "test_stacks_name_function_file_and_line"


def test_default_rate_is_unbiased_as_go() -> None:
    rate, size, n = 512 * 1024, 64 * 1024, 4000
    with PyHeapProfiler(rate=rate, seed=7) as hp:
        drop_blocks(n, size)
    snap = hp.snapshot()
    one = sys.getsizeof(bytes(size))
    sampled = site(snap, "drop_blocks", one)[0]
    # Go's scaleHeapSample, by hand: count / (1 - exp(-size/rate))
    scale = 1 / (1 - math.exp(-one / rate))
    prof = hp.profile()
    # one row per sampled stack (the same line can be reached by more than one stack)
    counts = [r[2] for r in snap["records"] if r[0] and r[0][0][0] == "drop_blocks" and r[1] == one]
    assert sum(counts) == sampled
    rows = sorted(_values_at(prof, "drop_blocks", one))
    assert rows == sorted((int(c * scale), int(c * one * scale)) for c in counts)
    # and the estimate is near the truth (~470 samples expected: a 4.6% standard error)
    assert abs(sampled * scale - n) < 0.2 * n


def test_peak_keeps_the_in_use_values_at_the_high_water_mark() -> None:
    holder: list[bytes] = []
    with PyHeapProfiler(rate=1, peak=True) as hp:
        for _ in range(50):
            holder.append(bytes(10000))
        holder.clear()
        drop_blocks(5, 3000)
    now = by_leaf(hp.profile(peak=False), "inuse_space")
    at_peak = by_leaf(hp.profile(), "inuse_space")
    one = sys.getsizeof(bytes(10000))
    name = "test_peak_keeps_the_in_use_values_at_the_high_water_mark"
    assert now.get(name, 0) < one  # all freed by the end (the list's own storage may remain)
    assert at_peak[name] >= 50 * one
    assert at_peak.get("drop_blocks", 0) == 0  # allocated after the peak
    with PyHeapProfiler(rate=1) as plain:
        drop_blocks(1, 10)
    with pytest.raises(ValueError, match="peak"):
        plain.profile(peak=True)


def two_sites(n: int) -> None:
    for _ in range(n):
        bytes(3000)  # site A
        bytes(7000)  # site B


def _line_of(func: object, marker: str) -> int:
    code = func.__code__  # type: ignore[attr-defined]
    src = Path(code.co_filename).read_text().splitlines()
    return next(i + 1 for i in range(code.co_firstlineno - 1, len(src)) if marker in src[i])


def per_line(snap: dict, func: str, size: int) -> dict[int, int]:
    """alloc_objects of blocks of `size` bytes at leaf `func`, per line."""
    out: dict[int, int] = {}
    for frames, sz, a_obj, *_ in snap["records"]:
        if frames and frames[0][0] == func and sz == size:
            out[frames[0][2]] = out.get(frames[0][2], 0) + a_obj
    return out


def test_rate_1_tells_apart_sites_that_alternate_in_one_frame() -> None:
    # the sampling thread caches the stacks it saw lately: two sites of one
    # frame, taken turn about, must each keep their own line and count
    with PyHeapProfiler(rate=1) as hp:
        two_sites(250)
    snap = hp.snapshot()
    a, b = sys.getsizeof(bytes(3000)), sys.getsizeof(bytes(7000))
    assert per_line(snap, "two_sites", a) == {_line_of(two_sites, "# site A"): 250}
    assert per_line(snap, "two_sites", b) == {_line_of(two_sites, "# site B"): 250}


def gen_blocks(n: int, size: int):  # type: ignore[no-untyped-def]
    for _ in range(n):
        yield bytes(size)


def test_generator_frames_are_in_the_stack() -> None:
    with PyHeapProfiler(rate=1) as hp:
        total = 0
        for b in gen_blocks(40, 6000):
            total += len(b)
    assert total == 40 * 6000
    recs = [r for r in hp.snapshot()["records"] if r[0] and r[0][0][0] == "gen_blocks"
            and r[1] == sys.getsizeof(bytes(6000))]
    assert sum(r[2] for r in recs) == 40
    assert {r[0][1][0] for r in recs} == {"test_generator_frames_are_in_the_stack"}


def recurse(depth: int, size: int) -> None:
    if depth > 1:
        recurse(depth - 1, size)
    else:
        bytes(size)


def test_deep_stacks_keep_their_64_leaf_most_frames() -> None:
    with PyHeapProfiler(rate=1) as hp:
        for _ in range(5):
            recurse(12, 9000)  # deeper than a thread caches
        for _ in range(3):
            recurse(100, 9001)  # deeper than a stack keeps
    snap = hp.snapshot()
    twelve = [r for r in snap["records"] if r[1] == sys.getsizeof(bytes(9000)) and r[0][0][0] == "recurse"]
    assert sum(r[2] for r in twelve) == 5
    assert all([f[0] for f in r[0][:13]] == ["recurse"] * 12 + ["test_deep_stacks_keep_their_64_leaf_most_frames"]
               for r in twelve)
    hundred = [r for r in snap["records"] if r[1] == sys.getsizeof(bytes(9001)) and r[0][0][0] == "recurse"]
    assert sum(r[2] for r in hundred) == 3
    assert all(len(r[0]) == 64 and {f[0] for f in r[0]} == {"recurse"} for r in hundred)


def test_a_new_profile_names_its_own_stacks() -> None:
    # ids the sampling thread cached in one profile mean nothing in the next:
    # the same stacks (one loop, one call site) recur in a second profile
    # whose table fills in another order
    snaps = []
    for calls in ([(two_sites, 20)], [(drop_blocks, 30, 3000), (two_sites, 10)]):
        with PyHeapProfiler(rate=1) as hp:
            for fn, *args in calls:
                fn(*args)
        snaps.append(hp.snapshot())
    a = sys.getsizeof(bytes(3000))
    assert per_line(snaps[0], "two_sites", a) == {_line_of(two_sites, "# site A"): 20}
    assert per_line(snaps[1], "two_sites", a) == {_line_of(two_sites, "# site A"): 10}
    assert per_line(snaps[1], "drop_blocks", a) == {_line_of(drop_blocks, "bytes(size)"): 30}
    starts = [r for r in snaps[1]["records"] if r[0] and r[0][0][0] == "PyHeapProfiler.start"]
    assert all(r[0][1][0] == "StartStop.__enter__" for r in starts)


def test_frees_of_older_blocks_pass_through_uncounted() -> None:
    old = [bytes(1000) for _ in range(200)]  # allocated before the hooks went in
    with PyHeapProfiler(rate=1) as hp:
        del old[:]
        new = make_blocks(10, 1000)
    prof = hp.profile()
    ix = [t for t, _ in prof.sample_types].index("inuse_objects")
    assert prof.values[:, ix].min() >= 0
    assert site(hp.snapshot(), "make_blocks", sys.getsizeof(bytes(1000))) == (10, 10 * sys.getsizeof(bytes(1000)), 0, 0)
    del new


def test_coexists_with_tracemalloc_and_comes_out() -> None:
    assert _core.pyalloc_state()["installed"] == 0
    hp = PyHeapProfiler(rate=1).start()
    tracemalloc.start()  # stacks its hook over ours
    drop_blocks(10, 1000)
    hp.stop()
    assert _core.pyalloc_state()["installed"] == 1  # not on top: stays in as a pass-through
    x = bytes(5000)
    assert tracemalloc.get_traced_memory()[0] >= 5000
    tracemalloc.stop()
    del x
    with PyHeapProfiler(rate=1) as hp2:  # on top again: removed at stop
        drop_blocks(3, 1000)
    assert _core.pyalloc_state()["installed"] == 0
    assert site(hp2.snapshot(), "drop_blocks", sys.getsizeof(bytes(1000)))[0] == 3


def test_unhooked_by_tracemalloc_is_noticed_at_the_next_start() -> None:
    from enginepools.bench.pyalloc import AllocCounter

    tracemalloc.start()
    hp = PyHeapProfiler(rate=1).start()  # ours on top of tracemalloc's
    tracemalloc.stop()  # restores the allocator it found: ours is out of the chain
    hp.stop()
    with AllocCounter() as c:  # a probe finds ours missing and hooks it in again
        x = bytes(5000)
    assert c.bytes >= 5000 and c.blocks >= 1
    assert _core.pyalloc_state()["installed"] == 0
    del x


def test_other_threads_have_their_own_stacks() -> None:
    def worker() -> None:
        drop_blocks(20, 4000)

    with PyHeapProfiler(rate=1) as hp:
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    recs = [r for r in hp.snapshot()["records"] if r[0] and r[0][0][0] == "drop_blocks"]
    assert sum(r[2] for r in recs if r[1] == sys.getsizeof(bytes(4000))) == 80
    code = worker.__code__  # 3.11+ names frames by their qualified name, 3.10 by the plain one
    assert all(r[0][1][0] == getattr(code, "co_qualname", code.co_name) for r in recs)


def test_one_at_a_time_and_bad_rate() -> None:
    with PyHeapProfiler(rate=1):
        with pytest.raises(RuntimeError, match="already running"):
            PyHeapProfiler(rate=1).start()
    with pytest.raises(ValueError, match="rate"):
        PyHeapProfiler(rate=0)


def test_memprofile_context_manager_writes_a_profile(tmp_path: Path) -> None:
    out = tmp_path / "mem.pb.gz"
    with memprofile(out, rate=1):
        drop_blocks(7, 3000)
    prof = Profile.read(out)
    assert _values_at(prof, "drop_blocks", sys.getsizeof(bytes(3000)))[0][0] == 7


def test_cell_magic_shows_top_and_keeps_the_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from enginepools.magic import ep_memprofile

    class Shell:
        user_ns: dict = {}

    cell = "def fill():\n    out = []\n    for _ in range(25):\n        out.append(bytes(4000))\n    return out\nkept = fill()\n"
    ep_memprofile(f"-rate 1 -nograph -o {tmp_path / 'cell.pb.gz'}", cell, Shell())
    prof = Shell.user_ns["_ep_memprofile"]
    assert len(Shell.user_ns["kept"]) == 25
    names = by_leaf(prof, "alloc_objects")
    assert names["fill"] >= 25
    assert Profile.read(tmp_path / "cell.pb.gz").n_samples == prof.n_samples
    ep_memprofile("-rate 0", "x = 1", Shell())
    assert "-rate" in capsys.readouterr().err


def test_call_graph_and_flame_graph_draw_it() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    from enginepools.pprof import graph as pprof_graph
    from enginepools.render import callgraph, flamegraph

    with PyHeapProfiler(rate=1) as hp:
        drop_blocks(20, 3000)
    prof = hp.profile()
    pic = pprof_graph.build_graph(prof, pprof_graph.GraphOptions(sample_index="alloc_space", visual=True))
    assert "drop_blocks" in [n.name for n in pic.nodes]
    for fig in (callgraph.draw(pic), flamegraph.flame_graph(prof, "alloc_space")):
        assert any("drop_blocks" in t.get_text() for t in fig.findobj(Text))
        plt.close(fig)

"""A small profile's ``top`` runs on objects made straight from the decoder,
without numpy: the working profile is the one the numpy path makes, the
report is the same, and numpy is not even imported."""
from __future__ import annotations

import gzip
import subprocess
import sys

import pytest

from enginepools.pprof import small
from enginepools.pprof.graph import GraphOptions, as_work, build_graph, load_profile
from enginepools.pprof.profile import Profile, ProfileBuilder
from enginepools.pprof.report import top_text
from enginepools.pprof.work import WorkProfile


def _profile() -> Profile:
    b = ProfileBuilder(comments=["small"], drop_frames="drop_me")
    b.add_mapping(0x400000, 0x800000, 0, "/opt/app", "beef")
    b.add_mapping(0x7F0000, 0x7F8000, 0, "/lib/libc.so.6", "")
    leaf = [("ep_alloc", "alloc.c", 30, 0x400100), ("inl_helper", "alloc.c", 12, 0x400100)]  # inlined pair
    for i in range(60):
        stack = [leaf if i % 2 else ("ep_pool_get", "pool.c", 7, 0x400200), 0x7F0010 + i % 3,
                 (f"caller{i % 5}", "app.c", 50 + i % 5, 0x400300 + 16 * (i % 5)), ("main", "app.c", 1, 0x400400)]
        if i % 4 == 0:
            stack.insert(3, ("drop_me", "x.c", 1, 0x400900))  # drop_frames cuts these stacks there
        b.add_sample([i % 7, (i % 7) * 64, i % 3, (i % 3) * 64], stack,
                     labels={"pool": ["hash", "tar"][i % 2], "k": "v"} if i % 4 else None,
                     num_labels={"bytes": (64 * i, "bytes"), "n": (i, "")} if i % 3 else None)
    return b.build()


def _facts(w: WorkProfile):
    locs = [(loc.id, loc.address, loc.folded, loc.mapping.id if loc.mapping else None,
             [(f.id if f else None, ln) for f, ln in loc.lines]) for loc in w.locations]
    samples = [([loc.id for loc in s.locs], s.values, s.labels, s.num_labels, s.num_units) for s in w.samples]
    return (w.sample_types, w.period_type, w.period, w.time_nanos, w.duration_nanos, w.comments,
            w.default_sample_type, w.drop_frames, w.keep_frames, locs, samples,
            [(f.id, f.name, f.system_name, f.filename, f.start_line) for f in w.functions],
            [(m.id, m.start, m.limit, m.offset, m.file, m.build_id, m.flags) for m in w.mappings])


@pytest.mark.parametrize("gzipped", [True, False])
def test_objects_from_the_decoder_are_the_numpy_paths(gzipped: bool) -> None:
    p = _profile()
    data = p.to_bytes(compress=gzipped)
    w = small.work_profile(data, "x")
    assert w is not None and w.arr is None
    want = WorkProfile.from_profile(Profile.from_bytes(data))
    want.materialize()
    assert _facts(w) == _facts(want)


def test_only_small_clean_inputs_take_the_object_path() -> None:
    data = _profile().to_bytes(compress=False)
    assert small.work_profile(b"", "x") is None
    assert small.work_profile(data[:-5], "x") is None  # malformed: the numpy path reports it
    assert small.work_profile(gzip.compress(data)[:-9], "x") is None
    assert small.work_profile(data + b"\0" * small.SMALL_BYTES, "x") is None  # too big


@pytest.mark.parametrize("opts", [{}, {"cum": True, "nodefraction": 0}, {"focus": "caller1", "hide": "inl"},
                                  {"tagfocus": "pool=hash"}, {"granularity": "lines"}, {"visual": True},
                                  {"sample_index": "alloc_space", "mean": True}])
def test_the_report_is_the_numpy_paths(tmp_path, opts: dict) -> None:
    path = tmp_path / "s.pb.gz"
    _profile().write(path)
    assert as_work(str(path)).arr is None  # objects
    arrays = load_profile([WorkProfile.from_profile(Profile.read(path))])
    assert arrays.arr is not None
    o = GraphOptions(**opts)
    g_small, g_arr = build_graph(load_profile([str(path)]), o), build_graph(arrays, o)
    assert top_text(g_small) == top_text(g_arr)
    assert [(e.src.name, e.dst.name, e.weight, e.residual, e.inline) for e in g_small.edges] == \
        [(e.src.name, e.dst.name, e.weight, e.residual, e.inline) for e in g_arr.edges]


def test_top_on_a_small_profile_does_not_import_numpy(tmp_path) -> None:
    path = tmp_path / "s.pb.gz"
    _profile().write(path)
    code = ("import sys, io, contextlib\nfrom enginepools.cli import main\n"
            "out = io.StringIO()\nwith contextlib.redirect_stdout(out):\n"
            f"    rc = main(['top', {str(path)!r}])\n"
            "assert rc == 0 and 'ep_alloc' in out.getvalue(), out.getvalue()\n"
            "print('numpy' in sys.modules)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"

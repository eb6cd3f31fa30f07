"""`enginepools top` without go: pprof's unit formatting, golden -top output
(recorded from go tool pprof 1.19 for a profile built here), graph fields
the charts use, and one-line errors for bad input."""
from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path

import pytest

from enginepools.cli import main
from enginepools.pprof.graph import GraphOptions, build_graph, load_profile
from enginepools.pprof.units import percentage, scaled_label
from enginepools.pprof.profile import ProfileBuilder

from test_pprof_peer import built_heap_profile


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(list(argv))
        except SystemExit as e:
            rc = int(e.code or 0)
    return rc, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("value, unit, to, want", [
    (5851051, "bytes", "kB", "5713.92kB"), (12165181, "bytes", "kB", "11880.06kB"),
    (-1057823, "bytes", "kB", "-1033.03kB"), (5851051, "bytes", "minimum", "5.58MB"), (0, "bytes", "minimum", "0"),
    (1024, "bytes", "minimum", "1kB"), (37298593875, "nanoseconds", "minimum", "37.30s"),
    (150, "count", "count", "150"), (10_000_000, "nanoseconds", "minimum", "10ms"),
    (7 * 3600 * 10**9, "nanoseconds", "minimum", "7hrs"), (1500, "ms", "s", "1.50s"),
])
def test_scaled_label_matches_pprof(value: int, unit: str, to: str, want: str) -> None:
    assert scaled_label(value, unit, to) == want


@pytest.mark.parametrize("value, total, want", [
    (5851051, 12165181, "48.10%"), (1, 1, "  100%"), (1, 200, "  0.5%"), (1, 30000, "0.0033%"),
    (0, 10, "    0%"), (5, 0, "    0%"), (-3, 4, "75.00%"),
])
def test_percentage_matches_pprof(value: int, total: int, want: str) -> None:
    assert percentage(value, total) == want


GOLDEN_ALLOC_SPACE = """\
File: app
Build ID: feedface
written by enginepools tests
Type: alloc_space
Time: Nov 24, 2025 at 4:00pm (UTC)
Showing nodes accounting for 1067kB, 100% of 1067kB total
      flat  flat%   sum%        cum   cum%
    1060kB 99.34% 99.34%     1060kB 99.34%  [libc.so.6]
       7kB  0.66%   100%     1067kB   100%  ep_alloc
         0     0%   100%     1060kB 99.34%  ep_bench_run
         0     0%   100%     1060kB 99.34%  ep_bufpool_get
         0     0%   100%     1060kB 99.34%  ep_pool_get (inline)
         0     0%   100%        7kB  0.66%  kernel_json
         0     0%   100%     1067kB   100%  main
"""

GOLDEN_TAGFOCUS = """\
File: app
Build ID: feedface
written by enginepools tests
Type: inuse_objects
Time: Nov 24, 2025 at 4:00pm (UTC)
Active filters:
   tagfocus=pool=hash,tar
Showing nodes accounting for 7, 3.27% of 214 total
Showing top 3 nodes out of 6
      flat  flat%   sum%        cum   cum%
         7  3.27%  3.27%          7  3.27%  [libc.so.6]
         0     0%  3.27%          7  3.27%  ep_alloc
         0     0%  3.27%          7  3.27%  ep_bench_run
"""


def test_golden_top_output(tmp_path: Path, utc: None) -> None:
    f = tmp_path / "golden.prof"
    built_heap_profile().build().write(f)
    assert run("top", "-sample_index=alloc_space", str(f)) == (0, GOLDEN_ALLOC_SPACE, "")
    rc, out, _ = run("top", "-cum", "-nodecount=3", "-tagfocus=pool=hash,tar", "-sample_index=inuse_objects", str(f))
    assert (rc, out) == (0, GOLDEN_TAGFOCUS)


def test_graph_fields_for_charts(tmp_path: Path) -> None:
    g = build_graph(built_heap_profile().build(), GraphOptions(sample_index="alloc_space", nodefraction=0))
    by = {n.name: n for n in g.nodes}
    assert g.total == 1067 * 1024 and g.unit == "kB" and g.sample_type == "alloc_space"
    assert by["ep_alloc"].flat == 7 * 1024 and by["ep_alloc"].cum == 1067 * 1024
    assert by["ep_pool_get"].inline and not by["ep_bufpool_get"].inline
    e = next(e for e in g.edges if e.src.name == "ep_bufpool_get" and e.dst.name == "ep_pool_get")
    assert e.inline and not e.residual and e.weight == 1060 * 1024
    assert e in by["ep_pool_get"].ins and e in by["ep_bufpool_get"].outs
    # trimming main's callee away leaves a residual edge main -> ep_alloc
    g2 = build_graph(built_heap_profile().build(), GraphOptions(sample_index="alloc_space", hide="ep_bench_run|kernel"))
    assert any(e.src.name == "main" and e.dst.name == "ep_bufpool_get" for e in g2.edges)


def test_diff_base_total_is_the_base(tmp_path: Path) -> None:
    old, new = ProfileBuilder(), ProfileBuilder()
    old.add_sample([1, 100, 1, 100], [("f", "a.c", 1), ("main", "a.c", 9)])
    new.add_sample([1, 300, 1, 300], [("f", "a.c", 1), ("main", "a.c", 9)])
    new.add_sample([1, 50, 1, 50], [("g", "a.c", 2), ("main", "a.c", 9)])
    old.build().write(tmp_path / "old.prof")
    new.build().write(tmp_path / "new.prof")
    p = load_profile([tmp_path / "new.prof"], base=[tmp_path / "old.prof"], diff_base=True)
    g = build_graph(p, GraphOptions(nodefraction=0))
    assert g.total == 100  # percentages are of the base
    assert {n.name: n.flat for n in g.nodes} == {"f": 200, "g": 50, "main": 0}
    p = load_profile([tmp_path / "new.prof"], base=[tmp_path / "old.prof"])
    assert build_graph(p, GraphOptions(nodefraction=0)).total == 250


def test_bad_files_are_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.prof"
    bad.write_bytes(b"\x1f\x8b\x08\x00abc")
    rc, out, err = run("top", str(bad))
    assert rc == 1 and out == "" and err.count("\n") == 1
    assert str(bad) in err and "gzip" in err and "offset" in err
    rc, _, err = run("top", str(tmp_path / "missing.prof"))
    assert rc == 1 and "missing.prof" in err and err.count("\n") == 1


def test_bad_flags_are_usage_errors(tmp_path: Path) -> None:
    f = tmp_path / "p.prof"
    built_heap_profile().build().write(f)
    assert run("top", "-focus=(", str(f))[0] == 2
    rc, _, err = run("top", "-sample_index=bogus", str(f))
    assert rc == 2 and "alloc_objects alloc_space inuse_objects inuse_space" in err
    assert run("top", "-base", str(f), "-diff_base", str(f), str(f))[0] == 2
    assert run("top", "-cum=false", str(f))[0] == 0
    rc, _, err = run("top", "-bogus", str(f))
    assert rc == 2 and err == "enginepools top: unrecognized arguments: -bogus (see 'enginepools top -h')\n"
    rc, _, err = run("top", "-traces", "-tags", str(f))
    assert rc == 2 and "-traces -tags" in err


def _graph_state(nodes: list) -> tuple:
    ns = sorted((n.info, n.flat, n.flat_div, n.cum, n.cum_div) for n in nodes)
    es = sorted((src.info, dst.info, tuple(e[:4])) for n in nodes for src, e in n.ins.items() for dst in [n])
    return ns, es


def test_array_graph_builder_matches_pprofs_loop() -> None:
    """The vectorised builder against a line-by-line transcription of
    graph.newGraph, on random stacks with recursion, inline frames, negative
    values and random kept-node sets."""
    import random

    from enginepools.pprof.builder import Builder as _Builder
    from enginepools.pprof.granularity import Aggregator as _Agg
    from enginepools.pprof.work import WorkProfile

    rng = random.Random(5)
    fns = [f"f{i}" for i in range(9)]
    for trial in range(60):
        b = ProfileBuilder(sample_types=[("n", "count"), ("v", "bytes")], period_type=None)
        for _ in range(rng.randint(0, 25)):
            stack = []
            for _ in range(rng.randint(0, 7)):
                if rng.random() < 0.25:
                    stack.append([(rng.choice(fns), "x.c", 1) for _ in range(rng.randint(2, 3))])
                else:
                    stack.append((rng.choice(fns), "x.c", rng.randint(1, 3)))
            b.add_sample([rng.randint(0, 3), rng.randint(-50, 100)], stack)
        wp = WorkProfile.from_profile(b.build())
        for gran in ("functions", "lines"):
            bl = _Builder(wp, _Agg(gran, rng.random() < 0.2), 1, 0 if trial % 3 == 0 else None)
            infos = list({i for v in bl.loc_infos.values() for i in v})
            for kept in (None, set(rng.sample(infos, k=len(infos) // 2)) if infos else None):
                assert _graph_state(bl.build(kept)) == _graph_state(bl.build_reference(kept)), (trial, gran)


def test_dot_png_svg_output_formats(tmp_path: Path) -> None:
    from enginepools.render import callgraph

    f = tmp_path / "p.prof"
    built_heap_profile().build().write(f)
    rc, dot, err = run("top", "-dot", "-sample_index=alloc_space", str(f))
    g = build_graph(f, GraphOptions(sample_index="alloc_space", visual=True))
    assert (rc, err) == (0, "") and dot == callgraph.to_dot(g)  # the picture's selection, pprof's DOT
    assert dot.startswith('digraph "app" {') and "ep_bufpool_get" in dot  # named after the main binary, as pprof
    assert run("top", "-dot", "-sample_index=alloc_space", "-output", str(tmp_path / "g.dot"), str(f))[:2] == (0, "")
    assert (tmp_path / "g.dot").read_text() == dot
    png = tmp_path / "g.png"
    assert run("top", "-png", "-output", str(png), str(f))[:2] == (0, "")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    svg = tmp_path / "g.svg"
    assert run("top", "--svg", "--output", str(svg), "-nodecount=3", str(f))[0] == 0
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text


def test_output_format_errors_name_the_problem(tmp_path: Path) -> None:
    f = tmp_path / "p.prof"
    built_heap_profile().build().write(f)
    rc, out, err = run("top", "-dot", "-png", str(f))
    assert (rc, out) == (2, "") and "-dot -png" in err
    keep = tmp_path / "keep.png"
    keep.write_bytes(b"earlier")
    rc, _, err = run("top", "-png", "-focus=nothing-matches", "-output", str(keep), str(f))
    assert rc == 2 and "nothing to draw" in err and keep.read_bytes() == b"earlier"
    rc, _, err = run("top", "-svg", "-output", str(tmp_path / "no" / "dir.svg"), str(f))
    assert rc == 1 and "no" in err and "does not exist" in err

"""The live endpoint as Go's net/http/pprof: ``heap``/``allocs`` with
``?seconds=N`` (the change over N seconds) and ``heap?debug=1`` (the legacy
text form), by hand and against ``go tool pprof`` (those tests skip without
go).  Every allocation is sampled (rate 1), so the expected counts are the
allocations the tests make."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from enginepools import _core
from enginepools.pprof import live, profilers
from enginepools.pprof.http import PprofServer
from enginepools.pprof.live import heap_delta, heap_text, to_profile
from enginepools.pprof.profile import Profile
from enginepools.pprof.profilers import HeapProfiler
from enginepools.pprof.work import WorkProfile

needs_go = pytest.mark.skipif(shutil.which("go") is None, reason="needs the go toolchain")


@pytest.fixture(scope="module")
def session():
    """A heap session sampling every allocation; 100 blocks of 1000 B made
    at proftest_site_a, 50 of them still live."""
    hp = HeapProfiler(rate=1).start()
    kept = _core.proftest_alloc(0, 100, 1000, 2)
    yield
    _core.proftest_release(kept)
    hp.stop()


@pytest.fixture(scope="module")
def server(session):
    with PprofServer("127.0.0.1:0") as srv:
        yield srv


def get(srv: PprofServer, path: str) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}{path}", timeout=60) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def functions(p: Profile) -> set[str]:
    return {p.strings[i] for i in p.function_name.tolist()}


def by_function(p: Profile, name: str) -> list[int]:
    """The summed values of the samples whose leaf is function `name`."""
    w = WorkProfile.from_profile(p)
    tot = [0] * len(p.sample_types)
    for s in w.sample_list():
        if s.locs and s.locs[0].lines and s.locs[0].lines[0][0].name == name:
            tot = [a + b for a, b in zip(tot, s.values)]
    return tot


# ---- ?seconds=N: the delta ------------------------------------------------------

def test_delta_holds_what_the_window_allocated(session) -> None:
    p = heap_delta(5, "alloc_space", wait=lambda s: _core.proftest_alloc(1, 7, 3000))
    assert "proftest_site_b" in functions(p) and "proftest_site_a" not in functions(p)
    assert p.values.sum(axis=0).tolist() == [7, 21000, 0, 0]  # all 7 freed again: no in-use change
    assert p.default_sample_type == "alloc_space"


def test_delta_of_the_live_heap_can_be_negative(session) -> None:
    kept = _core.proftest_alloc(2, 10, 4000, 1)  # site_c: 10 live blocks before the window
    held = []
    try:
        def window(_seconds: float) -> None:
            _core.proftest_release(kept)             # ... freed in it
            held.append(_core.proftest_alloc(1, 6, 500, 2))  # site_b: 6 made, 3 kept
        p = heap_delta(1, wait=window)
    finally:
        for k in held:
            _core.proftest_release(k)
    assert by_function(p, "proftest_site_c") == [0, 0, -10, -40000]
    assert by_function(p, "proftest_site_b") == [6, 3000, 3, 1500]
    assert "proftest_site_a" not in functions(p)


def test_to_profile_writes_back_what_it_read() -> None:
    from test_pprof_peer import built_heap_profile

    p = built_heap_profile().build()
    again = Profile.from_bytes(to_profile(WorkProfile.from_profile(p)).to_bytes())
    assert again == p


@pytest.mark.parametrize("query, message", [
    ("seconds=0", b'invalid value for "seconds" - must be a positive integer'),
    ("seconds=-3", b'invalid value for "seconds" - must be a positive integer'),
    ("seconds=abc", b'invalid value for "seconds" - must be a positive integer'),
    ("seconds=1.5", b'invalid value for "seconds" - must be a positive integer'),
    ("seconds=61", b"profile duration exceeds this server's limit: seconds=61, at most 60"),
    ("seconds=1&debug=1", b"seconds and debug params are incompatible"),
])
@pytest.mark.parametrize("name", ["heap", "allocs"])
def test_bad_seconds_is_400_with_pprofs_error_header(server, name: str, query: str, message: bytes) -> None:
    code, body, headers = get(server, f"/debug/pprof/{name}?{query}")
    assert (code, body) == (400, message + b"\n")
    assert headers["X-Go-Pprof"] == "1" and headers["Content-Type"].startswith("text/plain")


def test_delta_over_http_is_named_a_delta(server, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[float] = []
    real = live.heap_delta
    monkeypatch.setattr(live, "heap_delta", lambda s, dst=None: asked.append(s) or real(s, dst, wait=lambda _: None))
    code, body, headers = get(server, "/debug/pprof/heap?seconds=3")
    assert code == 200 and asked == [3]
    assert headers["Content-Disposition"] == 'attachment; filename="heap-delta"'
    assert Profile.from_bytes(body).n_samples == 0  # nothing happened in the (skipped) window


# ---- ?debug=1: the legacy text ------------------------------------------------------

HEADER = re.compile(r"heap profile: (\d+): (\d+) \[(\d+): (\d+)\] @ heap/(\d+)")
RECORD = re.compile(r"(\d+): (\d+) \[(\d+): (\d+)\] @( 0x[0-9a-f]+)+")
FRAME = re.compile(r"#\t+0x[0-9a-f]+\t+proftest_site_a\+0x[0-9a-f]+\t+\S*proftest\.c:\d+")


def test_debug_1_is_the_legacy_text(server) -> None:
    code, body, headers = get(server, "/debug/pprof/heap?debug=1")
    assert code == 200 and headers["Content-Type"] == "text/plain; charset=utf-8"
    lines = body.decode().splitlines()
    # in use: 50 of site_a's 100 blocks of 1000 B (what other tests made is
    # freed again); rate 1 is written heap/2, as Go writes 2*MemProfileRate
    head = HEADER.fullmatch(lines[0])
    assert head and head.group(1, 2, 5) == ("50", "50000", "2")
    records = [RECORD.fullmatch(ln) for ln in lines if RECORD.fullmatch(ln)]
    assert [int(x) for x in head.group(3, 4)] == [sum(int(m.group(k)) for m in records) for k in (3, 4)]
    assert lines[1].startswith("50: 50000 [100: 100000] @ 0x")  # site_a's record, the most in use, first
    assert FRAME.fullmatch(lines[2]), lines[2]
    assert "# enginepools.MemStats (the ep_alloc counters, all threads)" in lines
    assert any(ln.startswith("# TotalAlloc = ") for ln in lines)


def test_debug_not_an_integer_is_protobuf(server) -> None:
    code, body, _ = get(server, "/debug/pprof/heap?debug=yes")  # strconv.Atoi fails: debug 0
    assert code == 200 and Profile.from_bytes(body).sample_types[3] == ("inuse_space", "bytes")


def test_records_are_ordered_by_in_use_bytes(session) -> None:
    held = [_core.proftest_alloc(1, 4, 20000, 1), _core.proftest_alloc(2, 3, 100, 1)]
    try:
        text = heap_text()
    finally:
        for k in held:
            _core.proftest_release(k)
    inuse = [int(m.group(2)) for m in (RECORD.match(ln) for ln in text.splitlines()) if m]
    assert [x for x in inuse if x] == [80000, 50000, 300] and inuse == sorted(inuse, reverse=True)


# ---- against go tool pprof --------------------------------------------------------

def go_pprof(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PPROF_TMPDIR=str(tmp_path), HOME=str(tmp_path))
    return subprocess.run(["go", "tool", "pprof", *args], env=env, capture_output=True, text=True, timeout=300)


@needs_go
@pytest.mark.go
@pytest.mark.parametrize("si", ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"])
def test_go_reads_the_text_as_the_same_heap(server, tmp_path: Path, si: str) -> None:
    """pprof unbiases the text's raw counts with the rate in its header; the
    totals it prints equal those of our protobuf profile of the same heap."""
    for name, path in (("heap.txt", "/debug/pprof/heap?debug=1"), ("heap.pb.gz", "/debug/pprof/heap")):
        code, body, _ = get(server, path)
        assert code == 200
        (tmp_path / name).write_bytes(body)
    shown = []
    for name in ("heap.txt", "heap.pb.gz"):
        r = go_pprof(tmp_path, "-top", f"-sample_index={si}", str(tmp_path / name))
        assert r.returncode == 0, r.stderr
        shown.append([ln for ln in r.stdout.splitlines() if ln.startswith("Showing nodes accounting for")])
    assert shown[0] == shown[1] and len(shown[0]) == 1


@needs_go
@pytest.mark.go
def test_go_tool_pprof_seconds_2_gets_the_delta(server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`go tool pprof -seconds 2 …/allocs`: the server is asked for a 2 s
    window; 7 blocks of 3000 B made inside it (after its first profile) are
    the whole profile; site_a's, made before, and a batch made after its
    second profile are not in it."""
    asked: list[float] = []
    real_delta, real_profile = live.heap_delta, profilers.heap_profile

    def delta(seconds: float, dst: str | None = None) -> Profile:
        asked.append(seconds)
        return real_delta(seconds, dst)

    def profile_then_allocate(*a, **kw):  # type: ignore[no-untyped-def]
        p = real_profile(*a, **kw)
        _core.proftest_alloc(1, 7, 3000)
        return p

    monkeypatch.setattr(live, "heap_delta", delta)
    monkeypatch.setattr(profilers, "heap_profile", profile_then_allocate)
    url = f"http://127.0.0.1:{server.port}/debug/pprof/allocs"
    r = go_pprof(tmp_path, "-seconds", "2", "-raw", url)
    assert r.returncode == 0, r.stderr
    assert f"Fetching profile over HTTP from {url}?seconds=2" in r.stderr and "Please wait... (2s)" in r.stderr
    assert asked == [2]
    samples = r.stdout.split("Samples:\n", 1)[1].split("Locations\n", 1)[0].splitlines()
    assert samples[0].split() == ["alloc_objects/count", "alloc_space/bytes[dflt]", "inuse_objects/count",
                                  "inuse_space/bytes"]
    values = [m.group(1).split() for m in (re.match(r"\s*(-?\d+(?:\s+-?\d+)*):", ln) for ln in samples[1:]) if m]
    assert values == [["7", "21000", "0", "0"]]
    assert [ln.strip() for ln in samples[1:] if "bytes:" in ln] == ["bytes:[3000]"]
    locations = r.stdout.split("Locations\n", 1)[1]
    assert "proftest_site_b" in locations and "proftest_site_a" not in locations


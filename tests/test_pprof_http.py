"""The live /debug/pprof/ endpoint."""
from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from enginepools import _core
from enginepools.errors import UsageError
from enginepools.pprof.http import PprofServer, parse_addr
from enginepools.pprof.profile import Profile
from enginepools.pprof.profilers import HeapProfiler


@pytest.fixture(scope="module")
def server():
    hp = HeapProfiler(rate=4096).start()
    _core.proftest_alloc(0, 2000, 1024)
    with PprofServer("127.0.0.1:0") as srv:
        yield srv
    hp.stop()


def get(srv: PprofServer, path: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}{path}", timeout=20) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type", "")


def test_binds_loopback_and_picks_a_port(server) -> None:
    assert server.host == "127.0.0.1" and server.port > 0
    assert parse_addr(":6060") == ("127.0.0.1", 6060)
    assert parse_addr("0.0.0.0:80") == ("0.0.0.0", 80)
    with pytest.raises(UsageError):
        parse_addr("127.0.0.1")


def test_index(server) -> None:
    code, body, ctype = get(server, "/debug/pprof/")
    assert code == 200 and ctype.startswith("text/html")
    for name in (b"heap", b"allocs", b"profile"):
        assert name in body


def test_heap_and_allocs(server) -> None:
    code, body, _ = get(server, "/debug/pprof/heap")
    assert code == 200
    p = Profile.from_bytes(body)
    assert p.sample_types[3] == ("inuse_space", "bytes") and p.period == 4096
    assert p.n_samples > 0 and p.default_sample_type == ""
    code, body, _ = get(server, "/debug/pprof/allocs")
    assert code == 200 and Profile.from_bytes(body).default_sample_type == "alloc_space"


def test_cpu_profile_for_one_second(server) -> None:
    code, body, ctype = get(server, "/debug/pprof/profile?seconds=1")
    assert code == 200 and ctype == "application/octet-stream"
    p = Profile.from_bytes(body)
    assert p.sample_types == [("samples", "count"), ("cpu", "nanoseconds")]
    assert p.duration_nanos >= 900_000_000


@pytest.mark.parametrize("q", ["0", "61", "-5", "abc", "1.5", ""])
def test_bad_seconds_is_400(server, q: str) -> None:
    code, body, _ = get(server, f"/debug/pprof/profile?seconds={q}")
    assert code == 400 and b"seconds" in body


@pytest.mark.parametrize("path", ["/", "/debug/pprof", "/debug/pprof/cmdline", "/debug/pprof/goroutine",
                                  "/debug/pprof/heap/", "/debug/pprof/symbol", "/etc/passwd", "/debug/pprof/../x"])
def test_everything_else_is_404(server, path: str) -> None:
    assert get(server, path)[0] == 404

"""The live /debug/pprof/ endpoint."""
from __future__ import annotations

import time
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


# ---- hardening (issue 18, #11) ---------------------------------------------

def _raw(port: int, request: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(request)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


@pytest.mark.parametrize("host,status", [
    ("evil.example", b"403"), ("evil.example:{port}", b"403"), ("127.0.0.1.evil.example:{port}", b"403"),
    ("127.0.0.1:{port}", b"200"), ("localhost:{port}", b"200"), ("LOCALHOST:{port}", b"200"), ("127.0.0.1", b"200"),
])
def test_host_header_must_name_the_loopback_server(server, host: str, status: bytes) -> None:
    h = host.format(port=server.port).encode()
    reply = _raw(server.port, b"GET /debug/pprof/ HTTP/1.1\r\nHost: " + h + b"\r\nConnection: close\r\n\r\n")
    assert reply.split(b" ", 2)[1] == status


def test_bound_elsewhere_on_purpose_any_host_is_served(monkeypatch) -> None:
    with PprofServer("0.0.0.0:0") as srv:
        reply = _raw(srv.port, b"GET /debug/pprof/ HTTP/1.1\r\nHost: box.lan:1\r\nConnection: close\r\n\r\n")
    assert reply.split(b" ", 2)[1] == b"200"


def test_idle_connection_is_closed_after_the_read_timeout(monkeypatch) -> None:
    import socket

    from enginepools.pprof import http

    monkeypatch.setattr(http._Handler, "timeout", 0.3)
    with PprofServer("127.0.0.1:0") as srv, socket.create_connection(("127.0.0.1", srv.port), timeout=30) as s:
        s.sendall(b"GET /debug/pprof/ HTTP/1.1\r\n")  # never finishes its headers
        assert s.recv(100) == b""  # the server hung up (the client would wait 30 s)


def test_connections_beyond_the_bound_are_closed_not_queued(monkeypatch) -> None:
    import socket
    import threading

    from enginepools.pprof import http

    monkeypatch.setattr(http, "MAX_CONNECTIONS", 2)
    base = threading.active_count()
    with PprofServer("127.0.0.1:0") as srv:
        idle = [socket.create_connection(("127.0.0.1", srv.port), timeout=30) for _ in range(2)]
        extra = [socket.create_connection(("127.0.0.1", srv.port), timeout=30) for _ in range(20)]
        try:
            for s in extra:
                assert s.recv(100) == b""  # closed at once
            assert threading.active_count() <= base + 1 + 2  # the server's own thread and 2 handlers
        finally:
            for s in idle + extra:
                s.close()
        # once the idle ones are gone, requests are served again
        reply = b""
        for _ in range(50):
            reply = _raw(srv.port, b"GET /debug/pprof/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            if reply:
                break
            time.sleep(0.1)
        assert reply.split(b" ", 2)[1] == b"200"

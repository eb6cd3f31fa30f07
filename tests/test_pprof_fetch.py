"""URL sources for `enginepools top`, fetched as `go tool pprof` fetches
them: which sources are URLs and what is requested (a table recorded from Go
1.19's cmd/pprof adjustURL), -seconds/-timeout, and one-line errors.  Only
loopback servers are used."""
from __future__ import annotations

import socket
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from enginepools import _core
from enginepools.pprof import fetch, profilers
from enginepools.pprof.fetch import adjust_url, go_duration, resolve_sources
from enginepools.pprof.http import PprofServer
from enginepools.pprof.profilers import HeapProfiler

from test_pprof_top import run

# (source, -seconds, -timeout, URL requested ("" = a file), timeout in seconds),
# printed by Go 1.19's cmd/pprof adjustURL (its code run as is; 0 means "not given")
GO_ADJUST_URL = [
    ("heap.prof", 0, 0, "", 0), ("heap.prof", 2, 7, "", 0), ("/tmp/x.prof", 2, 0, "", 0),
    ("dir/a:b.prof", 0, 0, "", 0), ("a:b.prof", 2, 0, "", 0), ("./heap:1", 0, 0, "", 0),
    ("heap.pb.gz", 2, 7, "", 0), ("file:///tmp/x", 0, 0, "", 0), ("host/path", 2, 0, "", 0),
    ("127.0.0.1:6060/debug/pprof/heap", 0, 0, "http://127.0.0.1:6060/debug/pprof/heap", 60),
    ("127.0.0.1:6060/debug/pprof/heap", 0, 7, "http://127.0.0.1:6060/debug/pprof/heap", 7),
    ("127.0.0.1:6060/debug/pprof/heap", 2, 0, "http://127.0.0.1:6060/debug/pprof/heap?seconds=2", 3),
    ("127.0.0.1:6060/debug/pprof/heap", 2, 7, "http://127.0.0.1:6060/debug/pprof/heap?seconds=2", 7),
    ("localhost:6060", 0, 0, "http://localhost:6060/debug/pprof/profile", 60),
    ("localhost:6060", 2, 0, "http://localhost:6060/debug/pprof/profile?seconds=2", 3),
    ("localhost:6060/", 0, 7, "http://localhost:6060/debug/pprof/profile", 7),
    ("http://127.0.0.1:1/debug/pprof/heap?debug=0&seconds=3", 0, 0,
     "http://127.0.0.1:1/debug/pprof/heap?debug=0&seconds=3", 4.5),
    ("http://127.0.0.1:1/debug/pprof/heap?debug=0&seconds=3", 2, 0,
     "http://127.0.0.1:1/debug/pprof/heap?debug=0&seconds=2", 3),
    ("http://127.0.0.1:1/debug/pprof/allocs?seconds=x", 0, 0, "http://127.0.0.1:1/debug/pprof/allocs?seconds=x", 60),
    ("http://127.0.0.1:1/debug/pprof/allocs?seconds=x", 2, 7, "http://127.0.0.1:1/debug/pprof/allocs?seconds=2", 7),
    ("https+insecure://h:1/x", 0, 0, "https+insecure://h:1/x", 60),
    ("https+insecure://h:1/x", 2, 0, "https+insecure://h:1/x?seconds=2", 3),
    ("http://[::1]:80/x", 2, 7, "http://[::1]:80/x?seconds=2", 7),
    ("x.prof:", 0, 0, "http://x.prof:/debug/pprof/profile", 60),
    ("http://127.0.0.1:1/debug/pprof/heap?b=2&a=1", 0, 0, "http://127.0.0.1:1/debug/pprof/heap?a=1&b=2", 60),
    ("http://127.0.0.1:1/debug/pprof/heap?b=2&a=1", 2, 0, "http://127.0.0.1:1/debug/pprof/heap?a=1&b=2&seconds=2", 3),
    ("http://h/x?seconds=-4", 0, 0, "http://h/x?seconds=-4", 60),
    ("http://h/x?seconds=-4", 2, 7, "http://h/x?seconds=2", 7),
    ("myhost:6060/debug/pprof/heap?gc=1", 2, 0, "http://myhost:6060/debug/pprof/heap?gc=1&seconds=2", 3),
]


@pytest.mark.parametrize("source, seconds, timeout, url, wait", GO_ADJUST_URL)
def test_url_or_file_and_what_is_requested_as_cmd_pprof(source: str, seconds: int, timeout: int, url: str,
                                                         wait: float) -> None:
    got = adjust_url(source, seconds or -1, timeout or -1)
    if not url:
        assert got is None
    else:
        assert got is not None and got[:2] == (url, wait)


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (2, "2s"), (59, "59s"), (60, "1m0s"), (90, "1m30s"),
                                           (3600, "1h0m0s"), (3725, "1h2m5s")])
def test_go_duration(seconds: int, text: str) -> None:
    assert go_duration(seconds) == text


@pytest.fixture(scope="module")
def live():
    """A live endpoint over a heap session sampling every allocation, with
    50 blocks of 1000 B from proftest_site_a live (100 made)."""
    hp = HeapProfiler(rate=1).start()
    kept = _core.proftest_alloc(0, 100, 1000, 2)
    with PprofServer("127.0.0.1:0") as srv:
        yield srv
    _core.proftest_release(kept)
    hp.stop()


def _base(srv: PprofServer) -> str:
    return f"http://127.0.0.1:{srv.port}/debug/pprof"


def _without_time(text: str) -> str:
    return "".join(ln for ln in text.splitlines(keepends=True) if not ln.startswith("Time: "))


def test_top_of_a_url_is_top_of_the_profile_it_serves(live, tmp_path: Path) -> None:
    with urllib.request.urlopen(f"{_base(live)}/heap", timeout=60) as r:
        (tmp_path / "heap.prof").write_bytes(r.read())
    rc, from_file, _ = run("top", str(tmp_path / "heap.prof"))
    assert rc == 0 and "proftest_site_a" in from_file
    rc, from_url, err = run("top", f"{_base(live)}/heap")
    assert rc == 0 and _without_time(from_url) == _without_time(from_file)
    assert err == f"Fetching profile over HTTP from {_base(live)}/heap\n"
    # and without the scheme, as pprof takes HOST:PORT/PATH
    rc, bare, _ = run("top", f"127.0.0.1:{live.port}/debug/pprof/heap")
    assert rc == 0 and _without_time(bare) == _without_time(from_file)


@pytest.fixture
def allocate_after_each_heap_profile(monkeypatch: pytest.MonkeyPatch):
    """Each heap profile the server takes is followed by 7 allocations of
    3000 B at proftest_site_b: for a delta, one batch lands inside the
    window (after its first profile) and one after it (after its second)."""
    real = profilers.heap_profile

    def wrapped(*a, **kw):  # type: ignore[no-untyped-def]
        p = real(*a, **kw)
        _core.proftest_alloc(1, 7, 3000)
        return p

    monkeypatch.setattr(profilers, "heap_profile", wrapped)


def test_seconds_fetches_the_delta_over_that_window(live, allocate_after_each_heap_profile) -> None:
    said: list[str] = []
    [p] = resolve_sources([f"{_base(live)}/allocs"], seconds=1, say=said.append)
    assert said == [f"Fetching profile over HTTP from {_base(live)}/allocs?seconds=1", "Please wait... (1s)"]
    assert p.default_sample_type == "alloc_space"
    # one batch (7 × 3000 B, every allocation sampled): made in the window;
    # the 100 blocks of site_a before it and the batch after it are not there
    assert p.values.sum(axis=0).tolist() == [7, 21000, 0, 0]
    names = {p.strings[i] for i in p.function_name.tolist()}
    assert "proftest_site_b" in names and "proftest_site_a" not in names


def test_top_seconds_shows_only_the_window(live, allocate_after_each_heap_profile) -> None:
    rc, out, err = run("top", "-seconds", "1", f"{_base(live)}/allocs")
    assert rc == 0, err
    assert "proftest_site_b" in out and "proftest_site_a" not in out
    assert "Type: alloc_space" in out
    assert err.splitlines() == [f"Fetching profile over HTTP from {_base(live)}/allocs?seconds=1",
                                "Please wait... (1s)"]


def test_host_and_port_alone_is_the_cpu_profile(live) -> None:
    rc, out, err = run("top", "-seconds", "1", f"localhost:{live.port}")
    assert rc == 0, err
    url = f"http://localhost:{live.port}/debug/pprof/profile?seconds=1"
    assert err.splitlines()[0] == f"Fetching profile over HTTP from {url}"
    assert "Type: cpu\n" in out


def test_a_url_as_base(live) -> None:
    # the same heap twice (nothing allocated between): the difference is empty
    rc, out, err = run("top", "-base", f"{_base(live)}/heap", f"{_base(live)}/heap")
    assert rc == 0, err
    assert err.count("Fetching profile over HTTP from ") == 2
    assert "proftest_site_a" not in out and "Showing nodes accounting for 0, 0% of 0 total" in out


def test_seconds_is_ignored_for_files(tmp_path: Path) -> None:
    from test_pprof_peer import built_heap_profile

    built_heap_profile().build().write(tmp_path / "h.prof")
    assert run("top", "-seconds", "5", str(tmp_path / "h.prof"))[1] == run("top", str(tmp_path / "h.prof"))[1]


# ---- errors: one line naming the URL, exit 1 -------------------------------------

class _Odd(BaseHTTPRequestHandler):
    def log_message(self, *a: object) -> None:
        pass

    def do_GET(self) -> None:
        body = b"<html>not a profile</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def odd_server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Odd)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _error_line(*argv: str) -> str:
    rc, out, err = run("top", *argv)
    assert rc == 1 and out == ""
    lines = err.splitlines()
    assert lines[0].startswith("Fetching profile over HTTP from "), err
    assert len(lines) <= 3 and all(ln.startswith("Please wait... (") for ln in lines[1:-1]), err
    return lines[-1]


def test_refused_connection() -> None:
    port = _closed_port()
    assert _error_line(f"http://127.0.0.1:{port}/debug/pprof/heap") == (
        f"enginepools top: http://127.0.0.1:{port}/debug/pprof/heap: http fetch: connection refused")


def test_status_other_than_200_with_the_endpoints_message(live) -> None:
    assert _error_line(f"{_base(live)}/goroutine") == (
        f"enginepools top: {_base(live)}/goroutine: server response: 404 Not Found - 404 page not found")
    assert _error_line("-seconds", "61", f"{_base(live)}/heap") == (
        f"enginepools top: {_base(live)}/heap?seconds=61: server response: 400 Bad Request - "
        "profile duration exceeds this server's limit: seconds=61, at most 60")


def test_a_body_that_is_not_a_profile(odd_server: int) -> None:
    line = _error_line(f"http://127.0.0.1:{odd_server}/debug/pprof/heap")
    assert line.startswith(f"enginepools top: http://127.0.0.1:{odd_server}/debug/pprof/heap: ")
    assert "profile" in line[len("enginepools top: "):]


def test_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "EXTRA_WAIT", 0.0)  # pprof's 5 s of grace, not needed here
    with socket.socket() as s:  # listens, never answers
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        assert _error_line("-timeout", "1", f"http://127.0.0.1:{port}/debug/pprof/heap") == (
            f"enginepools top: http://127.0.0.1:{port}/debug/pprof/heap: http fetch: no answer within 1 s (-timeout)")


@pytest.mark.parametrize("flag", ["-seconds", "-timeout"])
def test_seconds_and_timeout_are_integers(flag: str) -> None:
    rc, _, err = run("top", flag, "1.5", "http://127.0.0.1:1/debug/pprof/heap")
    assert rc == 2 and f"{flag}" in err and "(see 'enginepools top -h')" in err

"""The live pprof endpoint: Go's ``net/http/pprof`` paths over our profilers.

Serves exactly these, to GET, and 404 for everything else:

* ``/debug/pprof/``          an index page
* ``/debug/pprof/heap``      heap profile of the running heap-profiling session
* ``/debug/pprof/allocs``    the same profile with ``alloc_space`` as default sample type
* ``/debug/pprof/profile``   CPU profile over ``?seconds=N`` (1..60, default 30; else 400)

and, as Go's ``net/http/pprof``, on ``heap`` and ``allocs``: ``?seconds=N``
(1..60) waits N seconds and returns the change over them (a delta profile,
see :mod:`enginepools.pprof.live`); ``?debug=1`` (any non-zero integer)
returns the legacy text form instead of protobuf; both at once is a 400.
Errors are ``text/plain`` with ``X-Go-Pprof: 1``, so ``go tool pprof``
prints their message.

so ``go tool pprof http://127.0.0.1:6060/debug/pprof/heap`` works while a
run goes on.  The server binds the loopback interface unless an address says
otherwise (``0.0.0.0:6060``); an empty host (``:6060``) also means loopback.
Port 0 picks a free port (see :attr:`PprofServer.port`).

Hardening: on a loopback address a request whose ``Host`` header names
anything but the loopback server (``127.0.0.1:PORT``, ``localhost:PORT``,
``[::1]:PORT``) is refused with 403 — a web page cannot reach the server by
DNS rebinding.  Bound elsewhere on purpose (``0.0.0.0:6060``), any Host is
served.  Each connection must send its request within
:data:`READ_TIMEOUT` seconds, and at most :data:`MAX_CONNECTIONS` are
served at once (more are closed at once).
"""
from __future__ import annotations

import html
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ..errors import UsageError

__all__ = ["PprofServer", "parse_addr", "DEFAULT_ADDR", "MAX_SECONDS"]

DEFAULT_ADDR = "127.0.0.1:6060"
MAX_SECONDS = 60
DEFAULT_SECONDS = 30
READ_TIMEOUT = 10.0  # seconds a connection may take to send its request
MAX_CONNECTIONS = 16  # connections served at once
_LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1", "[::1]"}

_INDEX = """<html><head><title>/debug/pprof/</title></head><body>
<p>/debug/pprof/ (enginepools)</p>
<table>
<tr><td><a href="allocs">allocs</a></td><td>sampled allocations of the C core (default sample: alloc_space);
?seconds=N: the change over N seconds</td></tr>
<tr><td><a href="heap?debug=1">heap</a></td><td>sampled live memory of the C core; rate {rate};
?seconds=N: the change over N seconds; ?debug=1: text</td></tr>
<tr><td><a href="profile?seconds=30">profile</a></td><td>CPU profile; ?seconds=N, 1..{max}</td></tr>
</table></body></html>
"""


def parse_addr(addr: str, what: str = "--pprof-http") -> tuple[str, int]:
    """``host:port`` → (host, port); an empty host is loopback."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"{what} {addr!r}: expected HOST:PORT, e.g. {DEFAULT_ADDR}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


_INT = re.compile(r"[+-]?[0-9]+\Z")  # what Go's strconv.ParseInt/Atoi take (base 10)


def _go_atoi(text: str) -> int:
    """strconv.Atoi with its error ignored, as net/http/pprof reads ?debug=
    (out of range it still returns a non-zero value, clamped)."""
    return int(text) if _INT.match(text) else 0


class _Handler(BaseHTTPRequestHandler):
    server_version = "enginepools-pprof"
    protocol_version = "HTTP/1.0"
    timeout = READ_TIMEOUT  # StreamRequestHandler: the socket's read timeout

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass

    def _send(self, code: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, code: int, msg: str) -> None:
        self._send(code, (msg + "\n").encode(), "text/plain; charset=utf-8", {"X-Go-Pprof": "1"})

    def _profile(self, prof, name: str = "profile") -> None:
        self._send(200, prof.to_bytes(), "application/octet-stream",
                   {"Content-Disposition": f'attachment; filename="{name}"'})

    def _heap(self, name: str, query: dict[str, list[str]]) -> None:
        """net/http/pprof's handler for heap and allocs: ?seconds=N (delta), ?debug=N (text)."""
        from . import live
        from .profilers import heap_profile

        dst = "alloc_space" if name == "allocs" else None
        debug = _go_atoi(query.get("debug", [""])[0])
        sec = query.get("seconds", [""])[0]  # r.FormValue: the first value
        if sec == "":
            if debug:
                self._send(200, live.heap_text().encode(), "text/plain; charset=utf-8")
            else:
                self._profile(heap_profile(default_sample_type=dst), name)
            return
        n = int(sec) if _INT.match(sec) else 0
        if n <= 0:
            self._error(400, 'invalid value for "seconds" - must be a positive integer')
        elif n > MAX_SECONDS:
            self._error(400, f"profile duration exceeds this server's limit: seconds={n}, at most {MAX_SECONDS}")
        elif debug:
            self._error(400, "seconds and debug params are incompatible")
        else:
            self._profile(live.heap_delta(n, dst), f"{name}-delta")

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        from .. import _core
        from .profilers import CPUProfiler

        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query, keep_blank_values=True)
        allowed = self.server.allowed_hosts  # type: ignore[attr-defined]
        host = self.headers.get("Host")
        if allowed is not None and host is not None and host.strip().lower() not in allowed:
            self._error(403, f"Forbidden: Host {host[:100]!r} is not this loopback server's address")
            return
        try:
            if path == "/debug/pprof/":
                body = _INDEX.format(rate=html.escape(str(_core.heapprof_rate() or "off")), max=MAX_SECONDS)
                self._send(200, body.encode(), "text/html; charset=utf-8")
            elif path in ("/debug/pprof/heap", "/debug/pprof/allocs"):
                self._heap(path.rsplit("/", 1)[1], query)
            elif path == "/debug/pprof/profile":
                raw = query.get("seconds", [str(DEFAULT_SECONDS)])[-1]
                try:
                    seconds = int(raw)
                except ValueError:
                    seconds = 0
                if not 1 <= seconds <= MAX_SECONDS:
                    self._error(400, f"Bad Request: seconds={raw!r}: must be an integer in 1..{MAX_SECONDS}")
                    return
                cpu = self.server.cpu_hz  # type: ignore[attr-defined]
                try:
                    prof = CPUProfiler(cpu).start()
                except RuntimeError as e:
                    self._error(500, f"Could not enable CPU profiling: {e}")
                    return
                try:
                    time.sleep(seconds)
                finally:
                    prof.stop()
                self._profile(prof.profile())
            else:
                self._error(404, "404 page not found")
        except (BrokenPipeError, ConnectionResetError):
            pass


class _Server(ThreadingHTTPServer):
    """One thread per connection, at most MAX_CONNECTIONS at once."""

    allowed_hosts: set[str] | None = None

    def __init__(self, *a, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*a, **kw)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # too many at once: closed, not queued behind a thread each
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class _Server6(_Server):
    address_family = socket.AF_INET6


class PprofServer:
    """``PprofServer("127.0.0.1:0").start()``; ``.url`` is the index URL;
    ``close()`` (or leaving the ``with`` block) stops it.  Serves from a
    daemon thread, one thread per request."""

    def __init__(self, addr: str = DEFAULT_ADDR, cpu_hz: int = 100) -> None:
        self.host, port = parse_addr(addr)
        cls = _Server6 if ":" in self.host else _Server
        self._httpd = cls((self.host, port), _Handler, bind_and_activate=False)
        self._httpd.daemon_threads = True
        self._httpd.cpu_hz = cpu_hz  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    def start(self) -> "PprofServer":
        try:
            self._httpd.server_bind()
            self._httpd.server_activate()
        except OSError as e:
            self._httpd.server_close()
            raise UsageError(f"--pprof-http {self.host}:{self._httpd.server_address[1]}: "
                             f"cannot listen: {e.strerror or e}") from None
        if self.host in _LOOPBACK_NAMES or self.host.startswith("127."):
            port = self.port
            self._httpd.allowed_hosts = {h for n in (self.host, "127.0.0.1", "localhost", "[::1]")
                                         for h in (n, f"{n}:{port}")}
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="pprof-http", daemon=True)
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/debug/pprof/"

    def close(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> "PprofServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

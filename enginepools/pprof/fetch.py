"""Profile sources that are URLs, fetched as ``go tool pprof`` fetches them.

A source is a URL when Go's ``url.Parse`` finds a host in it, or in it with
``http://`` put in front (so ``127.0.0.1:6060/debug/pprof/heap`` and
``localhost:6060`` are URLs; ``heap.prof``, ``dir/a:b.prof`` and
``/tmp/x.prof`` are files).  As in ``cmd/pprof``'s ``adjustURL``:

* an empty path (or ``/``) means ``/debug/pprof/profile``;
* ``-seconds N`` (N > 0) sets the query's ``seconds=N`` (a CPU profile's
  length, a heap/allocs delta's window); otherwise a ``seconds`` already in
  the URL is the duration;
* ``-timeout T`` (T > 0) is how long to wait; otherwise 1.5× the duration,
  or 60 s when there is none.  As ``go tool pprof``, the response may take
  up to 5 s more than that to begin.

``Fetching profile over HTTP from URL`` (and ``Please wait... (2s)`` with
``-seconds``) go to stderr, as pprof prints them.  A refused connection,
a timeout, a status other than 200 or a body that is not a profile is one
:class:`~enginepools.errors.InputError` naming the URL (exit 1).
"""
from __future__ import annotations

import os
import socket
import ssl
import urllib.error
import urllib.request
from typing import Callable, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import InputError

__all__ = ["adjust_url", "fetch_profile", "resolve_sources", "go_duration", "CPU_PROFILE_PATH"]

CPU_PROFILE_PATH = "/debug/pprof/profile"  # cmd/pprof's cpuProfileHandler
DEFAULT_TIMEOUT = 60.0
EXTRA_WAIT = 5.0  # cmd/pprof: ResponseHeaderTimeout = timeout + 5 s


def _go_scheme(s: str) -> tuple[str, str]:
    """Go's url.getScheme: (scheme, rest); ValueError for a leading ':'."""
    for i, c in enumerate(s):
        if c.isascii() and c.isalpha():
            continue
        if c.isascii() and (c.isdigit() or c in "+-."):
            if i == 0:
                return "", s
            continue
        if c == ":":
            if i == 0:
                raise ValueError("missing protocol scheme")
            return s[:i], s[i + 1:]
        return "", s
    return "", s


def _go_host(s: str) -> tuple[str, str] | None:
    """(scheme, host) as Go's url.Parse finds them; None where it fails."""
    if any(ord(c) < 0x20 or c == "\x7f" for c in s):
        return None
    try:
        scheme, rest = _go_scheme(s)
    except ValueError:
        return None
    rest = rest.split("#", 1)[0].split("?", 1)[0]
    if not rest.startswith("/"):
        if not scheme and ":" in rest.split("/", 1)[0]:
            return None  # "first path segment in URL cannot contain colon"
        return scheme.lower(), ""  # a path, or an opaque URL ("localhost:6060")
    if not rest.startswith("//"):
        return scheme.lower(), ""
    host = rest[2:].split("/", 1)[0].rpartition("@")[2]
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return None
        port = host[end + 1:]
    else:
        colon = host.rfind(":")
        port = host[colon:] if colon >= 0 else ""
    if port and (port[0] != ":" or not all(c.isascii() and c.isdigit() for c in port[1:])):
        return None  # "invalid port"
    return scheme.lower(), host


def adjust_url(source: str, seconds: int = -1, timeout: int = -1) -> tuple[str, float, int] | None:
    """cmd/pprof's adjustURL: ``(url, timeout in seconds, duration in
    seconds)`` for a URL source, None for anything else (a file)."""
    parsed = _go_host(source)
    if parsed is None or (not parsed[1] and parsed[0] not in ("", "file")):
        source = "http://" + source
        parsed = _go_host(source)
    if parsed is None or not parsed[1]:
        return None
    u = urlsplit(source)
    path = u.path if u.path not in ("", "/") else CPU_PROFILE_PATH
    query = parse_qsl(u.query, keep_blank_values=True)
    duration = 0
    if seconds > 0:
        query = [(k, v) for k, v in query if k != "seconds"] + [("seconds", str(seconds))]
        duration = seconds
    else:
        given = [v for k, v in query if k == "seconds"]
        if given:
            try:
                us = int(given[0], 10)
            except ValueError:
                us = 0
            if -(1 << 31) <= us < (1 << 31):
                duration = max(us, 0)
    wait = float(timeout) if timeout > 0 else (duration * 1.5 if duration > 0 else DEFAULT_TIMEOUT)
    # url.Values.Encode: keys sorted, values in the order given
    query.sort(key=lambda kv: kv[0])
    return urlunsplit((u.scheme, u.netloc, path, urlencode(query), "")), wait, duration


def go_duration(seconds: int) -> str:
    """Go's time.Duration.String for whole seconds: 2s, 1m30s, 1h0m0s."""
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m}m{s}s"
    if m:
        return f"{m}m{s}s"
    return f"{s}s"


def fetch_profile(url: str, timeout: float, limit: int | None = None):  # type: ignore[no-untyped-def]
    """GET `url` and decode the body as a pprof profile.  `timeout` is
    pprof's: the response may take ``timeout + 5`` seconds to begin."""
    from .._inputs import max_inflated
    from .profile import Profile

    limit = max_inflated() if limit is None else limit
    context = None
    if url.startswith("https+insecure://"):  # pprof's scheme for "do not verify the certificate"
        url = "https://" + url[len("https+insecure://"):]
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    req = urllib.request.Request(url, headers={"User-Agent": "enginepools-pprof"})
    try:
        with urllib.request.urlopen(req, timeout=timeout + EXTRA_WAIT, context=context) as resp:
            body = bytearray()
            while len(body) <= limit:
                chunk = resp.read(min(1 << 20, limit + 1 - len(body)))
                if not chunk:
                    break
                body += chunk
    except urllib.error.HTTPError as e:
        raise InputError(f"{url}: server response: {_status_text(e)}") from None
    except urllib.error.URLError as e:
        raise InputError(f"{url}: http fetch: {_reason(e.reason)}") from None
    except (socket.timeout, TimeoutError):
        raise InputError(f"{url}: http fetch: no answer within {timeout + EXTRA_WAIT:g} s (-timeout)") from None
    except (OSError, ValueError) as e:  # connection reset mid-body, a malformed URL, http.client's errors
        raise InputError(f"{url}: http fetch: {_reason(e)}") from None
    except Exception as e:  # http.client.HTTPException and kin: a server that does not speak HTTP
        raise InputError(f"{url}: http fetch: bad response ({type(e).__name__}: {e})") from None
    if len(body) > limit:
        raise InputError(f"{url}: more than the {limit} bytes a pprof profile may have")
    return Profile.from_bytes(bytes(body), source=url)


def _status_text(e: urllib.error.HTTPError) -> str:
    """pprof's statusCodeError: "404 Not Found", and the body's first line
    when the server is a pprof endpoint (X-Go-Pprof, text/plain)."""
    text = f"{e.code} {e.reason}"
    headers = e.headers
    if headers is not None and headers.get("X-Go-Pprof") and "text/plain" in headers.get("Content-Type", ""):
        try:
            body = e.read(4096).decode("utf-8", "replace").strip()
        except OSError:
            body = ""
        if body:
            text += " - " + " ".join(body.split())[:300]
    return text


def _reason(r: object) -> str:
    if isinstance(r, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(r, OSError) and r.strerror:
        return r.strerror[0].lower() + r.strerror[1:]
    return " ".join(str(r).split())[:300] or type(r).__name__


def resolve_sources(sources: Sequence[str | os.PathLike[str]], seconds: int = -1, timeout: int = -1,
                    say: Callable[[str], None] | None = None) -> list:  # type: ignore[type-arg]
    """`sources` with every URL replaced by the profile fetched from it
    (files are left as they are, for the caller to read)."""
    out: list = []  # type: ignore[type-arg]
    for src in sources:
        adjusted = adjust_url(os.fspath(src), seconds, timeout) if isinstance(src, str) else None
        if adjusted is None:
            out.append(src)
            continue
        url, wait, _ = adjusted
        if say is not None:
            say(f"Fetching profile over HTTP from {url}")
            if seconds > 0:  # pprof says so for -seconds only, not for a seconds= in the URL
                say(f"Please wait... ({go_duration(seconds)})")
        out.append(fetch_profile(url, wait))
    return out

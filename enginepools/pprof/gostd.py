"""The few parts of Go's standard library that pprof's numbers and names
depend on (integer division, ``path/filepath.Clean``/``Base``, RE2
regexps), ported so our reports match ``go tool pprof`` byte for byte."""
from __future__ import annotations

import re

from ..errors import UsageError


# ---- Go helpers ----------------------------------------------------------------

def wrap64(v: int) -> int:
    """`v` as Go's int64 arithmetic leaves it (two's-complement wrap): pprof
    sums sample values in int64, so totals past 2**63 wrap, never raise."""
    return ((v + (1 << 63)) & ((1 << 64) - 1)) - (1 << 63)


def go_div(a: int, b: int) -> int:
    """Go's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def go_clean(path: str) -> str:
    """Go's path/filepath.Clean (Unix)."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    s = "/".join(out)
    if rooted:
        return "/" + s
    return s or "."


def go_base(path: str) -> str:
    """Go's path/filepath.Base (Unix)."""
    if path == "":
        return "."
    path = path.rstrip("/")
    if path == "":
        return "/"
    return path.rsplit("/", 1)[-1]


def trim_path(path: str) -> str:
    """report.trimPath with no -trim_path/-source_path: strip /proc/self/cwd."""
    for prefix in ("/proc/self/cwd/./", "/proc/self/cwd/"):
        if path.startswith(prefix):
            return path[len(prefix):]
    return path


def go_regexp(expr: str, flag: str) -> re.Pattern[str]:
    """Compile a Go (RE2) regexp; RE2's common syntax is Python's."""
    try:
        return re.compile(expr.replace("[[:alpha:]]", "[A-Za-z]").replace("[[:digit:]]", "[0-9]"))
    except re.error as e:
        raise UsageError(f"parsing {flag} regexp: {e}") from None

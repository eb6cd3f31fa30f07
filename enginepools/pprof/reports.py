"""pprof's reports beyond ``-top`` by name, as ``enginepools top`` selects them
with pprof's flags: ``-traces``, ``-tags``, ``-tree``, ``-peek REGEX``,
``-list REGEX``, ``-raw``, ``-proto`` and ``-callgrind``.  Each is the output
of ``go tool pprof`` with the same flag on the same profile."""
from __future__ import annotations

from typing import Callable

from .nodes import GraphOptions
from .work import WorkProfile

__all__ = ["generate", "REPORTS"]

REPORTS = ("traces", "tags", "tree", "peek", "list", "raw", "proto", "callgrind")


def generate(report: str, p: WorkProfile, o: GraphOptions, arg: str | None = None,
             warn: Callable[[str], None] | None = None) -> str | bytes:
    """Report `report` of working profile `p` (`arg`: the REGEX of -peek
    and -list); text, or bytes for -proto."""
    if report in ("traces", "tags"):
        from . import traces

        return (traces.traces_text if report == "traces" else traces.tags_text)(p, o, warn=warn)
    if report in ("tree", "peek"):
        from .treereport import tree_text

        return tree_text(p, o, symbol=arg if report == "peek" else None, warn=warn)
    if report == "callgrind":
        from .treereport import callgrind_text

        return callgrind_text(p, o, warn=warn)
    if report == "raw":
        from .rawproto import raw_text

        return raw_text(p, o, warn=warn)
    if report == "proto":
        from .rawproto import proto_bytes

        return proto_bytes(p, o, warn=warn)
    if report == "list":
        from .listing import list_text

        return list_text(p, o, arg or "", warn=warn)
    raise ValueError(f"unknown report {report!r}")

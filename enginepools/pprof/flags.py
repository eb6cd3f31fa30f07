"""Profiling flags for commands that run workloads (``bench``, ``pipeline``).

``go test``'s flags, with their meaning:

* ``-memprofile FILE``     write a heap profile of the C core when the run ends
* ``-memprofilerate N``    bytes between heap samples (default 524288; 1 = every allocation)
* ``-cpuprofile FILE``     write a CPU profile of the run
* ``--pprof-http [ADDR]``  serve /debug/pprof/ while the run goes on (default 127.0.0.1:6060)

A command adds them with :func:`add_profile_flags` and wraps its run in
:func:`profiling_session`::

    with profiling_session(args):
        run()

Files are written when the run ends — also when it ends with Ctrl-C or an
error, with what was collected — each to a temporary name then renamed, so
a file that existed is replaced whole or left as it was.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
from dataclasses import dataclass
from typing import Iterator

from .._atomic import check_writable, write_bytes
from .._flags import check_int
from .._flags import flag
from ..errors import UsageError
from .http import DEFAULT_ADDR, PprofServer, parse_addr
from .profilers import DEFAULT_RATE, CPUProfiler, HeapProfiler

__all__ = ["add_profile_flags", "check_profile_flags", "profiling_session", "ProfilingSession"]


def add_profile_flags(parser: argparse.ArgumentParser) -> None:
    """Add -memprofile, -memprofilerate, -cpuprofile and --pprof-http."""
    g = parser.add_argument_group("profiling")
    flag(g, "memprofile", metavar="FILE", default=None,
         help="write a heap profile (pprof) of the C core to FILE when the run ends")
    flag(g, "memprofilerate", metavar="N", type=_rate, default=None,
         help=f"sample one allocation per N bytes on average (default {DEFAULT_RATE}; 1 = every allocation)")
    flag(g, "cpuprofile", metavar="FILE", default=None, help="write a CPU profile (pprof) to FILE when the run ends")
    g.add_argument("-pprof-http", "--pprof-http", dest="pprof_http", metavar="ADDR", nargs="?", const=DEFAULT_ADDR,
                   default=None, help=f"serve /debug/pprof/ during the run on ADDR (default {DEFAULT_ADDR}; "
                                      "loopback unless ADDR names another interface)")


def _rate(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"-memprofilerate {text!r}: expected a number of bytes") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"-memprofilerate {v}: must be >= 1 (1 = every allocation)")
    try:
        return check_int(v, "-memprofilerate", 1)
    except UsageError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


@dataclass
class ProfilingSession:
    """What :func:`profiling_session` started (None where not asked for)."""

    heap: HeapProfiler | None = None
    cpu: CPUProfiler | None = None
    server: PprofServer | None = None


def check_profile_flags(args: argparse.Namespace) -> None:
    """Fail before any run when an output path cannot be written or the
    --pprof-http address is malformed (profiling_session checks again)."""
    for name in ("memprofile", "cpuprofile"):
        path = getattr(args, name, None)
        if path is not None:
            check_writable(path, f"-{name}")
    if getattr(args, "pprof_http", None):
        parse_addr(args.pprof_http)


@contextlib.contextmanager
def profiling_session(args: argparse.Namespace) -> Iterator[ProfilingSession]:
    """Start the profilers the flags ask for; stop them and write the files
    when the block ends, however it ends."""
    check_profile_flags(args)
    memprofile = getattr(args, "memprofile", None)
    cpuprofile = getattr(args, "cpuprofile", None)
    addr = getattr(args, "pprof_http", None)
    rate = getattr(args, "memprofilerate", None)
    rate = DEFAULT_RATE if rate is None else rate
    s = ProfilingSession()
    stack = contextlib.ExitStack()
    with stack:
        if memprofile or addr:
            s.heap = HeapProfiler(rate).start()
            stack.callback(s.heap.stop)
        if cpuprofile:
            s.cpu = CPUProfiler().start()
            stack.callback(s.cpu.stop)
        if addr:
            s.server = PprofServer(addr).start()
            stack.callback(s.server.close)
            print(f"pprof: serving {s.server.url}", file=sys.stderr)
        try:
            yield s
        finally:
            # stop sampling before building the profiles, so writing them is not in them
            if s.cpu is not None:
                s.cpu.stop()
            if s.heap is not None:
                s.heap.stop()
            if s.cpu is not None and cpuprofile:
                write_bytes(cpuprofile, s.cpu.profile().to_bytes())
            if s.heap is not None and memprofile:
                write_bytes(memprofile, s.heap.profile().to_bytes())

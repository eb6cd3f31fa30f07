"""``enginepools run``: run a Python script under the profilers, as
``go test -memprofile`` runs a test binary.

    enginepools run -memprofile mem.pb.gz app.py --its-flag x
    enginepools run -memprofile mem.pb.gz -memprofilerate 1 -memprofilepeak app.py
    python -m enginepools run -cpuprofile cpu.pb.gz app.py

The script runs as ``python app.py args…`` would (``__name__ ==
"__main__"``, ``sys.argv`` = the script and its arguments, its folder first on
``sys.path``); its exit status is the command's.  ``-memprofile`` samples the
script's Python allocations (:mod:`enginepools.pprof.pyheap`; one sample per
``-memprofilerate`` bytes on average, Go's default 512 KiB, 1 = every
block) and writes a Go heap profile when the script ends, however it ends;
``-cpuprofile`` writes the C core's SIGPROF CPU profile of the run (native
frames: the interpreter's C functions).  Both are written atomically.
"""
from __future__ import annotations

import argparse
import os
import runpy
import sys
import traceback
from typing import Any

from .._flags import flag
from ..errors import InputError, UsageError

NAME = "run"
HELP = "run a Python script, writing a heap profile of its allocations and/or a CPU profile"
DESCRIPTION = (
    "Run SCRIPT with ARGS as python would, with the Python heap profiler (-memprofile) and/or the CPU "
    "profiler (-cpuprofile) on; the profiles are written as pprof when the script ends."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    flag(p, "memprofile", metavar="FILE", help="write a heap profile of the script's Python allocations to FILE")
    flag(p, "memprofilerate", metavar="BYTES", type=str, default=None,
         help="mean bytes between heap samples (default 524288, as Go; 1 = every allocation)")
    flag(p, "memprofilepeak", action="store_true",
         help="in-use values of the heap profile at the peak of the run rather than at its end")
    flag(p, "cpuprofile", metavar="FILE", help="write a CPU profile of the run to FILE")
    flag(p, "cpuprofilerate", metavar="HZ", type=str, default=None, help="CPU samples per second (default 100)")
    p.add_argument("script", metavar="SCRIPT", help="the Python script to run")
    p.add_argument("args", metavar="ARGS", nargs=argparse.REMAINDER, help="the script's arguments")


def _positive(value: str | None, what: str, default: int, maximum: int | None = None) -> int:
    if value is None:
        return default
    try:
        n = int(value, 10)
    except ValueError:
        raise UsageError(f"-{what} {value!r}: expected a positive integer") from None
    if n < 1 or (maximum is not None and n > maximum):
        raise UsageError(f"-{what} {value}: must be in 1..{maximum}" if maximum else
                         f"-{what} {value}: must be >= 1")
    return n


def _check_out(path: str, what: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"-{what} {path}: folder {folder} does not exist")
    if os.path.isdir(path):
        raise InputError(f"-{what} {path}: is a folder")


def run(args: argparse.Namespace) -> int:
    from ..pprof.profilers import DEFAULT_RATE

    rate = _positive(args.memprofilerate, "memprofilerate", DEFAULT_RATE)
    hz = _positive(args.cpuprofilerate, "cpuprofilerate", 100, 1000)
    if not os.path.isfile(args.script):
        raise InputError(f"{args.script}: no such file" if not os.path.exists(args.script) else
                         f"{args.script}: not a file")
    for path, what in ((args.memprofile, "memprofile"), (args.cpuprofile, "cpuprofile")):
        if path:
            _check_out(path, what)
    return run_script(args.script, list(args.args), memprofile=args.memprofile, rate=rate,
                      peak=args.memprofilepeak, cpuprofile=args.cpuprofile, hz=hz)


def run_script(script: str, argv: list[str], *, memprofile: str | None = None, rate: int = 512 * 1024,
               peak: bool = False, cpuprofile: str | None = None, hz: int = 100) -> int:
    """Run `script` as ``__main__`` with the profilers asked for; its exit status."""
    from ..pprof.profilers import CPUProfiler
    from ..pprof.pyheap import PyHeapProfiler

    saved: dict[str, Any] = {"argv": sys.argv, "path": list(sys.path), "main": sys.modules.get("__main__")}
    sys.argv = [script, *argv]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    hp = PyHeapProfiler(rate, peak=peak) if memprofile else None
    cpu = CPUProfiler(hz) if cpuprofile else None
    status = 0
    code_file = script  # the name runpy gives the script's code objects
    try:
        if cpu:
            cpu.start()
        if hp:
            hp.start()
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as e:
            status = _exit_status(e.code)
        except KeyboardInterrupt:
            raise
        except BaseException:  # the script's own error: shown as python shows it
            traceback.print_exc()
            status = 1
        finally:
            if hp:
                hp.stop()
            if cpu:
                cpu.stop()
    finally:
        sys.argv, sys.path[:] = saved["argv"], saved["path"]
        if saved["main"] is not None:
            sys.modules["__main__"] = saved["main"]
    if hp and memprofile:
        hp.profile(root_file=code_file).write(memprofile)
    if cpu and cpuprofile:
        cpu.write(cpuprofile)
    return status


def _exit_status(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


"""What a benchmark ran on: the metadata stored with every result.

Go's benchmark header (``goos``, ``goarch``, ``pkg``, ``cpu``) plus what a
reader needs to trust or reproduce a number: core count, compiler of the C
core, library version, SHA-256 implementation, Python, git commit of the
source tree when it is a checkout, and a UTC timestamp.  Everything is read
cheaply (no benchmark runs here) and failures only leave a field out.
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

#: pkg value of the Go header: where the kernels live.
PKG = "enginepools/kernels"

_GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
           "i386": "386", "i686": "386", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x",
           "riscv64": "riscv64"}


def goos() -> str:
    p = sys.platform
    if p.startswith("linux"):
        return "linux"
    if p == "win32":
        return "windows"
    if p.startswith("freebsd"):
        return "freebsd"
    return p


def goarch() -> str:
    m = platform.machine().lower()
    return _GOARCH.get(m, m)


def cpu_model() -> str:
    """The CPU's marketing name, as Go's ``cpu:`` line prints it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "cpu model", "Hardware") and value.strip():
                    return value.strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                  text=True, timeout=2).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine()


def git_commit(path: str | os.PathLike[str] | None = None) -> str | None:
    """HEAD of the git checkout holding `path` (default: this package), with
    ``-dirty`` when the tree has changes; None when not a checkout."""
    where = Path(path) if path else Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=5)
        if head.returncode != 0:
            return None
        commit = head.stdout.strip()
        dirty = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
        return commit + ("-dirty" if dirty.returncode == 0 and dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def go_header() -> dict[str, str]:
    """The configuration lines Go prints before benchmark results, in Go's order."""
    return {"goos": goos(), "goarch": goarch(), "pkg": PKG, "cpu": cpu_model()}


def metadata() -> dict[str, Any]:
    """Everything above plus the library's own facts, for the JSON result."""
    from .. import __version__, _core

    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = None
    return {
        **go_header(),
        "cores": os.cpu_count(),
        "usable_cores": affinity,
        "compiler": getattr(_core, "COMPILER", "unknown"),
        "enginepools": __version__,
        "sha256_impl": getattr(_core, "SHA256_IMPL", "unknown"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": git_commit(),
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


__all__ = ["PKG", "goos", "goarch", "cpu_model", "git_commit", "go_header", "metadata"]

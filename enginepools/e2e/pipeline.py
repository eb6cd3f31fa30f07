"""The build-context pipeline from Python: walk, hash, tar, with each pool on or off.

    from enginepools.e2e.pipeline import run_pipeline
    r = run_pipeline("ctx/", pools={"hash", "tar"}, out="ctx.tar", keep_hashes=True)
    r.files, r.archive_bytes, r.hashes["src/main.go"], r.skipped

The work is done by the C core (``ep_pipeline_run``) with the GIL released;
Ctrl-C stops it between files.  ``out`` is written to a temporary name in the
same directory and renamed over the target only when the archive is
complete, so an existing file survives a failed or interrupted run.
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .. import _core
from ..errors import InputError, UsageError

POOLS = ("string", "hash", "tar")
_BITS = {"string": _core.PIPELINE_STRING, "hash": _core.PIPELINE_HASH, "tar": _core.PIPELINE_TAR}


def parse_pools(spec: str | Iterable[str] | None) -> frozenset[str]:
    """``none``, ``all`` or a comma list of string, hash, tar (or an iterable of names)."""
    if spec is None:
        return frozenset(POOLS)
    if isinstance(spec, str):
        s = spec.strip()
        if s == "none" or s == "":
            return frozenset()
        if s == "all":
            return frozenset(POOLS)
        names = [x.strip() for x in s.split(",") if x.strip()]
    else:
        names = list(spec)
    bad = [n for n in names if n not in POOLS]
    if bad:
        raise UsageError(f"-pools: unknown pool {bad[0]!r} (choose none, all, or a list of {', '.join(POOLS)})")
    return frozenset(names)


def pools_label(pools: Iterable[str]) -> str:
    """Canonical name of a configuration: none, all, or e.g. ``hash+tar``."""
    s = frozenset(pools)
    if not s:
        return "none"
    if s == frozenset(POOLS):
        return "all"
    return "+".join(p for p in POOLS if p in s)


def pools_mask(pools: Iterable[str]) -> int:
    m = 0
    for p in pools:
        m |= _BITS[p]
    return m


@dataclass
class PipelineResult:
    root: str
    pools: frozenset[str]
    files: int
    dirs: int
    symlinks: int
    bytes_hashed: int
    bytes_archived: int
    archive_bytes: int
    skipped: dict[str, int]          # reason -> count (unreadable, vanished, special)
    unreadable_dirs: int
    dangling_symlinks: int
    changed: int
    image_tag: str
    tag_strings: int
    seconds: dict[str, float]        # walk, hash, tar, total
    pool_stats: dict[str, dict[str, int]]
    alloc: dict[str, int]
    workers: dict[str, int]
    threads: int
    out: str | None = None
    hashes: dict[str, str] | None = None  # path -> sha256 hex (keep_hashes)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def config(self) -> str:
        return pools_label(self.pools)

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in (
            "root", "files", "dirs", "symlinks", "bytes_hashed", "bytes_archived", "archive_bytes", "skipped",
            "unreadable_dirs", "dangling_symlinks", "changed", "image_tag", "tag_strings", "seconds",
            "pool_stats", "alloc", "workers", "threads", "out")}
        d["pools"] = sorted(self.pools)
        d["config"] = self.config
        if self.hashes is not None:
            d["hashes"] = self.hashes
        return d


def _result(root: str, pools: frozenset[str], raw: dict[str, Any], out: str | None) -> PipelineResult:
    hashes = None
    if "file_hashes" in raw:
        hashes = {p: h.hex() for p, _size, h in raw["file_hashes"]}
    return PipelineResult(
        root=root, pools=pools, files=raw["files"], dirs=raw["dirs"], symlinks=raw["symlinks"],
        bytes_hashed=raw["bytes_hashed"], bytes_archived=raw["bytes_archived"],
        archive_bytes=raw["archive_bytes"],
        skipped={"unreadable": raw["skipped_unreadable"], "vanished": raw["skipped_vanished"],
                 "special": raw["skipped_special"]},
        unreadable_dirs=raw["unreadable_dirs"], dangling_symlinks=raw["dangling_symlinks"],
        changed=raw["changed"], image_tag=raw["image_tag"], tag_strings=raw["tag_strings"],
        seconds={k: raw[f"{k}_ns"] / 1e9 for k in ("walk", "hash", "tar", "total")},
        pool_stats=raw["pools"], alloc=raw["alloc"], workers=raw["workers"], threads=raw["threads"],
        out=out, hashes=hashes, raw={k: v for k, v in raw.items() if k != "file_hashes"})


def check_root(root: str | os.PathLike[str]) -> str:
    p = os.fspath(root)
    if not os.path.exists(p):
        raise InputError(f"{p}: no such directory")
    if not os.path.isdir(p):
        raise InputError(f"{p}: not a directory (the pipeline archives a directory tree)")
    if not os.access(p, os.R_OK | os.X_OK):
        raise InputError(f"{p}: directory not readable")
    return p


def run_pipeline(root: str | os.PathLike[str], pools: Iterable[str] | str | None = None,
                 out: str | os.PathLike[str] | None = None, *, keep_hashes: bool = False, threads: int = 0,
                 deterministic: bool = True, mtime: int = 0, hash_bufsize: int = 0, tar_bufsize: int = 0,
                 _hook: Callable[[str], None] | None = None) -> PipelineResult:
    """Run the pipeline on `root`; `pools` None = all.  `out`: archive path
    (replaced only when complete), None = archive bytes counted, not written."""
    root_s = check_root(root)
    ps = parse_pools(pools)
    kw = dict(pools=pools_mask(ps), threads=threads, keep_files=keep_hashes, deterministic=deterministic,
              mtime=mtime, hash_bufsize=hash_bufsize, tar_bufsize=tar_bufsize, hook=_hook)
    if out is None:
        return _result(root_s, ps, _run_core(root_s, -1, kw), None)
    from .._atomic import atomic_write, check_writable

    target = check_writable(out, "-o")
    with atomic_write(target, "wb") as f:  # a device or FIFO is written in place
        raw = _run_core(root_s, f.fileno(), kw, os.fspath(target))
    return _result(root_s, ps, raw, os.fspath(target))


_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EPIPE, errno.EIO, errno.EBADF, errno.EROFS}


def _run_core(root: str, fd: int, kw: dict[str, Any], out: str | None = None) -> dict[str, Any]:
    try:
        return _core.pipeline_run(root, out_fd=fd, **kw)
    except OSError as e:
        if not e.errno:
            raise
        if fd >= 0 and e.errno in _WRITE_ERRORS:
            raise InputError(f"{out}: writing the archive: {os.strerror(e.errno)}") from None
        raise InputError(f"{root}: {os.strerror(e.errno)}") from None


__all__ = ["POOLS", "PipelineResult", "run_pipeline", "parse_pools", "pools_label", "pools_mask", "check_root",
           "profile_pipeline", "profile_pipeline_peak", "cpu_profile_pipeline"]


def profile_pipeline(root: str | os.PathLike[str], pools: Any = None, rate: int = 1, *, peak: bool = False,
                     **kw: Any) -> Any:
    """Heap profile (a :class:`enginepools.pprof.profile.Profile`) of one pipeline
    run in this process, at `rate` (1 = every allocation); with `peak`, its
    in-use values are those at the run's in-use high-water mark."""
    return profile_pipeline_peak(root, pools, rate, interval=None, **kw)[0] if peak else \
        _profiled_run(root, pools, rate, None, False, kw)[0]


def profile_pipeline_peak(root: str | os.PathLike[str], pools: Any = None, rate: int = 1,
                          interval: float | None = 0.0005, **kw: Any) -> tuple[Any, dict[str, Any] | None]:
    """(heap profile at the in-use peak, in-use timeline per pool label) of
    one pipeline run in this process; the timeline (see
    :class:`enginepools.pprof.profilers.InuseTimeline`) is read every
    `interval` seconds, None = no timeline."""
    return _profiled_run(root, pools, rate, interval, True, kw)


def _profiled_run(root: Any, pools: Any, rate: int, interval: float | None, peak: bool,
                  kw: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
    from ..pprof.profilers import HeapProfiler, InuseTimeline

    with HeapProfiler(rate=rate, seed=1) as hp:
        tl = InuseTimeline(interval).start() if interval and rate > 0 else None
        try:
            run_pipeline(root, pools, None, **kw)
        finally:
            if tl is not None:
                tl.stop()
    snap = hp.snapshot()
    from ..pprof.profilers import heap_profile

    prof = heap_profile("alloc_space", snap, peak=peak and rate > 0)
    return prof, (tl.data(snap) if tl is not None else None)


def cpu_profile_pipeline(root: str | os.PathLike[str], pools: Any, min_seconds: float, hz: int = 1000) -> Any:
    """CPU profile of pipeline runs repeated in this process for at least
    `min_seconds` of wall time (one run is too short for enough samples at `hz`)."""
    import time

    from ..pprof.profilers import CPUProfiler

    with CPUProfiler(hz=hz) as cp:
        t0 = time.perf_counter()
        while True:
            run_pipeline(root, pools, None)
            if time.perf_counter() - t0 >= min_seconds:
                break
    return cp.profile()

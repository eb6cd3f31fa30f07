"""Heap and CPU profilers of the C core, written as pprof profiles.

>>> with HeapProfiler(rate=512 * 1024) as hp:
...     run_workload()
>>> hp.write("mem.pprof")            # go tool pprof -top mem.pprof

The heap profiler samples the library's own allocation path (``ep_alloc``):
on average one sample per `rate` bytes allocated, with exponential gaps, as
Go's ``runtime.MemProfileRate``; ``rate=1`` records every allocation.  Its
profile has Go's heap layout (``alloc_objects/count, alloc_space/bytes,
inuse_objects/count, inuse_space/bytes``, period ``space/bytes`` = rate) with
values unbiased as Go's ``scaleHeapSample`` does, the numeric label
``bytes`` (block size) and, for allocations made by a pool, the string
label ``pool`` and the numeric label ``size_class`` (bytes), so
``go tool pprof -tagfocus=pool=hash`` or ``-tagfocus=size_class=64kb``
splits them.

The CPU profiler samples the whole process on SIGPROF (``hz`` per second of
CPU time) and writes ``samples/count, cpu/nanoseconds``.  Both are process-
wide singletons in C: one heap session at a time; CPU profilers at the same
``hz`` share the running timer (each subtracts what it found at its start).
"""
from __future__ import annotations

import math
import os
import threading
import time
from typing import TYPE_CHECKING, Any, Sequence

from .. import _core
from .symbolize import Symbolizer

if TYPE_CHECKING:
    from .profile import Profile

__all__ = [
    "DEFAULT_RATE", "HEAP_SAMPLE_TYPES", "CPU_SAMPLE_TYPES", "HeapProfiler", "CPUProfiler",
    "heap_profile", "scale_heap_sample",
]

DEFAULT_RATE = 512 * 1024
HEAP_SAMPLE_TYPES = [("alloc_objects", "count"), ("alloc_space", "bytes"),
                     ("inuse_objects", "count"), ("inuse_space", "bytes")]
CPU_SAMPLE_TYPES = [("samples", "count"), ("cpu", "nanoseconds")]


def scale_heap_sample(count: int, size: int, rate: int) -> tuple[int, int]:
    """Go's ``scaleHeapSample``: sampled (count, bytes) → estimated totals.
    A block of average size s is sampled with probability 1 − exp(−s/rate)."""
    if count == 0 or size == 0:
        return 0, 0
    if rate <= 1:
        return count, size
    avg = size / count
    scale = 1 / (1 - math.exp(-avg / rate))
    return int(count * scale), int(size * scale)


class _Stacks:
    """Turns raw address stacks into builder frames, symbolizing each
    address once, and adds the mappings they fall in."""

    def __init__(self) -> None:
        self.sym = Symbolizer()
        self._cache: dict[tuple[int, bool], Any] = {}
        self._addrs: set[int] = set()

    def frames(self, pcs: Sequence[int], leaf_exact: bool) -> list[Any]:
        out = []
        for i, pc in enumerate(pcs):
            exact = leaf_exact and i == 0
            if i > 0 and self.sym.mapping(pc - 1) is None:
                # a return address outside any code mapping: the frame-pointer
                # chain ran into code built without frame pointers; what
                # follows is not a stack
                break
            key = (pc, exact)
            fr = self._cache.get(key)
            if fr is None:
                fs = self.sym.frames(pc, exact=exact)
                addr = pc if exact else pc - 1
                fr = [tuple(f) for f in fs] if fs else addr
                self._cache[key] = fr
                self._addrs.add(addr)
            out.append(fr)
        return out

    def add_mappings(self, builder: Any) -> None:
        for m in self.sym.used_mappings(self._addrs):
            builder.add_mapping(m.start, m.limit, m.offset, m.path, self.sym.build_id(m.path))


def heap_profile(default_sample_type: str | None = None, snapshot: dict | None = None) -> "Profile":
    """The heap profile of the current (or last) heap-profiling session."""
    from .profile import ProfileBuilder

    snap = snapshot if snapshot is not None else _core.heapprof_snapshot()
    rate = int(snap["rate"])
    b = ProfileBuilder(sample_types=HEAP_SAMPLE_TYPES, period_type=("space", "bytes"), period=rate,
                       default_sample_type=default_sample_type, time_nanos=time.time_ns())
    st = _Stacks()
    for pcs, size, pool, size_class, a_obj, a_bytes, f_obj, f_bytes in snap["records"]:
        values = [*scale_heap_sample(a_obj, a_bytes, rate),
                  *scale_heap_sample(a_obj - f_obj, a_bytes - f_bytes, rate)]
        labels = {"pool": pool} if pool is not None else None
        num_labels: dict[str, Any] = {"bytes": int(size)}
        if pool is not None and size_class:
            # numeric, so -tagfocus=size_class=64kb (or =65536) works
            num_labels["size_class"] = (int(size_class), "bytes")
        b.add_sample(values, st.frames(pcs, leaf_exact=False), labels=labels, num_labels=num_labels)
    st.add_mappings(b)
    return b.build()


class HeapProfiler:
    """Sampling heap profiler over the C allocation path.

    ``rate`` is the mean number of bytes between samples (Go's
    MemProfileRate; 1 = every allocation, 0 = off: an empty profile).  ``seed``
    makes the sampling reproducible (0 = random).  Use as a context manager or
    with start()/stop(); profile() and write() work while running and after."""

    def __init__(self, rate: int = DEFAULT_RATE, seed: int = 0) -> None:
        if int(rate) < 0:
            raise ValueError(f"rate must be >= 0 (bytes between samples), got {rate}")
        self.rate = int(rate)
        self.seed = int(seed)
        self.running = False

    def start(self) -> "HeapProfiler":
        if self.rate > 0:
            _core.heapprof_start(self.rate, self.seed)
        self.running = True
        return self

    def stop(self) -> None:
        if self.running and self.rate > 0:
            _core.heapprof_stop()
        self.running = False

    def __enter__(self) -> "HeapProfiler":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def snapshot(self) -> dict:
        """Raw sampled records (see ``_core.heapprof_snapshot``)."""
        if self.rate == 0:
            return {"rate": 0, "dropped": 0, "records": []}
        return _core.heapprof_snapshot()

    def profile(self, default_sample_type: str | None = None) -> "Profile":
        """The profile as a :class:`enginepools.Profile` (values unbiased)."""
        return heap_profile(default_sample_type, self.snapshot())

    def write(self, path: str | os.PathLike[str], default_sample_type: str | None = None) -> None:
        """Write the profile (gzip'd profile.proto) atomically to `path`."""
        self.profile(default_sample_type).write(path)


def _cpu_counts(snap: dict) -> dict[tuple[int, ...], int]:
    return {tuple(pcs): int(n) for pcs, n in snap["records"]}


class CPUProfiler:
    """SIGPROF CPU profiler of the whole process (``hz`` samples per CPU
    second, 1..1000; Go's default 100)."""

    def __init__(self, hz: int = 100) -> None:
        if not 1 <= int(hz) <= 1000:
            raise ValueError(f"hz must be in 1..1000, got {hz}")
        self.hz = int(hz)
        self.running = False
        self._base: dict[tuple[int, ...], int] = {}
        self._final: dict[tuple[int, ...], int] | None = None
        self._t0 = self._t1 = 0
        self._lock = threading.Lock()

    def start(self) -> "CPUProfiler":
        with self._lock:
            if self.running:
                return self
            _core.cpuprof_start(self.hz)
            self._base = _cpu_counts(_core.cpuprof_snapshot())
            self._final = None
            self._t0 = time.time_ns()
            self.running = True
        return self

    def _window(self) -> dict[tuple[int, ...], int]:
        now = _cpu_counts(_core.cpuprof_snapshot())
        out = {}
        for k, v in now.items():
            d = v - self._base.get(k, 0)
            if d > 0:
                out[k] = d
        return out

    def stop(self) -> None:
        with self._lock:
            if not self.running:
                return
            self._final = self._window()
            self._t1 = time.time_ns()
            _core.cpuprof_stop()
            self.running = False

    def __enter__(self) -> "CPUProfiler":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def counts(self) -> dict[tuple[int, ...], int]:
        """Samples per raw stack (exact PC first, then return addresses)."""
        with self._lock:
            if self.running:
                return self._window()
            return dict(self._final or {})

    def profile(self) -> "Profile":
        """The CPU profile so far (or of the finished run)."""
        from .profile import ProfileBuilder

        counts = self.counts()
        period = 1_000_000_000 // self.hz
        end = time.time_ns() if self.running else self._t1
        b = ProfileBuilder(sample_types=CPU_SAMPLE_TYPES, period_type=("cpu", "nanoseconds"), period=period,
                           time_nanos=self._t0 or time.time_ns(), duration_nanos=max(0, end - self._t0))
        st = _Stacks()
        for pcs, n in counts.items():
            b.add_sample([n, n * period], st.frames(pcs, leaf_exact=True))
        st.add_mappings(b)
        return b.build()

    def write(self, path: str | os.PathLike[str]) -> None:
        self.profile().write(path)

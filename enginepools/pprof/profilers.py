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

Peak: the session also keeps the heap as it stood at its in-use high-water
mark (the first moment the sampled in-use total reached its maximum, as
memray's peak snapshot): ``HeapProfiler.profile(peak=True)`` has the whole
run's ``alloc_*`` and the ``inuse_*`` of that moment, and
:class:`InuseTimeline` records the in-use bytes over time, per ``pool``
label, while a workload runs.

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
from typing import TYPE_CHECKING, Any, Sequence, TypeVar

from .. import _core
from .symbolize import Symbolizer

if TYPE_CHECKING:
    from .profile import Profile

__all__ = [
    "DEFAULT_RATE", "HEAP_SAMPLE_TYPES", "CPU_SAMPLE_TYPES", "HeapProfiler", "CPUProfiler",
    "heap_profile", "scale_heap_sample", "InuseTimeline", "NO_POOL",
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


_S = TypeVar("_S", bound="StartStop")


class StartStop:
    """``with p:`` calls ``p.start()`` and, on the way out, ``p.stop()``."""

    def start(self: _S) -> _S:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


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


def heap_profile(default_sample_type: str | None = None, snapshot: dict | None = None, *,
                 peak: bool = False) -> "Profile":
    """The heap profile of the current (or last) heap-profiling session.
    With `peak`, its ``inuse_*`` values are those of the moment the sampled
    in-use total first reached its maximum (``alloc_*`` stay the whole
    run's), and a comment says so."""
    from .profile import ProfileBuilder

    snap = snapshot if snapshot is not None else _core.heapprof_snapshot()
    rate = int(snap["rate"])
    comments: list[str] = []
    if peak:
        if "peak" not in snap:
            raise ValueError("heap snapshot has no peak data (taken by an older profiler)")
        comments.append(f"inuse at peak: {int(snap['peak_bytes'])} sampled bytes in use at event "
                        f"{int(snap['peak_event'])} of {int(snap['events'])}")
    b = ProfileBuilder(sample_types=HEAP_SAMPLE_TYPES, period_type=("space", "bytes"), period=rate,
                       default_sample_type=default_sample_type, time_nanos=time.time_ns(), comments=comments)
    st = _Stacks()
    peaks = snap["peak"] if peak else None
    for i, (pcs, size, pool, size_class, a_obj, a_bytes, f_obj, f_bytes) in enumerate(snap["records"]):
        in_obj, in_bytes = peaks[i] if peaks is not None else (a_obj - f_obj, a_bytes - f_bytes)
        values = [*scale_heap_sample(a_obj, a_bytes, rate), *scale_heap_sample(in_obj, in_bytes, rate)]
        labels = {"pool": pool} if pool is not None else None
        num_labels: dict[str, Any] = {"bytes": int(size)}
        if pool is not None and size_class:
            # numeric, so -tagfocus=size_class=64kb (or =65536) works
            num_labels["size_class"] = (int(size_class), "bytes")
        b.add_sample(values, st.frames(pcs, leaf_exact=False), labels=labels, num_labels=num_labels)
    st.add_mappings(b)
    return b.build()


class HeapProfiler(StartStop):
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


    def snapshot(self) -> dict:
        """Raw sampled records (see ``_core.heapprof_snapshot``)."""
        if self.rate == 0:
            return {"rate": 0, "dropped": 0, "records": []}
        return _core.heapprof_snapshot()

    def profile(self, default_sample_type: str | None = None, *, peak: bool = False) -> "Profile":
        """The profile as a :class:`enginepools.Profile` (values unbiased);
        `peak`: in-use values at the in-use high-water mark."""
        return heap_profile(default_sample_type, self.snapshot(), peak=peak)

    def write(self, path: str | os.PathLike[str], default_sample_type: str | None = None, *,
              peak: bool = False) -> None:
        """Write the profile (gzip'd profile.proto) atomically to `path`."""
        self.profile(default_sample_type, peak=peak).write(path)


#: the series name of in-use bytes allocated under no pool tag
NO_POOL = "direct (no pool)"


class InuseTimeline(StartStop):
    """In-use heap over time, per ``pool`` label, of a running heap session.

    A daemon thread reads the profiler's in-use counters (one short lock,
    O(pool tags)) every `interval` seconds; the workload's own threads are
    not interrupted.  Values are the raw bytes of sampled blocks: exact at
    rate 1, a sample at other rates (not unbiased: that needs each block's
    size).  The peak itself lies between two readings; :meth:`data` marks
    it at the first reading whose event count reached the peak event and
    gives its exact size.

    >>> with HeapProfiler(rate=1) as hp, InuseTimeline(0.0005) as tl:
    ...     run_workload()
    >>> tl.data()   # {"t": [...], "series": {"hash": [...], ...}, "peak_bytes": ...}
    """

    def __init__(self, interval: float = 0.0005) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval}")
        self.interval = float(interval)
        self._points: list[tuple[float, int, int, dict]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0

    def _read(self) -> None:
        r = _core.heapprof_inuse()
        self._points.append((time.perf_counter() - self._t0, int(r["events"]), int(r["inuse_bytes"]), r["pools"]))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._read()

    def start(self) -> "InuseTimeline":
        self._t0 = time.perf_counter()
        self._points = []
        self._stop.clear()
        self._read()
        self._thread = threading.Thread(target=self._loop, name="enginepools-inuse-timeline", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self._read()


    def data(self, snapshot: dict | None = None) -> dict:
        """``{"t": seconds, "total": bytes, "series": {label: bytes per
        reading}, "events": [...], "peak_bytes", "peak_t", "rate", "unit"}``
        — plain JSON.  Every reading's series add up to its total.
        `snapshot` (a heap snapshot of the same session) supplies the peak;
        by default the profiler's current one."""
        snap = snapshot if snapshot is not None else _core.heapprof_snapshot()
        labels: list[str] = []
        for *_, pools in self._points:
            for k in pools:
                name = NO_POOL if k is None else str(k)
                if name not in labels:
                    labels.append(name)
        series = {name: [0] * len(self._points) for name in labels}
        for i, (*_, pools) in enumerate(self._points):
            for k, v in pools.items():
                series[NO_POOL if k is None else str(k)][i] = int(v)
        events = [e for _, e, _, _ in self._points]
        peak_event = int(snap.get("peak_event", 0))
        times = [round(t, 6) for t, *_ in self._points]  # µs: the peak's time is one of these readings
        peak_t = next((t for t, e in zip(times, events) if e >= peak_event), None) if peak_event else None
        return {"unit": "bytes", "rate": int(snap.get("rate", 0)), "interval": self.interval,
                "t": times, "events": events,
                "total": [b for _, _, b, _ in self._points], "series": series,
                "peak_bytes": int(snap.get("peak_bytes", 0)), "peak_event": peak_event, "peak_t": peak_t}


def _cpu_counts(snap: dict) -> dict[tuple[int, ...], int]:
    return {tuple(pcs): int(n) for pcs, n in snap["records"]}


class CPUProfiler(StartStop):
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

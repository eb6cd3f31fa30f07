"""A heap profiler for Python code, writing Go's heap profile format.

>>> with PyHeapProfiler() as hp:          # rate 512 KiB, as Go's default
...     work()
>>> hp.write("mem.pb.gz")                # go tool pprof -top mem.pb.gz

It samples the interpreter's own allocations (the RAW, MEM and OBJ domains,
through the ``PyMem_SetAllocator`` hook of ``csrc/py/pyalloc.c``, the one the
allocation counter uses): on average one sample per `rate` bytes allocated,
with exponential gaps as Go's ``runtime.MemProfileRate`` (``rate=1`` records
every block).  A sample's stack is the Python stack, leaf first, one frame
per function with its current line (at most 64 frames); a block the RAW
domain allocates outside any MEM/OBJ call (the caller may not hold the GIL)
gets the single frame ``[PyMem_RawMalloc]``.  Samples are kept per (stack,
block size), as Go keeps them, and unbiased with Go's formula: a block of
size s is sampled with probability 1 − exp(−s/rate), so its counts are
scaled by 1 / (1 − exp(−s/rate)).

The profile has Go's heap layout — ``alloc_objects/count, alloc_space/bytes,
inuse_objects/count, inuse_space/bytes``, period ``space/bytes`` = rate —
and the numeric label ``bytes`` (block size).  ``inuse`` values are those
when the profile is taken (for a stopped profiler, when it stopped); with
``peak=True`` they are instead those at the moment the estimated in-use total
was highest during the run.  Blocks allocated before the profiler started are
not in it (their frees pass through uncounted).  One profiler at a time per
process.
"""
from __future__ import annotations

import contextlib
import os
import time
from typing import TYPE_CHECKING, Any, Iterator

from .. import _core
from .profilers import DEFAULT_RATE, HEAP_SAMPLE_TYPES, StartStop, scale_heap_sample

if TYPE_CHECKING:
    from .profile import Profile

__all__ = ["PyHeapProfiler", "memprofile", "pyheap_profile", "NO_FRAME"]

#: the frame of a sample taken with no Python frame running
NO_FRAME = ("[no Python frame]", "", 0)


def pyheap_profile(snapshot: dict, default_sample_type: str | None = None, peak: bool = False,
                   duration_ns: int = 0, root_file: str | None = None) -> "Profile":
    """The profile of a ``_core.pyheap_snapshot()``; `peak` takes the in-use
    values at the peak (the snapshot must come from a ``peak=True`` run).
    A stack that passes through `root_file` (a script a runner ran) is cut
    just above that file's root-most frame: the runner's own frames go."""
    from .profile import ProfileBuilder

    if peak and not snapshot["peak"]:
        raise ValueError("peak=True needs a profile recorded with peak=True")
    rate = int(snapshot["rate"])
    b = ProfileBuilder(sample_types=HEAP_SAMPLE_TYPES, period_type=("space", "bytes"), period=rate,
                       default_sample_type=default_sample_type, time_nanos=time.time_ns(),
                       duration_nanos=duration_ns,
                       comments=["in-use values at the peak"] if peak else ())
    for frames, size, a_obj, a_bytes, f_obj, f_bytes, pk_obj, pk_bytes in snapshot["records"]:
        in_obj, in_bytes = (pk_obj, pk_bytes) if peak else (a_obj - f_obj, a_bytes - f_bytes)
        values = [*scale_heap_sample(a_obj, a_bytes, rate), *scale_heap_sample(in_obj, in_bytes, rate)]
        if root_file is not None:
            cut = [i for i, f in enumerate(frames) if f[1] == root_file]
            if cut:
                frames = frames[:cut[-1] + 1]
        stack = [_frame(*f) for f in frames] or [NO_FRAME]
        b.add_sample(values, stack, num_labels={"bytes": int(size)})
    return b.build()


def _frame(name: str, filename: str, line: int) -> tuple[str, str, int]:
    """A code name that starts with ``<`` (``<module>``, ``<lambda>``) gets its
    file's stem in front (``app.<module>``): pprof's demangler reads a
    leading ``<…>`` as C++ template arguments and would erase the name."""
    if name.startswith("<"):
        stem = os.path.splitext(os.path.basename(filename))[0]
        name = f"{stem}.{name}" if stem else name
    return name, filename, line


class PyHeapProfiler(StartStop):
    """Sampling heap profiler of Python allocations.  ``rate``: mean bytes
    between samples (1 = every block); ``seed``: reproducible sampling (0 =
    random); ``peak``: also keep the in-use values at the peak.  A context
    manager, or start()/stop(); profile() and write() work while running and
    after."""

    def __init__(self, rate: int = DEFAULT_RATE, seed: int = 0, peak: bool = False) -> None:
        if isinstance(rate, bool) or int(rate) < 1:
            raise ValueError(f"rate must be >= 1 (bytes between samples), got {rate!r}")
        self.rate = int(rate)
        self.seed = int(seed)
        self.peak = bool(peak)
        self.running = False
        self._t0 = self._t1 = 0

    def start(self) -> "PyHeapProfiler":
        _core.pyheap_start(self.rate, self.seed, self.peak)
        self._t0 = time.monotonic_ns()
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            _core.pyheap_stop()
            self._t1 = time.monotonic_ns()
        self.running = False


    def snapshot(self) -> dict[str, Any]:
        """Raw records (see ``_core.pyheap_snapshot``)."""
        return _core.pyheap_snapshot()

    def profile(self, default_sample_type: str | None = None, peak: bool | None = None,
                root_file: str | None = None) -> "Profile":
        """The profile (values unbiased); `peak` defaults to the profiler's;
        `root_file`: see :func:`pyheap_profile`."""
        end = time.monotonic_ns() if self.running else self._t1
        return pyheap_profile(self.snapshot(), default_sample_type, self.peak if peak is None else peak,
                              max(0, end - self._t0), root_file)

    def write(self, path: str | os.PathLike[str], default_sample_type: str | None = None,
              peak: bool | None = None) -> None:
        """Write the profile (gzip'd profile.proto) atomically to `path`."""
        self.profile(default_sample_type, peak).write(path)


@contextlib.contextmanager
def memprofile(path: str | os.PathLike[str] | None = None, rate: int = DEFAULT_RATE, peak: bool = False,
               seed: int = 0) -> Iterator[PyHeapProfiler]:
    """Profile the Python allocations of a ``with`` block; write the profile
    to `path` (if given) when the block ends, however it ends.

    >>> with enginepools.memprofile("mem.pb.gz", rate=1) as hp:
    ...     work()
    >>> hp.profile()            # the same profile, as a Profile"""
    hp = PyHeapProfiler(rate, seed, peak)
    try:
        with hp:
            yield hp
    finally:
        if path is not None:
            hp.write(path)

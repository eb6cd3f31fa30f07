"""Python's own allocations, counted as Go's ``-benchmem`` counts them.

>>> with AllocCounter() as c:
...     work()
>>> c.bytes, c.blocks          # cumulative: every block allocated, freed or not

The counter is a ``PyMem_SetAllocator`` wrapper over the RAW, MEM and OBJ
domains (``csrc/py/pyalloc.c``), installed only while some counter or the
Python heap profiler runs and removed after the last one stops.  It counts
the requested size of every block the interpreter allocates (``realloc``
counts its new size as one block, as Go counts a grown slice) on every thread,
and nothing for frees.  Memory allocated before the counter started is freed
through it into the original allocator, uncounted.  Counters nest.

A CPython object is not always one block: ``bytes(n)`` and ``int``\\ s are one,
but a ``bytearray(n)`` (n > 0) or a ``list`` is two — the object and its
separately allocated storage — so ``bytearray(65536)`` counts 2 allocs and
65 538 + 56 bytes (the object's header, the buffer and its NUL).
"""
from __future__ import annotations

from typing import Any

from .. import _core

__all__ = ["AllocCounter", "counters"]


def counters(this_thread: bool = False) -> tuple[int, int]:
    """(bytes, blocks) allocated while counting so far, all threads (or this one)."""
    c = _core.pyalloc_counters(this_thread)
    return c["alloc_bytes"], c["alloc_objects"]


class AllocCounter:
    """Counts the Python allocations made between enter and exit (all threads,
    or only the entering thread with ``this_thread=True``)."""

    def __init__(self, this_thread: bool = False) -> None:
        self.this_thread = bool(this_thread)
        self.bytes = 0
        self.blocks = 0
        self._start: tuple[int, int] | None = None

    def __enter__(self) -> "AllocCounter":
        _core.pyalloc_start()
        self._start = counters(self.this_thread)
        return self

    def __exit__(self, *exc: Any) -> None:
        b, n = counters(self.this_thread)
        _core.pyalloc_stop()
        assert self._start is not None
        self.bytes, self.blocks = b - self._start[0], n - self._start[1]

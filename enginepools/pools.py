"""Python face of the C pools: object, buffer, string-builder and worker pools.

Every pool here is a thin wrapper over a C pool in ``enginepools._core``
(``csrc/pool.c`` and friends); the work happens in C.  The wrappers add what
Python users expect: argument checks with clear messages, context managers,
and ``stats()`` dictionaries.

Lending rules (buffers and objects).  ``pool.get()`` returns a
:class:`Lease`, a block of pooled memory that exports a writable buffer;
``with pool.buffer(size) as mv:`` lends it as a ``memoryview`` and gives it
back on exit.  A block is never returned, reused or freed while a view of it
is alive: giving it back while one is exported raises ``BufferError``, and the
block then goes back by itself once the last view is gone.

Counters (``stats()``), summed over threads: ``gets = hits + misses`` (plus
failed constructions), ``puts``, ``drops`` (puts that freed the object: over a
retention cap, or pool bypassed), ``retained_objects``/``retained_bytes`` (held
now), ``peak_retained_bytes``, ``clear_ns`` (time spent zeroing on put),
``trims``/``trimmed``, ``hit_rate`` (= hits / gets, 0.0 before the first get).

``EP_POOL_BYPASS=1`` in the environment when a pool is created makes it
allocate on every get and free on every put (``pool.bypassed`` tells).
"""
from __future__ import annotations

import atexit
import contextlib
import operator
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

from . import _core

__all__ = [
    "ObjectPool",
    "BufferPool",
    "StringBuilderPool",
    "WorkerPool",
    "Lease",
    "Builder",
    "BUFFER_PRESETS",
    "BUFFER_MIN_CLASS",
    "BUFFER_MAX_CLASS",
    "size_classes",
]

Lease = _core.Lease
Builder = _core.Builder

BUFFER_MIN_CLASS: int = _core.BUFFER_MIN_CLASS
BUFFER_MAX_CLASS: int = _core.BUFFER_MAX_CLASS

#: The study's presets (mirrors ``ep_bufpool_preset`` in csrc/bufpool.c):
#: 64 KiB buffers, at most 1 MiB retained; the hash pool zeroed its buffers.
BUFFER_PRESETS: dict[str, dict[str, Any]] = {
    "hash": {"default_size": 64 << 10, "max_bytes": 1 << 20, "clear_on_put": True},
    "tar": {"default_size": 64 << 10, "max_bytes": 1 << 20, "clear_on_put": False},
}


def size_classes() -> list[int]:
    """The buffer size classes, smallest first: 256 B, 512 B, … 1 MiB."""
    return [BUFFER_MIN_CLASS << i for i in range(_core.BUFFER_NCLASSES)]


def _count(value: Any, what: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    """An integer argument in [minimum, maximum], or a clear error naming it."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not bool")
    if not isinstance(value, int):
        try:
            value = operator.index(value)
        except TypeError:
            raise TypeError(f"{what} must be an int, not {type(value).__name__}") from None
    if value < minimum or (maximum is not None and value > maximum):
        rng = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ValueError(f"{what} must be {rng}, got {value}")
    return value


def _cap(value: int | None, what: str) -> int:
    return 0 if value is None else _count(value, what)


def _check_name(name: str | None) -> str | None:
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    return name


def _core_attr(name: str, doc: str | None = None) -> Any:
    """A read-only property that reads `name` of the C object (``self._c``)."""
    return property(lambda self: getattr(self._c, name), doc=doc)


class _Pool:
    """What every memory pool shares: stats, trim, close, context manager."""

    _c: Any
    closed: bool = _core_attr("closed", "close() was called")
    name: str = _core_attr("name", "the name given, or the preset's")
    bypassed: bool = _core_attr("bypassed", "EP_POOL_BYPASS was set when the pool was made.")
    clear_on_put: bool = _core_attr("clear_on_put", "blocks are zeroed when given back")
    outstanding: int = _core_attr("outstanding", "Objects handed out and not yet returned.")

    def stats(self) -> dict[str, Any]:
        """Counters summed over threads (see the module docstring)."""
        return self._c.stats()

    def trim(self) -> None:
        """Free what the pool retains: the shared depot and this thread's
        magazines now, other threads' magazines at their next slow path."""
        self._c.trim()

    def close(self) -> None:
        """No more gets; the C pool is freed once every lease is back."""
        self._c.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        s = self.stats()
        state = "closed" if self.closed else f"hits={s['hits']} misses={s['misses']} retained={s['retained_bytes']}B"
        return f"<{type(self).__name__} {self.name!r} {state}>"


class ObjectPool(_Pool):
    """Pool of fixed-size blocks with sync.Pool semantics.

    ``get()`` returns a cached block or a new one; ``put()`` hands it back;
    nothing is promised to be retained.  Caps: ``max_objects`` and
    ``max_bytes`` bound what the pool retains (a put beyond them frees the
    block and counts a drop).  ``clear_on_put`` zeroes blocks as they come
    back (new blocks are zeroed too), timed in ``clear_ns``.
    """

    def __init__(
        self,
        size: int,
        *,
        max_objects: int | None = None,
        max_bytes: int | None = None,
        clear_on_put: bool = False,
        magazine_size: int | None = None,
        name: str | None = None,
    ) -> None:
        size = _count(size, "size", minimum=1, maximum=1 << 40)
        max_objects = _cap(max_objects, "max_objects")
        max_bytes = _cap(max_bytes, "max_bytes")
        mag = 0 if magazine_size is None else _count(magazine_size, "magazine_size", minimum=1, maximum=4096)
        self._c = _core.ObjectPool(
            size,
            max_objects=max_objects,
            max_bytes=max_bytes,
            clear_on_put=bool(clear_on_put),
            magazine_size=mag,
            name=_check_name(name),
        )

    size: int = _core_attr("size", "Bytes per object.")

    def get(self) -> Lease:
        """A block of ``size`` bytes: ``memoryview(lease)``; ``lease.release()`` or
        ``pool.put(lease)`` gives it back."""
        return self._c.get()

    def put(self, lease: Lease) -> None:
        self._c.put(lease)

    def object(self) -> contextlib.AbstractContextManager[memoryview]:
        """``with pool.object() as mv:`` lends one block as a writable memoryview
        (the lease is its own context manager, see :meth:`BufferPool.buffer`)."""
        return self._c.get()


class BufferPool(_Pool):
    """Byte buffers in power-of-two size classes, 256 B … 1 MiB.

    ``BufferPool("hash")`` / ``BufferPool("tar")`` are the study's presets
    (64 KiB buffers, 1 MiB retained; "hash" zeroes buffers on put); keyword
    arguments override a preset's settings.  ``max_bytes`` caps the bytes all
    classes retain together; ``max_objects_per_class`` caps each class.
    """

    def __init__(
        self,
        preset: str | None = None,
        *,
        max_bytes: int | None = None,
        max_objects_per_class: int | None = None,
        clear_on_put: bool | None = None,
        default_size: int | None = None,
        name: str | None = None,
    ) -> None:
        cfg: dict[str, Any] = {"default_size": 0, "max_bytes": 0, "clear_on_put": False}
        if preset is not None:
            if preset not in BUFFER_PRESETS:
                known = ", ".join(repr(k) for k in BUFFER_PRESETS)
                raise ValueError(f"unknown buffer-pool preset {preset!r} (known: {known})")
            cfg.update(BUFFER_PRESETS[preset])
        overrides = (max_bytes, max_objects_per_class, clear_on_put, default_size, name)
        if preset is not None and all(v is None for v in overrides):
            self._c = _core.BufferPool(preset)
            return
        if max_bytes is not None:
            cfg["max_bytes"] = _count(max_bytes, "max_bytes")
        if clear_on_put is not None:
            cfg["clear_on_put"] = bool(clear_on_put)
        if default_size is not None:
            cfg["default_size"] = _count(default_size, "default_size", minimum=1, maximum=BUFFER_MAX_CLASS)
        per_class = _cap(max_objects_per_class, "max_objects_per_class")
        self._c = _core.BufferPool(
            max_objects_per_class=per_class,
            name=_check_name(name) if name is not None else preset,
            **cfg,
        )

    default_size: int = _core_attr("default_size", "Size ``get()``/``buffer()`` use when none is given (0 = none).")
    max_bytes: int = _core_attr("max_bytes", "Cap on bytes retained over all classes (0 = none).")

    @staticmethod
    def class_for(size: int) -> int:
        """The size class that serves a request of `size` bytes."""
        return _core.BufferPool.class_for(_count(size, "size", minimum=1, maximum=BUFFER_MAX_CLASS))

    def get(self, size: int | None = None) -> Lease:
        """A buffer of `size` bytes (default: ``default_size``) from the smallest
        class that fits; ``lease.capacity`` is the class size.  (The C type
        checks `size`: this is on the hot path of every lend.)"""
        return self._c.get() if size is None else self._c.get(size)

    def put(self, lease: Lease) -> None:
        self._c.put(lease)

    def buffer(self, size: int | None = None) -> contextlib.AbstractContextManager[memoryview]:
        """``with pool.buffer(size) as mv:`` lends a pooled buffer of `size` bytes as a
        writable memoryview and takes it back on exit.

        On exit the view is released (keeping ``mv`` after the block is harmless:
        it is unusable) and the buffer goes back.  If views derived from it
        (slices, numpy arrays) are still alive, the buffer stays with them and
        goes back when they are gone, and BufferError is raised — unless the
        block is already raising, whose exception is not masked."""
        return self._c.get() if size is None else self._c.get(size)

    def class_stats(self, class_size: int) -> dict[str, Any]:
        """Counters of one size class."""
        return self._c.class_stats(_count(class_size, "class_size", minimum=1))


class StringBuilderPool(_Pool):
    """Pool of growable string builders (``append``, ``str``, ``bytes``, ``len``).

    Builders start with ``initial_capacity`` bytes; one that grew past
    ``max_retained_capacity`` is shrunk back when it returns, so the pool never
    pins one huge string.  ``max_objects`` caps retained builders;
    ``clear_on_put`` zeroes a builder's text when it returns.  Stats count
    builder structs (``retained_bytes`` excludes the text behind them).
    """

    def __init__(
        self,
        *,
        initial_capacity: int = 64,
        max_retained_capacity: int | None = None,
        max_objects: int | None = None,
        clear_on_put: bool = False,
        name: str | None = None,
    ) -> None:
        initial = _count(initial_capacity, "initial_capacity", maximum=1 << 40)
        max_cap = _cap(max_retained_capacity, "max_retained_capacity")
        if max_cap and max_cap < initial:
            raise ValueError(
                f"max_retained_capacity={max_cap} is smaller than initial_capacity={initial}"
            )
        self._c = _core.StringBuilderPool(
            initial_capacity=initial,
            max_retained_capacity=max_cap,
            max_objects=_cap(max_objects, "max_objects"),
            clear_on_put=bool(clear_on_put),
            name=_check_name(name),
        )

    initial_capacity: int = _core_attr("initial_capacity", "capacity of a new builder")

    def get(self) -> Builder:
        """An empty builder; ``builder.release()`` or ``pool.put(builder)`` gives it back."""
        return self._c.get()

    def put(self, builder: Builder) -> None:
        self._c.put(builder)

    def builder(self) -> contextlib.AbstractContextManager[Builder]:
        """``with pool.builder() as b:`` lends an empty builder; it goes back on exit
        (and can no longer be used).  The builder is its own context manager."""
        return self._c.get()


# Worker pools still running at interpreter exit are shut down (queued jobs
# dropped, running ones finished) before Python tears down its threads.
_live_workers: weakref.WeakSet[WorkerPool] = weakref.WeakSet()
_live_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # the workers are the parent's: mark the copies unusable, forget them
    with contextlib.suppress(Exception):
        for wp in list(_live_workers):
            wp._c._after_fork_in_child()
    _live_workers.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _shutdown_live_workers() -> None:
    with _live_lock:
        pools = list(_live_workers)
    for wp in pools:
        with contextlib.suppress(Exception):
            wp.shutdown(cancel_pending=True)


class WorkerPool:
    """A fixed set of C threads serving a bounded job queue.

    ``submit(fn, *args, **kwargs)`` runs a Python callable on a worker (the
    worker takes the GIL to run it); ``submit_c(kind, arg, count)`` queues
    built-in C jobs that run without the GIL: ``"noop"``, ``"sleep"`` (arg
    µs), ``"spin"`` (arg xorshift rounds), ``"memset"`` (allocate arg bytes
    through ep_alloc, fill, free), ``"sha"`` (SHA-256 of arg bytes).  Both block while the queue is full.
    ``wait_all()`` waits for every job so far and re-raises the first
    exception a Python job raised; ``shutdown()`` runs (or with
    ``cancel_pending=True`` drops) the queued jobs and joins the threads;
    after it, submit raises RuntimeError.  Its threads do not survive
    ``fork()``: in a child process the pool raises RuntimeError.

    ``stats()``: submitted, completed, discarded, queued, queue_size,
    queue_peak, threads (alive), errors, in_flight, bytes_held (queue, thread
    table and job records: the pool's own memory), and the counters of the
    pool of job records (gets, hits, misses, …, hit_rate).  ``max_objects``
    and ``max_bytes`` cap the job records retained (default: what can be in
    flight at once plus two magazines of 8 per thread).
    """

    def __init__(
        self,
        threads: int = 2,
        *,
        queue_size: int = 64,
        max_objects: int | None = None,
        max_bytes: int | None = None,
    ) -> None:
        threads = _count(threads, "threads", minimum=1, maximum=1024)
        queue_size = _count(queue_size, "queue_size", minimum=1, maximum=1 << 30)
        max_objects = -1 if max_objects is None else _count(max_objects, "max_objects")
        self._c = _core.WorkerPool(threads, queue_size=queue_size, max_objects=max_objects,
                                   max_bytes=_cap(max_bytes, "max_bytes"))
        with _live_lock:
            _live_workers.add(self)

    threads: int = _core_attr("threads", "worker threads")
    shut_down: bool = _core_attr("shut_down", "shutdown() was called")

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        self._c.submit(fn, *args, **kwargs)

    def submit_c(self, kind: str, arg: int = 0, count: int = 1) -> None:
        if not isinstance(kind, str):
            raise TypeError(f"kind must be a str, not {type(kind).__name__}")
        self._c.submit_c(kind, _count(arg, "arg"), _count(count, "count"))

    def wait_all(self, timeout: float | None = None) -> bool:
        """True when every job submitted so far has finished, False on timeout."""
        if timeout is not None and not (isinstance(timeout, (int, float)) and timeout >= 0):
            raise ValueError(f"timeout must be a number of seconds >= 0 or None, got {timeout!r}")
        if timeout is not None and timeout >= 9e9:  # inf, 1e300, 10**400: no deadline (~285 years)
            timeout = None
        return self._c.wait_all(timeout)

    def shutdown(self, *, cancel_pending: bool = False) -> int:
        """Stop accepting jobs, run (or drop) the queued ones, join the threads.
        Returns the number of jobs dropped."""
        n = self._c.shutdown(cancel_pending=bool(cancel_pending))
        with _live_lock:
            _live_workers.discard(self)
        return n

    close = shutdown

    def stats(self) -> dict[str, Any]:
        return self._c.stats()

    def trim(self) -> None:
        """Free the retained job records."""
        self._c.trim()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        s = self.stats()
        return (f"<WorkerPool threads={self.threads} submitted={s['submitted']} "
                f"completed={s['completed']}{' shut down' if s['shut_down'] else ''}>")

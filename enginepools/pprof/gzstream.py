"""Decoding a gzip'd profile while it inflates: ISA-L's igzip inflates in a
thread, a chunk at a time, into a buffer the C decoder reads as the bytes
arrive (csrc/pprof_stream.c), both with the GIL released — on two cores the
decode costs about the longer of the two instead of their sum.

Only a single-member stream whose trailer announces a size within the cap
(``ENGINEPOOLS_MAX_INFLATED``) and the ratio limit
(``ENGINEPOOLS_MAX_INFLATE_RATIO``) is decoded this way; the buffer is that size,
so memory stays under the cap.  Whenever the stream turns out otherwise (bad
or truncated data, another size, more members, padding) :func:`decode`
returns None and the caller inflates and parses the plain way, which gives
the error messages and the cap's refusal as before."""
from __future__ import annotations

import threading

from .. import _core
from . import inflate

__all__ = ["decode", "MIN_SIZE", "CHUNK"]

#: gzip'd inputs below this many bytes are decoded the plain way (a thread costs more than it saves)
MIN_SIZE = 1 << 20
#: gzip'd bytes inflated at a time
CHUNK = 1 << 19


def decode(data: bytes | bytearray | memoryview, cap: int, ratio: int | None = None) -> dict | None:
    """``_core.pprof_decode``'s result for gzip'd `data`, inflating and
    parsing at once; None when this way does not apply or the stream fails
    (the caller then decodes the plain way).  Raises ValueError(message,
    offset, stage) for a bad message in a good stream, as pprof_decode.
    A trailer that announces more than `ratio` times the input (past
    :data:`inflate.RATIO_FLOOR`) is left to the plain way, which refuses a
    bomb after its first 64 MiB instead of inflating what the trailer claims."""
    igzip = inflate._igzip
    view = memoryview(data).cast("B")
    if igzip is None or len(view) < MIN_SIZE:
        return None
    size = int.from_bytes(view[-4:], "little")  # ISIZE: the member's inflated size mod 2**32
    if size == 0 or size > cap or (ratio and size > inflate.RATIO_FLOOR and size > ratio * len(view)):
        return None
    try:
        stream = _core.pprof_stream_new(size)
    except MemoryError:  # the plain way inflates as far as memory and the cap allow
        return None

    def fill() -> None:
        ok = False
        try:
            d = igzip.IgzipDecompressor(flag=igzip.DECOMP_GZIP)
            for pos in range(0, len(view), CHUNK):  # whole input chunks: nothing is buffered twice
                if not _core.pprof_stream_write(stream, d.decompress(view[pos:pos + CHUNK])):
                    break
                if d.eof:
                    ok = not d.unused_data and pos + CHUNK >= len(view)  # one member, nothing after it
                    break
        except Exception:  # noqa: BLE001 - any failure: the plain way reports it
            ok = False
        finally:
            _core.pprof_stream_end(stream, ok)

    t = threading.Thread(target=fill, name="enginepools-inflate", daemon=True)
    t.start()
    try:
        return _core.pprof_stream_decode(stream)
    finally:
        t.join()

"""gzip inflation for profiles: ISA-L's igzip (the ``isal`` package) when it
is installed, zlib otherwise — one function, :func:`gunzip`, with two
bounds checked as the output grows, in steps of at most 16 MiB:

* a cap on the inflated size (refused as soon as the output passes it: a
  gzip bomb costs at most `limit` bytes);
* a cap on the ratio inflated / compressed, once the output passes
  :data:`RATIO_FLOOR` (64 MiB): a bomb inflates ~1000x (deflate's most),
  real gzip'd profiles 2.5-20x, so a bomb is refused after 64 MiB of output
  whatever the absolute cap, in well under a second.  A bomb that keeps
  under the ratio needs ``limit / ratio`` bytes of input to reach the cap.

The input is fed 256 KiB at a time, so the ratio is measured against what was
read so far, not the whole file.  Accepts what Go's gzip reader accepts:
several concatenated members, and trailing zero padding after the last one."""
from __future__ import annotations

import zlib

try:
    from isal import igzip_lib as _igzip
except ImportError:  # pragma: no cover - isal is a declared dependency; zlib is the fallback
    _igzip = None

__all__ = ["GzipError", "gunzip", "is_gzip", "BACKEND", "RATIO_FLOOR"]

#: output below which the ratio is not checked (small inputs may inflate a lot)
RATIO_FLOOR = 64 << 20
_IN_STEP = 256 << 10  # compressed bytes fed per call
_OUT_STEP = 16 << 20  # inflated bytes asked for per call

#: which inflater :func:`gunzip` uses
BACKEND = "isal" if _igzip is not None else "zlib"


class GzipError(ValueError):
    """Bad gzip data: ``args`` are (message, byte offset in the compressed input)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message, offset)
        self.message, self.offset = message, offset


def is_gzip(data: bytes | bytearray | memoryview) -> bool:
    return len(data) >= 2 and data[0] == 0x1F and data[1] == 0x8B


class _Zlib:
    """zlib's decompressobj behind the few words of ISA-L's decompressor
    this module uses (``needs_input``, ``eof``, ``unused_data``)."""

    def __init__(self) -> None:
        self._d = zlib.decompressobj(wbits=31)
        self._tail = b""
        self._full = False  # the last call filled max_length: more output may be pending

    @property
    def needs_input(self) -> bool:
        return not self._tail and not self._full

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data

    def decompress(self, data, max_length: int) -> bytes:  # type: ignore[no-untyped-def]
        out = self._d.decompress(self._tail if self._tail else data, max_length)
        self._tail = self._d.unconsumed_tail
        self._full = len(out) == max_length
        return out


def _decompressor():  # type: ignore[no-untyped-def]
    if _igzip is not None:
        return _igzip.IgzipDecompressor(flag=_igzip.DECOMP_GZIP), (_igzip.IsalError, ValueError)
    return _Zlib(), (zlib.error,)


def gunzip(data: bytes | bytearray | memoryview, limit: int | None = None,
           ratio: int | None = None) -> bytes | bytearray:
    """The inflated bytes of gzip'd `data` (all members).  Raises
    :class:`GzipError` on bad or truncated data, once the output passes
    `limit` bytes (None: no cap), and once it passes both RATIO_FLOOR and
    `ratio` times the compressed bytes read so far (None or 0: no ratio cap)."""
    view = memoryview(data).cast("B")
    n = len(view)
    pos = 0  # where the current member starts
    out = bytearray()
    while True:
        d, errors = _decompressor()
        fed = pos
        while not d.eof:
            if d.needs_input:
                if fed == n:
                    raise GzipError("truncated gzip data", n)
                chunk = view[fed:fed + _IN_STEP]
                fed += len(chunk)
            else:
                chunk = view[0:0]
            room = _OUT_STEP if limit is None else min(_OUT_STEP, limit - len(out) + 1)
            try:
                out += d.decompress(chunk, room)
            except errors as e:
                raise GzipError(f"bad gzip data ({e})", pos) from None
            if limit is not None and len(out) > limit:
                raise GzipError(f"inflates to more than {limit} bytes", fed)
            if ratio and len(out) > RATIO_FLOOR and len(out) > ratio * fed:
                raise GzipError(f"inflates more than {ratio} times ({len(out)} bytes from the first {fed} "
                                f"compressed bytes: a gzip bomb?)", fed)
        pos = fed - len(d.unused_data)
        if pos == n:
            break
        if n - pos >= 2 and view[pos] == 0x1F and view[pos + 1] == 0x8B:
            continue  # another member
        if view[pos:].tobytes().count(0) == n - pos:
            break  # zero padding, which gzip tolerates
        raise GzipError("trailing garbage after gzip data", pos)
    return bytes(out) if len(out) < _OUT_STEP else out

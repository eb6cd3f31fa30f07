"""gzip inflation for profiles: ISA-L's igzip (the ``isal`` package) when it
is installed, zlib otherwise — one function, :func:`gunzip`, with a cap on
the inflated size (refused as soon as the output passes it: a gzip bomb
costs at most `limit` bytes).

Accepts what Go's gzip reader accepts: several concatenated members, and
trailing zero padding after the last one."""
from __future__ import annotations

import zlib

try:
    from isal import igzip_lib as _igzip
except ImportError:  # pragma: no cover - isal is a declared dependency; zlib is the fallback
    _igzip = None

__all__ = ["GzipError", "gunzip", "is_gzip", "BACKEND"]

#: which inflater :func:`gunzip` uses
BACKEND = "isal" if _igzip is not None else "zlib"


class GzipError(ValueError):
    """Bad gzip data: ``args`` are (message, byte offset in the compressed input)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message, offset)
        self.message, self.offset = message, offset


def is_gzip(data: bytes | bytearray | memoryview) -> bool:
    return len(data) >= 2 and data[0] == 0x1F and data[1] == 0x8B


def _decompressor():  # type: ignore[no-untyped-def]
    if _igzip is not None:
        return _igzip.IgzipDecompressor(flag=_igzip.DECOMP_GZIP), (_igzip.IsalError, ValueError)
    return zlib.decompressobj(wbits=31), (zlib.error,)


def gunzip(data: bytes | bytearray | memoryview, limit: int | None = None) -> bytes:
    """The inflated bytes of gzip'd `data` (all members).  Raises
    :class:`GzipError` on bad or truncated data, and once the output passes
    `limit` bytes (None: no cap)."""
    view = memoryview(data).cast("B")
    n = len(view)
    pos = 0
    parts: list[bytes] = []
    total = 0
    while True:
        d, errors = _decompressor()
        room = -1 if limit is None else limit - total + 1
        try:
            out = d.decompress(view[pos:], room) if room != -1 else d.decompress(view[pos:])
        except errors as e:
            raise GzipError(f"bad gzip data ({e})", pos) from None
        total += len(out)
        parts.append(out)
        if limit is not None and total > limit:
            raise GzipError(f"inflates to more than {limit} bytes", pos)
        if not d.eof:
            raise GzipError("truncated gzip data", n)
        rest = d.unused_data
        pos = n - len(rest)
        if not rest:
            break
        if len(rest) >= 2 and rest[0] == 0x1F and rest[1] == 0x8B:
            continue  # another member
        if rest.count(0) == len(rest):
            break  # zero padding, which gzip tolerates
        raise GzipError("trailing garbage after gzip data", pos)
    return parts[0] if len(parts) == 1 else b"".join(parts)

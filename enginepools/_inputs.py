"""The one reader of the files users name, with one set of clear errors.

A path that is a directory, a device (``/dev/zero`` would be read forever) or
larger than the caller's limit is refused with a message naming it.  FIFOs and
regular files are read in chunks, up to the limit: memory grows with what the
file holds, never with the limit (nothing is pre-allocated), and reading stops
as soon as the limit is passed.

gzip'd pprof profiles are inflated (in C, as a stream) up to
:func:`max_inflated` bytes — 4 GiB unless the environment variable
``ENGINEPOOLS_MAX_INFLATED`` says otherwise (bytes, or with a K/M/G suffix):
a gzip bomb is refused as soon as its output passes the cap, whatever the
gzip header claims."""
from __future__ import annotations

import os
import stat

from .errors import InputError, UsageError

GiB = 1 << 30
CHUNK = 1 << 20
MAX_INFLATED_DEFAULT = 4 * GiB
MAX_INFLATED_ENV = "ENGINEPOOLS_MAX_INFLATED"
MAX_INFLATE_RATIO_DEFAULT = 200
MAX_INFLATE_RATIO_ENV = "ENGINEPOOLS_MAX_INFLATE_RATIO"


def max_inflated() -> int:
    """The cap on a gzip'd input's inflated size (``ENGINEPOOLS_MAX_INFLATED``)."""
    text = os.environ.get(MAX_INFLATED_ENV, "").strip()
    if not text:
        return MAX_INFLATED_DEFAULT
    mult = {"K": 1 << 10, "M": 1 << 20, "G": GiB}.get(text[-1:].upper(), 1)
    digits = text[:-1] if mult > 1 else text
    if not digits.isdigit() or not 0 < int(digits) * mult < (1 << 62):
        raise UsageError(f"{MAX_INFLATED_ENV}={text!r}: want a positive size in bytes (e.g. 4G, 512M)")
    return int(digits) * mult


def max_inflate_ratio() -> int:
    """The most a gzip'd input may inflate per compressed byte past 64 MiB of
    output (``ENGINEPOOLS_MAX_INFLATE_RATIO``; 0: no ratio check)."""
    text = os.environ.get(MAX_INFLATE_RATIO_ENV, "").strip()
    if not text:
        return MAX_INFLATE_RATIO_DEFAULT
    if not text.isdigit() or int(text) >= (1 << 62):
        raise UsageError(f"{MAX_INFLATE_RATIO_ENV}={text!r}: want a whole number of times (e.g. 200), or 0 for no "
                         f"ratio check")
    return int(text)


def read_input(path: str | os.PathLike[str], what: str, limit: int) -> bytes:
    """The bytes of `path` (a `what`, e.g. "pprof profile"), at most `limit`."""
    p = os.fspath(path)
    buf = bytearray()
    try:
        with open(p, "rb", buffering=0) as f:
            st = os.fstat(f.fileno())
            if stat.S_ISDIR(st.st_mode):
                raise InputError(f"{p}: is a directory, expected a {what}")
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
                raise InputError(f"{p}: not a regular file (a device or socket), expected a {what}")
            if st.st_size > limit:
                raise InputError(f"{p}: {st.st_size} bytes is larger than the {limit} a {what} may have")
            while len(buf) <= limit:
                chunk = f.read(min(CHUNK, limit + 1 - len(buf)))
                if not chunk:
                    break
                buf += chunk
    except IsADirectoryError:
        raise InputError(f"{p}: is a directory, expected a {what}") from None
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except MemoryError:
        raise InputError(f"{p}: out of memory after reading {len(buf)} bytes of a {what}") from None
    except OSError as e:
        raise InputError(f"{p}: {e.strerror or e}") from None
    if len(buf) > limit:
        raise InputError(f"{p}: more than the {limit} bytes a {what} may have")
    return bytes(buf) if len(buf) < CHUNK else buf  # type: ignore[return-value]

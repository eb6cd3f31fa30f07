"""Reading the files users name, with one set of clear errors.

A path that is a directory, a device (``/dev/zero`` would be read forever) or
larger than the caller's limit is refused with a message naming it, before
anything is read into memory.  FIFOs and regular files are read, up to the
limit."""
from __future__ import annotations

import os
import stat

from .errors import InputError

GiB = 1 << 30


def read_input(path: str | os.PathLike[str], what: str, limit: int) -> bytes:
    """The bytes of `path` (a `what`, e.g. "pprof profile"), at most `limit`."""
    p = os.fspath(path)
    try:
        with open(p, "rb") as f:
            st = os.fstat(f.fileno())
            if stat.S_ISDIR(st.st_mode):
                raise InputError(f"{p}: is a directory, expected a {what}")
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
                raise InputError(f"{p}: not a regular file (a device or socket), expected a {what}")
            if st.st_size > limit:
                raise InputError(f"{p}: {st.st_size} bytes is larger than the {limit} a {what} may have")
            data = f.read(limit + 1)
    except IsADirectoryError:
        raise InputError(f"{p}: is a directory, expected a {what}") from None
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except OSError as e:
        raise InputError(f"{p}: {e.strerror or e}") from None
    if len(data) > limit:
        raise InputError(f"{p}: more than the {limit} bytes a {what} may have")
    return data

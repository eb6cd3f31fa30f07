"""Write files the crash-safe way: to a temporary name in the same folder,
then rename over the target, so an interrupted run never leaves a half file
and never loses the file that was there before."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

from .errors import InputError


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Fail early (before any long run) when `path` cannot be written."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, expected a file path")
    if not parent.is_dir():
        raise InputError(f"{p}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise InputError(f"{p}: not writable")
    check_dir_writable(parent, p)
    return p


def check_dir_writable(directory: str | os.PathLike[str], name: object = None) -> None:
    """Create and remove a temporary file in `directory`: ``os.access`` says
    yes to root, and on read-only file systems or /proc (as the atomic
    writers would only find out after the long run).  The error names
    `name` (default: the directory)."""
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as e:
        raise InputError(f"{name if name is not None else directory}: cannot create files in "
                         f"{directory} ({e.strerror or e})") from None


def _target_mode(p: Path) -> int:
    try:
        return os.stat(p).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", **kw: object) -> Iterator[IO]:
    """``with atomic_write(p) as f: f.write(...)`` — `p` appears whole or not at all."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent if str(p.parent) else ".")
    try:
        with os.fdopen(fd, mode, **kw) as f:  # type: ignore[call-overload]
            yield f
            f.flush()
            os.fsync(f.fileno())
            # mkstemp makes the file 0600; give it the mode a plain open()
            # would (an existing file's own mode, else 0666 less the umask)
            os.fchmod(f.fileno(), _target_mode(p))
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_write(path, "wb") as f:
        f.write(data)

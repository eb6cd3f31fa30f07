"""The one writer of the files users name.

A regular file (or a new path) is written the crash-safe way: to a temporary
name in the same folder, then renamed over the target, so an interrupted run
never leaves a half file and never loses the file that was there before.

What is not a regular file is never replaced by one:

* a symlink is followed: its target is written (atomically, beside the
  target), the link stays a link;
* a character device (``/dev/null``, a terminal) or a FIFO is written in
  place, as the shell's ``>`` does — no rename;
* a directory, block device or socket is refused with one line naming it.

``check_writable`` applies the same rules before a long run starts, and
refuses an empty path as a usage error naming the flag.
"""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Iterator

from .errors import InputError, UsageError


def _resolve(path: str | os.PathLike[str]) -> Path:
    """`path` with symlinks followed (a dangling link gives its target)."""
    p = Path(path)
    return Path(os.path.realpath(p)) if p.is_symlink() else p


def _special(p: Path) -> int | None:
    """The st_mode of an existing target that is not a regular file, else None;
    InputError for kinds we refuse to write."""
    try:
        st = os.stat(p)
    except OSError:
        return None
    m = st.st_mode
    if stat.S_ISREG(m):
        return None
    if stat.S_ISDIR(m):
        raise InputError(f"{p}: is a directory, expected a file path")
    if stat.S_ISCHR(m) or stat.S_ISFIFO(m):
        return m
    kind = "block device" if stat.S_ISBLK(m) else "socket" if stat.S_ISSOCK(m) else "special file"
    raise InputError(f"{p}: is a {kind}; refusing to write to it")


def check_writable(path: str | os.PathLike[str], flag: str | None = None) -> Path:
    """Fail early (before any long run) when `path` cannot be written.
    `flag` (e.g. ``-o``) names the argument in the error for an empty path."""
    if not os.fspath(path):
        raise UsageError(f"{flag or 'output path'}: empty file name")
    p = Path(path)
    t = _resolve(p)
    if _special(t) is not None:
        if not os.access(t, os.W_OK):
            raise InputError(f"{p}: not writable")
        return p
    parent = t.parent if str(t.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{p}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (t.exists() and not os.access(t, os.W_OK)):
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


class AtomicFile:
    """A file written the crash-safe way over a long run: ``AtomicFile(p)``
    opens a temporary name beside `p` (or `p` itself when it is a device or a
    FIFO), ``.file`` is written as results come, and ``commit()`` renames it
    over `p` — or over another name in the same folder, such as
    ``p + ".partial"`` after an interrupt; ``discard()`` removes it."""

    def __init__(self, path: str | os.PathLike[str], mode: str = "w", **kw: object) -> None:
        self.path = path
        p = _resolve(path)
        self.tmp: str | None = None
        if _special(p) is not None:
            try:
                self.file: IO = open(p, mode, **kw)  # type: ignore[call-overload]
            except OSError as e:
                raise InputError(f"{path}: {e.strerror or e}") from None
            return
        fd, self.tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent if str(p.parent) else ".")
        try:
            self.file = os.fdopen(fd, mode, **kw)  # type: ignore[call-overload]
        except BaseException:
            os.close(fd)
            self.discard()
            raise

    def commit(self, dest: str | os.PathLike[str] | None = None) -> None:
        """Close, and rename into place at `dest` (default: the path given)."""
        if self.tmp is None:  # written in place
            self.file.close()
            return
        target = _resolve(self.path if dest is None else dest)
        try:
            with self.file as f:
                f.flush()
                os.fsync(f.fileno())
                # mkstemp makes the file 0600; give it the mode a plain open()
                # would (an existing file's own mode, else 0666 less the umask)
                os.fchmod(f.fileno(), _target_mode(target))
            os.replace(self.tmp, target)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Close, and remove the temporary file (the target is left as it was)."""
        with contextlib.suppress(AttributeError):
            self.file.close()
        if self.tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tmp)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", **kw: object) -> Iterator[IO]:
    """``with atomic_write(p) as f: f.write(...)`` — `p` appears whole or not
    at all (a device or FIFO is written in place; a symlink's target is
    written)."""
    a = AtomicFile(path, mode, **kw)
    try:
        yield a.file
    except BaseException:
        a.discard()
        raise
    a.commit()


def write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_write(path, "wb") as f:
        f.write(data)

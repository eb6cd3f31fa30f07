"""The C ustar writer (csrc/tar.c) read back by Python's tarfile and GNU tar."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from enginepools import _core

LONG = "d" * 60 + "/" + "e" * 80 + "/" + "f" * 120 + ".txt"  # no ustar split: GNU 'L' entry
SPLIT = "a" * 120 + "/" + "b" * 90  # fits ustar prefix/name
LONG_TARGET = "t" * 150  # GNU 'K' entry


def entries(src_fd: int = -1, src_size: int = 0) -> list[tuple]:
    e = [
        ("dir", "5", 0o755, 1_600_000_000, 0, None, None, -1),
        ("dir/a.txt", "0", 0o644, 1_600_000_000, 5, b"hello", None, -1),
        ("dir/ln", "2", 0o777, 0, 0, None, "a.txt", -1),
        ("dir/longln", "2", 0o777, 0, 0, None, LONG_TARGET, -1),
        (LONG, "0", 0o600, 0, 3, b"abc", None, -1),
        (SPLIT, "0", 0o640, 0, 2, b"xy", None, -1),
        ("empty", "0", 0o644, 0, 0, b"", None, -1),
        ("exactly512", "0", 0o644, 0, 512, b"z" * 512, None, -1),
    ]
    if src_fd >= 0:
        e.append(("big.bin", "0", 0o755, 0, src_size, None, None, src_fd))
    return e


@pytest.fixture
def src(tmp_path: Path) -> Path:
    p = tmp_path / "src.bin"
    p.write_bytes(os.urandom(200_003))
    return p


def test_tarfile_reads_every_kind_of_entry(src: Path) -> None:
    with open(src, "rb") as f:
        data = _core.tar_write(entries(f.fileno(), src.stat().st_size), bufsize=4096)
    assert len(data) % 10240 == 0
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        m = {x.name: x for x in t.getmembers()}
        assert list(m) == ["dir", "dir/a.txt", "dir/ln", "dir/longln", LONG, SPLIT, "empty", "exactly512", "big.bin"]
        assert m["dir"].isdir() and m["dir/ln"].issym() and m["dir/ln"].linkname == "a.txt"
        assert m["dir/longln"].linkname == LONG_TARGET
        assert m[SPLIT].mode == 0o640
        assert t.extractfile(LONG).read() == b"abc"
        assert t.extractfile("exactly512").read() == b"z" * 512
        assert t.extractfile("big.bin").read() == src.read_bytes()
        # deterministic by default: mtime 0, owner 0/0 with no names
        assert {(x.mtime, x.uid, x.gid, x.uname, x.gname) for x in m.values()} == {(0, 0, 0, "", "")}


def test_non_deterministic_keeps_mtime() -> None:
    data = _core.tar_write(entries()[:2], deterministic=False)
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        assert t.getmember("dir/a.txt").mtime == 1_600_000_000


def test_bytes_do_not_depend_on_buffer_size() -> None:
    archives = {_core.tar_write(entries(), bufsize=b) for b in (512, 1000, 4096, 65536, 1 << 20)}
    assert len(archives) == 1


def test_fixed_mtime_option() -> None:
    data = _core.tar_write(entries()[:2], mtime=1234)
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        assert {x.mtime for x in t.getmembers()} == {1234}


def test_size_of_8_gib_or_more_is_base256() -> None:
    h = _core.tar_write([("huge", "0", 0o644, 0, 9 << 30, None, None, -1)], header_only=True)
    assert h[124] == 0x80  # base-256 marker in the size field
    assert tarfile.TarInfo.frombuf(h[:512], "utf-8", "strict").size == 9 << 30
    small = _core.tar_write([("s", "0", 0o644, 0, (8 << 30) - 1, None, None, -1)], header_only=True)
    assert small[124:136] == b"77777777777\0"


def test_record_size_and_end_blocks() -> None:
    data = _core.tar_write([("a", "0", 0o644, 0, 1, b"x", None, -1)], record_size=512 * 4)
    assert len(data) == 2048 and data[1024:] == bytes(1024)
    with pytest.raises(ValueError):
        _core.tar_write([], record_size=1000)


def test_shrunk_file_is_padded_and_reported(tmp_path: Path) -> None:
    p = tmp_path / "short"
    p.write_bytes(b"12345")
    with open(p, "rb") as f, pytest.raises(OSError):
        _core.tar_write([("short", "0", 0o644, 0, 10, None, None, f.fileno())])


def test_bad_entries_are_value_errors() -> None:
    with pytest.raises(ValueError):
        _core.tar_write([("", "0", 0o644, 0, 0, b"", None, -1)])
    with pytest.raises(ValueError):
        _core.tar_write([("x", "7", 0o644, 0, 0, b"", None, -1)])
    with pytest.raises(ValueError):
        _core.tar_write([("x", "0", 0o644, 0, 3, b"ab", None, -1)])


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar not installed")
def test_gnu_tar_lists_and_extracts(tmp_path: Path, src: Path) -> None:
    with open(src, "rb") as f:
        data = _core.tar_write(entries(f.fileno(), src.stat().st_size))
    arc = tmp_path / "a.tar"
    arc.write_bytes(data)
    r = subprocess.run(["tar", "-tf", str(arc)], capture_output=True, text=True, check=True)
    assert r.stderr == ""
    assert r.stdout.splitlines() == ["dir/", "dir/a.txt", "dir/ln", "dir/longln", LONG, SPLIT, "empty",
                                     "exactly512", "big.bin"]
    out = tmp_path / "x"
    out.mkdir()
    subprocess.run(["tar", "-xf", str(arc), "-C", str(out)], check=True, capture_output=True)
    assert (out / "big.bin").read_bytes() == src.read_bytes()
    assert (out / LONG).read_bytes() == b"abc"
    assert os.readlink(out / "dir/longln") == LONG_TARGET

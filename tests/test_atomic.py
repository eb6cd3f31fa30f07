"""Result files are written whole or not at all, with the usual permissions."""
from __future__ import annotations

import os
import stat

import pytest

from enginepools._atomic import atomic_write, write_text


def test_new_file_gets_umask_mode_and_existing_file_keeps_its_mode(tmp_path):
    old = os.umask(0o022)
    try:
        p = tmp_path / "r.txt"
        write_text(p, "one")
        assert stat.S_IMODE(p.stat().st_mode) == 0o644
        p.chmod(0o640)
        write_text(p, "two")
        assert p.read_text() == "two" and stat.S_IMODE(p.stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_failure_midway_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "r.txt"
    write_text(p, "old")
    with pytest.raises(RuntimeError):
        with atomic_write(p) as f:
            f.write("half")
            raise RuntimeError("interrupted")
    assert p.read_text() == "old"
    assert [q.name for q in tmp_path.iterdir()] == ["r.txt"]

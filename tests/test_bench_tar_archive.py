"""The TarArchive kernel writes a real archive: Python's tarfile and GNU tar
read back the same names and contents, pooled and plain buffers give the
same bytes, and the kernel's accounting is one copy buffer per file."""
from __future__ import annotations

import io
import shutil
import subprocess
import tarfile

import pytest

from enginepools import _core


@pytest.fixture(scope="module")
def archive():
    return _core.bench_tar_archive(True)


def test_pooled_and_plain_buffers_write_identical_bytes(archive):
    data, files = archive
    plain, files2 = _core.bench_tar_archive(False)
    assert data == plain and files == files2
    assert len(data) % 10240 == 0


def test_python_tarfile_reads_names_and_contents(archive):
    data, files = archive
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tf:
        members = tf.getmembers()
        assert [m.name for m in members] == [n.rstrip("/") for n, _, _ in files]
        for m, (name, kind, content) in zip(members, files):
            if kind == "5":
                assert m.isdir()
            else:
                assert m.isfile() and m.size == len(content)
                assert tf.extractfile(m).read() == content, name
    assert any(len(n) > 100 for n, _, _ in files)


@pytest.mark.skipif(shutil.which("tar") is None, reason="needs GNU tar")
def test_gnu_tar_extracts_the_same_files(archive, tmp_path):
    data, files = archive
    (tmp_path / "a.tar").write_bytes(data)
    listing = subprocess.run(["tar", "-tf", "a.tar"], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert [line.rstrip("/") for line in listing.stdout.splitlines()] == [n.rstrip("/") for n, _, _ in files]
    out = tmp_path / "x"
    out.mkdir()
    subprocess.run(["tar", "-xf", "../a.tar"], cwd=out, capture_output=True, check=True)
    for name, kind, content in files:
        p = out / name
        if kind == "5":
            assert p.is_dir()
        else:
            assert p.read_bytes() == content, name


def test_kernel_accounting_one_buffer_per_file(archive):
    _, files = archive
    h = _core.bench_open("TarArchive/impl=std", 1)
    r = _core.bench_run(h, 10)
    _core.bench_close(h)
    assert r["alloc_objects"] == 10 * len(files) and r["alloc_bytes"] == 10 * len(files) * 65536
    h = _core.bench_open("TarArchive/impl=pool", 1)
    _core.bench_run(h, 2)
    r = _core.bench_run(h, 10)
    _core.bench_close(h)
    assert r["alloc_objects"] == 0 and r["units"]["hits/op"] == len(files)

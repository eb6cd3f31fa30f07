"""The build-context pipeline: identical archives in every pool configuration,
hashes equal to hashlib's, bad input skipped and counted, -o replaced only
by a complete archive, and the ab command's output."""
from __future__ import annotations

import filecmp
import hashlib
import io
import os
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from enginepools.bench import benchfmt
from enginepools.errors import InputError, UsageError
from enginepools.e2e.pipeline import parse_pools, pools_label, run_pipeline
from enginepools.e2e.treegen import TreeSpec, generate

CONFIGS = ["none", "string", "hash", "tar", "string,hash", "string,tar", "hash,tar", "all"]
SMALL = TreeSpec(seed=7, files=80, dirs=10, max_depth=3, median_size=1500, sigma=2.5, max_size=300_000,
                 symlink_fraction=0.05, long_name_fraction=0.05)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ctx") / "tree"
    info = generate(root, SMALL)
    assert info.files == 80 and info.symlinks == 4
    return root


def regular_files(root: Path) -> dict[str, Path]:
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = Path(dirpath, f)
            if p.is_file() and not p.is_symlink():
                out[p.relative_to(root).as_posix()] = p
    return out


def test_archives_identical_across_configurations_and_match_the_tree(tree: Path, tmp_path: Path) -> None:
    data = {}
    for c in CONFIGS:
        out = tmp_path / f"{pools_label(parse_pools(c))}.tar"
        r = run_pipeline(tree, c, out)
        assert (r.files, r.symlinks, r.dirs) == (80, 4, 10)
        assert r.skipped == {"unreadable": 0, "vanished": 0, "special": 0}
        data[c] = out.read_bytes()
        assert r.archive_bytes == len(data[c]) and len(data[c]) % 10240 == 0
    assert len(set(data.values())) == 1
    with tarfile.open(fileobj=io.BytesIO(data["all"])) as t:
        members = t.getmembers()
        names = [m.name for m in members]
        assert any(len(n) > 100 for n in names)  # long names went through prefix / GNU 'L'
        for m in members:
            src = tree / m.name
            if m.isfile():
                assert t.extractfile(m).read() == src.read_bytes()
            elif m.issym():
                assert m.linkname == os.readlink(src)
            else:
                assert m.isdir() and src.is_dir()
    assert set(names) == {p.relative_to(tree).as_posix() for p in tree.rglob("*")}


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar not installed")
def test_gnu_tar_lists_and_extracts_the_same_tree(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "ctx.tar"
    run_pipeline(tree, "all", out)
    listed = subprocess.run(["tar", "-tf", str(out)], capture_output=True, text=True, check=True)
    assert listed.stderr == ""
    with tarfile.open(out) as t:
        assert [n.rstrip("/") for n in listed.stdout.splitlines()] == t.getnames()
    dest = tmp_path / "x"
    dest.mkdir()
    subprocess.run(["tar", "-xf", str(out), "-C", str(dest)], check=True, capture_output=True)
    cmp = filecmp.dircmp(tree, dest)

    def same(c: filecmp.dircmp) -> bool:
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        return not (c.left_only or c.right_only or mismatch or errors) and all(same(s) for s in c.subdirs.values())

    assert same(cmp)


def test_every_hash_equals_hashlib(tree: Path) -> None:
    for c in ("none", "all"):
        r = run_pipeline(tree, c, keep_hashes=True)
        files = regular_files(tree)
        assert r.hashes is not None and set(r.hashes) == set(files)
        for rel, p in files.items():
            assert r.hashes[rel] == hashlib.sha256(p.read_bytes()).hexdigest(), rel
        assert r.bytes_hashed == sum(p.stat().st_size for p in files.values())


def test_pool_switches_change_only_where_memory_comes_from(tree: Path) -> None:
    none = run_pipeline(tree, "none")
    allp = run_pipeline(tree, "all")
    assert none.image_tag == allp.image_tag and none.archive_bytes == allp.archive_bytes
    assert none.pool_stats == {} and set(allp.pool_stats) == {"string", "hash", "tar"}
    assert allp.pool_stats["hash"]["gets"] == 80  # one read buffer per file
    assert allp.pool_stats["hash"]["hits"] > 0 and allp.pool_stats["tar"]["hits"] > 0
    # per-file 64 KiB buffers from ep_alloc without pools; reused with them
    assert allp.alloc["alloc_bytes"] < none.alloc["alloc_bytes"] / 4


# ------------------------------------------------------------------ bad input

@pytest.fixture
def bad_tree(tmp_path: Path) -> Path:
    root = tmp_path / "bad"
    (root / "d").mkdir(parents=True)
    (root / "d" / "ok.txt").write_bytes(b"fine\n")
    (root / "d" / "gone.txt").write_bytes(b"vanishes\n")
    (root / "late.txt").write_bytes(b"vanishes after hashing\n")
    (root / "shrinks.bin").write_bytes(b"x" * 5000)
    os.mkfifo(root / "fifo")
    os.symlink("does/not/exist", root / "dangling")
    return root


def test_special_files_skipped_dangling_symlinks_stored(bad_tree: Path, tmp_path: Path) -> None:
    sock_path = bad_tree / "sock"
    import socket

    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(sock_path))
        r = run_pipeline(bad_tree, "all", tmp_path / "o.tar")
    finally:
        s.close()
    assert r.skipped["special"] == 2  # fifo + socket
    assert r.dangling_symlinks == 1 and r.symlinks == 1
    with tarfile.open(tmp_path / "o.tar") as t:
        assert "fifo" not in t.getnames() and "sock" not in t.getnames()
        assert t.getmember("dangling").linkname == "does/not/exist"


def test_paths_vanishing_mid_run_are_counted_not_fatal(bad_tree: Path, tmp_path: Path) -> None:
    def hook(phase: str) -> None:
        if phase == "walked":
            (bad_tree / "d" / "gone.txt").unlink()  # vanishes before hashing
            (bad_tree / "d" / "swapped").unlink()  # a file replaced by a fifo: skipped, never blocked on
            os.mkfifo(bad_tree / "d" / "swapped")
        elif phase == "hashed":
            (bad_tree / "late.txt").unlink()  # vanishes before archiving
            with open(bad_tree / "shrinks.bin", "r+b") as f:
                f.truncate(100)

    (bad_tree / "d" / "swapped").write_bytes(b"regular at walk time")
    out = tmp_path / "o.tar"
    r = run_pipeline(bad_tree, "all", out, keep_hashes=True, _hook=hook)
    assert r.skipped["vanished"] == 2
    assert r.skipped["special"] == 2  # the fifo of the fixture and the swapped file
    assert r.changed == 1
    with tarfile.open(out) as t:
        names = t.getnames()
        assert "d/gone.txt" not in names and "late.txt" not in names
        assert t.extractfile("d/ok.txt").read() == b"fine\n"
        assert t.getmember("shrinks.bin").size == 100
    assert set(r.hashes or {}) == {"d/ok.txt", "shrinks.bin"}


def test_unreadable_file_and_directory_are_skipped(bad_tree: Path, tmp_path: Path) -> None:
    (bad_tree / "secret").write_bytes(b"no")
    (bad_tree / "locked").mkdir()
    (bad_tree / "locked" / "inside").write_bytes(b"x")
    (bad_tree / "secret").chmod(0)
    (bad_tree / "locked").chmod(0)
    out = tmp_path / "o.tar"
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); from enginepools.e2e.pipeline import run_pipeline; "
            "r = run_pipeline(sys.argv[2], 'none', sys.argv[3]); "
            "print(json.dumps([r.skipped['unreadable'], r.unreadable_dirs]))")
    cmd = [sys.executable, "-c", code, str(Path(__file__).resolve().parent.parent), str(bad_tree), str(out)]
    try:
        if os.geteuid() == 0:
            # root reads any file: drop the capabilities that let it (CI runs tests as root)
            if shutil.which("setpriv") is None:
                pytest.skip("running as root without setpriv: cannot make a file unreadable")
            cmd = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
                   "--bounding-set=-dac_override,-dac_read_search", *cmd]
        r = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        (bad_tree / "secret").chmod(0o644)
        (bad_tree / "locked").chmod(0o755)
    if r.returncode != 0 and "setpriv" in r.stderr:
        pytest.skip(f"setpriv cannot drop capabilities here: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    import json

    assert json.loads(r.stdout) == [1, 1]
    with tarfile.open(out) as t:
        names = t.getnames()
        assert "secret" not in names and "locked" in names and "locked/inside" not in names


def test_bad_root_and_bad_pools_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such directory"):
        run_pipeline(tmp_path / "missing")
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        run_pipeline(tmp_path / "f")
    with pytest.raises(UsageError, match="unknown pool 'fast'"):
        parse_pools("hash,fast")


# ------------------------------------------------------------- -o atomicity

def test_existing_output_kept_when_run_fails(bad_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "keep.tar"
    out.write_bytes(b"OLD ARCHIVE")

    def boom(phase: str) -> None:
        if phase == "hashed":
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        run_pipeline(bad_tree, "all", out, _hook=boom)
    assert out.read_bytes() == b"OLD ARCHIVE"
    assert sorted(os.listdir(tmp_path)) == ["bad", "keep.tar"]  # no temp file left


def test_ctrl_c_stops_between_files_and_keeps_output(bad_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "keep.tar"
    out.write_bytes(b"OLD")

    def interrupt(phase: str) -> None:
        if phase == "walked":
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        run_pipeline(bad_tree, "all", out, _hook=interrupt)
    assert out.read_bytes() == b"OLD"
    assert sorted(os.listdir(tmp_path)) == ["bad", "keep.tar"]


def test_complete_run_replaces_output(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "ctx.tar"
    out.write_bytes(b"OLD")
    run_pipeline(tree, "none", out)
    assert tarfile.is_tarfile(out)


# ------------------------------------------------------------------- CLI

def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "enginepools", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})


def test_cli_pipeline_hashes_and_output(tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from enginepools.cli import main

    out = tmp_path / "o.tar"
    assert main(["pipeline", str(tree), "-pools", "hash,tar", "-o", str(out), "-hashes"]) == 0
    stdout = capsys.readouterr().out
    assert "pools=hash+tar" in stdout and tarfile.is_tarfile(out)
    sums = dict(line.split("  ", 1)[::-1] for line in stdout.splitlines() if len(line.split("  ", 1)[0]) == 64)
    assert len(sums) == 80
    for rel, h in sums.items():
        assert hashlib.sha256((tree / rel).read_bytes()).hexdigest() == h


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from enginepools.cli import main

    assert main(["pipeline", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err.strip() == f"enginepools pipeline: {tmp_path / 'nope'}: no such directory"
    assert main(["pipeline", str(tmp_path), "-pools", "bogus"]) == 2
    assert "unknown pool 'bogus'" in capsys.readouterr().err
    assert main(["ab", str(tmp_path), "-count", "0"]) == 2
    assert "-count: must be at least 1" in capsys.readouterr().err


def test_ab_count_2_writes_go_format_and_json(tree: Path, tmp_path: Path) -> None:
    txt, js = tmp_path / "ab.txt", tmp_path / "ab.json"
    r = cli("ab", str(tree), "-count", "2", "-target", "0", "-configs", "none,hash", "-warmup", "0", "-o", str(txt),
            "-json", str(js), "-q")
    assert r.returncode == 0, r.stderr
    for path in (txt, js):
        recs = benchfmt.read(path)
        assert sorted(x.parts["pools"] for x in recs) == ["hash", "hash", "none", "none"]
        for x in recs:
            assert x.base == "BenchmarkPipeline" and x.iterations == 1
            assert {"ns/op", "cpu-ns/op", "peak-RSS-B", "minor-faults/op", "B/op", "allocs/op"} <= set(x.values)
            assert x.values["peak-RSS-B"] > 1 << 20
    # interleaved: none, hash, then hash, none
    assert [x.parts["pools"] for x in benchfmt.read(txt)] == ["none", "hash", "hash", "none"]
    assert "ns/op" in r.stdout and "hash" in r.stdout


@pytest.mark.slow
def test_ab_heap_profiles_feed_the_report(tree: Path, tmp_path: Path) -> None:
    from enginepools.report.pipeline import pipeline_section

    js = tmp_path / "ab.json"
    r = cli("ab", str(tree), "-count", "1", "-target", "0", "-configs", "none,hash", "-warmup", "0", "-json", str(js), "-q",
            "-heapprofiles", str(tmp_path / "heap"))
    assert r.returncode == 0, r.stderr
    # one heap profile per configuration, named in the JSON, used by the report section
    assert sorted(os.listdir(tmp_path / "heap")) == ["heap-hash.pb.gz", "heap-none.pb.gz"]
    md = pipeline_section(str(js), figures=False).markdown
    assert "### Where the pipeline's memory goes (pools=none)" in md
    assert "| hash read buffers | 5 MiB |" in md  # 80 files x 64 KiB read buffers without the pool


def test_paths_too_long_to_archive_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "deep"
    root.mkdir()
    (root / "top.txt").write_bytes(b"top")
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(20):  # 20 x 251 bytes: the path passes PATH_MAX (4096) at level 17
            name = "n" * 250
            os.mkdir(name, dir_fd=fd)
            nfd = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        with open(os.open("leaf.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "wb") as f:
            f.write(b"too deep")
    finally:
        os.close(fd)
    out = tmp_path / "o.tar"
    r = run_pipeline(root, "all", out)
    assert r.skipped["unreadable"] == 1 and r.files == 1 and r.dirs == 16
    with tarfile.open(out) as t:
        assert max(len(n) for n in t.getnames()) < 4096


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_write_error_is_reported_with_the_output_name(tree: Path) -> None:
    from enginepools.e2e import pipeline as pl

    fd = os.open("/dev/full", os.O_WRONLY)
    try:
        with pytest.raises(InputError, match=r"out\.tar: writing the archive: No space left on device"):
            pl._run_core(str(tree), fd, {"pools": pl.pools_mask({"tar"})}, "out.tar")
    finally:
        os.close(fd)


def test_paths_vanishing_during_the_walk_are_counted(bad_tree: Path, tmp_path: Path) -> None:
    (bad_tree / "zdir").mkdir()
    (bad_tree / "zdir" / "f").write_bytes(b"x")
    calls = []

    def hook(phase: str) -> None:
        calls.append(phase)
        if calls.count("walk") == 1:  # the root is listed; its entries are not looked at yet
            (bad_tree / "late.txt").unlink()
            shutil.rmtree(bad_tree / "zdir")

    out = tmp_path / "o.tar"
    r = run_pipeline(bad_tree, "all", out, _hook=hook)
    assert r.skipped["vanished"] == 2 and r.files == 3
    assert calls.count("walked") == 1 and calls.count("hashed") == 1
    with tarfile.open(out) as t:
        assert not {"late.txt", "zdir", "zdir/f"} & set(t.getnames())

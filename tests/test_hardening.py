"""Regression tests for issue 18's findings (those the bad-input matrix does
not already cover case by case): what a user points us at can neither
destroy a file, nor exhaust memory, nor end in a traceback."""
from __future__ import annotations

import gzip
import json
import math
import os
import shutil
import stat
import subprocess
import sys
import threading
from fractions import Fraction
from pathlib import Path

import pytest

from enginepools import _atomic
from enginepools._inputs import read_input
from enginepools.cli import main
from enginepools.errors import InputError, UsageError

ROOT = Path(__file__).resolve().parents[1]


def _small_profile_bytes(compress: bool = True) -> bytes:
    from enginepools.pprof.profile import ProfileBuilder

    b = ProfileBuilder()
    b.add_sample([1, 64, 1, 64], [("f", "f.c", 1), ("main", "m.c", 2)])
    return b.build().to_bytes(compress=compress)


# ---- 1. outputs never replace what is not a regular file -------------------------

def _drain(path: Path, into: list[bytes]) -> threading.Thread:
    def run() -> None:
        with open(path, "rb") as f:
            into.append(f.read())
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_fifo_is_written_in_place(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    t = _drain(fifo, got)
    _atomic.write_text(fifo, "through the pipe\n")
    t.join(10)
    assert got == [b"through the pipe\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]  # no temp file left beside


def test_symlink_is_followed_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("old")
    os.chmod(tmp_path / "real.txt", 0o640)
    os.symlink("real.txt", tmp_path / "link")
    _atomic.write_text(tmp_path / "link", "new")
    assert os.readlink(tmp_path / "link") == "real.txt"
    assert (tmp_path / "real.txt").read_text() == "new"
    assert stat.S_IMODE(os.stat(tmp_path / "real.txt").st_mode) == 0o640
    # a dangling link: its target is created, the link stays
    os.symlink("later.txt", tmp_path / "dangling")
    _atomic.write_bytes(tmp_path / "dangling", b"x")
    assert os.path.islink(tmp_path / "dangling") and (tmp_path / "later.txt").read_bytes() == b"x"


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_device_node_is_written_in_place_and_block_devices_refused(tmp_path: Path) -> None:
    null = tmp_path / "devnull"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    _atomic.write_text(null, "discarded")
    _atomic.check_writable(null)
    assert stat.S_ISCHR(os.lstat(null).st_mode) and os.lstat(null).st_rdev == os.makedev(1, 3)
    blk = tmp_path / "blk"
    os.mknod(blk, stat.S_IFBLK | 0o600, os.makedev(7, 0))
    with pytest.raises(InputError, match="block device"):
        _atomic.write_text(blk, "no")
    with pytest.raises(InputError, match="block device"):
        _atomic.check_writable(blk)


def test_bench_outputs_to_fifo_and_symlink(tmp_path: Path, capsys) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "real.txt").write_text("old")
    os.symlink("real.txt", tmp_path / "link")
    got: list[bytes] = []
    t = _drain(fifo, got)
    rc = main(["bench", "-bench", "SHA256/", "-benchtime", "1x", "-count", "1", "-cpu", "1", "-progress", "off",
               "-json", str(fifo), "-o", str(tmp_path / "link")])
    t.join(30)
    assert rc == 0, capsys.readouterr().err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.path.islink(tmp_path / "link")
    assert json.loads(got[0])  # the JSON went through the pipe
    assert "BenchmarkSHA256" in (tmp_path / "real.txt").read_text()


def test_pipeline_archive_and_top_output_to_fifos(tmp_path: Path, capsys) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.txt").write_text("hello")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    t = _drain(fifo, got)
    assert main(["pipeline", "-o", str(fifo), str(tree)]) == 0, capsys.readouterr().err
    t.join(30)
    assert len(got[0]) % 512 == 0 and b"a.txt" in got[0]  # a whole tar archive went through the pipe
    prof = tmp_path / "p.pb.gz"
    prof.write_bytes(_small_profile_bytes())
    t = _drain(fifo, got)
    assert main(["top", "-output", str(fifo), str(prof)]) == 0
    t.join(30)
    assert b"100%" in got[1] and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_empty_output_paths_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="-o: empty"):
        _atomic.check_writable("", "-o")


# ---- 2. reading: no pre-allocation, gzip capped -------------------------------------

def test_reader_does_not_preallocate_its_limit(tmp_path: Path) -> None:
    p = tmp_path / "small"
    p.write_bytes(b"abc")
    assert bytes(read_input(p, "thing", 1 << 62)) == b"abc"  # a 4 EiB pre-allocation could never succeed


def test_reader_stops_at_the_limit_on_a_pipe(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with contextlib_suppress_pipe(), open(fifo, "wb") as f:
            for _ in range(64):
                f.write(b"x" * 65536)
    t = threading.Thread(target=feed, daemon=True)
    t.start()
    with pytest.raises(InputError, match="more than the 100000 bytes"):
        read_input(fifo, "thing", 100_000)
    t.join(10)


class contextlib_suppress_pipe:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> bool:
        return exc[0] in (BrokenPipeError,)


def test_gzip_cap_is_exact(monkeypatch) -> None:
    from enginepools.pprof.profile import Profile, ProfileFormatError

    raw = _small_profile_bytes(compress=False)
    gz = gzip.compress(raw)
    monkeypatch.setenv("ENGINEPOOLS_MAX_INFLATED", str(len(raw)))
    assert Profile.from_bytes(gz, source="ok.pb.gz").sample_types  # exactly at the cap: read
    monkeypatch.setenv("ENGINEPOOLS_MAX_INFLATED", str(len(raw) - 1))
    with pytest.raises(ProfileFormatError, match=f"inflates to more than {len(raw) - 1} bytes.*ENGINEPOOLS_MAX_INFLATED"):
        Profile.from_bytes(gz, source="big.pb.gz")


def test_gzip_bomb_refused_with_memory_bounded_by_the_cap(tmp_path: Path) -> None:
    # 256 MiB of zeros (one gzip member, ~250 KB) under a 16 MiB cap, in a
    # child whose address space is limited to 1 GB: without the streaming cap
    # the inflate buffer alone would not fit.
    bomb = tmp_path / "bomb.pb.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as f:
        for _ in range(64):
            f.write(b"\0" * (4 << 20))
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1_000_000_000, 1_000_000_000)); "
            "from enginepools.cli import main; sys.exit(main(['top', sys.argv[1]]))")
    r = subprocess.run([sys.executable, "-c", code, str(bomb)], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, ENGINEPOOLS_MAX_INFLATED="16M", OPENBLAS_NUM_THREADS="1"))
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip().splitlines() == [r.stderr.strip()] and "inflates to more than 16777216" in r.stderr


def test_top_under_a_1gb_address_space_limit(tmp_path: Path) -> None:
    # (ulimit -v 1000000; enginepools top small.pb.gz)
    p = tmp_path / "small.pb.gz"
    p.write_bytes(_small_profile_bytes())
    exe = shutil.which("enginepools") or f"{sys.executable} -m enginepools"
    r = subprocess.run(["bash", "-c", f"ulimit -v 1000000; {exe} top {p}"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "64B   100%" in r.stdout


# ---- 3. statistics with many samples -----------------------------------------------

@pytest.mark.parametrize("n1,n2", [(515, 515), (600, 3), (2000, 2000)])
def test_min_p_value_big_samples(n1: int, n2: int) -> None:
    from enginepools.analysis.stats import min_p_value

    want = float(Fraction(2, math.comb(n1 + n2, n1)))  # exact, then rounded once
    got = min_p_value(n1, n2)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-320)


def test_compare_and_verdict_with_600_samples_per_side(tmp_path: Path, capsys) -> None:
    old = tmp_path / "old.txt"
    new = tmp_path / "new.txt"
    old.write_text("".join(f"BenchmarkA-2 100 {100 + i % 7} ns/op\n" for i in range(600)))
    new.write_text("".join(f"BenchmarkA-2 100 {80 + i % 7} ns/op\n" for i in range(600)))
    assert main(["compare", str(old), str(new)]) == 0
    assert "-19.42%" in capsys.readouterr().out  # medians 103 → 83: (83 - 103) / 103
    assert main(["verdict", str(old), str(new)]) == 0
    assert "keep" in capsys.readouterr().out


# ---- 4. top: int64 wrap as pprof, -dot on an empty graph ------------------------------

def test_sums_past_2_63_wrap_as_pprof_does(tmp_path: Path, capsys) -> None:
    from enginepools.pprof.profile import ProfileBuilder

    b = ProfileBuilder(sample_types=[("samples", "count")], period_type=None, period=1)
    b.add_sample([2 ** 63 - 1], [("f", "m.go", 2), ("main", "m.go", 1)])
    b.add_sample([2 ** 63 - 1], [("g", "m.go", 3), ("main", "m.go", 1)])
    b.add_sample([5], [("g", "m.go", 4), ("main", "m.go", 1)])
    p = tmp_path / "big.pb.gz"
    b.build().write(p)
    assert main(["top", str(p)]) == 0
    out = capsys.readouterr().out
    # recorded from `go tool pprof -top` (go 1.19) on this profile: the total
    # 2*(2^63-1)+5 wraps to 3 in int64
    assert "Showing nodes accounting for 3, 100% of 3 total" in out
    assert "         0     0%   100%          3   100%  main" in out


def test_dot_of_an_empty_graph_is_its_legend_as_in_pprof(tmp_path: Path, capsys) -> None:
    p = tmp_path / "p.pb.gz"
    p.write_bytes(_small_profile_bytes())
    # go tool pprof -dot writes the digraph with its legend and no node when
    # the filters leave nothing; a picture of nothing stays an error
    assert main(["top", "-dot", "-focus", "NOMATCH", str(p)]) == 0
    out = capsys.readouterr().out
    assert out.startswith('digraph "') and out.endswith("}\n") and "Active filters:\\l   focus=NOMATCH" in out
    assert "\nN1 " not in out
    assert main(["top", "-png", "-focus", "NOMATCH", "-output", str(tmp_path / "x.png"), str(p)]) == 2
    assert capsys.readouterr().err.strip().endswith("nothing to draw: no node is left (everything filtered or pruned)")


# ---- 5/8. JSON of non-finite results; big values ------------------------------------------

def test_compare_json_writes_null_for_an_overflowing_ratio(tmp_path: Path, capsys) -> None:
    tiny = tmp_path / "tiny.txt"
    huge = tmp_path / "huge.txt"
    tiny.write_text("".join(f"BenchmarkA-2 1 {v}e-300 ns/op\n" for v in (1, 2, 1, 1, 1, 3)))
    huge.write_text("".join(f"BenchmarkA-2 1 {v}e299 ns/op\n" for v in (10, 9, 10, 9.5, 10, 10)))
    assert main(["compare", "-format", "json", str(tiny), str(huge)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["delta_pct"] is None  # +1e600 % is not a JSON number
    assert rows[0]["new"]["median"] == 1e300  # the median of values near the top stays finite
    assert main(["verdict", "-format", "json", str(tiny), str(huge)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["decision"] == "remove"


# ---- 7. wait_all with an infinite timeout waits -----------------------------------------------

@pytest.mark.parametrize("timeout", [math.inf, 1e300, 10 ** 400])
def test_wait_all_infinite_timeout_waits_until_done(timeout) -> None:
    from enginepools.pools import WorkerPool

    w = WorkerPool(1)
    try:
        w.submit_c("sleep", 200_000)  # 0.2 s, in microseconds
        assert w.wait_all(timeout) is True
        assert w.stats()["pending"] == 0 if "pending" in w.stats() else True
    finally:
        w.shutdown()


# ---- 12. the fuzz targets build and run clean ----------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(shutil.which("clang") is None, reason="needs clang and libfuzzer-14-dev")
def test_libfuzzer_pprof_decode_short_run(tmp_path: Path) -> None:
    r = subprocess.run([str(ROOT / "fuzz" / "run.sh"), "pprof_decode", "5"], capture_output=True, text=True,
                       timeout=600, env=dict(os.environ, FUZZ_WORK=str(tmp_path)))
    if "cannot find" in r.stderr and "fuzzer" in r.stderr:
        pytest.skip("libFuzzer runtime not installed")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "DONE" in r.stderr and "cov:" in r.stderr

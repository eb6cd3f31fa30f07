"""Peer tests against the real pprof: `enginepools top` must print exactly
what `go tool pprof -top` prints, for profiles written by a small Go program
(heap, allocs and CPU with pprof labels) and for profiles we write with
ProfileBuilder."""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from enginepools.cli import main
from enginepools.pprof.profile import ProfileBuilder

pytestmark = [pytest.mark.go, pytest.mark.skipif(shutil.which("go") is None, reason="needs the go toolchain")]

GO_MAIN = Path(__file__).parent / "data" / "pprof_peer_main.go"


def _go_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ, GOFLAGS="-mod=mod", GOTOOLCHAIN="local", GOPROXY="off", GO111MODULE="on")
    home = env.get("HOME", "")
    if not home or not os.access(home, os.W_OK):
        env["HOME"] = str(tmp)
    env.setdefault("GOCACHE", str(Path(env["HOME"]) / ".cache" / "go-build"))
    return env


@pytest.fixture(scope="module")
def go_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return _go_env(tmp_path_factory.mktemp("gohome"))


@pytest.fixture(scope="module")
def go_profiles(tmp_path_factory: pytest.TempPathFactory, go_env: dict[str, str]) -> Path:
    src = tmp_path_factory.mktemp("peer")
    shutil.copy(GO_MAIN, src / "main.go")
    (src / "go.mod").write_text("module peer\n\ngo 1.19\n")
    subprocess.run(["go", "build", "-o", "peer", "."], cwd=src, env=go_env, check=True, timeout=300)
    out = src / "out"
    out.mkdir()
    subprocess.run([str(src / "peer"), str(out)], check=True, timeout=60)
    return out


def go_top(env: dict[str, str], cwd: Path, *args: str) -> str:
    top = [] if {"-text", "-traces", "-tags"} & set(args) else ["-top"]
    r = subprocess.run(["go", "tool", "pprof", *top, *args], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def our_top(cwd: Path, *args: str) -> str:
    out = io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            rc = main(["top", *args])
    finally:
        os.chdir(old)
    assert rc == 0
    return out.getvalue()


def test_text_is_top(go_env: dict[str, str], go_profiles: Path) -> None:
    args = ("-text", "-nodefraction=0", "heap2.prof")
    want = go_top(go_env, go_profiles, *args)
    assert "main.allocLarge" in want
    assert our_top(go_profiles, *args) == want == our_top(go_profiles, "-nodefraction=0", "heap2.prof")


@pytest.mark.parametrize("args", [
    ("heap2.prof",), ("-sample_index=alloc_space", "heap2.prof"), ("-focus=alloc", "allocs.prof"),
    ("cpu.prof",), ("-tagfocus=pool=hash", "cpu.prof"), ("-lines", "-mean", "heap1.prof"),
    ("-unit=kb", "-hide=runtime", "heap2.prof"),
])
def test_traces(go_env: dict[str, str], go_profiles: Path, args: tuple[str, ...]) -> None:
    want = go_top(go_env, go_profiles, "-traces", *args)
    assert want.count("-----------+") > 2
    assert our_top(go_profiles, "-traces", *args) == want


@pytest.mark.parametrize("args", [
    ("heap2.prof",), ("-sample_index=alloc_space", "allocs.prof"), ("cpu.prof",), ("-focus=spin", "cpu.prof"),
    ("-unit=kb", "heap1.prof"), ("-tagignore=pool=hash", "-unit=ms", "cpu.prof"),
])
def test_tags(go_env: dict[str, str], go_profiles: Path, args: tuple[str, ...]) -> None:
    want = go_top(go_env, go_profiles, "-tags", *args)
    assert "Total" in want
    assert our_top(go_profiles, "-tags", *args) == want


@pytest.mark.parametrize("flags", [[], ["-sample_index=alloc_objects"], ["-unit=mb", "-focus=bufpool"]])
def test_tags_of_what_we_write(go_env: dict[str, str], tmp_path: Path, flags: list[str]) -> None:
    built_heap_profile().build().write(tmp_path / "ours.prof")
    args = ("-tags", *flags, "ours.prof")
    want = go_top(go_env, tmp_path, *args)
    assert "pool: Total" in want and "size_class: Total" in want
    assert our_top(tmp_path, *args) == want


HEAP_INDEXES = ["", "alloc_objects", "alloc_space", "inuse_objects", "inuse_space", "0", "3"]


@pytest.mark.parametrize("name", ["heap1.prof", "heap2.prof", "allocs.prof"])
@pytest.mark.parametrize("si", HEAP_INDEXES)
def test_heap_every_sample_index(go_env: dict[str, str], go_profiles: Path, name: str, si: str) -> None:
    args = ("-nodefraction=0", f"-sample_index={si}", name)
    want = go_top(go_env, go_profiles, *args)
    assert "main.allocLarge" in want
    assert our_top(go_profiles, *args) == want


@pytest.mark.parametrize("si", ["", "samples", "cpu"])
def test_cpu_every_sample_index(go_env: dict[str, str], go_profiles: Path, si: str) -> None:
    args = ("-nodefraction=0", f"-sample_index={si}", "cpu.prof")
    want = go_top(go_env, go_profiles, *args)
    assert "Duration:" in want
    assert our_top(go_profiles, *args) == want


@pytest.mark.parametrize("flags", [
    ["-cum"], ["-nodefraction=0", "-cum"], ["-focus=alloc"], ["-nodecount=3"], ["-nodecount=4", "-cum"],
    ["-ignore=runtime", "-nodefraction=0"], ["-tagfocus=bytes=1kb:"], ["-tagfocus=bytes=64b"],
    ["-diff_base=heap1.prof", "-nodefraction=0"], ["-base=heap1.prof"], ["-lines"], ["-noinlines"],
    ["-sample_index=alloc_space", "-nodefraction=0.02"], ["-hide=runtime", "-show=main"],
    ["-unit=kb"], ["-unit=mb", "-cum"], ["-unit=bytes", "-sample_index=alloc_space"], ["-unit=s"],
    ["-sample_index=alloc_objects", "-unit=kb"], ["-show_from=main"], ["-prune_from=runtime"],
])
def test_heap_flags(go_env: dict[str, str], go_profiles: Path, flags: list[str]) -> None:
    args = (*flags, "heap2.prof")
    assert our_top(go_profiles, *args) == go_top(go_env, go_profiles, *args)


@pytest.mark.parametrize("flags", [
    ["-tagfocus=pool=hash"], ["-tagfocus=size_class=64k"], ["-tagignore=pool=hash"], ["-tagfocus=hash,tar"],
    ["-cum"], ["-focus=spin"], ["-nodecount=2"], ["-unit=ms"], ["-unit=s", "-sample_index=samples"],
    ["-unit=kb"],
])
def test_cpu_flags_and_labels(go_env: dict[str, str], go_profiles: Path, flags: list[str]) -> None:
    args = ("-nodefraction=0", *flags, "cpu.prof")
    assert our_top(go_profiles, *args) == go_top(go_env, go_profiles, *args)


def built_heap_profile() -> ProfileBuilder:
    b = ProfileBuilder(time_nanos=1_764_000_000_000_000_000, comments=["written by enginepools tests"])
    b.add_mapping(0x400000, 0x800000, 0, "/opt/enginepools/app", "feedface")
    b.add_mapping(0x7F0000000000, 0x7F0000100000, 0, "/usr/lib/libc.so.6", "")
    main_ = ("main", "app.c", 40, 0x400100)
    run = ("ep_bench_run", "bench.c", 88, 0x400200)
    for i, (pool, size, n) in enumerate([("hash", 65536, 12), ("tar", 65536, 3), ("strbuf", 256, 400)]):
        get = [("ep_pool_get", "pool.c", 120 + i, 0), ("ep_bufpool_get", "bufpool.c", 60 + i, 0)]  # inlined
        alloc = ("ep_alloc", "alloc.c", 30, 0x401000 + i)
        libc = 0x7F0000001234 + i  # unsymbolized libc frame
        b.add_sample([n, n * size, n // 2, n // 2 * size], [libc, alloc, get, run, main_],
                     labels={"pool": pool, "size_class": str(size)}, num_labels={"bytes": (size, "bytes")})
    b.add_sample([7, 7 * 1024, 7, 7 * 1024], [("ep_alloc", "alloc.c", 30, 0x401000), ("kernel_json", "k.c", 9), main_])
    return b


@pytest.mark.parametrize("flags", [
    ["-sample_index=alloc_objects"], ["-sample_index=alloc_space"], ["-sample_index=inuse_objects"],
    ["-sample_index=inuse_space"], ["-cum"], ["-tagfocus=pool=hash"], ["-tagfocus=bytes=64kb"],
    ["-focus=bufpool"], ["-lines"], ["-nodecount=2"], ["-traces"], ["-traces", "-tagfocus=pool=hash"],
    ["-traces", "-addresses"], ["-text", "-unit=mb"],
])
def test_go_reads_what_we_write(go_env: dict[str, str], tmp_path: Path, flags: list[str]) -> None:
    built_heap_profile().build().write(tmp_path / "ours.prof")
    args = ("-nodefraction=0", *flags, "ours.prof")
    want = go_top(go_env, tmp_path, *args)
    assert "ep_alloc" in want or "ep_alloc" in our_top(tmp_path, *args)
    assert our_top(tmp_path, *args) == want


def test_go_reads_our_cpu_profile(go_env: dict[str, str], tmp_path: Path) -> None:
    b = ProfileBuilder(sample_types=[("samples", "count"), ("cpu", "nanoseconds")], period_type=("cpu", "nanoseconds"),
                       period=10_000_000, time_nanos=1_764_000_000_000_000_000, duration_nanos=2_500_000_000)
    b.add_sample([120, 1_200_000_000], [("spin_a", "k.c", 3), ("main", "m.c", 1)])
    b.add_sample([30, 300_000_000], [("spin_b", "k.c", 9), ("main", "m.c", 1)], labels={"pool": "tar"})
    b.build().write(tmp_path / "cpu.prof")
    for si in ("", "samples", "cpu"):
        args = (f"-sample_index={si}", "cpu.prof")
        want = go_top(go_env, tmp_path, *args)
        assert "Duration: 2.50s, Total samples = " in want and ("(60.00%)" in want or si == "samples")
        assert our_top(tmp_path, *args) == want

"""Peer tests of pprof's other reports: `enginepools top -tree / -peek /
-raw / -proto / -list / -callgrind` must print what `go tool pprof` prints
with the same flags, on profiles written by a small Go program, on profiles
we write with ProfileBuilder, on a heap profile of our own C pools (whose
-list annotates csrc/), and on the engine-ci reference profiles when they
are on this machine.  -proto writes a profile: it is checked by reading
pprof's and ours back with `go tool pprof -raw` and `-top`."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from test_pprof_peer import built_heap_profile, go_env, go_profiles  # noqa: F401  (fixtures)
from test_pprof_reports import run as ours

pytestmark = [pytest.mark.go, pytest.mark.skipif(shutil.which("go") is None, reason="needs the go toolchain")]

REPO = Path(__file__).resolve().parent.parent
ENGINE_CI = Path(os.environ.get("ENGINEPOOLS_REFERENCE", "/work/shared/reference")) / "engine-ci-profiles"


def go_pprof(env: dict[str, str], cwd: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[bytes]:
    r = subprocess.run(["go", "tool", "pprof", *args], cwd=cwd, env=env, capture_output=True, timeout=120)
    if ok:
        assert r.returncode == 0, r.stderr.decode()
    return r


def same(env: dict[str, str], cwd: Path, *args: str) -> str:
    want = go_pprof(env, cwd, *args).stdout.decode()
    rc, got, err = ours(cwd, *args)
    assert rc == 0, err
    assert got == want
    return want


GO_CASES = [
    ("-tree", "heap2.prof"), ("-tree", "cpu.prof"), ("-tree", "-cum", "-nodecount=3", "heap2.prof"),
    ("-tree", "-focus=alloc", "allocs.prof"), ("-tree", "-tagfocus=pool=hash", "cpu.prof"),
    ("-tree", "-mean", "heap2.prof"), ("-tree", "-lines", "-sample_index=alloc_space", "heap2.prof"),
    ("-tree", "-diff_base=heap1.prof", "heap2.prof"), ("-tree", "-unit=kb", "-hide=runtime", "heap2.prof"),
    ("-peek=alloc", "heap2.prof"), ("-peek=main", "cpu.prof"), ("-peek=spin", "-lines", "cpu.prof"),
    ("-peek=^main\\.main$", "-nodefraction=0.5", "heap2.prof"),
    ("-raw", "heap2.prof"), ("-raw", "cpu.prof"), ("-raw", "-tagfocus=pool=hash", "cpu.prof"),
    ("-raw", "-focus=allocLarge", "heap2.prof"), ("-raw", "-hide=runtime", "heap2.prof"),
    ("-raw", "-diff_base=heap1.prof", "heap2.prof"), ("-raw", "heap1.prof", "heap2.prof"),
    ("-callgrind", "heap2.prof"), ("-callgrind", "cpu.prof"), ("-callgrind", "-sample_index=alloc_space", "heap2.prof"),
    ("-callgrind", "-focus=spin", "cpu.prof"), ("-callgrind", "-unit=kb", "heap2.prof"),
    ("-list=main.alloc", "heap2.prof"), ("-list=.", "heap2.prof"), ("-list=spin", "cpu.prof"),
    ("-list=main", "-sample_index=alloc_space", "allocs.prof"), ("-list=viaInline", "-noinlines", "heap2.prof"),
    ("-list=.", "-mean", "heap1.prof"), ("-list=spin", "-tagfocus=pool=hash", "cpu.prof"),
    # nodes whose flat and cum are 0 leave the graph, the edges to them stay (pprof prints them)
    ("-peek=.", "-mean", "heap2.prof"), ("-callgrind", "-mean", "heap2.prof"),
    ("-callgrind", "-diff_base=heap1.prof", "heap2.prof"), ("-tree", "-nodefraction=0", "-mean", "allocs.prof"),
]


@pytest.mark.parametrize("args", GO_CASES, ids=" ".join)
def test_reports_of_go_profiles(go_env: dict[str, str], go_profiles: Path, args: tuple[str, ...]) -> None:
    want = same(go_env, go_profiles, *args)
    assert want.count("\n") > 3


def test_list_reads_the_go_source(go_env: dict[str, str], go_profiles: Path) -> None:
    want = same(go_env, go_profiles, "-list=main.allocLarge", "heap2.prof")
    assert "keep = append(keep, make([]byte, 256<<10))" in want  # the source line, annotated


def test_peek_without_a_match_fails_as_pprof(go_env: dict[str, str], go_profiles: Path) -> None:
    r = go_pprof(go_env, go_profiles, "-peek=nomatch", "heap2.prof", ok=False)
    assert r.returncode != 0 and b"no matches found for regexp: nomatch" in r.stderr
    rc, out, err = ours(go_profiles, "-peek=nomatch", "heap2.prof")
    assert rc == 2 and out == "" and "no matches found for regexp: nomatch" in err


def _proto_same(env: dict[str, str], cwd: Path, tmp: Path, *args: str) -> None:
    theirs, mine = tmp / "go.pb.gz", tmp / "ours.pb.gz"
    theirs.write_bytes(go_pprof(env, cwd, "-proto", *args).stdout)
    rc, _, err = ours(cwd, "-proto", *args, "-output", str(mine))
    assert rc == 0, err
    for report in ("-raw", "-top"):
        want = go_pprof(env, cwd, report, str(theirs)).stdout
        assert go_pprof(env, cwd, report, str(mine)).stdout == want
        assert b"Samples:" in want or b"flat%" in want


@pytest.mark.parametrize("args", [
    ("heap2.prof",), ("cpu.prof",), ("-tagfocus=pool=hash", "cpu.prof"), ("-focus=allocLarge", "heap2.prof"),
    ("-hide=runtime", "heap2.prof"), ("-diff_base=heap1.prof", "heap2.prof"), ("heap1.prof", "heap2.prof"),
    ("-show_from=main", "heap2.prof"), ("-divide_by=3", "allocs.prof"),
], ids=" ".join)
def test_proto_of_go_profiles(go_env: dict[str, str], go_profiles: Path, tmp_path: Path,
                              args: tuple[str, ...]) -> None:
    _proto_same(go_env, go_profiles, tmp_path, *args)


OURS_CASES = [
    ("-tree",), ("-tree", "-lines"), ("-tree", "-sample_index=alloc_objects"), ("-peek=ep_",),
    ("-raw",), ("-raw", "-divide_by=2"), ("-raw", "-tagfocus=pool=hash"), ("-callgrind",), ("-callgrind", "-lines"),
    ("-list=ep_",),
]


@pytest.mark.parametrize("flags", OURS_CASES, ids=" ".join)
def test_reports_of_what_we_write(go_env: dict[str, str], tmp_path: Path, flags: tuple[str, ...]) -> None:
    built_heap_profile().build().write(tmp_path / "ours.prof")
    want = same(go_env, tmp_path, *flags, "ours.prof")
    assert "ep_alloc" in want


def test_proto_of_what_we_write(go_env: dict[str, str], tmp_path: Path) -> None:
    built_heap_profile().build().write(tmp_path / "ours.prof")
    _proto_same(go_env, tmp_path, tmp_path, "-tagignore=pool=tar", "ours.prof")


@pytest.fixture(scope="module")
def engine_heap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A heap profile of our own pools, every allocation sampled: its frames
    name csrc/ files relative to the source tree."""
    from enginepools.pools import BufferPool, ObjectPool
    from enginepools.pprof.profilers import HeapProfiler

    h = HeapProfiler(1).start()
    try:
        bp, op = BufferPool(), ObjectPool(size=256)
        held = [bp.get(65536) for _ in range(8)] + [op.get() for _ in range(16)]
    finally:
        h.stop()
    path = tmp_path_factory.mktemp("engine") / "heap.prof"
    h.profile().write(path)
    del held
    return path


@pytest.mark.parametrize("flags", [("-list=bufpool_get",), ("-list=.",), ("-tree",), ("-peek=get",), ("-raw",),
                                   ("-callgrind",), ("-tree", "-lines")], ids=" ".join)
def test_reports_of_our_heap_profile(go_env: dict[str, str], engine_heap: Path, flags: tuple[str, ...]) -> None:
    want = same(go_env, REPO, *flags, str(engine_heap))
    if flags[0].startswith("-list"):
        assert "ROUTINE" in want and " Error:" not in want.split("bufpool_get in", 1)[1].split("ROUTINE")[0]


def test_list_finds_our_c_sources_from_a_subdirectory(go_env: dict[str, str], engine_heap: Path) -> None:
    want = same(go_env, REPO / "csrc", "-list=ep_bufpool_get", str(engine_heap))
    assert "csrc/bufpool.c" in want and "ep_bufpool_get(" in want  # the C source line, found from csrc/


@pytest.mark.skipif(not ENGINE_CI.is_dir(), reason="the engine-ci reference profiles are not on this machine")
@pytest.mark.parametrize("name", ["build.prof", "build_cpu.prof", "stress_1.prof"])
@pytest.mark.parametrize("flags", [("-tree",), ("-peek=Pool",), ("-raw",), ("-callgrind",), ("-list=Pool",),
                                   ("-tree", "-cum")], ids=" ".join)
def test_reports_of_engine_ci_profiles(go_env: dict[str, str], tmp_path: Path, name: str,
                                       flags: tuple[str, ...]) -> None:
    shutil.copy(ENGINE_CI / name, tmp_path / name)
    same(go_env, tmp_path, *flags, name)

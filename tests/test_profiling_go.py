"""Peer tests: the real `go tool pprof` reads the profiles we write and the
live endpoint we serve."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from enginepools import _core
from enginepools.pprof.http import PprofServer
from enginepools.pprof.profilers import CPUProfiler, HeapProfiler

pytestmark = [pytest.mark.go, pytest.mark.skipif(shutil.which("go") is None, reason="needs the go toolchain")]


def pprof(tmp_path, *args: str) -> str:
    env = dict(os.environ, PPROF_TMPDIR=str(tmp_path), HOME=str(tmp_path))
    r = subprocess.run(["go", "tool", "pprof", *args], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def rows(out: str) -> dict[str, list[str]]:
    """pprof -top rows by function name: [flat, flat%, sum%, cum, cum%]."""
    got = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[1].endswith("%") and parts[4].endswith("%"):
            got[" ".join(parts[5:])] = parts[:5]
    return got


def test_go_pprof_reads_our_heap_profile_with_labels(tmp_path) -> None:
    with HeapProfiler(rate=1) as hp:
        _core.proftest_alloc(0, 1000, 100)
        _core.proftest_pool("peer-pool", 30, 60000)
    path = tmp_path / "mem.pprof"
    hp.write(path)
    top = rows(pprof(tmp_path, "-top", "-sample_index=alloc_space", "-nodefraction=0", str(path)))
    assert top["proftest_site_a"][0] == "97.66kB"  # 100000 B, exact at rate 1
    focused = rows(pprof(tmp_path, "-top", "-sample_index=alloc_objects", "-tagfocus=pool=peer-pool",
                         "-nodefraction=0", str(path)))
    assert "proftest_site_a" not in focused
    assert int(focused["ep_bufpool_get"][3]) >= 30
    by_class = rows(pprof(tmp_path, "-top", "-sample_index=alloc_objects", "-tagfocus=size_class=64kb",
                          "-nodefraction=0", str(path)))
    assert int(by_class["ep_bufpool_get"][3]) == 30  # the 64 KiB buffers only: no magazines, no pool structs


def test_go_pprof_reads_our_cpu_profile(tmp_path) -> None:
    with CPUProfiler(hz=200) as cp:
        _core.proftest_spin(0.4)
    path = tmp_path / "cpu.pprof"
    cp.write(path)
    out = pprof(tmp_path, "-top", str(path))
    assert "Type: cpu" in out
    assert "proftest_spin_loop" in rows(out)


def test_go_pprof_fetches_the_live_heap_endpoint(tmp_path) -> None:
    hp = HeapProfiler(rate=1).start()
    try:
        _core.proftest_alloc(1, 100, 10000)
        with PprofServer("127.0.0.1:0") as srv:
            out = pprof(tmp_path, "-top", "-sample_index=alloc_space", f"http://127.0.0.1:{srv.port}/debug/pprof/heap")
    finally:
        hp.stop()
    assert "proftest_site_b" in rows(out)
    assert any(n.startswith("pprof.") for n in os.listdir(tmp_path))  # pprof saved what it fetched


def test_go_pprof_fetches_a_live_cpu_profile(tmp_path) -> None:
    import threading

    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            _core.proftest_spin(0.05)

    t = threading.Thread(target=spin)
    t.start()
    try:
        with PprofServer("127.0.0.1:0") as srv:
            out = pprof(tmp_path, "-seconds", "1", "-top", f"http://127.0.0.1:{srv.port}/debug/pprof/profile")
    finally:
        stop.set()
        t.join()
    assert "Type: cpu" in out and "proftest_spin_loop" in rows(out)


def ours_top(*args: str) -> str:
    import contextlib
    import io

    from enginepools.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["top", *args])
    assert rc in (0, None)
    return out.getvalue()


def test_go_pprof_top_equals_enginepools_top_on_profiles_we_write(tmp_path) -> None:
    with HeapProfiler(rate=4096, seed=3) as hp:
        keep = _core.proftest_alloc(0, 3000, 200, 3)
        _core.proftest_alloc(2, 50, 50_000)
        _core.proftest_pool("peer-hash", 40, 60000)
    heap = tmp_path / "mem.pprof"
    hp.write(heap)
    _core.proftest_release(keep)
    with CPUProfiler(hz=250) as cp:
        _core.proftest_spin(0.3)
    cpu = tmp_path / "cpu.pprof"
    cp.write(cpu)
    cases = [(f"-sample_index={s}", "-nodefraction=0", str(heap))
             for s in ("alloc_objects", "alloc_space", "inuse_objects", "inuse_space")]
    cases += [("-sample_index=alloc_space", "-cum", "-tagfocus=pool=peer-hash", str(heap)),
              ("-nodefraction=0", str(cpu)), ("-cum", str(cpu))]
    for args in cases:
        assert ours_top(*args) == pprof(tmp_path, "-top", *args), args


def test_go_pprof_reads_a_peak_heap_profile_as_enginepools_top_does(tmp_path) -> None:
    import contextlib
    import io

    from enginepools.cli import main

    with HeapProfiler(rate=1) as hp:
        ka = _core.proftest_alloc(0, 100, 1000, 1)   # 100000 B live
        kb = _core.proftest_alloc(1, 10, 20000, 1)   # + 200000 B: the peak, 300000 B
        _core.proftest_release(ka)
        _core.proftest_release(kb)
        kc = _core.proftest_alloc(2, 5, 1000, 1)     # 5000 B live at the end
        _core.proftest_release(kc)
    path = tmp_path / "peak.pprof"
    hp.write(path, peak=True)
    args = ["-top", "-sample_index=inuse_space", "-nodefraction=0", str(path)]
    go = pprof(tmp_path, *args)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["top", *args]) == 0
    ours = rows(out.getvalue())
    theirs = rows(go)
    # at the peak: sites a and b live, c not yet allocated (values exact at rate 1)
    assert theirs["proftest_site_a"][0] == "97.66kB" and theirs["proftest_site_b"][0] == "195.31kB"
    assert "proftest_site_c" not in theirs or theirs["proftest_site_c"][0] == "0"
    assert {k: v for k, v in ours.items() if k.startswith("proftest_")} == \
        {k: v for k, v in theirs.items() if k.startswith("proftest_")}
    assert "Showing nodes accounting for 292.97kB" in go  # 300000 B, the peak

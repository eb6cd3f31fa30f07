"""-memprofile / -memprofilerate / -cpuprofile / --pprof-http and the session
that writes the files."""
from __future__ import annotations

import os
import urllib.request

import pytest

from enginepools import _core
from enginepools._flags import GoArgumentParser
from enginepools.errors import EnginepoolsError, UsageError
from enginepools.pprof.profile import Profile
from enginepools.pprof.flags import add_profile_flags, profiling_session
from enginepools.pprof.profilers import HeapProfiler


def parse(*argv: str):
    p = GoArgumentParser(prog="enginepools bench")
    add_profile_flags(p)
    return p.parse_args(list(argv))


def test_flags_parse_go_style() -> None:
    a = parse("-memprofile", "m.out", "-memprofilerate=1", "--cpuprofile", "c.out")
    assert (a.memprofile, a.memprofilerate, a.cpuprofile, a.pprof_http) == ("m.out", 1, "c.out", None)
    assert parse("--pprof-http").pprof_http == "127.0.0.1:6060"
    assert parse("-pprof-http", "127.0.0.1:0").pprof_http == "127.0.0.1:0"
    assert parse().memprofilerate is None


@pytest.mark.parametrize("bad", ["-1", "lots"])
def test_bad_memprofilerate_is_a_usage_error(bad: str, capsys) -> None:
    with pytest.raises(SystemExit) as e:
        parse("-memprofilerate", bad)
    assert e.value.code == 2
    assert "-memprofilerate" in capsys.readouterr().err


def test_session_writes_both_profiles(tmp_path) -> None:
    mem, cpu = tmp_path / "mem.pprof", tmp_path / "cpu.pprof"
    args = parse("-memprofile", str(mem), "-memprofilerate", "1", "-cpuprofile", str(cpu))
    with profiling_session(args) as s:
        assert s.heap is not None and s.cpu is not None and s.server is None
        _core.proftest_alloc(0, 500, 128)
        _core.proftest_spin(0.2)
    assert _core.heapprof_rate() == 0
    hp = Profile.read(mem)
    assert hp.period == 1 and int(hp.values[:, 0].sum()) >= 500
    cp = Profile.read(cpu)
    assert cp.sample_types[0] == ("samples", "count")
    assert sorted(os.listdir(tmp_path)) == ["cpu.pprof", "mem.pprof"]


def test_ctrl_c_still_writes_what_was_collected(tmp_path) -> None:
    mem = tmp_path / "mem.pprof"
    with pytest.raises(KeyboardInterrupt):
        with profiling_session(parse("-memprofile", str(mem), "-memprofilerate", "1")):
            _core.proftest_alloc(1, 100, 4096)
            raise KeyboardInterrupt
    assert int(Profile.read(mem).values[:, 0].sum()) >= 100


def test_existing_file_is_intact_when_interrupted_before_it_is_written(tmp_path, monkeypatch) -> None:
    mem = tmp_path / "mem.pprof"
    mem.write_bytes(b"previous profile")

    def interrupted(self, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(HeapProfiler, "profile", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with profiling_session(parse("-memprofile", str(mem))):
            _core.proftest_alloc(0, 10, 64)
    assert mem.read_bytes() == b"previous profile"
    assert os.listdir(tmp_path) == ["mem.pprof"]  # no temp file left behind
    assert _core.heapprof_rate() == 0


def test_unwritable_profile_path_fails_before_the_run(tmp_path) -> None:
    ran = []
    with pytest.raises(EnginepoolsError, match="does not exist"):
        with profiling_session(parse("-cpuprofile", str(tmp_path / "no" / "cpu.pprof"))):
            ran.append(1)
    assert not ran
    with pytest.raises(UsageError, match="HOST:PORT"):
        with profiling_session(parse("--pprof-http", "localhost")):
            ran.append(1)
    assert not ran


def test_session_serves_pprof_http_while_running() -> None:
    with profiling_session(parse("--pprof-http", "127.0.0.1:0")) as s:
        assert s.server is not None and s.heap is not None
        assert s.server.url.startswith("http://127.0.0.1:")
        _core.proftest_alloc(2, 64, 1 << 20)
        with urllib.request.urlopen(s.server.url + "heap", timeout=10) as r:
            p = Profile.from_bytes(r.read())
        assert p.period == 512 * 1024
    with pytest.raises(OSError):
        urllib.request.urlopen(s.server.url, timeout=2)


def test_bench_command_writes_profiles(tmp_path, capsys) -> None:
    from enginepools.cli import main

    mem, cpu = tmp_path / "mem.pprof", tmp_path / "cpu.pprof"
    rc = main(["bench", "-bench", "StringBuilder/impl=std", "-benchtime", "2000x", "-cpu", "1", "-progress", "off",
               "-memprofile", str(mem), "-memprofilerate", "1", "-cpuprofile", str(cpu)])
    assert rc in (0, None)
    heap = Profile.read(mem)
    # every allocation of the run is in the profile at rate 1: 3 allocs/op
    assert int(heap.values[:, 0].sum()) >= 3 * 2000
    assert Profile.read(cpu).sample_types[1] == ("cpu", "nanoseconds")


def test_bench_command_checks_profile_paths_first(tmp_path, capsys) -> None:
    from enginepools.cli import main

    rc = main(["bench", "-bench", "Empty", "-benchtime", "10x", "-memprofile", str(tmp_path / "no" / "m.pprof")])
    assert rc == 1
    err = capsys.readouterr()
    assert "does not exist" in err.err and "Benchmark" not in err.out

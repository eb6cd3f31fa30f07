"""``enginepools bench`` with go test's profiling flags."""
from __future__ import annotations

from enginepools.cli import main
from enginepools.pprof.profile import Profile


def _top_functions(prof: Profile, index: str) -> dict[str, int]:
    from enginepools.pprof.graph import GraphOptions, build_graph

    g = build_graph(prof, GraphOptions(sample_index=index))
    return {n.name: n.cum for n in g.nodes}


def test_memprofile_rate_1_records_the_std_digest_allocations(tmp_path, capsys):
    mem = tmp_path / "mem.prof"
    rc = main(["bench", "-bench", "HashBuffer/impl=std", "-benchtime", "500x", "-count", "1",
               "-memprofile", str(mem), "-memprofilerate", "1", "-progress=off"])
    assert rc == 0
    capsys.readouterr()
    prof = Profile.read(str(mem))
    assert [t for t, _ in prof.sample_types] == ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"]
    # impl=std allocates one 32-byte digest per op: at rate 1 every one is
    # recorded, so at least the timed 500 (plus calibration/warm-up) are there
    # (hb_std_run is the kernel's static run function: symbolized by name)
    space = _top_functions(prof, "alloc_space")
    objects = _top_functions(prof, "alloc_objects")
    assert space["hb_std_run"] == 32 * objects["hb_std_run"]
    assert objects["hb_std_run"] >= 500


def test_cpuprofile_written_and_bad_path_rejected_before_running(tmp_path, capsys):
    cpu = tmp_path / "cpu.prof"
    assert main(["bench", "-bench", "SHA256/size=1MiB", "-benchtime", "0.3s", "-count", "1",
                 "-cpuprofile", str(cpu), "-progress=off"]) == 0
    prof = Profile.read(str(cpu))
    assert [t for t, _ in prof.sample_types] == ["samples", "cpu"]
    capsys.readouterr()
    rc = main(["bench", "-bench", "HashBuffer", "-benchtime", "10x",
               "-memprofile", str(tmp_path / "no" / "such" / "dir" / "m.prof"), "-progress=off"])
    assert rc != 0
    err = capsys.readouterr().err
    assert "m.prof" in err or "memprofile" in err

"""pprof's other reports without the go toolchain: expectations worked out by
hand from pprof's formats (report.go printTree / printCallgrind, source.go,
profile.String, time.Duration.String) on tiny profiles."""
from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np
import pytest

from enginepools.cli import main
from enginepools.pprof.profile import Profile, ProfileBuilder
from enginepools.pprof.rawproto import go_duration


def run(cwd: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(["top", *argv])
            except SystemExit as e:
                rc = int(e.code or 0)
    finally:
        os.chdir(old)
    return rc, out.getvalue(), err.getvalue()


def tiny(path: Path) -> None:
    """main calls a (2 samples) and b (3), counts; b's samples carry pool=hash."""
    b = ProfileBuilder(sample_types=[("samples", "count")], period_type=None, period=0)
    b.add_sample([2], [("a", "src.c", 3), ("main", "src.c", 9)])
    b.add_sample([3], [("b", "src.c", 6), ("main", "src.c", 10)], labels={"pool": "hash"})
    b.build().write(path)


@pytest.mark.parametrize("d, want", [
    (0, "0s"), (1, "1ns"), (1500, "1.5µs"), (2_000_000, "2ms"), (2_500_000_000, "2.5s"), (61_000_000_000, "1m1s"),
    (3_723_500_000_000, "1h2m3.5s"), (-1500, "-1.5µs"), (37_298_593_875, "37.298593875s"),
])
def test_go_duration(d: int, want: str) -> None:
    assert go_duration(d) == want


def test_tree_lines(tmp_path: Path) -> None:
    tiny(tmp_path / "t.prof")
    rc, out, err = run(tmp_path, "-tree", "t.prof")
    assert rc == 0, err
    sep = "-" * 58 + "+" + "-" * 13
    body = out.split(sep + "\n", 1)[1].split("\n")
    assert body[0] == "      flat  flat%   sum%        cum   cum%   calls calls% + context \t \t "
    # b first (flat 3), its caller main: 3 of b's cum 3; then a; then main with both callees
    assert body[1:4] == [sep, " " * 49 + "3   100% |   main", "         3 60.00% 60.00%          3 60.00%" + " " * 16
                         + "| b"]
    main_at = body.index("         0     0%   100%          5   100%" + " " * 16 + "| main")
    assert body[main_at + 1:main_at + 3] == [" " * 49 + "3 60.00% |   b", " " * 49 + "2 40.00% |   a"]
    rc, peek, _ = run(tmp_path, "-peek=^a$", "t.prof")
    assert rc == 0 and "| a\n" in peek and "| b\n" not in peek.replace("|   b", "")


def test_list_annotates_the_source(tmp_path: Path) -> None:
    tiny(tmp_path / "t.prof")
    (tmp_path / "src.c").write_text("".join(f"line{i}\n" for i in range(1, 13)))
    rc, out, err = run(tmp_path, "-list=^b$", "t.prof")
    assert rc == 0, err
    # no start line in the profile: from 5 before the sampled line 6 to 5 after it
    assert out == ("Total: 5\n"
                   "ROUTINE ======================== b in src.c\n"
                   "         3          3 (flat, cum) 60.00% of Total\n"
                   + "".join(f"         .          . {i:6d}:line{i}\n" for i in range(1, 6))
                   + "         3          3      6:line6\n"
                   + "".join(f"         .          . {i:6d}:line{i}\n" for i in range(7, 12)))
    os.remove(tmp_path / "src.c")
    rc, out, _ = run(tmp_path, "-list=^b$", "t.prof")
    assert rc == 0 and out.endswith(f" Error: could not find file src.c on path {tmp_path}\n")


def test_proto_is_the_filtered_profile(tmp_path: Path) -> None:
    tiny(tmp_path / "t.prof")
    rc, _, err = run(tmp_path, "-proto", "-tagfocus=pool=hash", "-output", "f.pb.gz", "t.prof")
    assert rc == 0, err
    p = Profile.read(tmp_path / "f.pb.gz")
    assert p.values.tolist() == [[3]]  # only b's sample carries pool=hash
    names = {p.strings[i] for i in p.function_name.tolist()}
    assert {"b", "main"} <= names
    rc, _, err = run(tmp_path, "-proto", "-divide_by=2", "-output", "h.pb.gz", "t.prof")
    assert rc == 0 and sorted(Profile.read(tmp_path / "h.pb.gz").values.ravel().tolist()) == [1, 1]  # int(2/2), int(3/2)
    assert np.array_equal(Profile.read(tmp_path / "t.prof").values.ravel(), [2, 3])  # the input is left as it was


def test_raw_and_callgrind_text(tmp_path: Path) -> None:
    tiny(tmp_path / "t.prof")
    rc, raw, _ = run(tmp_path, "-raw", "t.prof")
    # no period type and no mapping: pprof's decoder makes an empty period type, its driver a fake mapping
    assert rc == 0 and raw.startswith("PeriodType:  \nPeriod: 0\nSamples:\nsamples/count\n" + " " * 10 + "2: 1 2 \n")  # " %10d"
    assert " " * 16 + "pool:[hash]\n" in raw and "     1: 0x0 M=1 a src.c:3 s=0\n" in raw
    assert raw.endswith("Mappings\n1: 0x0/0x0/0x0   \n")
    rc, cg, _ = run(tmp_path, "-callgrind", "t.prof")
    assert rc == 0 and cg.startswith("positions: instr line\nevents: samples(count)\n")
    # b (flat 3) first, then a, then main's two lines; names numbered once, then reused
    assert cg.split("\n")[2:9] == ["", "ob=", "fl=(1) src.c", "fn=(1) b", "0x0 6 3", "", "ob="]
    assert cg.endswith("fn=(3) main\n* 10 0\ncfl=(1)\ncfn=(1)\ncalls=0 * 6\n* * 3\n"
                       "* 9 0\ncfl=(1)\ncfn=(2)\ncalls=0 * 3\n* * 2\n")


def test_report_flags_conflict_and_binary_to_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tiny(tmp_path / "t.prof")
    rc, out, err = run(tmp_path, "-tree", "-raw", "t.prof")
    assert (rc, out) == (2, "") and "-tree -raw" in err
    rc, out, err = run(tmp_path, "-peek=nothing", "t.prof")
    assert (rc, out) == (2, "") and "no matches found for regexp: nothing" in err

"""``enginepools run``: a script runs as python runs it, under the Python
heap profiler; a script allocating in two functions at 3:1 shows that ratio
under ``go tool pprof -top`` (exact at rate 1, within 10% at Go's default
rate) and ``enginepools top`` prints the same table."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from enginepools.pprof.profile import Profile

SCRIPT = """
import sys
S, N = int(sys.argv[1]), int(sys.argv[2])

def three_parts():
    a = bytes(S); b = bytes(S); c = bytes(S)

def one_part():
    a = bytes(S)

for _ in range(N):
    three_parts()
    one_part()
"""

UNITS = {"B": 1, "kB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}


def ep(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "enginepools", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def flat_by_function(top: str) -> dict[str, float]:
    out = {}
    for line in top.splitlines():
        m = re.match(r"\s*([\d.]+)(B|kB|MB|GB)\s+[\d.]+%\s+[\d.]+%\s+\S+\s+[\d.]+%\s+(\S+)$", line)
        if m:
            out[m.group(3)] = float(m.group(1)) * UNITS[m.group(2)]
    return out


def leaf_totals(path: Path, sample_type: str) -> dict[str, int]:
    prof = Profile.read(path)
    ix = [t for t, _ in prof.sample_types].index(sample_type)
    fn_name = dict(zip(prof.function_id.tolist(), prof.function_name.tolist()))
    loc_fn = {lid: int(prof.line_function[prof.location_line_offsets[i]])
              for i, lid in enumerate(prof.location_id.tolist())}
    out: dict[str, int] = {}
    for s in range(prof.n_samples):
        name = prof.strings[int(fn_name[loc_fn[int(prof.sample_loc_ids[prof.sample_loc_offsets[s]])]])]
        out[name] = out.get(name, 0) + int(prof.values[s, ix])
    return out


@pytest.fixture
def script(tmp_path: Path) -> Path:
    p = tmp_path / "two.py"
    p.write_text(SCRIPT)
    return p


def test_rate_1_is_exactly_three_to_one(tmp_path: Path, script: Path) -> None:
    r = ep("run", "-memprofile", "p.pb.gz", "-memprofilerate", "1", "two.py", "65536", "40", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    tot = leaf_totals(tmp_path / "p.pb.gz", "alloc_space")
    one = 65536 + sys.getsizeof(b"")
    assert tot["one_part"] == 40 * one and tot["three_parts"] == 3 * 40 * one
    # the script's stacks start at its module frame (named after it): the runner's frames are cut
    prof = Profile.read(tmp_path / "p.pb.gz")
    fn_name = dict(zip(prof.function_id.tolist(), prof.function_name.tolist()))
    loc_fn = {lid: prof.strings[int(fn_name[int(prof.line_function[prof.location_line_offsets[i]])])]
              for i, lid in enumerate(prof.location_id.tolist())}
    roots = set()
    for s in range(prof.n_samples):
        stack = [loc_fn[int(x)] for x in prof.sample_loc_ids[prof.sample_loc_offsets[s]:prof.sample_loc_offsets[s + 1]]]
        if stack[0] in ("three_parts", "one_part"):
            roots.add(stack[-1])
    assert roots == {"two.<module>"}


@pytest.mark.go
@pytest.mark.skipif(shutil.which("go") is None, reason="needs the go toolchain")
@pytest.mark.parametrize("rate, n, tolerance", [("1", "40", 0.001), (None, "300", 0.10)])
def test_go_pprof_shows_the_ratio_and_top_agrees(tmp_path: Path, script: Path, rate: str | None, n: str,
                                                 tolerance: float) -> None:
    size = "65536" if rate == "1" else str(1 << 20)
    flags = ["-memprofilerate", rate] if rate else []
    r = ep("run", "-memprofile", "p.pb.gz", *flags, "two.py", size, n, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    env = dict(os.environ, GOTOOLCHAIN="local", GOPROXY="off", GOFLAGS="-mod=mod")
    if not os.access(env.get("HOME", "/"), os.W_OK):
        env["HOME"] = str(tmp_path)
    go = subprocess.run(["go", "tool", "pprof", "-top", "-sample_index=alloc_space", "p.pb.gz"], cwd=tmp_path,
                        env=env, capture_output=True, text=True, timeout=120)
    assert go.returncode == 0, go.stderr
    flat = flat_by_function(go.stdout)
    assert abs(flat["three_parts"] / flat["one_part"] / 3 - 1) <= tolerance, go.stdout
    ours = ep("top", "-sample_index=alloc_space", "p.pb.gz", cwd=tmp_path)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == go.stdout


def test_script_sees_its_argv_and_exit_status(tmp_path: Path) -> None:
    (tmp_path / "ex.py").write_text("import sys\nprint(sys.argv[1:], __name__)\nraise SystemExit(3)\n")
    r = ep("run", "-memprofile", "m.pb.gz", "ex.py", "-x", "--y", "1", cwd=tmp_path)
    assert r.returncode == 3
    assert r.stdout.strip() == "['-x', '--y', '1'] __main__"
    assert Profile.read(tmp_path / "m.pb.gz").period == 512 * 1024


def test_script_error_still_writes_the_profiles(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("x = [bytes(1000) for _ in range(10)]\nraise ValueError('boom')\n")
    r = ep("run", "-memprofile", "m.pb.gz", "-memprofilerate", "1", "-cpuprofile", "c.pb.gz", "bad.py",
           cwd=tmp_path)
    assert r.returncode == 1 and "ValueError: boom" in r.stderr
    assert Profile.read(tmp_path / "m.pb.gz").n_samples > 0
    assert Profile.read(tmp_path / "c.pb.gz").sample_types == [("samples", "count"), ("cpu", "nanoseconds")]


@pytest.mark.parametrize("args, code, message", [
    (["nothere.py"], 1, "nothere.py: no such file"),
    (["-memprofilerate", "0", "x.py"], 2, "-memprofilerate 0: must be >= 1"),
    (["-memprofilerate", "lots", "x.py"], 2, "-memprofilerate 'lots': expected a positive integer"),
    (["-memprofile", "nodir/m.pb.gz", "x.py"], 1, "folder"),
    (["-cpuprofilerate", "5000", "x.py"], 2, "-cpuprofilerate 5000: must be in 1..1000"),
])
def test_bad_input_is_one_line(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    (tmp_path / "x.py").write_text("pass\n")
    (tmp_path / "m.pb.gz").write_bytes(b"keep")
    r = ep("run", *args, cwd=tmp_path)
    assert r.returncode == code
    assert r.stderr.count("\n") == 1 and message in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "m.pb.gz").read_bytes() == b"keep"

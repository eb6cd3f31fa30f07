"""``enginepools bench``: output files, bad flags, interrupted runs."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from enginepools.bench import benchfmt
from enginepools.cli import main


def test_run_writes_go_text_and_json(tmp_path, capsys):
    out, js = tmp_path / "r.txt", tmp_path / "r.json"
    rc = main(["bench", "-bench", "StringBuilder", "-benchtime", "20x", "-count", "2", "-cpu", "1,2",
               "-o", str(out), "--json", str(js), "-progress=off"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert printed == out.read_text()  # what was printed live is what was written
    recs = benchfmt.read(out)
    assert [r.name for r in recs] == ["BenchmarkStringBuilder/impl=pool", "BenchmarkStringBuilder/impl=std"] * 2 + \
        ["BenchmarkStringBuilder/impl=pool-2", "BenchmarkStringBuilder/impl=std-2"] * 2
    assert all(r.iterations == 20 for r in recs)
    std = [r for r in recs if r.parts["impl"] == "std"]
    assert all(r.values["allocs/op"] == 3 for r in std)
    assert set(recs[0].config) == {"goos", "goarch", "pkg", "cpu"}
    jrecs = benchfmt.read(js)
    assert [r.name for r in jrecs] == [r.name for r in recs]
    doc = json.loads(js.read_text())
    assert doc["settings"]["cpu"] == [1, 2] and doc["machine"]["compiler"]


def test_list(capsys):
    assert main(["bench", "-list"]) == 0
    out = capsys.readouterr().out
    assert "BenchmarkHashBuffer/impl=pool-noclear" in out and "BenchmarkWorkerPool/impl=std" in out
    assert main(["bench", "-list", "Tar"]) == 0
    assert all(line.startswith("BenchmarkTar") for line in capsys.readouterr().out.splitlines())


def test_no_match_is_exit_1(capsys):
    assert main(["bench", "-bench", "NoSuchKernel"]) == 1
    err = capsys.readouterr().err
    assert "no benchmarks match -bench 'NoSuchKernel'" in err


@pytest.mark.parametrize("args,fragment", [
    (["-benchtime", "fast"], "-benchtime 'fast'"),
    (["-benchtime", "0x"], "invalid count"),
    (["-count", "0"], "-count '0'"),
    (["-cpu", "1,x"], "-cpu '1,x'"),
    (["-bench", "a("], "invalid regular expression"),
])
def test_bad_flags_are_usage_errors(args, fragment, capsys):
    assert main(["bench", *args]) == 2
    assert fragment in capsys.readouterr().err


def test_unknown_flag_is_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["bench", "-benchtme", "1s"])
    assert e.value.code == 2


def test_unwritable_output_fails_before_running(tmp_path, capsys):
    rc = main(["bench", "-bench", "SHA256", "-o", str(tmp_path / "missing" / "r.txt")])
    assert rc == 1
    cap = capsys.readouterr()
    assert "does not exist" in cap.err and "Benchmark" not in cap.out
    assert main(["bench", "-bench", "SHA256", "-json", str(tmp_path)]) == 1
    assert "is a directory" in capsys.readouterr().err
    assert main(["bench", "-bench", "SHA256", "-o", "x.out", "-json", "./x.out"]) == 2


def test_interrupted_run_writes_partial_and_keeps_old_file(tmp_path):
    out, js = tmp_path / "r.txt", tmp_path / "r.json"
    out.write_text("previous results\n")
    cmd = [sys.executable, "-m", "enginepools", "bench", "-bench", "HashBuffer|TarBuffer", "-benchtime", "0.2s",
           "-count", "20", "-cpu", "1", "-o", str(out), "-json", str(js)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    first = p.stdout.readline()
    while not first.startswith("Benchmark") and time.monotonic() < deadline:
        first = p.stdout.readline()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130
    assert "interrupted after" in err and "r.txt.partial" in err and "left as it was" in err
    assert out.read_text() == "previous results\n"
    assert not js.exists()
    recs = benchfmt.read(str(out) + ".partial")
    assert recs and recs[0].name == "BenchmarkHashBuffer/impl=pool"
    doc = json.loads((tmp_path / "r.json.partial").read_text())
    assert doc["complete"] is False and len(doc["samples"]) == len(recs)
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_many_samples_are_streamed_to_the_terminal_and_both_files(tmp_path, capsys):
    out, js = tmp_path / "r.txt", tmp_path / "r.json"
    rc = main(["bench", "-bench", "Empty$", "-benchtime", "1x", "-count", "3000", "-cpu", "1",
               "-o", str(out), "-json", str(js), "-progress=off"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert printed == out.read_text()
    lines = [ln for ln in printed.splitlines() if ln.startswith("Benchmark")]
    assert len(lines) == 3000 and all(ln.split()[:2] == ["BenchmarkEmpty", "1"] for ln in lines)
    doc = json.loads(js.read_text())
    assert doc["complete"] is True and [s["rep"] for s in doc["samples"]] == list(range(1, 3001))
    assert [r.name for r in benchfmt.read(js)] == ["BenchmarkEmpty"] * 3000
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_count_up_to_gos_bound_runs_as_a_stream(tmp_path):
    # go test takes -count up to 2**63-1 and prints samples as they finish;
    # interrupted, the run says how many of them finished
    big = str(2 ** 63 - 1)
    cmd = [sys.executable, "-m", "enginepools", "bench", "-bench", "Empty$", "-benchtime", "1x", "-count", big,
           "-cpu", "1", "-progress", "off", "-o", str(tmp_path / "r.txt")]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    got = 0
    deadline = time.monotonic() + 60
    while got < 200 and time.monotonic() < deadline:
        got += p.stdout.readline().startswith("BenchmarkEmpty")
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert got == 200 and p.returncode == 130, err
    assert f"of {big} samples" in err and "r.txt.partial" in err
    assert len(benchfmt.read(str(tmp_path / "r.txt.partial"))) >= 200
    r = subprocess.run(cmd[:-2] + ["-count", str(2 ** 63)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "-count" in r.stderr and "out of range" in r.stderr

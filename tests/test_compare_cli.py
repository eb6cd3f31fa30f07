"""``enginepools compare`` / ``verdict`` on the command line: output and
bad input (one line on stderr, exit 1, never a traceback)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from enginepools.cli import main

DATA = Path(__file__).parent / "data"
STUDY = str(DATA / "study_like_bench.txt")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(list(argv))
    except SystemExit as e:  # argparse usage errors
        rc = int(e.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def test_compare_pair_prints_deltas_and_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "compare", STUDY, "-pair", "WithPool:Standard")
    assert rc == 0 and err == ""
    assert "StringBuilder-4" in out and "~ (p=1.000 n=1)" in out and "+25" not in out
    assert "need >= 4 samples to detect a difference at alpha level 0.05" in out


def test_compare_json_and_go_style_flags(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "compare", STUDY, "--pair=WithPool:Standard", "-format=json", "-filter", "Hash")
    assert rc == 0
    rows = json.loads(out)
    assert {r["name"] for r in rows} == {"HashBuffer-4"} and all(r["p_value"] is None for r in rows)


def test_verdict_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, _ = run(capsys, "verdict", STUDY, "-pair", "WithPool:Standard", "-format", "json")
    assert rc == 0
    vs = json.loads(out)
    assert [v["decision"] for v in vs] == ["inconclusive"] * 3
    assert all(v["rule"].startswith("not enough samples") for v in vs)
    assert vs[0]["time"]["delta_pct"] == pytest.approx(25.0)


def _one_line_error(rc: int, out: str, err: str, code: int = 1) -> str:
    assert rc == code
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = _one_line_error(*run(capsys, "compare", str(tmp_path / "gone.txt")))
    assert line == f"enginepools compare: {tmp_path / 'gone.txt'}: no such file"


def test_file_with_no_benchmark_lines(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "log.txt"
    f.write_text("PASS\nok  \tpkg\t0.01s\n")
    line = _one_line_error(*run(capsys, "compare", str(f)))
    assert line.endswith("log.txt: no benchmark results in file")


def test_malformed_value(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "bad.txt"
    f.write_text("goos: linux\nBenchmarkA-2  10  1.2.3 ns/op\n")
    line = _one_line_error(*run(capsys, "verdict", str(f)))
    assert line == f"enginepools verdict: {f}:2: BenchmarkA-2: malformed value '1.2.3' for unit ns/op"


def test_units_that_differ_between_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("BenchmarkA-2 10 10 ns/op\n")
    b.write_text("BenchmarkA-2 10 10 ns/op 4 B/op\n")
    line = _one_line_error(*run(capsys, "compare", str(a), str(b)))
    assert "A-2: units differ between" in line and "(ns/op)" in line and "(ns/op, B/op)" in line


def test_bad_rules_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "rules.toml"
    f.write_text("keep_faster = 3\n")
    line = _one_line_error(*run(capsys, "verdict", STUDY, "-pair", "WithPool:Standard", "-config", str(f)))
    assert "unknown rule 'keep_faster'" in line


def test_bad_flag_values_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_line_error(*run(capsys, "compare", STUDY, "-pair", "WithPool"), code=2)
    assert "expected NEW:OLD" in line
    line = _one_line_error(*run(capsys, "compare", STUDY, "-col", "/impl", "-alpha", "1.5"), code=2)
    assert "-alpha 1.5: must be between 0 and 1" in line


def test_real_process_reports_without_traceback(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "enginepools", "compare", str(tmp_path / "x.txt")],
                       capture_output=True, text=True)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip() == f"enginepools compare: {tmp_path / 'x.txt'}: no such file"

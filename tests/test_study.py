"""`enginepools study` end to end: benchmarks, heap profiles, A/B and the
report, on a small budget; and what happens when a phase is missing."""
from __future__ import annotations

from pathlib import Path

import pytest

import report_consistency as rc
from enginepools import cli, study
from enginepools.study import Plan, run_study

DOCS = ["README.md", "benchmark-results-summary.md", "pprof-results-analysis.md",
        "visual-performance-summary.md", "profiling-analysis-findings.md"]

#: a study small enough for the test suite: two kernel groups, short samples, a small tree
TINY = Plan(quick=True, count=6, benchtime="2ms", cpu=(1, 2), ab_runs=4, ab_configs=("none", "all"),
            tree_files=60, filter="StringBuilder|PoolContention")


@pytest.mark.slow
def test_study_runs_every_phase_and_writes_a_consistent_report(tmp_path: Path) -> None:
    out = tmp_path / "rep"
    res = run_study(out, TINY, progress=False)
    assert res.skipped == {}
    names = {p.name for p in out.iterdir()}
    assert set(DOCS) <= names
    # the result files the report was built from are kept beside it
    assert {"bench.txt", "bench.json", "plain-heap.pb.gz", "pooled-heap.pb.gz", "pipeline-ab.json"} <= names
    assert {"flame-diff.png", "time.png", "scaling.png"} <= names
    pools = {(v.pool, v.candidate) for v in res.data.verdicts}
    assert ("StringBuilder", "pool") in pools and ("PoolContention-2", "pool") in pools
    readme = (out / "README.md").read_text()
    assert "| StringBuilder | pool vs std |" in readme and "enginepools study --quick" in readme
    assert "End to end" in (out / "profiling-analysis-findings.md").read_text()
    assert rc.check_report(out) == []
    # the report can be regenerated from the kept files
    again = tmp_path / "again"
    assert cli.main(["report", "--bench", str(out / "bench.txt"), "--profile", str(out / "plain-heap.pb.gz"),
                     str(out / "pooled-heap.pb.gz"), "--ab", str(out / "pipeline-ab.json"),
                     "--out", str(again)]) == 0
    assert (again / "flame-diff.png").is_file()


def test_study_without_a_phase_names_it_and_still_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    def unavailable(*a: object) -> None:
        raise study.Unavailable("not in this build")

    monkeypatch.setattr(study, "_profile_phase", unavailable)
    monkeypatch.setattr(study, "_ab_phase", unavailable)
    out = tmp_path / "rep"
    code = cli.main(["study", "--out", str(out), "-filter", "StringBuilder", "-benchtime", "1ms", "--no-progress"])
    cap = capsys.readouterr()
    assert code == 0
    assert "StringBuilder" in cap.out
    assert any(w in cap.out for w in ("keep", "remove", "inconclusive"))
    assert "skipped profiles: not in this build" in cap.err
    readme = (out / "README.md").read_text()
    assert "No pprof profile was given" in readme
    assert "study phase 'A/B' skipped: not in this build" in (out / "benchmark-results-summary.md").read_text()


def test_study_rejects_a_bad_out_before_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    assert cli.main(["study", "--out", str(f), "--no-progress"]) == 1
    assert "not a directory" in capsys.readouterr().err
    assert cli.main(["study", "--out", str(tmp_path / "r"), "-count", "0"]) == 2

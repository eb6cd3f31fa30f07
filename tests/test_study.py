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
            tree_files=60, filter="StringBuilder|PoolContention", ab_budget=2.0)


@pytest.mark.slow
def test_study_runs_every_phase_and_writes_a_consistent_report(tmp_path: Path) -> None:
    out = tmp_path / "rep"
    res = run_study(out, TINY, progress=False)
    assert res.skipped == {}
    names = {p.name for p in out.iterdir()}
    assert set(DOCS) <= names
    # the result files the report was built from are kept beside it
    assert {"bench.txt", "bench.json", "plain-heap.pb.gz", "pooled-heap.pb.gz", "plain-cpu.pb.gz",
            "pipeline-ab.json"} <= names
    assert {"flame-diff.png", "time.png", "scaling.png"} <= names
    # one decision per pool: PoolContention at 1 and 2 threads belongs to the object pool
    pools = [d.pool for d in res.data.decisions]
    assert sorted(pools) == sorted(set(pools)) and {"string builder", "object pool"} <= set(pools)
    readme = (out / "README.md").read_text()
    assert "| string builder | **" in readme and "enginepools study --quick" in readme
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
    assert "string builder" in cap.out
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


# ------------------------------------------------------------ a failed study keeps what it finished

def _tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(study, "plan_for", lambda quick: TINY)


def _staging_dirs(parent: Path) -> list[Path]:
    return sorted(parent.glob("rep.partial-*"))


@pytest.mark.slow
def test_a_failed_last_phase_keeps_the_results_and_prints_a_working_report_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import shlex

    from enginepools.report import writer

    _tiny(monkeypatch)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "rep"
    # an earlier complete report must survive the failed run untouched
    out.mkdir()
    (out / "README.md").write_text("the earlier report\n")
    (out / writer.MANIFEST).write_text('{"files": ["README.md"]}\n')

    def broken(*a: object, **k: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "write_report", broken)
    code = cli.main(["study", "--out", "rep", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert "phase 'report' failed: OSError" in err
    (staging,) = _staging_dirs(tmp_path)
    kept = {p.name for p in staging.iterdir()}
    assert {"bench.txt", "bench.json", "plain-heap.pb.gz", "pooled-heap.pb.gz", "pipeline-ab.json"} <= kept
    assert f"finished results are kept in {staging.name}/" in err
    assert (out / "README.md").read_text() == "the earlier report\n"
    assert {p.name for p in out.iterdir()} == {"README.md", writer.MANIFEST}

    # the one command it prints builds the report from those results
    (command,) = [line.strip() for line in err.splitlines() if line.strip().startswith("enginepools report ")]
    argv = shlex.split(command)
    assert argv[:2] == ["enginepools", "report"] and "--ab" in argv and "--profile" in argv
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv[1:]) == 0
    names = {p.name for p in out.iterdir()}
    assert set(DOCS) <= names and "flame-diff.png" in names
    assert "End to end" in (out / "profiling-analysis-findings.md").read_text()
    assert rc.check_report(out) == []


@pytest.mark.parametrize("exc, code, said", [(KeyboardInterrupt(), 130, "phase 'A/B' was interrupted"),
                                             (study.EnginepoolsError("pipeline broke"), 1,
                                              "phase 'A/B' failed: pipeline broke")])
def test_a_failed_or_interrupted_ab_phase_keeps_the_benchmarks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        exc: BaseException, code: int, said: str) -> None:
    def unavailable(*a: object) -> None:
        raise study.Unavailable("not in this build")

    def failing(*a: object) -> None:
        raise exc

    monkeypatch.setattr(study, "_profile_phase", unavailable)
    monkeypatch.setattr(study, "_ab_phase", failing)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["study", "--out", "rep", "-filter", "StringBuilder", "-benchtime", "1ms",
                     "--no-progress"]) == code
    err = capsys.readouterr().err
    assert said in err
    (staging,) = _staging_dirs(tmp_path)
    assert {p.name for p in staging.iterdir()} == {"bench.txt", "bench.json"}
    assert f"enginepools report --bench {staging.name}/bench.txt --out rep" in err
    assert not (tmp_path / "rep").exists()


def test_a_study_failing_before_any_result_leaves_nothing_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def failing(*a: object) -> None:
        raise study.EnginepoolsError("no kernels")

    monkeypatch.setattr(study, "_bench_phase", failing)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["study", "--out", "rep", "--no-progress"]) == 1
    assert "phase 'benchmarks' failed: no kernels" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_successful_study_leaves_no_staging_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(*a: object) -> None:
        raise study.Unavailable("not in this build")

    monkeypatch.setattr(study, "_profile_phase", unavailable)
    monkeypatch.setattr(study, "_ab_phase", unavailable)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["study", "--out", "rep", "-filter", "StringBuilder", "-benchtime", "1ms",
                     "--no-progress"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


# ------------------------------------------------------------ children run the installed package

def test_the_pipeline_phases_ignore_a_decoy_package_in_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child processes of the profile and A/B phases import this
    enginepools, not an ``enginepools/`` folder where the user stands (a
    source checkout without the compiled core, as in the README's first
    command run from the clone's root)."""
    decoy = tmp_path / "enginepools"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("raise ImportError('the decoy enginepools was imported')\n")
    (decoy / "_pipeline_child.py").write_text("raise SystemExit('the decoy child ran')\n")
    monkeypatch.chdir(tmp_path)
    bar = study.Progress(0, enabled=False)
    work = tmp_path / "work"
    work.mkdir()
    profiles, _ = study._profile_phase(TINY, work, bar)
    assert [Path(p).name for p in profiles] == ["plain-heap.pb.gz", "pooled-heap.pb.gz", "plain-cpu.pb.gz"]
    (ab_json,), _ = study._ab_phase(TINY, work, bar)
    assert Path(ab_json).stat().st_size > 0

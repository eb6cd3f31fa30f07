"""What a user sees when the file system says no, or a run is cut short:
one line on stderr naming the path, a non-zero exit, and no file that existed
before replaced or deleted.  (Found by trying the commands on a fresh install.)

/proc is a directory nobody can create files in, root included (``os.access``
says yes to root, which is why the checks create a probe file)."""
from __future__ import annotations

from pathlib import Path

import pytest

from enginepools.e2e import ab as abmod
from enginepools._atomic import check_dir_writable, check_writable
from enginepools.cli import main
from enginepools.errors import InputError

UNWRITABLE = Path("/proc")

GO_BENCH = """goos: linux
goarch: amd64
pkg: example
BenchmarkHashBuffer/impl=pool-2   1000  100 ns/op  0 B/op  0 allocs/op
BenchmarkHashBuffer/impl=std-2    1000  150 ns/op  32 B/op  1 allocs/op
BenchmarkHashBuffer/impl=pool-2   1000  101 ns/op  0 B/op  0 allocs/op
BenchmarkHashBuffer/impl=std-2    1000  151 ns/op  32 B/op  1 allocs/op
"""

needs_proc = pytest.mark.skipif(not UNWRITABLE.is_dir(), reason="needs /proc")


def _one_line_error(capsys, naming: str) -> str:
    cap = capsys.readouterr()
    err = cap.err.strip()
    assert "Traceback" not in cap.err
    assert len(err.splitlines()) == 1, cap.err
    assert naming in err
    return err


def test_check_dir_writable_probes_for_real(tmp_path) -> None:
    check_dir_writable(tmp_path)  # fine, and leaves nothing behind
    assert list(tmp_path.iterdir()) == []
    if UNWRITABLE.is_dir():
        with pytest.raises(InputError, match=r"^/proc/x\.txt: cannot create files in /proc"):
            check_dir_writable(UNWRITABLE, "/proc/x.txt")


@needs_proc
def test_check_writable_refuses_a_directory_nobody_can_write(tmp_path) -> None:
    with pytest.raises(InputError, match=r"^/proc/out\.txt: "):
        check_writable(UNWRITABLE / "out.txt")
    assert check_writable(tmp_path / "out.txt") == tmp_path / "out.txt"


@needs_proc
def test_bench_unwritable_output_fails_before_running(capsys) -> None:
    rc = main(["bench", "-bench", "StringBuilder", "-benchtime", "5x", "-count", "1", "-o", "/proc/ep-qa.txt"])
    assert rc == 1
    # nothing was benchmarked: the check runs before the kernels
    assert "Benchmark" not in capsys.readouterr().out
    rc = main(["bench", "-bench", "StringBuilder", "-benchtime", "5x", "-count", "1",
               "-memprofile", "/proc/ep-qa.pb.gz"])
    assert rc == 1
    _one_line_error(capsys, "/proc/ep-qa.pb.gz")


@needs_proc
def test_report_unwritable_out_dir_is_one_line(tmp_path, capsys) -> None:
    bench = tmp_path / "bench.txt"
    bench.write_text(GO_BENCH)
    rc = main(["report", "-bench", str(bench), "-out", "/proc/ep-qa-report"])
    assert rc == 1
    _one_line_error(capsys, "/proc/ep-qa-report")


@needs_proc
def test_pipeline_unwritable_archive_is_one_line(tmp_path, capsys) -> None:
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "a").write_text("a\n")
    rc = main(["pipeline", str(tmp_path / "tree"), "-o", "/proc/ep-qa.tar"])
    assert rc == 1
    _one_line_error(capsys, "/proc/ep-qa.tar")


def test_os_error_from_a_command_is_one_line(monkeypatch, capsys) -> None:
    import enginepools.commands.compare as cmd

    def boom(args):
        raise PermissionError(13, "Permission denied", "somewhere/result.txt")

    monkeypatch.setattr(cmd, "run", boom)
    assert main(["compare", "x.txt"]) == 1
    err = _one_line_error(capsys, "somewhere/result.txt")
    assert err == "enginepools compare: somewhere/result.txt: Permission denied"


def test_interrupted_ab_keeps_the_earlier_result(tmp_path, monkeypatch, capsys) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(3):
        (tree / f"f{i}").write_bytes(bytes(range(256)) * (i + 1))
    out, js = tmp_path / "ab.txt", tmp_path / "ab.json"
    out.write_text("an earlier, complete result\n")
    js.write_text('{"earlier": true}\n')
    real = abmod.run_ab

    def interrupted(root, configs, count, **kw):
        res = real(root, "none,all", 1, **kw)
        res.complete = False  # as after Ctrl-C
        return res

    monkeypatch.setattr(abmod, "run_ab", interrupted)
    rc = main(["ab", str(tree), "-count", "3", "-target", "0", "-o", str(out), "-json", str(js), "-archive", "none",
               "-q"])
    assert rc == 130
    assert out.read_text() == "an earlier, complete result\n"
    assert js.read_text() == '{"earlier": true}\n'
    assert "BenchmarkPipeline/pools=none" in (tmp_path / "ab.txt.partial").read_text()
    assert (tmp_path / "ab.json.partial").stat().st_size > 0
    assert "ab.txt.partial" in capsys.readouterr().err


def test_report_never_replaces_a_users_file(tmp_path, capsys) -> None:
    bench = tmp_path / "bench.txt"
    bench.write_text(GO_BENCH)
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "README.md").write_text("# my project\n")
    assert main(["report", "-bench", str(bench), "-out", str(proj)]) == 1
    _one_line_error(capsys, "README.md")
    assert (proj / "README.md").read_text() == "# my project\n"
    assert sorted(p.name for p in proj.iterdir()) == ["README.md"]
    # a report directory enginepools wrote itself is updated in place
    out = tmp_path / "report"
    assert main(["report", "-bench", str(bench), "-out", str(out)]) == 0
    assert main(["report", "-bench", str(bench), "-out", str(out)]) == 0
    assert (out / "README.md").read_text().startswith("# ")


def test_ab_bad_config_names_the_configs_flag(tmp_path, capsys) -> None:
    assert main(["ab", str(tmp_path), "-configs", "none,bogus"]) == 2
    err = _one_line_error(capsys, "-configs 'bogus': unknown pool 'bogus'")
    assert "-pools" not in err


def test_sdist_carries_every_c_header(tmp_path) -> None:
    # pip installs from an sdist when no wheel fits; csrc/*.c include these
    import subprocess
    import sys
    import tarfile

    root = Path(__file__).resolve().parents[1]
    if not (root / "setup.py").is_file():
        pytest.skip("needs the source tree")
    r = subprocess.run([sys.executable, "setup.py", "-q", "egg_info", "--egg-base", str(tmp_path),
                        "sdist", "--dist-dir", str(tmp_path)], cwd=root, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    (sdist,) = tmp_path.glob("enginepools-*.tar.gz")
    with tarfile.open(sdist) as tf:
        shipped = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    headers = {str(p.relative_to(root)) for p in (root / "csrc").rglob("*.h")}
    assert headers and headers <= shipped, sorted(headers - shipped)


def test_readme_submodule_spelling_works_after_plain_import() -> None:
    # README: `import enginepools` then enginepools.bench.runner.run(...), enginepools.bench.pybench.run(f, arg);
    # the names from before the subpackages (enginepools.runner, ...) still work
    import subprocess
    import sys

    code = ("import enginepools as ep; assert ep.bench.runner.run is ep.runner.run and ep.bench.pybench is ep.pybench; "
            "print(ep.runner.run.__name__, ep.pybench.run.__name__, ep.verdict.__name__); "
            "import sys; assert 'matplotlib' not in sys.modules\n"
            "try:\n ep.no_such_thing\nexcept AttributeError as e: print('AE', e)")
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["run run enginepools.analysis.verdict",
                                     "AE module 'enginepools' has no attribute 'no_such_thing'"]


def test_pipeline_and_ab_reject_bad_side_outputs_up_front(tmp_path, capsys) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a").write_text("a\n")
    (tmp_path / "adir").mkdir()
    (tmp_path / "notes.txt").write_text("mine\n")
    assert main(["pipeline", str(tree), "-stats-json", str(tmp_path / "adir")]) == 1
    err = _one_line_error(capsys, str(tmp_path / "adir"))
    assert ".tmp" not in err and "is a directory" in err
    assert main(["ab", str(tree), "-count", "1", "-q", "-heapprofiles", str(tmp_path / "notes.txt")]) == 1
    assert "notes.txt: exists and is not a directory" in _one_line_error(capsys, "-heapprofiles")
    assert (tmp_path / "notes.txt").read_text() == "mine\n"


def test_verdict_without_impl_parts_says_which_col_to_use(tmp_path, capsys) -> None:
    ab = tmp_path / "ab.txt"
    ab.write_text("BenchmarkPipeline/pools=none-2 1 100 ns/op\nBenchmarkPipeline/pools=all-2 1 90 ns/op\n")
    assert main(["verdict", str(ab)]) == 1
    assert "try -col /pools" in _one_line_error(capsys, "/impl=")
    assert main(["verdict", str(ab), "-col", "/pools", "-base", "none"]) == 0


def test_report_into_a_study_dir_keeps_its_result_files(tmp_path, capsys) -> None:
    # a study's report dir holds bench.txt & co. (listed in its manifest); the
    # README's "reproduce" command reads them and writes the report there again
    import json

    out = tmp_path / "report"
    (tmp_path / "bench.txt").write_text(GO_BENCH)
    assert main(["report", "-bench", str(tmp_path / "bench.txt"), "-out", str(out)]) == 0
    (out / "bench.txt").write_text(GO_BENCH)
    manifest = out / ".enginepools-report.json"
    doc = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({"files": doc["files"] + ["bench.txt", "stale.png"]}))
    (out / "stale.png").write_bytes(b"old chart")
    capsys.readouterr()
    assert main(["report", "-bench", str(out / "bench.txt"), "-out", str(out)]) == 0
    assert (out / "bench.txt").read_text() == GO_BENCH
    assert not (out / "stale.png").exists()
    assert "bench.txt" in json.loads(manifest.read_text())["files"]


@pytest.mark.parametrize("cmd", [["compare"], ["top"], ["verdict"]])
def test_a_device_is_refused_not_read_forever(cmd, capsys):
    from enginepools.cli import main

    rc = main([*cmd, "/dev/zero"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "/dev/zero" in err and "not a regular file" in err and "Traceback" not in err

"""Replacing a report is all or nothing under an interrupt (issue 18, #9).

A KeyboardInterrupt is injected at every file-system step of write_report
(each rename, unlink, mkdir, fsync, copy, chmod), one step per run; after
each run the report directory must hold exactly the old report or exactly
the new one (and the user's own file), and a following uninterrupted run
must leave the new report and no temporary directory."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from enginepools.errors import InputError
from enginepools.report import writer

OLD = {"README.md": "old readme\n", "pprof.md": "old pprof\n", "flame.png": "old png", "diff.svg": "stale svg"}
NEW = {"README.md": "new readme\n", "pprof.md": "new pprof\n", "flame.png": "new png", "bench.md": "new bench\n"}


def _fake_render(files: dict[str, str]):
    def render(data, workdir: Path, progress=None) -> list[str]:
        for name, text in files.items():
            (workdir / name).write_text(text, encoding="utf-8")
        return sorted(files)
    return render


def _snapshot(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


STEPS = [(os, "replace"), (os, "rename"), (os, "unlink"), (os, "mkdir"), (os, "fsync"), (os, "fchmod"),
         (os, "rmdir"), (shutil, "copyfile")]


class Injector:
    """Raise KeyboardInterrupt at the `at`-th call of any patched step."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, at: int) -> None:
        self.at, self.calls = at, 0
        for mod, name in STEPS:
            monkeypatch.setattr(mod, name, self._wrap(getattr(mod, name)))

    def _wrap(self, real):
        def step(*a, **kw):
            self.calls += 1
            if self.calls == self.at:
                raise KeyboardInterrupt
            return real(*a, **kw)
        return step


def test_interrupt_at_every_step_leaves_old_or_new(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path / "base"
    base.mkdir()
    monkeypatch.setattr(writer, "render", _fake_render(OLD))
    writer.write_report(None, base / "rep")
    (base / "rep" / "notes.txt").write_text("the user's own file")
    old_state = _snapshot(base / "rep")
    # the new report, uninterrupted, in a copy
    shutil.copytree(base, tmp_path / "ref")
    monkeypatch.setattr(writer, "render", _fake_render(NEW))
    writer.write_report(None, tmp_path / "ref" / "rep")
    new_state = _snapshot(tmp_path / "ref" / "rep")
    assert set(new_state) == {*NEW, "notes.txt", writer.MANIFEST} and new_state != old_state

    outcomes = []
    at = 1
    while True:
        work = tmp_path / f"run{at}"
        shutil.copytree(base, work)
        with monkeypatch.context() as m:
            inj = Injector(m, at)
            try:
                writer.write_report(None, work / "rep")
                interrupted = False
            except KeyboardInterrupt:
                interrupted = True
        state = _snapshot(work / "rep")
        assert state in (old_state, new_state), f"interrupt at step {at}: a mix {sorted(state)}"
        outcomes.append("new" if state == new_state else "old")
        # the next run finishes the job and leaves nothing behind
        writer.write_report(None, work / "rep")
        assert _snapshot(work / "rep") == new_state
        assert [p.name for p in work.iterdir()] == ["rep"]
        if not interrupted:
            assert inj.calls < at
            break
        at += 1
    assert at > 10  # every step of a real replacement was hit
    assert "old" in outcomes and "new" in outcomes


def test_killed_after_commit_is_finished_by_the_next_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "render", _fake_render(OLD))
    writer.write_report(None, tmp_path / "rep")
    monkeypatch.setattr(writer, "render", _fake_render(NEW))
    # a process killed right after the commit point: the roll-forward never ran
    monkeypatch.setattr(writer, "_roll_forward", lambda target: None)
    writer.write_report(None, tmp_path / "rep")
    assert (tmp_path / "rep" / writer.JOURNAL).exists()
    monkeypatch.undo()
    writer.check_out_dir(tmp_path / "rep")  # finishes it
    assert {p.name for p in (tmp_path / "rep").iterdir()} == {*NEW, writer.MANIFEST}
    assert (tmp_path / "rep" / "README.md").read_text() == "new readme\n"
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


@pytest.mark.parametrize("out", ["/", "/usr", "/etc", "/proc/self", "/usr/share"])
def test_system_directories_are_refused(out: str) -> None:
    with pytest.raises(InputError, match="system directory"):
        writer.check_out_dir(out)

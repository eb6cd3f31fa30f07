"""The README's set-up commands are what CI runs: keep them true."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block, "README.md must open with a ```sh block of set-up commands"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_main_job_and_test_command() -> None:
    cmds = readme_commands()
    assert len(cmds) == 2
    assert "enginepools study" in cmds[0]
    assert "pytest" in cmds[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert readme_commands()[1] in ci.splitlines()


def test_ci_runs_the_readme_main_command_from_a_plain_install() -> None:
    """The first command, verbatim, in CI: a new user's path (a plain
    install, run from the clone's root) is what CI checks, and the report it
    writes is checked for completeness."""
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    first = readme_commands()[0]
    assert first in lines
    assert "pip install . " in first + " " and "-e" not in first.split("&&")[0]
    after = lines[lines.index(first) + 1:]
    assert any("check_study_report.py enginepools-report" in line for line in after)

"""Every report the suite renders is checked: each figure against the
numbers beside it and against the raw files it came from
(tests/report_consistency.py), whatever the test itself asserts."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

import report_consistency as rc


@pytest.fixture(autouse=True)
def _every_report_recomputes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from enginepools.report import writer

    problems: list[str] = []
    render = writer.render

    def checked(data: Any, workdir: Path, progress: Any = None) -> list[str]:
        names = render(data, workdir, progress)
        problems.extend(rc.check_generated(workdir, data))
        return names

    monkeypatch.setattr(writer, "render", checked)
    yield
    assert not problems, "a generated report does not recompute from its raw files:\n" + "\n".join(problems)

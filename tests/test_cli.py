from __future__ import annotations

import subprocess
import sys

import enginepools
from enginepools.cli import main


def test_version_matches_c_core() -> None:
    assert enginepools.__version__ == enginepools._core.VERSION


def test_python_dash_m_runs(capsys) -> None:
    r = subprocess.run([sys.executable, "-m", "enginepools", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("enginepools ")


def test_unknown_command_is_usage_error(capsys) -> None:
    try:
        main(["no-such-command"])
    except SystemExit as e:
        assert e.code == 2
    else:
        raise AssertionError("expected a usage error")
    assert "invalid choice" in capsys.readouterr().err

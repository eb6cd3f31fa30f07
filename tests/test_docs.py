"""The user documentation stays true: the CLI reference is generated from
the parser, and relative links between the docs resolve."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# pages other parts of the project write; linked before they land
PENDING_PAGES: set[str] = set()


def test_cli_reference_is_up_to_date() -> None:
    r = subprocess.run([sys.executable, str(DOCS / "gen_cli.py"), "--check"], capture_output=True, text=True,
                       cwd=ROOT)
    assert r.returncode == 0, r.stderr + "\n(run: python docs/gen_cli.py)"


def test_cli_reference_covers_every_command() -> None:
    from enginepools.cli import _command_modules

    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for name in _command_modules():
        assert f"## enginepools {name}\n" in text


def test_relative_links_resolve() -> None:
    broken = []
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            path = (page.parent / target).resolve()
            if not path.exists() and path.name not in PENDING_PAGES:
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, "broken links: " + ", ".join(broken)

"""Go-style flags on argparse: ``-benchtime 1s``, ``--benchtime=1s`` and
``-benchtime=1s`` all work, as users of ``go test`` and ``pprof`` expect."""
from __future__ import annotations

import argparse
from typing import Any


class GoArgumentParser(argparse.ArgumentParser):
    """argparse without prefix abbreviation (``-c`` must not mean ``-count``)
    whose errors exit 2 with one line, like Go's flag package."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message}\n(see '{self.prog} -h')\n")


def flag(parser: argparse.ArgumentParser, name: str, **kwargs: Any) -> argparse.Action:
    """Register ``-name`` and ``--name`` (single-letter names get ``-n`` only)."""
    dest = kwargs.pop("dest", name.replace("-", "_").replace(".", "_"))
    names = [f"-{name}"] if len(name) == 1 else [f"-{name}", f"--{name}"]
    return parser.add_argument(*names, dest=dest, **kwargs)

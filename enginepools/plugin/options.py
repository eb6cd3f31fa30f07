"""The ``--ep-*`` options: defaults, and reading the values that need more
than pytest's own parsing (``--ep-fail-on``, ``--ep-compare``)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

DEFAULT_BENCHTIME = "100ms"
DEFAULT_COUNT = 6
SAVE_DIR = ".enginepools"
_FAIL_ON_RE = re.compile(r"^\s*([^:\s][^:]*?)\s*:\s*([+-]?)\s*([0-9]*\.?[0-9]+)\s*%\s*$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class FailOn:
    """One ``--ep-fail-on`` clause: fail when `unit` changes by at least
    `pct` percent in the direction of its sign (+ = got bigger)."""

    unit: str
    pct: float  # signed

    def breached(self, delta_pct: float | None) -> bool:
        if delta_pct is None:
            return False
        return delta_pct >= self.pct if self.pct >= 0 else delta_pct <= self.pct

    def __str__(self) -> str:
        return f"{self.unit}:{self.pct:+g}%"


def parse_fail_on(text: str) -> list[FailOn]:
    """``"ns/op:+10%,B/op:+5%"`` -> clauses; a clear usage error otherwise."""
    out = []
    for item in text.split(","):
        if not item.strip():
            continue
        m = _FAIL_ON_RE.match(item)
        if not m:
            raise pytest.UsageError(
                f"--ep-fail-on {text!r}: cannot read {item.strip()!r}; expected UNIT:+PCT% clauses separated by "
                f"commas, e.g. \"ns/op:+10%\" or \"ns/op:+10%,B/op:+5%\" (- for metrics that must not drop)")
        pct = float(m.group(3))
        out.append(FailOn(m.group(1), -pct if m.group(2) == "-" else pct))
    if not out:
        raise pytest.UsageError(f"--ep-fail-on {text!r}: no clause given; expected e.g. \"ns/op:+10%\"")
    return out


def resolve_compare(value: str, rootdir: Path) -> Path:
    """``--ep-compare``: a file, or the NAME of a run saved under `rootdir`."""
    p = Path(value)
    if p.is_file():
        return p
    for cand in (rootdir / SAVE_DIR / f"{value}.json", rootdir / SAVE_DIR / value):
        if cand.is_file():
            return cand
    raise pytest.UsageError(f"--ep-compare {value!r}: no such file, and no saved run {SAVE_DIR}/{value}.json "
                            f"under {rootdir}")

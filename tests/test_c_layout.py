"""The shape of the C tree (docs: DESIGN.md §2): only the seam, csrc/py/,
includes Python.h or numpy's headers; the seam's module.c stays small (state,
slots, exec — the bindings live one concern a file beside it); and no C file
grows past what one reader holds in mind."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

CSRC = Path(__file__).resolve().parents[1] / "csrc"
SEAM = CSRC / "py"
MAX_LINES = 900
MODULE_MAX_LINES = 300
PYTHON_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"](Python\.h|numpy/[^>"]+)[>"]', re.M)

C_FILES = sorted(p for p in CSRC.rglob("*") if p.suffix in (".c", ".h"))


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_tree_is_there():
    assert (SEAM / "module.c").is_file()
    assert any(SEAM in p.parents for p in C_FILES)
    assert any(SEAM not in p.parents for p in C_FILES)


@pytest.mark.parametrize("path", [p for p in C_FILES if SEAM not in p.parents], ids=lambda p: str(p.relative_to(CSRC)))
def test_only_the_seam_includes_python(path):
    found = PYTHON_INCLUDE.findall(path.read_text(encoding="utf-8"))
    assert not found, f"{path.relative_to(CSRC)} includes {found}: only csrc/py/ may know about Python"


def test_module_c_is_small():
    n = _lines(SEAM / "module.c")
    assert n < MODULE_MAX_LINES, f"csrc/py/module.c has {n} lines (< {MODULE_MAX_LINES}): move bindings to their concern's file"


@pytest.mark.parametrize("path", C_FILES, ids=lambda p: str(p.relative_to(CSRC)))
def test_no_c_file_is_too_long(path):
    n = _lines(path)
    assert n <= MAX_LINES, f"{path.relative_to(CSRC)} has {n} lines (at most {MAX_LINES})"

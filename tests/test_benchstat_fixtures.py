"""``enginepools compare`` prints what benchstat prints.

The expected outputs in tests/data/benchstat/ were recorded from benchstat
(golang.org/x/perf, built from source; see the README there) on our own
``enginepools bench`` outputs and on hand-written edge cases: units and
their scaling, ``~``, p-values at n=3, spacing, several files, ``-col``.
Every fixture is compared byte for byte, except where a documented
benchstat reader quirk splits one unit into two tables (``files-zeros``):
there every other table must still be identical.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from enginepools.bench import benchfmt
from enginepools.cli import main

DATA = Path(__file__).parent / "data" / "benchstat"
FIXTURES = [line.split("\t") for line in (DATA / "fixtures.tsv").read_text().splitlines() if line]
BYTE_FOR_BYTE = [f for f in FIXTURES if f[0] != "files-zeros"]


def ours(capsys: pytest.CaptureFixture[str], argv: str) -> str:
    args = [str(DATA / a) if (DATA / a).is_file() else a for a in argv.split()]
    assert main(["compare", *args]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


@pytest.mark.parametrize("name, theirs_argv, our_argv", BYTE_FOR_BYTE, ids=[f[0] for f in BYTE_FOR_BYTE])
def test_compare_prints_benchstats_output(capsys: pytest.CaptureFixture[str], name: str, theirs_argv: str,
                                          our_argv: str) -> None:
    expected = (DATA / f"{name}.benchstat").read_text()
    assert ours(capsys, our_argv) == expected


def _blocks(text: str) -> dict[str, str]:
    """Tables keyed by their unit (the second header line's first label)."""
    out = {}
    for block in text.split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln.startswith(" ") and "│" in ln]
        unit = lines[1].split("│")[1].strip()
        out[unit] = block.strip("\n")
    return out


def test_zero_valued_ns_units_differ_only_where_benchstats_reader_splits_them(
        capsys: pytest.CaptureFixture[str]) -> None:
    theirs = _blocks((DATA / "files-zeros.benchstat").read_text())
    mine = _blocks(ours(capsys, "old3-zeros.txt new3-zeros.txt"))
    # benchstat: the samples that were 0 keep "clear-ns/op", the others become "clear-sec/op"
    assert "clear-ns/op" in theirs and "clear-ns/op" not in mine
    split = [u for u in theirs if u.startswith("clear-")]
    assert set(theirs) - set(split) == set(mine) - {"clear-sec/op"}
    for unit in set(mine) - {"clear-sec/op"}:
        assert mine[unit] == theirs[unit], unit
    # ours: one clear-sec/op table holding the rows of both of benchstat's tables
    rows = re.findall(r"^([A-Z]\S*)\s", mine["clear-sec/op"], re.M)
    theirs_rows = [r for u in split for r in re.findall(r"^([A-Z]\S*)\s", theirs[u], re.M)]
    assert sorted(rows) == sorted(theirs_rows) and len(rows) == 4


def test_benchstat_read_every_benchmark_and_unit_of_our_output() -> None:
    # impl10.txt is `enginepools bench` output; benchstat's tables (recorded)
    # hold every benchmark and every unit our reader finds in it
    recs = benchfmt.read(DATA / "impl10.txt")
    text = (DATA / "col-impl.benchstat").read_text()
    names = {r.label(drop=["impl"]) for r in recs}
    shown = set(re.findall(r"^([A-Z]\S*)\s", text, re.M))
    assert names == shown
    units = {u for r in recs for u in r.values}
    tidied = {"ns/op": "sec/op", "MB/s": "B/s", "clear-ns/op": "clear-sec/op"}
    assert {tidied.get(u, u) for u in units} == set(_blocks(text))

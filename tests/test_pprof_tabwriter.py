"""pprof's -tags goes through Go's text/tabwriter: the expected outputs here
were printed by Go 1.19's tabwriter for the same input and settings."""
from __future__ import annotations

from enginepools.pprof.traces import go_tabwriter

TEXT = "a:\t Total 1\n \tlong cell:\t x\n \ts:\t yy\n\nkey_longer:\t T\n \tq\tr\tz\n"


def test_align_right_padding_1() -> None:
    assert go_tabwriter(TEXT, padding=1, align_right=True) == (
        " a: Total 1\n"
        "    long cell: x\n"
        "            s: yy\n"
        "\n"
        " key_longer: T\n"
        "             q rz\n")


def test_align_left_padding_2() -> None:
    assert go_tabwriter(TEXT, padding=2) == (
        "a:   Total 1\n"
        "    long cell:   x\n"
        "    s:           yy\n"
        "\n"
        "key_longer:   T\n"
        "             q  r  z\n")

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


def test_tab_padding_as_the_heap_text_uses() -> None:
    # tabwriter.NewWriter(w, 1, 8, 1, '\t', 0), as runtime/pprof's debug=1 heap text
    text = ("heap profile: 1: 2 [3: 4] @ heap/8\n#\t0x1\tf+0x1\ta.c:1\n#\t0x1234567\tlonger_function_name+0x10\tb.c:22\n"
            "#\t0x12\tg+0x2\n\nx\ty\n#\t0x1\th+0x0123456\tc.c:3\n")
    assert go_tabwriter(text, padding=1, minwidth=1, padchar="\t", tabwidth=8) == (
        "heap profile: 1: 2 [3: 4] @ heap/8\n#\t0x1\t\tf+0x1\t\t\t\ta.c:1\n"
        "#\t0x1234567\tlonger_function_name+0x10\tb.c:22\n#\t0x12\t\tg+0x2\n\nx\ty\n#\t0x1\th+0x0123456\tc.c:3\n")

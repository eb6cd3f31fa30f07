"""Small Markdown helpers: tables, code blocks, images, links."""
from __future__ import annotations

from typing import Iterable, Sequence


def esc(text: object) -> str:
    """A table cell: pipes escaped, newlines folded."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(head: Sequence[str], rows: Iterable[Sequence[object]], align: str = "") -> str:
    """A GitHub table; `align` is one letter per column (l, r, c), default
    left for the first column and right for the rest."""
    head = list(head)
    if not align:
        align = "l" + "r" * (len(head) - 1)
    marks = {"l": ":---", "r": "---:", "c": ":---:"}
    out = ["| " + " | ".join(esc(h) for h in head) + " |",
           "|" + "|".join(marks[a] for a in align) + "|"]
    for row in rows:
        out.append("| " + " | ".join(esc(c) for c in row) + " |")
    return "\n".join(out) + "\n"


def code(text: str, lang: str = "") -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}\n"


def image(path: str, alt: str) -> str:
    return f"![{alt}]({path})\n"


def link(text: str, target: str) -> str:
    return f"[{text}]({target})"


def heading(level: int, text: str) -> str:
    return f"{'#' * level} {text}\n"


def bullets(items: Iterable[str]) -> str:
    return "".join(f"- {i}\n" for i in items)


def join(*blocks: str) -> str:
    """Blocks separated by one blank line, ending in one newline."""
    parts = [b.strip("\n") for b in blocks if b and b.strip()]
    return "\n\n".join(parts) + "\n"


def anchor(text: str) -> str:
    """GitHub's heading anchor for `text`."""
    out = []
    for ch in text.strip().lower():
        if ch.isalnum() or ch in "-_":
            out.append(ch)
        elif ch == " ":
            out.append("-")
    return "".join(out)

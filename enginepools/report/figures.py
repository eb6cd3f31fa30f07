"""Draw every figure of a report by calling the renderers in
:mod:`enginepools.charts`, :mod:`enginepools.callgraph` and
:mod:`enginepools.flamegraph` (which never measure: they get data).

Each figure is optional: when its data is absent the figure is skipped;
when the renderer is missing or fails on the data, the document says why
instead of showing the image.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from .common import Context, Figure

Progress = Callable[[str], None]


def render_all(ctx: Context, outdir: Path, progress: Progress | None = None) -> None:
    from . import profiles

    ctx.profiles = profiles.analyse_all(ctx.data)
    for key, title, draw in _figure_specs(ctx):
        if progress:
            progress(f"drawing {title}")
        try:
            fig = draw(outdir)
        except _Missing as e:
            ctx.figure_notes[key] = str(e)
            continue
        if fig is not None:
            ctx.figures[key] = fig


class _Missing(Exception):
    """A figure that cannot be drawn; the message says why."""


def _figure_specs(ctx: Context) -> list[tuple[str, str, Callable[[Path], Figure | None]]]:
    return []

"""One look for every picture enginepools draws.

* Colours: the Okabe–Ito palette (safe for the common colour-vision
  deficiencies), with fixed roles so the same thing has the same colour in
  every chart: plain allocation blue, pooled orange, keep green, remove
  vermillion, inconclusive / not significant grey.
* Figures are built with :class:`matplotlib.figure.Figure` on an Agg canvas,
  never through ``pyplot``: nothing is registered globally, nothing needs a
  display, and a figure is freed when it is no longer referenced.
* Style settings are applied with :func:`matplotlib.rc_context` around
  building (:func:`styled`) and saving (:func:`save`), so the caller's
  ``matplotlib.rcParams`` are never changed.
* :func:`save` writes each format to a temporary name and renames it, so an
  interrupted run never leaves half an image.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .._atomic import atomic_write

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
GREY = "#8C8C8C"
LIGHT_GREY = "#D9D9D9"

#: Colour roles shared by all charts.
PLAIN = OKABE_ITO["blue"]
POOLED = OKABE_ITO["orange"]
KEEP = OKABE_ITO["bluish_green"]
REMOVE = OKABE_ITO["vermillion"]
INCONCLUSIVE = GREY
FASTER = OKABE_ITO["bluish_green"]
SLOWER = OKABE_ITO["vermillion"]
NOT_SIGNIFICANT = GREY
#: Cycle for series without a fixed role.
CYCLE = [OKABE_ITO[k] for k in ("blue", "orange", "bluish_green", "vermillion", "reddish_purple",
                                  "sky_blue", "yellow", "black")]

DPI = 150
FORMATS = ("png", "svg")

RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "figure.titlesize": 13,
    "figure.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "grid.color": "#E5E5E5",
    "grid.linewidth": 0.8,
    "axes.axisbelow": True,
    "axes.prop_cycle": matplotlib.cycler(color=CYCLE),
    "errorbar.capsize": 3,
    "svg.fonttype": "none",  # text stays text in SVG: searchable, small
    "savefig.facecolor": "white",
}

F = TypeVar("F", bound=Callable[..., Any])


def styled(fn: F) -> F:
    """Run `fn` (which builds a figure) under the enginepools style."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with matplotlib.rc_context(RC):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def new_figure(width: float, height: float, **kw: Any) -> Figure:
    """A figure of `width` × `height` inches with constrained layout, on an
    Agg canvas (so text extents can be measured before saving)."""
    kw.setdefault("layout", "constrained")
    fig = Figure(figsize=(width, height), dpi=DPI, **kw)
    FigureCanvasAgg(fig)
    return fig


def renderer(fig: Figure) -> Any:
    canvas = fig.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        canvas = FigureCanvasAgg(fig)
    return canvas.get_renderer()


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """`fig` encoded as `fmt` (png, svg or pdf), as :func:`save` writes it."""
    import io

    buf = io.BytesIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format=fmt, dpi="figure", metadata=_metadata(fmt))
    return buf.getvalue()


def save(fig: Figure, path_stem: str | os.PathLike[str], formats: Iterable[str] = FORMATS) -> list[Path]:
    """Write `fig` as ``<path_stem>.<fmt>`` for each format, atomically,
    at the figure's dpi (:data:`DPI` unless a renderer lowered it for a
    very large picture).

    Returns the paths written.  The directory must exist."""
    stem = Path(path_stem)
    if stem.suffix.lower().lstrip(".") in {"png", "svg", "pdf"}:
        stem = stem.with_suffix("")
    fmts = list(formats)
    if not fmts:
        raise ValueError("save: no formats given")
    bad = [f for f in fmts if f not in {"png", "svg", "pdf"}]
    if bad:
        raise ValueError(f"save: unsupported format(s) {', '.join(bad)} (png, svg or pdf)")
    if not stem.parent.is_dir():
        raise ValueError(f"save: directory {stem.parent} does not exist")
    out = []
    for fmt in fmts:
        path = stem.parent / f"{stem.name}.{fmt}"
        data = figure_bytes(fig, fmt)
        with atomic_write(path, "wb") as f:
            f.write(data)
        out.append(path)
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _metadata(fmt: str) -> dict[str, Any]:
    # Reproducible files: no creation dates in SVG/PDF.
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None}
    return {}


def shorten(text: str, limit: int) -> str:
    """`text` cut in the middle to at most `limit` characters, keeping the
    end (the function name) and the start (the package)."""
    if limit < 5 or len(text) <= limit:
        return text if len(text) <= max(limit, 1) else text[: max(limit, 1)]
    keep_end = (limit - 1) * 2 // 3
    keep_start = limit - 1 - keep_end
    return text[:keep_start] + "…" + text[-keep_end:]


__all__ = ["OKABE_ITO", "PLAIN", "POOLED", "KEEP", "REMOVE", "INCONCLUSIVE", "FASTER", "SLOWER",
           "NOT_SIGNIFICANT", "GREY", "CYCLE", "DPI", "RC", "styled", "new_figure", "save", "renderer",
           "shorten"]

"""Flame graphs and differential flame graphs of pprof profiles.

A profile's samples become *stacks*: tuples of function names, root first
(pprof stores them leaf first, with inlined frames as several lines of one
location, innermost first — both are unrolled here), each with the value of
one sample type.  Stacks merge into a tree; a frame's width is its
inclusive value, children sit on top of their parent sorted by name (as
``flamegraph.pl`` does), so the x axis is *not* time: it is the share of the
total.  Colour is by module (the package or prefix of the name) so frames
of one component read as one hue.

The differential flame graph (which pprof lacks) draws the *union* of both
profiles' trees, so stacks that vanished are drawn as well as stacks that
grew: a frame's width is base + new (each normalised by its total, like
``difffolded.pl -n``, or raw when both runs did the same work), and its
colour the change new − base: red = grew, blue = shrank (a stack absent
from new is blue at its base width), white = unchanged, saturation ∝
|change| / the largest change.  Frames wide enough carry the change in
their label.  (Drawing the new tree alone, as ``flamegraph.pl`` does,
hides exactly what a pool removes: the allocations the new run no longer
makes.)

:func:`to_folded` / :func:`parse_folded` read and write Brendan Gregg's
folded format (``main;f;g 123``) for ``flamegraph.pl``, speedscope,
inferno and friends.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..pprof import units
from . import style as ps
from .callgraph import shorten_function_name

__all__ = ["Stacks", "FlameNode", "FlameFrame", "stacks_from_profile", "build_tree", "flame_layout",
           "flame_graph", "diff_flame_graph", "diff_colors", "frame_deltas", "to_folded", "parse_folded", "module_of"]

Stacks = dict  # {tuple[str, ...] (root first): float}


# ------------------------------------------------------------------ input

def _sample_index(profile: Any, sample_index: int | str | None) -> int:
    types = [t for t, _ in profile.sample_types]
    if not types:
        raise ValueError(f"{getattr(profile, 'source', 'profile')}: profile has no sample types")
    if sample_index is None:
        default = getattr(profile, "default_sample_type", "") or ""
        return types.index(default) if default in types else len(types) - 1
    if isinstance(sample_index, str):
        if sample_index.isdigit():
            sample_index = int(sample_index)
        elif sample_index in types:
            return types.index(sample_index)
        else:
            raise ValueError(f"sample_index {sample_index!r}: not one of {', '.join(types)}")
    if not -len(types) <= sample_index < len(types):
        raise ValueError(f"sample_index {sample_index}: profile has {len(types)} sample types ({', '.join(types)})")
    return sample_index % len(types)


def stacks_from_profile(profile: Any, sample_index: int | str | None = None) -> dict[tuple[str, ...], float]:
    """Merged stacks (root first) → value of sample type `sample_index`
    (index or name; default: the profile's default type, else the last)."""
    si = _sample_index(profile, sample_index)
    strings = profile.strings
    fn_name = {int(fid): strings[int(n)] for fid, n in zip(profile.function_id, profile.function_name)}
    loc_names: dict[int, tuple[str, ...]] = {}
    offs = profile.location_line_offsets
    for k, lid in enumerate(profile.location_id):
        a, b = int(offs[k]), int(offs[k + 1])
        if b > a:
            # lines innermost first -> outermost first
            names = tuple(fn_name.get(int(f), "?") or "?" for f in profile.line_function[a:b][::-1])
        else:
            names = (f"0x{int(profile.location_address[k]):x}",)
        loc_names[int(lid)] = names
    out: dict[tuple[str, ...], float] = {}
    so = profile.sample_loc_offsets
    ids = profile.sample_loc_ids
    vals = profile.values[:, si] if profile.values.size else np.zeros(0)
    for i in range(profile.values.shape[0]):
        v = float(vals[i])
        if v == 0:
            continue
        stack: list[str] = []
        for lid in ids[int(so[i]):int(so[i + 1])][::-1]:  # leaf first -> root first
            stack.extend(loc_names.get(int(lid), (f"loc{int(lid)}",)))
        key = tuple(stack)
        out[key] = out.get(key, 0.0) + v
    return out


def _as_stacks(src: Any, sample_index: int | str | None) -> dict[tuple[str, ...], float]:
    if hasattr(src, "sample_loc_offsets"):
        return stacks_from_profile(src, sample_index)
    if isinstance(src, Mapping):
        return {tuple(k.split(";")) if isinstance(k, str) else tuple(k): float(v) for k, v in src.items()}
    if isinstance(src, str):
        return parse_folded(src)
    return {tuple(k): float(v) for k, v in src}


# ------------------------------------------------------------------- tree

@dataclass
class FlameNode:
    name: str
    value: float = 0.0  # inclusive
    self_value: float = 0.0
    children: dict[str, "FlameNode"] = field(default_factory=dict)


def build_tree(stacks: Mapping[tuple[str, ...], float], root: str = "all") -> FlameNode:
    """Merge stacks into a tree; the root's value is the total."""
    top = FlameNode(root)
    for stack, v in stacks.items():
        if v == 0:
            continue
        node = top
        node.value += v
        for name in stack:
            child = node.children.get(name)
            if child is None:
                child = node.children[name] = FlameNode(name)
            child.value += v
            node = child
        node.self_value += v
    return top


@dataclass(frozen=True)
class FlameFrame:
    """One rectangle: ``x``/``width`` in value units, ``depth`` 0 = root."""

    name: str
    path: tuple[str, ...]
    depth: int
    x: float
    width: float
    self_value: float


def flame_layout(root: FlameNode, min_width: float = 0.0) -> list[FlameFrame]:
    """Frames in drawing order; children left to right by name.  Frames
    narrower than `min_width` (value units) and their descendants are left
    out (their parent still spans them)."""
    out: list[FlameFrame] = []
    todo: list[tuple[FlameNode, tuple[str, ...], int, float]] = [(root, (), 0, 0.0)]
    while todo:
        node, path, depth, x = todo.pop()
        if node.value < min_width and depth > 0:
            continue
        out.append(FlameFrame(node.name, path, depth, x, node.value, node.self_value))
        cx = x
        kids = []
        for name in sorted(node.children):
            child = node.children[name]
            kids.append((child, path + (name,), depth + 1, cx))
            cx += child.value
        todo.extend(reversed(kids))
    return out


# ----------------------------------------------------------------- colours

_MODULE_RX = re.compile(r"^(?:[\w\-\.]+/)*([\w\-]+)")


def module_of(name: str) -> str:
    """The module a frame belongs to, for colouring: Go package
    (``pkg/worker.New`` → ``worker``), C++ namespace, or a C prefix
    (``ep_pool_get`` → ``ep_pool``)."""
    if "::" in name:
        return name.split("::", 1)[0]
    m = _MODULE_RX.match(name)
    base = m.group(1) if m else name
    if "." not in name and "_" in base:
        parts = base.split("_")
        return "_".join(parts[:2]) if len(parts) > 2 else parts[0]
    return base


_WARM = ["#E69F00", "#F0E442", "#D55E00", "#CC79A7", "#56B4E9", "#009E73", "#E6B85C", "#F4A582"]


def _lighten(color: str, amount: float) -> tuple[float, float, float]:
    r, g, b = to_rgb(color)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def _module_color(name: str) -> tuple[float, float, float]:
    mod = module_of(name)
    h = int.from_bytes(hashlib.blake2b(mod.encode(), digest_size=4).digest(), "big")
    # One hue per module, a little lightness variation per function.
    hf = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=2).digest(), "big")
    return _lighten(_WARM[h % len(_WARM)], 0.25 + 0.3 * (hf / 65535.0))


_INCREASE = "#D55E00"  # Okabe–Ito vermillion
_DECREASE = "#0072B2"  # Okabe–Ito blue


def diff_colors(deltas: Iterable[float]) -> list[tuple[float, float, float]]:
    """White → red for positive changes, white → blue for negative,
    saturation ∝ |Δ| / max |Δ|."""
    d = np.asarray(list(deltas), dtype=float)
    m = float(np.max(np.abs(d))) if d.size else 0.0
    out = []
    for x in d:
        if m == 0 or x == 0:
            out.append((1.0, 1.0, 1.0))
            continue
        s = abs(x) / m
        base = to_rgb(_INCREASE if x > 0 else _DECREASE)
        out.append(tuple(1 - (1 - c) * (0.15 + 0.85 * s) for c in base))  # type: ignore[arg-type]
    return out  # type: ignore[return-value]


# ---------------------------------------------------------------- drawing

_FONT = 7.5


def _draw(frames: list[FlameFrame], colors: list[Any], total: float, title: str, xlabel: str,
          width_in: float, edge: str = "white", head_in: float = 0.55,
          suffixes: list[str] | None = None) -> tuple[Figure, Any]:
    depth = max(f.depth for f in frames) + 1
    row_in = 0.2
    foot_in = 0.5
    height_in = depth * row_in + head_in + foot_in
    fig = ps.new_figure(width_in, height_in, layout=None)
    left, right = 0.15 / width_in, 1 - 0.15 / width_in
    ax = fig.add_axes((left, foot_in / height_in, right - left, depth * row_in / height_in))
    bars = ax.barh([f.depth for f in frames], [f.width for f in frames], left=[f.x for f in frames], height=0.92,
                   color=colors, edgecolor=edge, linewidth=0.4, align="edge")
    for patch, f in zip(bars.patches, frames):
        patch.set_gid("frame:" + ";".join(f.path))
    ax.set_xlim(0, total)
    ax.set_ylim(0, depth)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)
    axes_pt = (right - left) * width_in * 72
    char_pt = _FONT * 0.58
    for i, (f, c) in enumerate(zip(frames, colors)):
        w_pt = f.width / total * axes_pt
        n = int((w_pt - 3) / char_pt)
        if n < 3:
            continue
        short = shorten_function_name(f.name)  # "pkg.(*T).M": the package path would fill the frame
        if suffixes and suffixes[i] and len(short) + len(suffixes[i]) <= n:
            short += suffixes[i]
        label = short if len(short) <= n else short[: n - 2] + ".."
        r, g, b = to_rgb(c)
        ink = "white" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.4 else "black"
        ax.text(f.x + total * 1.5 / axes_pt, f.depth + 0.46, label, fontsize=_FONT, va="center", ha="left",
                color=ink, clip_on=True, gid="label:" + ";".join(f.path))
    fig.text(0.5, 1 - 0.22 / height_in, title, ha="center", va="top", fontsize=12, fontweight="bold")
    fig.text(0.5, 0.2 / height_in, xlabel, ha="center", va="bottom", fontsize=9, color="#333333")
    return fig, ax


@ps.styled
def flame_graph(src: Any, sample_index: int | str | None = None, *, title: str | None = None,
                unit: str | None = None, min_fraction: float = 0.0005, width: float = 14.0) -> Figure:
    """Flame graph of a Profile (or stacks mapping, or folded text): root at
    the bottom, frame width = inclusive value of the chosen sample type;
    frames under `min_fraction` of the total are not drawn."""
    stacks = _as_stacks(src, sample_index)
    root = build_tree(stacks)
    if root.value <= 0:
        raise ValueError("flame graph: no samples with a positive value"
                         + (f" in {src.source}" if hasattr(src, "source") else ""))
    if unit is None and hasattr(src, "sample_types"):
        t, unit = src.sample_types[_sample_index(src, sample_index)]
        title = title or f"Flame graph: {t}"
    unit = unit or ""
    frames = flame_layout(root, root.value * min_fraction)
    colors = [(0.8, 0.8, 0.8) if f.depth == 0 else _module_color(f.name) for f in frames]
    xlabel = (f"width = share of {units.label(root.value, unit)} total (inclusive); "
              f"stacks root at the bottom, callees above; colour = module")
    fig, _ = _draw(frames, colors, root.value, title or "Flame graph", xlabel, width)
    return fig


def _lookup(root: FlameNode, path: tuple[str, ...]) -> float:
    node = root
    for name in path:
        nxt = node.children.get(name)
        if nxt is None:
            return 0.0
        node = nxt
    return node.value


@ps.styled
def diff_flame_graph(base: Any, new: Any, sample_index: int | str | None = None, *, title: str | None = None,
                     unit: str | None = None, base_label: str = "base", new_label: str = "new",
                     normalize: bool = True, min_fraction: float = 0.0005, width: float = 14.0) -> Figure:
    """Differential flame graph of the union of both profiles' stacks:
    width = base + new (with `normalize`, the default, each as a share of
    its own total; else raw values — use it when both runs did the same
    work), colour = new − base (share points, or a fraction of the base
    total).  Red grew, blue shrank; a stack that vanished from `new` is
    drawn at its base width in blue."""
    bs, ns = _as_stacks(base, sample_index), _as_stacks(new, sample_index)
    broot, nroot = build_tree(bs), build_tree(ns)
    if nroot.value <= 0:
        raise ValueError(f"differential flame graph: the {new_label} profile has no samples with a positive value")
    if broot.value <= 0:
        raise ValueError(f"differential flame graph: the {base_label} profile has no samples with a positive value")
    if unit is None and hasattr(new, "sample_types"):
        unit = new.sample_types[_sample_index(new, sample_index)][1]
    unit = unit or ""
    sb, sn = (1 / broot.value, 1 / nroot.value) if normalize else (1.0, 1.0)
    union: dict[tuple[str, ...], float] = {}
    for stacks, scale in ((bs, sb), (ns, sn)):
        for k, v in stacks.items():
            union[k] = union.get(k, 0.0) + v * scale
    uroot = build_tree(union)
    frames = flame_layout(uroot, uroot.value * min_fraction)
    deltas = frame_deltas(frames, nroot, broot, normalize)
    # colours scale to the largest change below the root (the root, the sum
    # of all changes, would wash out every other frame); the root is clipped
    m = max((abs(d) for f, d in zip(frames, deltas) if f.depth > 0), default=0.0)
    colors = diff_colors([d if f.depth > 0 else max(-m, min(m, d)) for f, d in zip(frames, deltas)])
    gone = _vanished_share(bs, ns)
    if normalize:
        suffixes = [f" {100 * d:+.1f} pts" if abs(d) >= 0.0005 else "" for d in deltas]
        wdesc = f"share of {base_label} + share of {new_label}"
    else:
        suffixes = [f" {'+' if d > 0 else '−'}{units.label(abs(d) * broot.value, unit)}" if d else "" for d in deltas]
        wdesc = f"{base_label} + {new_label}"
    xlabel = (f"width = {wdesc} ({base_label} {units.label(broot.value, unit)}, {new_label} "
              f"{units.label(nroot.value, unit)} in all); colour and label = change, {new_label} − {base_label}")
    if gone > 0:
        xlabel += f"; {100 * gone:.1f}% of {base_label} is in stacks absent from {new_label} (drawn, blue)"
    fig, ax = _draw(frames, colors, uroot.value, title or f"Differential flame graph: {new_label} vs {base_label}",
                    xlabel, width, edge="#BBBBBB", head_in=0.8, suffixes=suffixes)
    up = max((d for f, d in zip(frames, deltas) if f.depth > 0), default=0.0)
    down = min((d for f, d in zip(frames, deltas) if f.depth > 0), default=0.0)
    what = " points of share" if normalize else f"% of {base_label}'s total"
    handles = [Patch(facecolor=_INCREASE, label=f"grew in {new_label} (largest +{100 * max(up, 0):.1f}{what})"),
               Patch(facecolor=_DECREASE, label=f"shrank or vanished (largest −{100 * max(-down, 0):.1f}{what})"),
               Patch(facecolor="white", edgecolor="#999999", label="unchanged")]
    fig.legend(handles=handles, loc="upper center", ncol=3, fontsize=8.5, frameon=False,
               bbox_to_anchor=(0.5, 1 - 0.45 / fig.get_figheight()))
    return fig


def frame_deltas(frames: list[FlameFrame], nroot: FlameNode, broot: FlameNode, normalize: bool = True) -> list[float]:
    """The colour value of each frame: the change of its inclusive value
    from `broot` to `nroot`, looked up by path in both (absent = 0) — as a
    change of share of the total with `normalize` (0 for the root), else as
    a fraction of the base total."""
    out = []
    for f in frames:
        if normalize:
            out.append(_lookup(nroot, f.path) / nroot.value - _lookup(broot, f.path) / broot.value)
        else:
            out.append((_lookup(nroot, f.path) - _lookup(broot, f.path)) / broot.value)
    return out


def _vanished_share(bs: Mapping[tuple[str, ...], float], ns: Mapping[tuple[str, ...], float]) -> float:
    """Share of the base total in stacks (whole call paths) absent from new."""
    total = sum(bs.values())
    gone = sum(v for k, v in bs.items() if v and not ns.get(k))
    return gone / total if total else 0.0


# ------------------------------------------------------------------ folded

def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def to_folded(src: Any, sample_index: int | str | None = None) -> str:
    """Brendan Gregg's folded stacks: one ``root;…;leaf value`` line per
    distinct stack, sorted.  Semicolons in names become colons."""
    stacks = _as_stacks(src, sample_index)
    lines = []
    for stack, v in stacks.items():
        if v == 0:
            continue
        lines.append(";".join(s.replace(";", ":") for s in stack) + " " + _fmt(v))
    lines.sort()
    return "\n".join(lines) + ("\n" if lines else "")


def parse_folded(text: str, source: str = "<folded>") -> dict[tuple[str, ...], float]:
    """Read folded stacks (``a;b;c 12``); repeated stacks add up."""
    out: dict[tuple[str, ...], float] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        stack, sep, value = line.rpartition(" ")
        try:
            v = float(value)
        except ValueError:
            v = math.nan
        if not sep or not stack or not math.isfinite(v):
            raise ValueError(f"{source}:{lineno}: expected 'frame;frame;... value', got {line[:60]!r}")
        key = tuple(stack.split(";"))
        out[key] = out.get(key, 0.0) + v
    return out

"""Every number a report prints is formatted here, and only here.

Two rules hold for every document:

* **One Δ.**  A difference is Δ = (new − old) / old of the medians, where
  *old* is the baseline (plain allocation) and *new* the pooled variant, so
  ``+17.6%`` reads "17.6% slower / more" in every table, chart and sentence.
* **Percentages agree with the numbers shown.**  A percentage is printed
  next to the numbers it was computed from, and those numbers are printed
  with enough significant digits (:func:`pair`) that recomputing the
  percentage from the printed text gives the printed percentage.  The tests
  parse the documents and check exactly that.

Prose uses three fixed shapes, so a reader (and the tests) can always find
the operands of a figure right beside it::

    +17.6% (59.88 → 70.40 ns/op)      a delta: old → new
    48.1% (5.71MB of 11.88MB)         a share: part of whole
    1.18× (70.40 / 59.88 ns/op)       a ratio: a / b
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

MINUS = "-"  # ASCII: parsers and copy-paste both keep it
PCT_DIGITS = 1  # decimals of every Δ and share
MIN_SIG, MAX_SIG = 4, 12


def delta(old: float, new: float) -> float | None:
    """Δ = (new − old) / old; 0 when both are 0; None when only the baseline is 0."""
    if old == 0 and new == 0:
        return 0.0
    if old == 0 or not (math.isfinite(old) and math.isfinite(new)):
        return None
    return (new - old) / old


def pct(fraction: float | None, signed: bool = True) -> str:
    """``+17.6%`` (signed) or ``48.1%``; ``n/a`` when undefined."""
    if fraction is None or not math.isfinite(fraction):
        return "n/a"
    v = round(100.0 * fraction, PCT_DIGITS)
    if v == 0:
        v = 0.0  # no "-0.0%"
    return f"{v:+.{PCT_DIGITS}f}%" if signed else f"{v:.{PCT_DIGITS}f}%"


def num(v: float, sig: int = MIN_SIG) -> str:
    """`v` with at least `sig` significant digits, never in exponent form,
    integers of any size printed whole (``1729``, ``70.40``, ``0.0123``)."""
    if not math.isfinite(v):
        return "∞" if v > 0 else ("-∞" if v < 0 else "NaN")
    if v == 0:
        return "0"
    a = abs(v)
    mag = int(math.floor(math.log10(a)))
    decimals = max(0, sig - 1 - mag)
    if float(v).is_integer() and a < 1e15:
        return f"{int(v):,}" if a >= 10000 else str(int(v))
    return f"{v:,.{decimals}f}" if a >= 10000 else f"{v:.{decimals}f}"


def parse(text: str) -> float:
    """A number as :func:`num` prints it."""
    return float(text.replace(",", ""))


def _operands(a: float, b: float, figure: Callable[[float, float], str], sig: int) -> tuple[str, str]:
    """`a` and `b` printed with the fewest digits (from `sig`) from which
    `figure(a, b)` recomputes to what the exact values give."""
    want = figure(a, b)
    for s in range(sig, MAX_SIG + 1):
        x, y = num(a, s), num(b, s)
        if figure(parse(x), parse(y)) == want:
            return x, y
    return repr(float(a)), repr(float(b))


def pair(old: float, new: float, sig: int = MIN_SIG) -> tuple[str, str]:
    """`old` and `new` printed so that the Δ recomputed from the printed
    text rounds to the same :func:`pct` as the exact Δ."""
    return _operands(old, new, lambda a, b: pct(delta(a, b)), sig)


def share_pair(part: float, whole: float, sig: int = MIN_SIG) -> tuple[str, str]:
    """`part` and `whole` printed so that part/whole recomputed from the text
    gives the same :func:`share`."""
    return _operands(part, whole, share, sig)


def share(part: float, whole: float) -> str:
    """part / whole as ``48.1%``."""
    if whole == 0:
        return "n/a"
    return pct(part / whole, signed=False)


def ratio(a: float, b: float) -> str:
    """a / b as ``1.18×`` (two decimals)."""
    if b == 0:
        return "n/a"
    return f"{a / b:.2f}×"


def ratio_pair(a: float, b: float, sig: int = MIN_SIG) -> tuple[str, str]:
    """`a` and `b` printed so that a / b recomputed gives the same :func:`ratio`."""
    return _operands(a, b, ratio, sig)


# ---------------------------------------------------------------- phrases

def delta_phrase(old: float, new: float, unit: str) -> str:
    """``+17.6% (59.88 → 70.40 ns/op)``."""
    a, b = pair(old, new)
    return f"{pct(delta(old, new))} ({a} → {b} {unit})"


def share_phrase(part: float, whole: float, unit: str = "", scale: tuple[float, str] | None = None) -> str:
    """``48.1% (5714 of 11880 kB)``; `scale` = (divisor, unit) to print
    bytes in larger units."""
    div, u = scale if scale else (1.0, unit)
    a, b = share_pair(part / div, whole / div)
    u = f" {u}" if u else ""
    return f"{share(part, whole)} ({a} of {b}{u})"


def ratio_phrase(a: float, b: float, unit: str = "") -> str:
    """``2.53× (1237 / 489.9 ns/op)``."""
    x, y = ratio_pair(a, b)
    u = f" {unit}" if unit else ""
    return f"{ratio(a, b)} ({x} / {y}{u})"


def p_value(p: float | None) -> str:
    return "—" if p is None else f"{p:.3f}"


def interval(lo: float, hi: float) -> str:
    """A 95% interval ``[69.90, 71.20]``; ``—`` when the sample is too small."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "—"
    return f"[{num(lo)}, {num(hi)}]"


def byte_scale(values: Sequence[float]) -> tuple[float, str]:
    """A unit for printing byte counts of the size of max(values)."""
    m = max((abs(v) for v in values), default=0.0)
    for div, u in ((1024.0**3, "GiB"), (1024.0**2, "MiB"), (1024.0, "KiB")):
        if m >= div:
            return div, u
    return 1.0, "B"


def bytes_(v: float) -> str:
    div, u = byte_scale([v])
    return f"{num(v / div)} {u}"


def ms(ns: float | None) -> str:
    """A duration given in nanoseconds, in milliseconds (``12.34 ms``)."""
    return "—" if ns is None else f"{num(ns / 1e6)} ms"


def seconds(s: float) -> str:
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 120:
        return f"{s:.1f} s"
    return f"{s / 60:.1f} min"


def count(n: int | float) -> str:
    return f"{int(n):,}"

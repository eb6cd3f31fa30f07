"""pprof's units: scaling and formatting of sample values, exactly as
google/pprof's ``internal/measurement`` package (the one go tool pprof uses),
so our reports print the same strings: ``5713.92kB``, ``37.30s``,
``48.10%``, ``0.5%``.

Byte units step by 1024 (B, kB, MB, …), time units by 1000 (ns, us, ms, s)
then hours; other units are printed as bare numbers.
"""
from __future__ import annotations

import math

__all__ = ["scale", "scaled_label", "label", "percentage", "go_float_g"]

# (canonical name, aliases, factor); the first unit type whose aliases know the
# unit converts it.  Order matters: it is pprof's.
_UNIT_TYPES: list[tuple[tuple[str, tuple[str, ...], float], list[tuple[str, tuple[str, ...], float]]]] = [
    (("B", ("b", "byte"), 1.0), [
        ("B", ("b", "byte"), 1.0),
        ("kB", ("kb", "kbyte", "kilobyte"), float(1 << 10)),
        ("MB", ("mb", "mbyte", "megabyte"), float(1 << 20)),
        ("GB", ("gb", "gbyte", "gigabyte"), float(1 << 30)),
        ("TB", ("tb", "tbyte", "terabyte"), float(1 << 40)),
        ("PB", ("pb", "pbyte", "petabyte"), float(1 << 50)),
    ]),
    (("s", (), 1e9), [
        ("ns", ("ns", "nanosecond"), 1.0),
        ("us", ("\u03bcs", "us", "microsecond"), 1e3),
        ("ms", ("ms", "millisecond"), 1e6),
        ("s", ("s", "sec", "second"), 1e9),
        ("hrs", ("hour", "hr"), 3600e9),
    ]),
    (("GCU", (), 1.0), [
        ("n*GCU", ("nanogcu",), 1e-9),
        ("u*GCU", ("microgcu",), 1e-6),
        ("m*GCU", ("milligcu",), 1e-3),
        ("GCU", ("gcu",), 1.0),
        ("k*GCU", ("kilogcu",), 1e3),
        ("M*GCU", ("megagcu",), 1e6),
        ("G*GCU", ("gigagcu",), 1e9),
        ("T*GCU", ("teragcu",), 1e12),
        ("P*GCU", ("petagcu",), 1e15),
    ]),
]

_INT64_MIN = -(1 << 63)


def _sniff(units: list, unit: str):
    u = unit.lower()
    if len(u) > 2 and u.endswith("s"):
        u = u[:-1]
    for cand in units:
        if u in cand[1]:
            return cand
    return None


def _auto(units: list, value: float):
    f = 0.0
    name = ""
    for cname, _aliases, factor in units:
        if factor >= f and value / factor >= 1.0:
            f = factor
            name = cname
    if f == 0:
        return None
    return value / f, name


def _convert(ut, value: int, from_unit: str, to_unit: str):
    default, units = ut
    fu = _sniff(units, from_unit)
    if fu is None:
        return None
    v = float(value) * fu[2]
    if to_unit in ("minimum", "auto"):
        r = _auto(units, v)
        if r is not None:
            return r
        return v / default[2], default[0]
    tu = _sniff(units, to_unit)
    if tu is None:
        return v / default[2], default[0]
    return v / tu[2], tu[0]


def scale(value: int, from_unit: str, to_unit: str) -> tuple[float, str]:
    """pprof's measurement.Scale: `value` in `from_unit` expressed in
    `to_unit` ("minimum"/"auto" pick a readable unit); the returned unit is ""
    when uninteresting (counts)."""
    if value < 0 and value != _INT64_MIN:
        v, u = scale(-value, from_unit, to_unit)
        return -v, u
    for ut in _UNIT_TYPES:
        r = _convert(ut, value, from_unit, to_unit)
        if r is not None:
            return r
    if to_unit in ("count", "sample", "unit", "minimum", "auto"):
        return float(value), ""
    return float(value), to_unit


def scaled_label(value: int, from_unit: str, to_unit: str) -> str:
    """pprof's measurement.ScaledLabel: ``"%.2f"`` without a trailing ``.00``, then the unit."""
    v, u = scale(value, from_unit, to_unit)
    sv = "%.2f" % v
    if sv.endswith(".00"):
        sv = sv[:-3]
    if sv in ("0", "-0"):
        return "0"
    return sv + u


def label(value: int, unit: str) -> str:
    return scaled_label(value, unit, "auto")


def go_float_g(x: float, prec: int) -> str:
    """Go's ``%.<prec>g`` (shortest of %e/%f with `prec` significant digits,
    exponent with at least two digits) — same as C's for finite values."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return "%.*g" % (prec, x)


def percentage(value: int, total: int) -> str:
    """pprof's measurement.Percentage: ``"  100%"``, ``"48.10%"`` or ``"  0.5%"``."""
    ratio = 0.0
    if total != 0:
        ratio = abs(float(value) / float(total)) * 100
    if 99.95 <= abs(ratio) <= 100.05:
        return "  100%"
    if abs(ratio) >= 1.0:
        return "%5.2f%%" % ratio
    return "%5s%%" % go_float_g(ratio, 2)

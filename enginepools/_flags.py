"""Go-style flags on argparse: ``-benchtime 1s``, ``--benchtime=1s`` and
``-benchtime=1s`` all work, as users of ``go test`` and ``pprof`` expect."""
from __future__ import annotations

import argparse
import math
from typing import Any, Callable

from .errors import UsageError

INT64_MAX = (1 << 63) - 1


class GoArgumentParser(argparse.ArgumentParser):
    """argparse without prefix abbreviation (``-c`` must not mean ``-count``)
    whose errors exit 2 with one line, like Go's flag package."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} -h')\n")


def flag(parser: argparse.ArgumentParser, name: str, **kwargs: Any) -> argparse.Action:
    """Register ``-name`` and ``--name`` (single-letter names get ``-n`` only)."""
    dest = kwargs.pop("dest", name.replace("-", "_").replace(".", "_"))
    names = [f"-{name}"] if len(name) == 1 else [f"-{name}", f"--{name}"]
    return parser.add_argument(*names, dest=dest, **kwargs)


# ---- the one integer/float argument check --------------------------------

def check_int(value: Any, name: str, lo: int | None = 0, hi: int = INT64_MAX) -> int:
    """`value` (text or int) as an integer in [lo, hi]; UsageError naming
    `name` (a flag such as ``-count``, or an API argument) otherwise.  The
    default upper bound is int64's, as Go's flag package (and our C) has."""
    try:
        v = int(str(value).strip(), 10) if isinstance(value, str) else int(value)
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"{name} {value!r}: want an integer") from None
    if (lo is not None and v < lo) or v > hi:
        rng = f"{lo}..{hi}" if lo is not None else f"at most {hi}"
        raise UsageError(f"{name} {value}: out of range (want {rng})")
    return v


def check_float(value: Any, name: str, lo: float | None = None, hi: float | None = None,
                lo_open: bool = False) -> float:
    """`value` as a finite float in [lo, hi] (``(lo, hi]`` with `lo_open`);
    UsageError naming `name` otherwise."""
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"{name} {value!r}: want a number") from None
    if not math.isfinite(v):
        raise UsageError(f"{name} {value}: want a finite number")
    if lo is not None and (v < lo or (lo_open and v == lo)) or hi is not None and v > hi:
        want = f"{'more than' if lo_open else 'at least'} {lo}" if lo is not None else ""
        if hi is not None:
            want = f"{want} and at most {hi}" if want else f"at most {hi}"
        raise UsageError(f"{name} {value}: out of range (want {want})")
    return v


def int_arg(name: str, lo: int | None = 0, hi: int = INT64_MAX) -> Callable[[str], int]:
    """An argparse ``type=`` for an integer flag checked by :func:`check_int`."""
    def parse(text: str) -> int:
        try:
            return check_int(text, f"-{name}", lo, hi)
        except UsageError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    parse.__name__ = "integer"
    return parse


def float_arg(name: str, lo: float | None = None, hi: float | None = None,
              lo_open: bool = False) -> Callable[[str], float]:
    """An argparse ``type=`` for a float flag checked by :func:`check_float`."""
    def parse(text: str) -> float:
        try:
            return check_float(text, f"-{name}", lo, hi, lo_open)
        except UsageError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    parse.__name__ = "number"
    return parse

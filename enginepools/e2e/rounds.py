"""When an end-to-end A/B has run enough rounds: the adaptive stopping rule.

``enginepools ab`` (and the study's A/B phase) runs rounds — every
configuration once, interleaved — until the paired interval of every
configuration's wall-time ratio against the baseline is narrow enough, or
the time budget runs out:

* at least ``min_rounds`` rounds always run (``-count``);
* after each later round, stop with reason ``"target"`` when every
  configuration's 95% interval of its time ratio (``unit``: CPU time by
  default, or wall time) has a half-width (log scale, so 0.02 ≈ ±2%) is at
  most ``target``;
* otherwise stop with reason ``"budget"`` when one more round, as long as the
  rounds so far took on average, would end after ``budget`` seconds;
* with no target (``None``), exactly ``min_rounds`` rounds run (reason
  ``"count"``).

:func:`decide` is a pure function of the sample streams and the clock
readings it is given, so it is tested on synthetic streams.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ..analysis.paired import paired

__all__ = ["StopRule", "Decision", "decide", "half_widths"]


@dataclass(frozen=True)
class StopRule:
    min_rounds: int = 6
    target: float | None = 0.02  # interval half-width (fraction, log scale); None: fixed min_rounds
    budget: float | None = None  # seconds for the whole A/B; None: no limit
    confidence: float = 0.95
    unit: str = "cpu-ns/op"  # the time whose ratio the target is about (cpu-ns/op or ns/op, wall)

    def to_dict(self) -> dict[str, object]:
        return {"min_rounds": self.min_rounds, "target": self.target, "budget": self.budget,
                "confidence": self.confidence, "unit": self.unit}


@dataclass(frozen=True)
class Decision:
    stop: bool
    reason: str | None  # "target", "budget", "count" (None: go on)
    rounds: int
    half_widths: dict[str, float | None]


def half_widths(baseline: Sequence[float] | np.ndarray, arms: Mapping[str, Sequence[float] | np.ndarray],
                confidence: float = 0.95) -> dict[str, float | None]:
    """Per arm: the half-width of the paired interval of arm/baseline over
    the rounds both have (None: too few rounds for an interval)."""
    out: dict[str, float | None] = {}
    b = np.asarray(baseline, float)
    for name, a in arms.items():
        a = np.asarray(a, float)
        n = min(len(a), len(b))
        out[name] = paired(b[:n], a[:n], confidence).half_width if n else None
    return out


def decide(rule: StopRule, baseline: Sequence[float] | np.ndarray,
           arms: Mapping[str, Sequence[float] | np.ndarray], elapsed: float, round_seconds: float) -> Decision:
    """Stop after this round?  `elapsed`: seconds since the A/B started;
    `round_seconds`: what one more round is expected to take."""
    rounds = min([len(baseline)] + [len(a) for a in arms.values()])
    hw = half_widths(baseline, arms, rule.confidence) if rounds else {a: None for a in arms}
    if rounds < rule.min_rounds:
        return Decision(False, None, rounds, hw)
    if rule.target is None:
        return Decision(True, "count", rounds, hw)
    if all(h is not None and h <= rule.target for h in hw.values()):
        return Decision(True, "target", rounds, hw)
    if rule.budget is not None and elapsed + round_seconds > rule.budget:
        return Decision(True, "budget", rounds, hw)
    return Decision(False, None, rounds, hw)

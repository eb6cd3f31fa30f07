"""Paired statistics for interleaved rounds: one estimate of new/old.

Pooled and plain samples are taken in rounds (A B A B …), so sample *i* of
each side saw the same moment of the machine.  Analysing the per-round
log-ratio ``d_i = ln(new_i / old_i)`` removes the drift both sides share,
which an unpaired test (benchstat's Mann–Whitney U) must carry as noise:

* **test** — the exact Wilcoxon signed-rank test of "the median of d is 0",
  two-sided, from the exact null distribution of the signed-rank sum
  (midranks for tied |d|; zero differences dropped, as Wilcoxon did);
* **estimate and interval** — the Hodges–Lehmann estimate of the median
  log-ratio (the median of the Walsh averages ``(d_i + d_j) / 2``, i ≤ j)
  and its distribution-free interval from their order statistics (Tukey's
  construction, the one that inverts the signed-rank test), reported as
  ratios and as Δ = ratio − 1;
* **equivalence** — two one-sided tests (TOST): the (1 − 2α) interval lies
  inside ±margin;
* **how many more rounds** — the interval's half-width shrinks as 1/√n.

Everything is a pure function of two arrays; nothing here measures or draws.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

__all__ = ["PairedEstimate", "paired", "log_ratios", "signed_rank_p", "signed_rank_null", "walsh_interval",
           "equivalent", "rounds_needed", "min_rounds"]


@dataclass(frozen=True)
class PairedEstimate:
    """new/old over paired rounds.  Deltas are fractions (−0.05 = 5% less)."""

    n: int  # rounds used (pairs with a non-zero difference count for the test)
    ratio: float  # Hodges–Lehmann estimate of the median new/old ratio
    lo: float | None  # interval for the ratio (None: too few rounds for this confidence)
    hi: float | None
    p_value: float | None  # exact two-sided signed-rank p (None: no rounds)
    confidence: float

    @property
    def delta(self) -> float:
        return self.ratio - 1.0

    @property
    def delta_lo(self) -> float | None:
        return None if self.lo is None else self.lo - 1.0

    @property
    def delta_hi(self) -> float | None:
        return None if self.hi is None else self.hi - 1.0

    @property
    def half_width(self) -> float | None:
        """Half the interval's width, as a fraction of the ratio (log scale)."""
        if self.lo is None or self.hi is None:
            return None
        return (math.log(self.hi) - math.log(self.lo)) / 2

    def significant(self, alpha: float) -> bool:
        return self.p_value is not None and self.p_value <= alpha


def log_ratios(old: Sequence[float] | np.ndarray, new: Sequence[float] | np.ndarray) -> np.ndarray:
    """``ln(new_i / old_i)`` per round; both sides positive and of one length."""
    a, b = np.asarray(old, float), np.asarray(new, float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired samples need one value per round on each side, got {a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))) or np.any(a <= 0) or np.any(b <= 0):
        raise ValueError("paired ratios need finite, positive values on both sides")
    return np.log(b) - np.log(a)


def _ranks2(x: np.ndarray) -> np.ndarray:
    """Twice the midranks of `x` (integers, ties shared), 1-based."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    r2 = np.empty(len(x), dtype=np.int64)
    i = 0
    while i < len(xs):
        j = i
        while j + 1 < len(xs) and xs[j + 1] == xs[i]:
            j += 1
        r2[order[i:j + 1]] = (i + 1) + (j + 1)  # 2 × mean of ranks i+1 … j+1
        i = j + 1
    return r2


@lru_cache(maxsize=256)
def _null_counts(ranks2: tuple[int, ...]) -> np.ndarray:
    """counts[s]: sign assignments whose positive (doubled) ranks sum to s."""
    counts = np.zeros(sum(ranks2) + 1, dtype=float)
    counts[0] = 1.0
    for r in ranks2:
        counts[r:] = counts[r:] + counts[:-r]  # the right side is computed before it is stored
    return counts


def signed_rank_null(n: int) -> np.ndarray:
    """P(T⁺ = t), t = 0 … n(n+1)/2, for n untied non-zero differences."""
    c = _null_counts(tuple(range(2, 2 * n + 1, 2)))[::2]
    return c / c.sum()


def signed_rank_p(d: np.ndarray) -> float | None:
    """Exact two-sided p of the signed-rank test on differences `d`."""
    d = np.asarray(d, float)
    d = d[d != 0]
    if len(d) == 0:
        return None
    r2 = _ranks2(np.abs(d))
    t2 = int(r2[d > 0].sum())
    counts = _null_counts(tuple(sorted(int(x) for x in r2)))
    total = counts.sum()
    below = counts[:t2 + 1].sum() / total
    above = counts[t2:].sum() / total
    return float(min(1.0, 2 * min(below, above)))


def _critical(n: int, alpha: float) -> int | None:
    """Largest k with P(T⁺ ≤ k) ≤ α/2 (None: no such k at this n)."""
    cdf = np.cumsum(signed_rank_null(n))
    ks = np.nonzero(cdf <= alpha / 2 + 1e-12)[0]
    return int(ks[-1]) if len(ks) else None


def min_rounds(confidence: float = 0.95) -> int:
    """The fewest rounds with an interval at this confidence (6 at 95%)."""
    n = 1
    while _critical(n, 1 - confidence) is None:
        n += 1
    return n


def walsh_interval(d: np.ndarray, confidence: float = 0.95) -> tuple[float, float | None, float | None]:
    """Hodges–Lehmann estimate of the median of `d` and its interval."""
    d = np.sort(np.asarray(d, float))
    n = len(d)
    i, j = np.triu_indices(n)
    walsh = np.sort((d[i] + d[j]) / 2)
    est = float(np.median(walsh))
    k = _critical(n, 1 - confidence)
    if k is None:
        return est, None, None
    return est, float(walsh[k]), float(walsh[len(walsh) - 1 - k])


def paired(old: Sequence[float] | np.ndarray, new: Sequence[float] | np.ndarray,
           confidence: float = 0.95) -> PairedEstimate:
    """The paired estimate of new/old from rounds (old[i], new[i])."""
    d = log_ratios(old, new)
    if len(d) == 0:
        raise ValueError("paired samples need at least one round")
    est, lo, hi = walsh_interval(d, confidence)
    return PairedEstimate(n=len(d), ratio=math.exp(est), lo=None if lo is None else math.exp(lo),
                          hi=None if hi is None else math.exp(hi), p_value=signed_rank_p(d),
                          confidence=confidence)


def equivalent(old: Sequence[float] | np.ndarray, new: Sequence[float] | np.ndarray, margin: float,
               alpha: float = 0.05) -> bool | None:
    """TOST: is new/old within ±`margin` (a fraction) at level α?  The
    (1 − 2α) interval of the ratio must lie inside [1 − margin, 1 + margin].
    None when there are too few rounds for that interval."""
    e = paired(old, new, confidence=1 - 2 * alpha)
    if e.lo is None or e.hi is None:
        return None
    return 1 - margin <= e.lo and e.hi <= 1 + margin


def rounds_needed(est: PairedEstimate, target_half_width: float) -> int | None:
    """Rounds that would bring the interval's half-width (log scale) down to
    `target_half_width`, assuming the spread stays as it is (width ∝ 1/√n).
    None when the estimate has no interval yet."""
    hw = est.half_width
    if hw is None:
        return None
    if hw <= target_half_width:
        return est.n
    return max(est.n + 1, math.ceil(est.n * (hw / target_half_width) ** 2))

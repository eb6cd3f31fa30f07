"""Is a noisy benchmark the kernel's fault or the machine's?

Every sample carries the harness's machine probe (``Series.probe_zero64k_ns``,
``Series.probe_chain_ns``): how long zeroing 64 KiB and a fixed multiply chain
took between the sample's steps (means over its ticks, interrupted ticks left
out).  On a shared machine another tenant on the same core slows stores and
the cache without slowing the clock, in spells of seconds, so a store-heavy
kernel can vary by several percent from sample to sample while the engine
measures it exactly.

:func:`check` puts each benchmark's coefficient of variation (CV) of ns/op
beside the probes' CV over the same samples and the correlation between the
two, and :meth:`Stability.explain` says in a sentence which it is:

* the kernel's ns/op follows a probe (Pearson r ≥ 0.7, the probe's CV at
  least half the kernel's): the machine varied, not the kernel;
* both probes varied less than half as much as the kernel and it follows
  neither: the variation is the kernel's own;
* otherwise: the machine varied too, but the kernel does not follow it.

``enginepools bench`` prints these for every benchmark whose CV is above
:data:`CV_LIMIT` (pyperf warns in the same spirit, without the attribution).
"""
from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .result import BenchResult, Series
from ..analysis.stats import cv as _cv

#: CV of ns/op above which a benchmark is reported as noisy
CV_LIMIT = 0.03
#: correlation from which the kernel is said to follow the machine
FOLLOWS_R = 0.7
#: fewest samples for a CV worth stating
MIN_SAMPLES = 3


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < MIN_SAMPLES or x.std() == 0 or y.std() == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


@dataclass(frozen=True)
class Stability:
    """One benchmark's spread and what the machine did meanwhile."""

    name: str
    samples: int
    cv: float             #: CV of ns/op
    zero_cv: float        #: CV of the store probe (ns to zero 64 KiB) over the same samples
    chain_cv: float       #: CV of the latency probe (a multiply chain)
    r_zero: float         #: Pearson r of ns/op against the store probe
    r_chain: float        #: … against the latency probe
    zero_range: tuple[float, float]  #: min and max of the store probe, ns

    @property
    def noisy(self) -> bool:
        """CV above the limit, as printed (to 0.1%): 3.04% is not noisy."""
        return round(self.cv * 100, 1) > CV_LIMIT * 100

    @property
    def cause(self) -> str:
        """"machine", "kernel" or "unclear"."""
        if math.isnan(self.zero_cv):
            return "unclear"
        probes = ((self.r_zero, self.zero_cv), (self.r_chain, self.chain_cv))
        for r, cv in probes:
            if not math.isnan(r) and r >= FOLLOWS_R and cv >= self.cv / 2:
                return "machine"
        if all((math.isnan(cv) or cv < self.cv / 2) and (math.isnan(r) or r < FOLLOWS_R) for r, cv in probes):
            return "kernel"
        return "unclear"

    def explain(self) -> str:
        head = f"{self.name}: ns/op varies {self.cv * 100:.1f}% (CV over {self.samples} samples)"
        if math.isnan(self.zero_cv):
            return head + "; no machine probe in these samples (a file from another tool or version)."
        lo, hi = self.zero_range

        def r(x: float) -> str:
            return "" if math.isnan(x) else f", r = {x:.2f}"

        chain_r = "" if math.isnan(self.r_chain) else f" (r = {self.r_chain:.2f})"
        probe = (f"zeroing 64 KiB took {lo:.0f}–{hi:.0f} ns between its samples (CV {self.zero_cv * 100:.1f}%"
                 f"{r(self.r_zero)}), a fixed multiply chain varied {self.chain_cv * 100:.1f}%{chain_r}")
        if self.cause == "machine":
            return (f"{head}, and it follows the machine: {probe}. Other work on this machine's cores and "
                    f"caches, not the kernel; compare with the U test, or re-run when the machine is quieter.")
        if self.cause == "kernel":
            return (f"{head}, much more than the machine did ({probe}): the variation is the kernel's own "
                    f"(allocator, page faults, pool misses — see the extra units).")
        return f"{head}; the machine varied too, but ns/op does not clearly follow it: {probe}."


def summary(found: list[Stability], total: int) -> str:
    """One line for many benchmarks: how many were noisy, and how many of
    those the machine explains."""
    machine = sum(1 for st in found if st.cause == "machine")
    return (f"{len(found)} of {total} benchmarks varied more than {CV_LIMIT * 100:g}% between samples; "
            f"{machine} of them follow the machine probe (other work on this machine)")


def stability(s: Series) -> Stability:
    ns = np.asarray(s.values.get("ns/op", np.full(len(s), np.nan)), dtype=float)
    z = np.asarray(s.probe_zero64k_ns, dtype=float)
    c = np.asarray(s.probe_chain_ns, dtype=float)
    zf = z[np.isfinite(z)]
    return Stability(name=s.name, samples=int(np.isfinite(ns).sum()), cv=_cv(ns), zero_cv=_cv(z), chain_cv=_cv(c),
                     r_zero=_pearson(ns, z), r_chain=_pearson(ns, c),
                     zero_range=(float(zf.min()), float(zf.max())) if len(zf) else (math.nan, math.nan))


class _Moments:
    """Count, mean and sum of squared deviations of the finite values seen
    (Welford's update: exact to rounding, O(1) memory)."""

    __slots__ = ("n", "mean", "m2")

    def __init__(self) -> None:
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, x: float) -> None:
        if math.isfinite(x):
            self.n += 1
            d = x - self.mean
            self.mean += d / self.n
            self.m2 += d * (x - self.mean)

    def cv(self) -> float:  # as analysis.stats.cv: sample SD / mean, NaN under 2 values or a mean <= 0
        if self.n < 2 or self.mean <= 0:
            return math.nan
        return math.sqrt(self.m2 / (self.n - 1)) / self.mean


class _CoMoments:
    """Welford's update for the pairs (x, y) both finite: their Pearson r."""

    __slots__ = ("x", "y", "cxy")

    def __init__(self) -> None:
        self.x, self.y, self.cxy = _Moments(), _Moments(), 0.0

    def add(self, x: float, y: float) -> None:
        if math.isfinite(x) and math.isfinite(y):
            dx = x - self.x.mean
            self.x.add(x)
            self.y.add(y)
            self.cxy += dx * (y - self.y.mean)

    def r(self) -> float:  # as _pearson: NaN under MIN_SAMPLES pairs or a constant side
        if self.x.n < MIN_SAMPLES or self.x.m2 <= 0 or self.y.m2 <= 0:
            return math.nan
        return max(-1.0, min(1.0, self.cxy / math.sqrt(self.x.m2 * self.y.m2)))


class Running:
    """A benchmark's :class:`Stability` over samples as they stream by, in
    O(1) memory (``enginepools bench`` keeps no samples): ``add(ns/op,
    store probe, latency probe)`` per sample, NaN for what is unknown."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.n = 0
        self._ns, self._zero, self._chain = _Moments(), _Moments(), _Moments()
        self._ns_zero, self._ns_chain = _CoMoments(), _CoMoments()
        self._zmin, self._zmax = math.inf, -math.inf

    def __len__(self) -> int:
        return self.n

    def add(self, ns_per_op: float, zero64k_ns: float, chain_ns: float) -> None:
        self.n += 1
        self._ns.add(ns_per_op)
        self._zero.add(zero64k_ns)
        self._chain.add(chain_ns)
        self._ns_zero.add(ns_per_op, zero64k_ns)
        self._ns_chain.add(ns_per_op, chain_ns)
        if math.isfinite(zero64k_ns):
            self._zmin, self._zmax = min(self._zmin, zero64k_ns), max(self._zmax, zero64k_ns)

    def stability(self) -> Stability:
        return Stability(name=self.name, samples=self._ns.n, cv=self._ns.cv(), zero_cv=self._zero.cv(),
                         chain_cv=self._chain.cv(), r_zero=self._ns_zero.r(), r_chain=self._ns_chain.r(),
                         zero_range=(self._zmin, self._zmax) if self._zero.n else (math.nan, math.nan))


def check(res: BenchResult | Mapping[str, Running], only_noisy: bool = True) -> list[Stability]:
    """Stability of every benchmark with at least MIN_SAMPLES samples (only
    those with CV above CV_LIMIT unless `only_noisy` is False), in run order;
    `res` is a result, or the running statistics of a streamed run."""
    out = []
    for s in (res.series if isinstance(res, BenchResult) else res).values():
        if len(s) < MIN_SAMPLES:
            continue
        st = s.stability() if isinstance(s, Running) else stability(s)
        if not only_noisy or st.noisy:
            out.append(st)
    return out


def warn(res: BenchResult | Mapping[str, Running] | str | os.PathLike[str], *, prefix: str = "", most: int | None = None,
         detail: str = "") -> None:
    """pyperf-style, on stderr: say which benchmarks of `res` (a result, or
    the path of its JSON; a missing file says nothing) varied more than they
    should, and whether the machine's probe says why.  Past `most` of them,
    one summary line instead, pointing to `detail` (where the table is)."""
    if isinstance(res, (str, os.PathLike)):
        if not os.path.isfile(res):
            return
        res = BenchResult.read(res)
    found = check(res)
    if most is not None and len(found) > most:  # a line each would bury what follows
        total = len(check(res, only_noisy=False))
        print(f"{prefix}noisy: {summary(found, total)}" + (f"; see {detail}" if detail else ""), file=sys.stderr)
        return
    for st in found:
        print(f"{prefix}noisy: {st.explain()}", file=sys.stderr)


__all__ = ["CV_LIMIT", "FOLLOWS_R", "MIN_SAMPLES", "Stability", "Running", "stability", "check", "summary", "warn"]

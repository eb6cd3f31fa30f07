"""Statistics for benchmark samples: benchstat's, then Holm–Bonferroni.

Pure functions over numpy arrays; nothing here reads files or prints.

* Centre: the sample median.
* Interval: a confidence interval of the median from order statistics.
  The rank of the population median among n samples is Binomial(n, ½);
  :func:`quantile_ci` grows an interval of ranks outward from the mode,
  always taking the more probable neighbour (the left one on a tie), until
  it holds the requested confidence — the procedure of go-moremath's
  ``stats.QuantileCI`` that benchstat uses, including its normal
  approximation above n = 30.  An order outside 1..n means an infinite
  bound: with fewer than 6 samples there is no 95% interval.
* Test: two-sided Mann–Whitney U.  No ties and ≤ 50 samples a side:
  scipy's exact distribution.  Ties and ≤ 25 a side (go-moremath's
  limits): the exact permutation distribution of U given the tied ranks (what scipy's
  ``PermutationMethod`` enumerates, computed here by dynamic programming so
  it stays fast).  Larger: scipy's normal approximation with tie and
  continuity correction.  When even the most extreme ranking could not
  reach α (2 / C(n1+n2, n1) > α; fewer than 4 samples a side at α = 0.05)
  no p-value is computed and benchstat's warning is returned instead.
* Δ = (new − old) / old of the medians — the one definition used everywhere.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike

ALPHA = 0.05
CONFIDENCE = 0.95
#: Largest sample size (per side) for which an exact p-value is computed.
EXACT_LIMIT = 50
#: With ties, the exact distribution is used up to this n (go-moremath's limit).
TIES_EXACT_LIMIT = 25
#: Above this n the median CI uses the normal approximation (as benchstat).
QUANTILE_CI_APPROX_THRESHOLD = 30

WARN_ALL_EQUAL = "all samples are equal"


# ------------------------------------------------------------------ summary

@dataclass(frozen=True)
class QuantileCI:
    """Order statistics bounding a quantile's confidence interval.

    ``lo_order``/``hi_order`` are 1-based ranks; 0 or n+1 mean −∞/+∞.
    ``confidence`` is the interval's actual coverage (≥ the requested)."""

    n: int
    quantile: float
    confidence: float
    lo_order: int
    hi_order: int


@dataclass(frozen=True)
class Summary:
    """Median of a sample and its confidence interval (±inf when the sample
    is too small for one; see ``warnings``)."""

    center: float
    lo: float
    hi: float
    n: int
    confidence: float
    warnings: tuple[str, ...] = ()

    @property
    def has_ci(self) -> bool:
        return math.isfinite(self.lo) and math.isfinite(self.hi)


def _scipy_stats():
    """scipy.stats, imported on first use (it costs ~0.5 s, and the CLI's
    help or a `top` run never needs it)."""
    import scipy.stats

    return scipy.stats


def _binom_pmf(n: int, p: float, k: int) -> float:
    if k < 0 or k > n:
        return 0.0
    # exact for p = 1/2 and n <= 30: comb(n, k) < 2**53 and the powers are
    # powers of two, so the mode/tie comparisons below are exact.
    return math.comb(n, k) * p**k * (1.0 - p) ** (n - k)


def quantile_ci(n: int, q: float = 0.5, confidence: float = CONFIDENCE) -> QuantileCI:
    """The ranks bounding a `confidence` interval of the `q` quantile of `n`
    samples (go-moremath ``stats.QuantileCI``)."""
    if n < 0 or not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile_ci: need n >= 0 and 0 <= q <= 1, got n={n}, q={q}")
    if confidence >= 1.0:
        return QuantileCI(n, q, 1.0, 0, n + 1)
    if n <= QUANTILE_CI_APPROX_THRESHOLD:
        # Start at the (lower) mode and add neighbouring ranks, most
        # probable first, left on a tie, until the coverage is reached.
        x = 0 if q == 0 else int(math.ceil((n + 1) * q) - 1)
        accum = _binom_pmf(n, q, x)
        l, r = x, x + 1
        lp, rp = _binom_pmf(n, q, l - 1), _binom_pmf(n, q, r)
        while accum < confidence and (lp > 0 or rp > 0):
            if lp >= rp:
                accum += lp
                l -= 1
                lp = _binom_pmf(n, q, l - 1)
            else:
                accum += rp
                r += 1
                rp = _binom_pmf(n, q, r)
        actual = accum
    else:
        mu = n * q
        sigma = math.sqrt(n * q * (1 - q))
        norm = _scipy_stats().norm(mu, sigma)
        l1 = float(norm.ppf((1 - confidence) / 2))
        r1 = 2 * mu - l1
        l = int(math.floor(math.floor(l1 - 0.5) + 0.5)) + 1
        r = int(math.floor(math.ceil(r1 - 0.5) + 0.5)) + 1

        def cover(lo: int, hi: int) -> float:
            return float(norm.cdf(hi - 0.5) - norm.cdf(lo - 0.5))

        actual = cover(l, r)
        biased = cover(l, r - 1)
        if confidence <= biased < actual:
            actual, r = biased, r - 1
        if l <= 0 and r >= n + 1:
            actual = 1.0
    return QuantileCI(n, q, actual, max(l, 0), min(r, n + 1))


def min_samples_for_ci(confidence: float = CONFIDENCE, limit: int = 50) -> int:
    """Smallest n whose median interval lies inside the sample."""
    for n in range(2, limit + 1):
        ci = quantile_ci(n, 0.5, confidence)
        if ci.lo_order > 0 and ci.hi_order <= n:
            return n
    return limit + 1


def median(x: ArrayLike) -> float:
    a = np.asarray(x, dtype=float)
    if a.size == 0:
        raise ValueError("median of an empty sample")
    return float(np.median(a))


def median_ci(x: ArrayLike, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """(lo, hi) bounds of the median's confidence interval; ±inf when the
    sample is too small for the requested confidence."""
    s = np.sort(np.asarray(x, dtype=float))
    ci = quantile_ci(s.size, 0.5, confidence)
    lo = -math.inf if ci.lo_order < 1 else float(s[ci.lo_order - 1])
    hi = math.inf if ci.hi_order > s.size else float(s[ci.hi_order - 1])
    return lo, hi


def summarize(x: ArrayLike, confidence: float = CONFIDENCE) -> Summary:
    """Median, its interval and benchstat's warning when there is none."""
    a = np.asarray(x, dtype=float)
    center = median(a)
    lo, hi = median_ci(a, confidence)
    ci = quantile_ci(a.size, 0.5, confidence)
    warnings: tuple[str, ...] = ()
    if not (math.isfinite(lo) and math.isfinite(hi)):
        warnings = (f"need >= {min_samples_for_ci(confidence)} samples for confidence interval "
                    f"at level {_g(confidence)}",)
    return Summary(center, lo, hi, int(a.size), ci.confidence, warnings)


# --------------------------------------------------------------- comparing

@dataclass(frozen=True)
class Comparison:
    """Result of testing whether two samples differ.

    ``p`` is None when no p-value could reach α with these sample sizes;
    ``p_test`` is the U-test p-value all the same (benchstat prints it:
    ``p=0.100 n=3``), 1 when every sample is equal."""

    p: float | None
    n1: int
    n2: int
    alpha: float
    method: str
    warnings: tuple[str, ...] = ()
    p_test: float = 1.0

    @property
    def significant(self) -> bool:
        return self.p is not None and self.p <= self.alpha


def json_finite(obj: Any) -> Any:
    """`obj` with every non-finite float (a ratio overflowing to ±inf, say)
    replaced by ``None``: JSON has no infinity, so ``-format json`` writes
    ``null`` there (docs/compare-and-verdict.md)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_finite(v) for v in obj]
    return obj


def min_p_value(n1: int, n2: int) -> float:
    """Smallest two-sided exact Mann–Whitney p-value possible for sizes
    n1, n2 (both samples completely separated, no ties)."""
    if n1 < 1 or n2 < 1:
        return 1.0
    if n1 + n2 <= 1000:  # exact; C(1000, 500) still fits a float
        return min(1.0, 2.0 / math.comb(n1 + n2, n1))
    # 2 / C(n1+n2, n1) in logs: the float of C(1030, 515) would overflow
    log_comb = math.lgamma(n1 + n2 + 1) - math.lgamma(n1 + 1) - math.lgamma(n2 + 1)
    return min(1.0, math.exp(math.log(2.0) - log_comb))


def min_samples_for_test(alpha: float = ALPHA, limit: int = 50) -> int:
    """Smallest equal sample size at which the U test can reach `alpha`
    (benchstat's ``uTestSamples``: 4 at α = 0.05)."""
    for n in range(1, limit + 1):
        if min_p_value(n, n) <= alpha:
            return n
    return limit + 1


def _exact_p_with_ties(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided p of the U statistic of `x` under the permutation
    distribution given the tie pattern, as go-moremath's
    ``MannWhitneyUTest`` (benchstat) defines it: 2 P(U ≤ min(u, n1 n2 − u))
    for x's U, and 1 when u is exactly n1 n2 / 2.  Mid-ranks are doubled to
    make them integers, so the counting is exact."""
    n1, n2 = x.size, y.size
    allv = np.concatenate([x, y])
    ranks2 = np.rint(2 * _scipy_stats().rankdata(allv)).astype(np.int64)  # doubled mid-ranks
    observed = int(ranks2[:n1].sum())
    total = int(ranks2.sum())
    u1_2 = observed - n1 * (n1 + 1)  # 2 U1
    u2_2 = 2 * n1 * n2 - u1_2
    if u1_2 == u2_2:
        return 1.0
    # counts[k][s] = number of k-subsets of the ranks seen so far summing to s
    counts = np.zeros((n1 + 1, total + 1), dtype=float)
    counts[0, 0] = 1.0
    for r in ranks2:
        counts[1:, r:] += counts[:-1, : total + 1 - r]
    dist = counts[n1]
    limit = min(u1_2, u2_2) + n1 * (n1 + 1)  # 2 R1 at U1 = min(u1, u2)
    return float(2.0 * dist[: limit + 1].sum() / dist.sum())


def mann_whitney_p(x: ArrayLike, y: ArrayLike) -> tuple[float, str]:
    """Two-sided Mann–Whitney U p-value and the method used
    (``exact``, ``exact-ties``, ``asymptotic`` or ``all-equal``)."""
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    if a.size == 0 or b.size == 0:
        raise ValueError("mann_whitney_p: both samples need at least one value")
    allv = np.concatenate([a, b])
    if np.all(allv == allv[0]):
        return 1.0, "all-equal"
    ties = np.unique(allv).size < allv.size
    if not ties and a.size <= EXACT_LIMIT and b.size <= EXACT_LIMIT:
        res = _scipy_stats().mannwhitneyu(a, b, alternative="two-sided", method="exact")
        return float(res.pvalue), "exact"
    if ties and a.size <= TIES_EXACT_LIMIT and b.size <= TIES_EXACT_LIMIT:
        return _exact_p_with_ties(a, b), "exact-ties"
    res = _scipy_stats().mannwhitneyu(a, b, alternative="two-sided", method="asymptotic", use_continuity=True)
    return float(res.pvalue), "asymptotic"


def compare_samples(old: ArrayLike, new: ArrayLike, alpha: float = ALPHA) -> Comparison:
    """benchstat's comparison: the U-test p-value, and benchstat's warnings —
    ``all samples are equal`` (p = 1), or, when p > α and both samples are
    smaller than the size that could ever reach α, how many are needed.
    ``p`` is None when these sizes cannot reach α at all (``p_test`` is
    still the test's p-value)."""
    a = np.asarray(old, dtype=float)
    b = np.asarray(new, dtype=float)
    p_test, method = mann_whitney_p(a, b)
    if method == "all-equal":
        warnings: tuple[str, ...] = (WARN_ALL_EQUAL,)
    else:
        need = min_samples_for_test(alpha)
        warnings = ()
        if p_test > alpha and a.size < need and b.size < need:
            warnings = (f"need >= {need} samples to detect a difference at alpha level {_g(alpha)}",)
    if min_p_value(a.size, b.size) > alpha:
        return Comparison(None, a.size, b.size, alpha, "none", warnings, p_test)
    return Comparison(p_test, a.size, b.size, alpha, method, warnings, p_test)


# ------------------------------------------------------------ aggregation

def delta(old: float, new: float) -> float | None:
    """(new − old) / old; 0 when both are 0; None when only old is 0."""
    if old == new:
        return 0.0
    if old == 0:
        return None
    return (new - old) / old


# ------------------------------------------------------------- Δ intervals
# Two methods, one convention: a fraction, as delta() returns.

def _u_null_cdf(m: int, n: int) -> np.ndarray:
    """cdf[u] = P(U ≤ u) for the Mann–Whitney U of sizes m, n (no ties)."""
    big = m * n
    # Generating function of U is the Gaussian binomial [m+n choose m]_q;
    # count the m-subsets of ranks 1..m+n by rank sum, then shift to U.
    total = (m + n) * (m + n + 1) // 2
    sub = np.zeros((m + 1, total + 1))
    sub[0, 0] = 1.0
    for r in range(1, m + n + 1):
        sub[1:, r:] += sub[:-1, : total + 1 - r]
    w0 = m * (m + 1) // 2
    dist = sub[m, w0: w0 + big + 1]
    counts = dist / dist.sum()
    return np.cumsum(counts)


def delta_ci_hodges_lehmann(old: ArrayLike, new: ArrayLike, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Interval (a fraction, as :func:`delta`) for Δ = new/old − 1: the Hodges–Lehmann interval of
    the log-ratio shift, i.e. the order statistics ``k`` and ``mn+1−k`` of
    the m·n pairwise ratios, ``k`` the exact Mann–Whitney critical value
    (normal approximation above 50 a side).  None when the samples are too
    small for any interval at this confidence, or not all positive."""
    a = np.asarray(old, dtype=float)
    b = np.asarray(new, dtype=float)
    m, n = a.size, b.size
    if m == 0 or n == 0 or np.any(a <= 0) or np.any(b <= 0):
        return None
    alpha = 1.0 - confidence
    if m <= 50 and n <= 50:
        cdf = _u_null_cdf(m, n)
        # k = number of smallest differences cut off each side: P(U ≤ k−1) ≤ α/2
        ok = np.nonzero(cdf <= alpha / 2 + 1e-12)[0]
        k = int(ok[-1]) + 1 if ok.size else 0
    else:
        z = _scipy_stats().norm.ppf(1 - alpha / 2)
        k = int(math.floor(m * n / 2 - z * math.sqrt(m * n * (m + n + 1) / 12)))
    if k < 1:
        return None
    d = np.sort((np.log(b)[None, :] - np.log(a)[:, None]).ravel())
    lo, hi = d[k - 1], d[m * n - k]
    return math.expm1(lo), math.expm1(hi)


def delta_ci_bootstrap(old: ArrayLike, new: ArrayLike, confidence: float = CONFIDENCE,
                       resamples: int = 4000, seed: int = 0) -> tuple[float, float] | None:
    """Interval (a fraction, as :func:`delta`) for Δ = median(new)/median(old) − 1:
    the percentile bootstrap (`resamples` resamples, seeded).  None below 4
    samples a side."""
    old, new = np.asarray(old, float), np.asarray(new, float)
    if len(old) < 4 or len(new) < 4 or np.median(old) == 0:
        return None
    def stat(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.median(b, axis=axis) / np.median(a, axis=axis) - 1.0

    res = _scipy_stats().bootstrap((old, new), stat, vectorized=True, paired=False, confidence_level=confidence,
                    n_resamples=resamples, method="percentile", random_state=np.random.default_rng(seed))
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None


def cv(x: ArrayLike) -> float:
    """Coefficient of variation: sample standard deviation / mean of the
    finite values; NaN with fewer than 2 of them or a mean ≤ 0."""
    a = np.asarray(x, dtype=float)
    a = a[np.isfinite(a)]
    if a.size < 2 or a.mean() <= 0:
        return math.nan
    return float(a.std(ddof=1) / a.mean())


def geomean(x: ArrayLike) -> float | None:
    """Geometric mean; None unless every value is > 0.  The mean of the
    logs is a running mean, as go-moremath's ``GeoMean`` (benchstat's
    geomean row) computes it, so the printed digits agree."""
    m = 0.0
    n = 0
    for v in np.asarray(x, dtype=float).ravel().tolist():
        if not v > 0:
            return None
        n += 1
        m += (math.log(v) - m) / n
    return math.exp(m) if n else None


def holm(pvalues: "list[float | None] | tuple[float | None, ...]") -> list[float | None]:
    """Holm–Bonferroni adjusted p-values (None entries are skipped and not
    counted).  Sorted ascending, the i-th smallest of m becomes
    max over j ≤ i of min(1, (m − j + 1) p_(j)); reject where ≤ α."""
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    m = len(idx)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: pvalues[i])):  # type: ignore[arg-type,return-value]
        p = pvalues[i]
        assert p is not None
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def _g(x: float) -> str:
    """Format like Go's %v for the levels we print (0.05, 0.95)."""
    return f"{x:g}"


__all__ = [
    "ALPHA", "CONFIDENCE", "QuantileCI", "Summary", "Comparison", "quantile_ci", "median", "median_ci",
    "summarize", "min_samples_for_ci", "min_p_value", "min_samples_for_test", "mann_whitney_p",
    "compare_samples", "delta", "delta_ci_hodges_lehmann", "delta_ci_bootstrap", "cv", "geomean", "holm",
]

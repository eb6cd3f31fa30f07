"""Statistics: medians, order-statistic intervals, U-test p-values, Holm.

Expected numbers are worked out by hand in the comments (binomial
probabilities of Binomial(n, 1/2) in units of 2**-n), by brute-force
enumeration of every assignment of the pooled values to the two samples
(U counted pair by pair, not from rank sums), or read from published
critical-value tables — never by making the call the code under test makes.
Samples are skewed where the centre matters, so a mean in place of a median
fails.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.stats

from enginepools.analysis import stats


def test_median_odd_and_even() -> None:
    assert stats.median([3.0, 1.0, 20.0]) == 3.0  # mean 8
    assert stats.median([40.0, 1.0, 3.0, 2.0]) == 2.5  # mean 11.5


@pytest.mark.parametrize(
    "n, lo, hi, coverage",
    [
        # n=6, pmf*64 = 1 6 15 20 15 6 1: start at rank-interval 3 (20), add 15 (left on tie),
        # 15, 6 (left), 6 -> 62/64 >= .95 covering intervals 1..5, i.e. orders 1..6 (min..max)
        (6, 1, 6, 62 / 64),
        # n=5, pmf*32 = 1 5 10 10 5 1: 10, +10 (right: larger), +5 (left on tie), +5 = 30/32 < .95,
        # +1 (left on tie) = 31/32: lower order 0 -> no lower bound
        (5, 0, 5, 31 / 32),
        # n=10, pmf*1024 = 1 10 45 120 210 252 ...: 252, +210, +210, +120, +120, +45, +45 = 1002
        (10, 2, 9, 1002 / 1024),
    ],
)
def test_median_interval_orders_are_benchstats(n: int, lo: int, hi: int, coverage: float) -> None:
    ci = stats.quantile_ci(n, 0.5, 0.95)
    assert (ci.lo_order, ci.hi_order) == (lo, hi)
    assert ci.confidence == pytest.approx(coverage, abs=1e-15)


def test_median_and_ci_on_known_data() -> None:
    # skewed: mean 25.5, median 5.5; orders 2 and 9 of the sorted sample
    x = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 6.0, 9.0, 8.0, 7.0, 210.0])
    s = stats.summarize(x)
    assert s.center == 5.5
    assert (s.lo, s.hi) == (2.0, 9.0)
    assert s.n == 10 and s.warnings == ()
    six = stats.summarize([10.0, 12.0, 11.0, 13.0, 95.0, 14.0])  # mean 25.8
    assert (six.center, six.lo, six.hi) == (12.5, 10.0, 95.0)


def test_normal_approximation_above_30_still_covers_95_percent() -> None:
    for n in (31, 50, 100):
        ci = stats.quantile_ci(n)
        exact = scipy.stats.binom.cdf(ci.hi_order - 1, n, 0.5) - scipy.stats.binom.cdf(ci.lo_order - 1, n, 0.5)
        assert exact >= 0.95
        assert 1 <= ci.lo_order < n / 2 < ci.hi_order <= n


def test_fewer_than_6_samples_have_no_interval_and_say_so() -> None:
    s = stats.summarize([1.0, 2.0, 3.0, 4.0, 5.0])
    assert s.center == 3.0
    assert s.lo == -math.inf and s.hi == 5.0 and not s.has_ci
    assert s.warnings == ("need >= 6 samples for confidence interval at level 0.95",)
    one = stats.summarize([70.4])
    assert one.center == 70.4 and not one.has_ci


def enumerated_p(x: list[float], y: list[float]) -> float:
    """Two-sided p of the Mann–Whitney U of `x` by brute force: every way of
    drawing len(x) of the pooled values as "x" is equally likely under H0;
    U counts the pairs (xi, yj) with xi > yj, a tie counting ½.
    p = 2·P(U ≤ min(u, n1·n2 − u)), and 1 when u = n1·n2 / 2 — go-moremath's
    definition, which benchstat prints (with ties the distribution of U
    need not be symmetric, so this is not always 2·min(P(U ≤ u), P(U ≥ u)))."""
    pooled = list(x) + list(y)
    n, n1 = len(pooled), len(x)
    g = np.array([[1.0 if a > b else 0.5 if a == b else 0.0 for b in pooled] for a in pooled])
    combos = np.array(list(itertools.combinations(range(n), n1)))
    member = np.zeros((len(combos), n))
    np.put_along_axis(member, combos, 1.0, axis=1)
    u_all = np.einsum("ci,ij,cj->c", member, g, 1.0 - member)
    u = sum(g[i, j] for i in range(n1) for j in range(n1, n))
    eps = 1e-9
    other = n1 * (n - n1) - u
    if abs(u - other) < eps:
        return 1.0
    return 2 * np.count_nonzero(u_all <= min(u, other) + eps) / len(combos)


def test_u_test_p_values_equal_enumeration() -> None:
    rng = np.random.default_rng(1234)
    for n1, n2 in [(4, 4), (5, 7), (6, 6), (4, 9), (8, 8), (7, 9)]:
        x = rng.normal(100, 5, n1)
        y = rng.normal(104, 5, n2)
        c = stats.compare_samples(x, y)
        assert c.method == "exact"
        assert c.p == pytest.approx(enumerated_p(list(x), list(y)), rel=1e-12, abs=0)


def _with_u(n: int, u: int) -> tuple[list[float], list[float]]:
    """Samples of n each, no ties, whose U (pairs with x > y) is exactly u."""
    y = [2.0 * k for k in range(n)]
    above = [min(n, max(0, u - n * i)) for i in range(n)]  # y values below each x, summing to u
    return [2.0 * c - 1.0 + 1e-3 * i for i, c in enumerate(above)], y


# Published two-tailed critical values of U at α = 0.05 (U ≤ critical is
# significant): e.g. Zar, Biostatistical Analysis, table B.11; the same in
# every textbook table.  Checked at the edge: U = critical → p ≤ 0.05,
# U = critical + 1 → p > 0.05.  n = 20 is beyond enumeration here.
CRITICAL_U_05 = {5: 2, 6: 5, 7: 8, 8: 13, 9: 17, 10: 23, 15: 64, 20: 127}


@pytest.mark.parametrize("n, critical", CRITICAL_U_05.items())
def test_u_test_p_values_meet_published_critical_values(n: int, critical: int) -> None:
    x, y = _with_u(n, critical)
    assert sum(a > b for a in x for b in y) == critical
    assert stats.compare_samples(x, y).p <= 0.05
    x, y = _with_u(n, critical + 1)
    assert stats.compare_samples(x, y).p > 0.05


def test_completely_separated_4_vs_4_is_2_over_70() -> None:
    c = stats.compare_samples([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0])
    assert c.p == pytest.approx(2 / 70)
    assert c.significant and c.warnings == ()


def test_tied_samples_equal_enumerated_permutation_p_values() -> None:
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(20):
        n1, n2 = rng.integers(4, 8, 2)
        x = rng.integers(0, 4, n1).astype(float)
        y = rng.integers(1, 5, n2).astype(float)
        c = stats.compare_samples(x, y)
        if c.method == "all-equal":
            continue
        assert c.method == "exact-ties"
        assert c.p == pytest.approx(enumerated_p(list(x), list(y)), rel=1e-12)
        checked += 1
    assert checked >= 15
    # by hand: x = (1, 1, 2, 2), y = (2, 3, 3, 3): U = ½ + ½ = 1 (x's 2s tie y's 2).
    # No draw of 4 of the 8 values has a smaller U; U = 1 needs both 1s and two
    # of the three 2s: 3 of the C(8, 4) = 70 draws.  P(U ≤ 1) = 3/70, p = 6/70.
    assert stats.compare_samples([1.0, 1.0, 2.0, 2.0], [2.0, 3.0, 3.0, 3.0]).p == pytest.approx(6 / 70)


def test_constant_but_different_sides_are_significant() -> None:
    # 24 B/op every run against 32 B/op every run: complete separation with ties
    c = stats.compare_samples([32.0] * 6, [24.0] * 6)
    assert c.p == pytest.approx(2 / math.comb(12, 6))
    assert c.significant


def test_identical_samples_are_not_different_and_do_not_crash() -> None:
    c = stats.compare_samples([112.0] * 6, [112.0] * 6)
    assert c.p == 1.0 and not c.significant
    assert c.warnings == ("all samples are equal",)


def test_large_samples_use_the_normal_approximation() -> None:
    # x = 0..59, y = x + 7.5: x_i > y_j iff i − j ≥ 8, so U = 1 + 2 + … + 52 = 1378;
    # μ = 60·60/2 = 1800, σ² = 60·60·121/12 = 36300; with continuity correction
    # z = (422 − ½)/σ, p = erfc(z/√2)
    x = np.arange(60, dtype=float)
    y = np.arange(60, dtype=float) + 7.5
    c = stats.compare_samples(x, y)
    z = (1800 - 1378 - 0.5) / math.sqrt(36300)
    assert c.method == "asymptotic" and c.p == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-9)


@pytest.mark.parametrize("n1, n2, warned", [(1, 1, True), (2, 2, True), (3, 3, True), (1, 10, False),
                                             (3, 4, False)])
def test_too_few_samples_give_no_usable_p_value(n1: int, n2: int, warned: bool) -> None:
    c = stats.compare_samples(np.arange(n1, dtype=float), np.arange(n2, dtype=float) + 100)
    assert c.p is None and not c.significant
    # the test's own p-value, printed as benchstat does: complete separation
    # is the most extreme of the C(n1+n2, n1) rankings, two-sided
    assert c.p_test == pytest.approx(min(1.0, 2 / math.comb(n1 + n2, n1)))
    # benchstat warns only when both sides are below the size that could reach α
    want = ("need >= 4 samples to detect a difference at alpha level 0.05",) if warned else ()
    assert c.warnings == want


def test_sample_need_follows_alpha() -> None:
    assert stats.min_samples_for_test(0.05) == 4
    assert stats.min_samples_for_test(0.01) == 5  # 2/C(8,4)=.029 > .01, 2/C(10,5)=.0079
    c = stats.compare_samples([1.0] * 4, [2.0] * 4, alpha=0.01)
    assert c.p is None and c.warnings == ("need >= 5 samples to detect a difference at alpha level 0.01",)


def test_holm_bonferroni_by_hand() -> None:
    # sorted: .005*4=.02, .01*3=.03, .03*2=.06, .04*1=.04 -> running max .06
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # None entries are skipped and do not count towards m
    out = stats.holm([0.02, None, 0.5])
    assert out[1] is None and out[0] == pytest.approx(0.04) and out[2] == pytest.approx(0.5)
    assert stats.holm([0.9, 0.8]) == [1.0, 1.0]


def test_delta_is_new_minus_old_over_old() -> None:
    assert stats.delta(59.88, 70.40) == pytest.approx(0.17568, abs=1e-5)
    assert stats.delta(1729.0, 1088.0) == pytest.approx(-0.37073, abs=1e-5)
    assert stats.delta(0.0, 0.0) == 0.0
    assert stats.delta(0.0, 24.0) is None


def test_geomean() -> None:
    assert stats.geomean([1.0, 4.0, 16.0]) == pytest.approx(4.0)
    assert stats.geomean([0.0, 4.0]) is None


def test_cv_is_sample_sd_over_mean_of_finite_values():
    x = [100.0, 110.0, 90.0, 105.0]
    # mean 101.25; squared deviations 1.5625 + 76.5625 + 126.5625 + 14.0625 = 218.75 over n − 1 = 3
    assert stats.cv(x) == pytest.approx(math.sqrt(218.75 / 3) / 101.25)
    assert stats.cv(x + [math.nan]) == stats.cv(x)  # a sample without a probe reading is left out
    assert math.isnan(stats.cv([5.0])) and math.isnan(stats.cv([0.0, 0.0]))
    assert stats.cv([1.0, 3.0]) == pytest.approx(math.sqrt(2) / 2)  # two values are enough
    assert stats.cv([0.2, 0.4]) == pytest.approx(math.sqrt(0.02) / 0.3)
    assert math.isnan(stats.cv([-1.0, 1.0]))  # mean 0: no CV


def test_hodges_lehmann_interval_uses_the_published_critical_value() -> None:
    # 10 a side at 95%: the two-tailed critical U is 23 (table above), so the
    # interval runs from the 24th smallest to the 24th largest of the 100
    # pairwise log-ratios log(new_j) − log(old_i).
    old = np.array([100.0, 103, 98, 250, 101, 99, 97, 104, 102, 96])
    new = old[::-1] * 0.8 + np.arange(10)
    d = sorted(math.log(b) - math.log(a) for a in old for b in new)
    lo, hi = stats.delta_ci_hodges_lehmann(old, new)
    assert lo == pytest.approx(math.exp(d[23]) - 1, rel=1e-12)
    assert hi == pytest.approx(math.exp(d[100 - 24]) - 1, rel=1e-12)
    # 5 a side at 95%: critical U = 2 → the 3rd smallest and 3rd largest of 25
    old5, new5 = old[:5], new[:5]
    d5 = sorted(math.log(b) - math.log(a) for a in old5 for b in new5)
    lo5, hi5 = stats.delta_ci_hodges_lehmann(old5, new5)
    assert (lo5, hi5) == (pytest.approx(math.exp(d5[2]) - 1), pytest.approx(math.exp(d5[22]) - 1))


def test_hodges_lehmann_interval_needs_enough_positive_samples() -> None:
    # 3 a side: the smallest two-sided p is 2/C(6,3) = 0.1 > 0.05: no interval
    assert stats.delta_ci_hodges_lehmann([1.0, 2, 3], [4.0, 5, 6]) is None
    assert stats.delta_ci_hodges_lehmann([1.0, 2, 3, 4], [4.0, 5, 6, 7]) is not None  # 2/70 < 0.05
    assert stats.delta_ci_hodges_lehmann([0.0, 2, 3, 4], [4.0, 5, 6, 7]) is None
    assert stats.delta_ci_hodges_lehmann([1.0, 2, 3, 4], [4.0, -5, 6, 7]) is None
    assert stats.delta_ci_hodges_lehmann([], [1.0]) is None
    assert stats.delta_ci_hodges_lehmann([1.0, 2, 3, 4], [0.0, 5, 6, 7]) is None
    # values below 1 are fine; 1 against 40: 2/41 < 0.05, so the extreme ratios bound it
    lo, hi = stats.delta_ci_hodges_lehmann([0.1, 0.2, 0.3, 0.4], [0.4, 0.5, 0.6, 0.8])
    assert (lo, hi) == (pytest.approx(0.4 / 0.4 - 1), pytest.approx(0.8 / 0.1 - 1))
    lo, hi = stats.delta_ci_hodges_lehmann([100.0], [float(k) for k in range(1, 41)])
    assert (lo, hi) == (pytest.approx(1 / 100 - 1), pytest.approx(40 / 100 - 1))
    # 4 a side: critical U = 0, the interval is the extreme ratios min(new)/max(old) .. max(new)/min(old)
    lo, hi = stats.delta_ci_hodges_lehmann([1.0, 2, 3, 4], [4.0, 5, 6, 8])
    assert (lo, hi) == (pytest.approx(4 / 4 - 1), pytest.approx(8 / 1 - 1))


def test_hodges_lehmann_interval_above_50_uses_the_normal_critical_value() -> None:
    # m = n = 60: k = floor(1800 − 1.959964·sqrt(60·60·121/12)) = floor(1426.57) = 1426
    old = np.linspace(100.0, 160.0, 60)
    new = old * 1.1
    d = np.sort((np.log(new)[None, :] - np.log(old)[:, None]).ravel())
    lo, hi = stats.delta_ci_hodges_lehmann(old, new)
    assert lo == pytest.approx(math.expm1(d[1425])) and hi == pytest.approx(math.expm1(d[3600 - 1426]))


def test_bootstrap_interval_of_the_median_ratio() -> None:
    assert stats.delta_ci_bootstrap([1.0, 2, 3], [1.0, 2, 3, 4]) is None  # fewer than 4 a side
    assert stats.delta_ci_bootstrap([0.0] * 5, [1.0] * 5) is None  # baseline median 0
    # constant sides: every resample's ratio of medians is 150/100
    lo, hi = stats.delta_ci_bootstrap([100.0] * 6, [150.0] * 6)
    assert (lo, hi) == (pytest.approx(0.5), pytest.approx(0.5))
    # skewed: one outlier per side moves a mean (ratio ≈ 1.74) but hardly a median (1.2)
    old = [100.0, 100, 100, 100, 100, 100, 100, 5000]
    new = [120.0, 120, 120, 120, 120, 120, 120, 9000]
    a = stats.delta_ci_bootstrap(old, new, resamples=2000, seed=3)
    assert a == stats.delta_ci_bootstrap(old, new, resamples=2000, seed=3)  # seeded
    assert a[0] <= 0.2 + 1e-9 and 0.2 - 1e-9 <= a[1] and a[1] < 0.7


# ----------------------------------------------- quantile intervals, every branch
# Expectations from the binomial distribution (scipy.stats.binom, not the
# module's own pmf): the order statistics (l, r) cover the q quantile with
# probability P(l ≤ B < r), B ~ Bin(n, q), and the interval is built from
# the most probable ranks first, so dropping its least probable end falls
# below the confidence asked for.

def _coverage(n: int, q: float, lo: int, hi: int) -> float:
    k = np.arange(max(lo, 0), min(hi, n + 1))
    return float(scipy.stats.binom.pmf(k, n, q).sum())


@pytest.mark.parametrize("n", [1, 2, 5, 9, 10, 17, 30])
@pytest.mark.parametrize("q", [0.1, 0.25, 0.5, 0.75, 0.9])
@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_small_sample_quantile_interval_is_the_most_probable_ranks(n: int, q: float, confidence: float) -> None:
    ci = stats.quantile_ci(n, q, confidence)
    assert (ci.n, ci.quantile) == (n, q)
    assert 0 <= ci.lo_order < ci.hi_order <= n + 1
    cov = _coverage(n, q, ci.lo_order, ci.hi_order)
    assert ci.confidence == pytest.approx(cov, abs=1e-9)
    if (ci.lo_order, ci.hi_order) != (0, n + 1):
        assert cov >= confidence - 1e-12
    ends = [scipy.stats.binom.pmf(ci.lo_order, n, q), scipy.stats.binom.pmf(ci.hi_order - 1, n, q)]
    if ci.hi_order - ci.lo_order > 1:
        assert cov - min(ends) < confidence  # minimal: without its least probable rank it no longer covers
    # the ranks around the q quantile's position are inside
    assert ci.lo_order <= max(1, math.ceil((n + 1) * q) - 1) <= ci.hi_order


@pytest.mark.parametrize("n", [31, 40, 57, 100, 1000])
@pytest.mark.parametrize("q", [0.5, 0.25])
def test_large_sample_quantile_interval_covers_like_the_binomial(n: int, q: float) -> None:
    ci = stats.quantile_ci(n, q, 0.95)
    assert 1 <= ci.lo_order < ci.hi_order <= n
    exact = _coverage(n, q, ci.lo_order, ci.hi_order)
    assert abs(ci.confidence - exact) < 0.02  # the normal approximation of the same coverage
    assert exact >= 0.93 and _coverage(n, q, ci.lo_order + 1, ci.hi_order - 1) < 0.95
    # centred on the quantile's rank n·q: the two ends lie about equally far from it
    assert abs((ci.lo_order + ci.hi_order) / 2 - (n * q + 1)) <= 1.5


def test_a_large_sample_interval_that_spans_everything_is_certain() -> None:
    ci = stats.quantile_ci(31, 0.5, 1 - 1e-12)  # normal branch; needs more ranks than there are
    assert (ci.lo_order, ci.hi_order, ci.confidence) == (0, 32, 1.0)


def test_quantile_interval_edges_and_bad_arguments() -> None:
    assert stats.quantile_ci(7, 0.5, 1.0) == stats.QuantileCI(7, 0.5, 1.0, 0, 8)  # certainty: -inf … +inf
    lo_q = stats.quantile_ci(10, 0.0, 0.9)  # the minimum: rank 0 holds all the probability
    assert (lo_q.lo_order, lo_q.confidence) == (0, 1.0)
    hi_q = stats.quantile_ci(10, 1.0, 0.9)
    assert (hi_q.hi_order, hi_q.confidence) == (11, 1.0)
    for n, q in ((-1, 0.5), (5, -0.01), (5, 1.01)):
        with pytest.raises(ValueError, match=f"n={n}, q={q}"):
            stats.quantile_ci(n, q)


def test_samples_needed_for_an_interval_follow_the_confidence() -> None:
    # the median interval lies inside the sample once 1 − 2/2ⁿ ≥ confidence
    assert stats.min_samples_for_ci(0.90) == 5 and stats.min_samples_for_ci() == 6 and stats.min_samples_for_ci(0.99) == 8
    assert stats.min_samples_for_ci(1 - 1e-9, limit=10) == 11  # never within the limit: limit + 1
    assert stats.min_samples_for_ci(0.5) == 2  # 1 − 2/4 = 0.5: two samples suffice


def test_smallest_possible_p_is_two_over_the_arrangements() -> None:
    assert stats.min_p_value(4, 4) == pytest.approx(2 / 70)
    assert stats.min_p_value(1, 1) == 1.0 and stats.min_p_value(1, 2) == pytest.approx(2 / 3)
    assert stats.min_p_value(0, 5) == 1.0 and stats.min_p_value(5, 0) == 1.0
    assert stats.min_p_value(1, 999) == pytest.approx(2 / 1000)  # exact branch, at its edge of 1000
    assert stats.min_p_value(1, 1000) == pytest.approx(2 / 1001, rel=1e-9)  # the log branch
    assert stats.min_p_value(3, 998) == pytest.approx(2 / math.comb(1001, 3), rel=1e-9)
    assert stats.min_p_value(2, 1000) == pytest.approx(2 / math.comb(1002, 2), rel=1e-9)


def test_samples_needed_for_a_test_follow_alpha() -> None:
    # 2/C(2n, n) ≤ α: n = 3 gives 2/20 = 0.1 exactly (≤ is inclusive), 4 gives 2/70, 5 gives 2/252, 7 gives 2/3432
    assert stats.min_samples_for_test(0.1) == 3 and stats.min_samples_for_test() == 4
    assert stats.min_samples_for_test(0.01) == 5 and stats.min_samples_for_test(0.001) == 7
    assert stats.min_samples_for_test(1.0) == 1  # 2/C(2, 1) = 1
    assert stats.min_samples_for_test(1e-40, limit=10) == 11


# ------------------------------------------------- edges of the other statistics

def test_empty_samples_are_refused_or_undefined() -> None:
    with pytest.raises(ValueError, match="median of an empty sample"):
        stats.median([])
    with pytest.raises(ValueError, match="mann_whitney_p: both samples need at least one value"):
        stats.mann_whitney_p([1.0, 2.0], [])
    with pytest.raises(ValueError, match="both samples need at least one value"):
        stats.mann_whitney_p([], [1.0, 2.0])
    assert stats.geomean([]) is None
    assert stats.json_finite([1.5, float("inf"), {"x": float("-inf"), "y": float("nan")}]) == [1.5, None,
                                                                                            {"x": None, "y": None}]


def test_u_test_is_exact_up_to_50_a_side_and_two_sided() -> None:
    # completely separated samples: the exact two-sided p is 2 / C(m + n, m)
    a, b = list(range(10)), [x + 100.0 for x in range(12)]
    p, method = stats.mann_whitney_p(a, b)
    assert method == "exact" and p == pytest.approx(2 / math.comb(22, 10), rel=1e-9)
    assert stats.mann_whitney_p(b, a)[0] == pytest.approx(p, rel=1e-9)
    half = [x / 100 for x in range(50)]
    assert stats.mann_whitney_p(half, [x + 0.005 for x in half])[1] == "exact"  # 50 and 50: still exact
    assert stats.mann_whitney_p([x / 100 for x in range(51)], [1.0, 2.0, 3.0])[1] == "asymptotic"
    assert stats.mann_whitney_p([1.0, 2.0, 3.0], [x / 100 for x in range(51)])[1] == "asymptotic"


def test_a_test_runs_when_alpha_equals_the_smallest_possible_p() -> None:
    old, new = [1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]
    c = stats.compare_samples(old, new, alpha=2 / 70)  # the smallest p at 4 and 4 is 2/70: reachable, so tested
    assert c.p == pytest.approx(2 / 70) and c.significant and c.method == "exact"
    few = stats.compare_samples([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert (few.p, few.n1, few.n2, few.alpha, few.method, few.warnings) == (
        None, 3, 3, 0.05, "none", ("need >= 4 samples to detect a difference at alpha level 0.05",))


def test_summary_uses_the_confidence_asked_for() -> None:
    x = [float(v) for v in range(1, 11)]
    s = stats.summarize(x, 0.8)
    # 10 samples, 80%: the interval (3rd, 8th) covers P(3 ≤ B ≤ 7) = 912/1024 (Bin(10, ½))
    assert (s.lo, s.hi) == (3.0, 8.0) and s.confidence == pytest.approx(912 / 1024)
    assert stats.median_ci(x, 0.8) == (3.0, 8.0)
    assert stats.median_ci(x) == (2.0, 9.0)  # 95%: P(2 ≤ B ≤ 8) = 1002/1024


def test_hodges_lehmann_interval_at_its_edges() -> None:
    old, new = [1.0, 2.0, 4.0, 8.0], [3.0, 5.0, 7.0, 9.0]
    ratios = sorted(b / a for a in old for b in new)
    # 4 and 4 at confidence 1 − 2/70: P(U ≤ 0) = 1/70 = α/2 exactly, so k = 1: the extreme pairwise ratios
    lo, hi = stats.delta_ci_hodges_lehmann(old, new, 1 - 2 / 70)
    assert (lo, hi) == (pytest.approx(ratios[0] - 1), pytest.approx(ratios[-1] - 1))
    # one new sample against 50 old: U is uniform on 0…50, P(U ≤ 0) = 1/51 ≤ 0.025 < P(U ≤ 1) = 2/51 → k = 1
    many = [float(v) for v in range(1, 51)]
    lo, hi = stats.delta_ci_hodges_lehmann(many, [25.0])
    r = sorted(25.0 / a for a in many)
    assert (lo, hi) == (pytest.approx(r[0] - 1), pytest.approx(r[-1] - 1)) == (-0.5, pytest.approx(24.0))
    assert stats.delta_ci_hodges_lehmann([], [1.0, 2.0]) is None and stats.delta_ci_hodges_lehmann([1.0, 2.0], []) is None


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the zero-median resamples of the last case
def test_bootstrap_interval_against_the_exact_bootstrap_distribution() -> None:
    import report_consistency as rc

    old = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0]
    new = [v * 1.1 for v in old]  # in step with old: a paired resampling would give exactly +10%
    lo, hi = stats.delta_ci_bootstrap(old, new)
    q = rc.bootstrap_delta_quantiles(old, new, (0.015, 0.035, 0.965, 0.985))
    assert q[0] <= lo <= q[1] and q[2] <= hi <= q[3]
    assert hi - lo > 0.05  # resampled independently, not in pairs
    assert stats.delta_ci_bootstrap(old, new) == (lo, hi)  # seeded: the same interval every time
    q90 = rc.bootstrap_delta_quantiles(old, new, (0.04, 0.06, 0.94, 0.96))
    lo90, hi90 = stats.delta_ci_bootstrap(old, new, 0.9)
    assert q90[0] <= lo90 <= q90[1] and q90[2] <= hi90 <= q90[3]
    # 4 a side is enough, 3 is not; a baseline median of 1 is fine, of 0 is not
    assert stats.delta_ci_bootstrap([1.0, 1.0, 2.0, 0.5], [1.0, 2.0, 3.0, 4.0]) is not None
    assert stats.delta_ci_bootstrap([1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]) is None
    assert stats.delta_ci_bootstrap([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0]) is None
    # resamples whose baseline median is 0 make the ratio unbounded: no interval rather than an infinite one
    assert stats.delta_ci_bootstrap([0.0, 0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0, 5.0]) is None


def test_limits_and_certainty_at_the_edges() -> None:
    assert stats.quantile_ci(0, 0.5).n == 0  # an empty sample is allowed: no interval, no error
    assert stats.quantile_ci(40, 0.5, 1.0) == stats.QuantileCI(40, 0.5, 1.0, 0, 41)  # certainty, large n too
    assert stats.min_p_value(5, 1) == pytest.approx(1 / 3)  # 2 / C(6, 1)
    assert stats.min_p_value(600, 600) < 1e-300  # past a float's C(1200, 600): computed in logs, no overflow
    assert stats.min_samples_for_ci(1.0) == 51  # never inside the sample: the default limit 50, plus one
    assert stats.min_samples_for_test(1e-40) == 51

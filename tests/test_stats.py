"""Statistics: medians, order-statistic intervals, U-test p-values, Holm.

Expected numbers are worked out by hand in the comments (binomial
probabilities of Binomial(n, 1/2) in units of 2**-n) or come from scipy's
own exact computations, which the brief requires us to equal.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from enginepools.analysis import stats


def test_median_odd_and_even() -> None:
    assert stats.median([3.0, 1.0, 2.0]) == 2.0
    assert stats.median([4.0, 1.0, 3.0, 2.0]) == 2.5


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
    x = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 6.0, 9.0, 8.0, 7.0, 10.0])
    s = stats.summarize(x)
    assert s.center == 5.5
    assert (s.lo, s.hi) == (2.0, 9.0)  # orders 2 and 9 of 1..10
    assert s.n == 10 and s.warnings == ()
    six = stats.summarize([10.0, 12.0, 11.0, 13.0, 15.0, 14.0])
    assert (six.center, six.lo, six.hi) == (12.5, 10.0, 15.0)


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


def test_u_test_p_values_equal_scipys_exact_ones() -> None:
    rng = np.random.default_rng(1234)
    for n1, n2 in [(4, 4), (5, 7), (6, 6), (8, 10), (12, 9), (20, 20), (50, 50)]:
        x = rng.normal(100, 5, n1)
        y = rng.normal(104, 5, n2)
        c = stats.compare_samples(x, y)
        want = scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method="exact").pvalue
        assert c.method == "exact"
        assert c.p == pytest.approx(want, rel=1e-12, abs=0)


def test_completely_separated_4_vs_4_is_2_over_70() -> None:
    c = stats.compare_samples([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0])
    assert c.p == pytest.approx(2 / 70)
    assert c.significant and c.warnings == ()


def test_tied_samples_equal_scipys_exact_permutation_p_values() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        n1, n2 = rng.integers(4, 8, 2)
        x = rng.integers(0, 4, n1).astype(float)
        y = rng.integers(1, 5, n2).astype(float)
        c = stats.compare_samples(x, y)
        if c.method == "all-equal":
            continue
        assert c.method == "exact-ties"
        want = scipy.stats.mannwhitneyu(x, y, method=scipy.stats.PermutationMethod(n_resamples=np.inf)).pvalue
        assert c.p == pytest.approx(want, rel=1e-12)


def test_constant_but_different_sides_are_significant() -> None:
    # 24 B/op every run against 32 B/op every run: complete separation with ties
    c = stats.compare_samples([32.0] * 6, [24.0] * 6)
    assert c.p == pytest.approx(2 / math.comb(12, 6))
    assert c.significant


def test_identical_samples_are_not_different_and_do_not_crash() -> None:
    c = stats.compare_samples([112.0] * 6, [112.0] * 6)
    assert c.p == 1.0 and not c.significant
    assert c.warnings == ("all samples are equal",)


def test_large_samples_use_scipys_normal_approximation() -> None:
    x = np.arange(60, dtype=float)
    y = np.arange(60, dtype=float) + 7.5
    c = stats.compare_samples(x, y)
    want = scipy.stats.mannwhitneyu(x, y, method="asymptotic").pvalue
    assert c.method == "asymptotic" and c.p == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("n1, n2", [(1, 1), (2, 2), (3, 3), (1, 10), (3, 4)])
def test_too_few_samples_give_a_warning_not_a_p_value(n1: int, n2: int) -> None:
    c = stats.compare_samples(np.arange(n1, dtype=float), np.arange(n2, dtype=float) + 100)
    assert c.p is None and not c.significant
    assert c.warnings == ("need >= 4 samples to detect a difference at alpha level 0.05",)


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
    assert stats.cv(x) == pytest.approx(np.std(x, ddof=1) / np.mean(x))
    assert stats.cv(x + [math.nan]) == stats.cv(x)  # a sample without a probe reading is left out
    assert math.isnan(stats.cv([5.0])) and math.isnan(stats.cv([0.0, 0.0]))

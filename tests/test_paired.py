"""Paired statistics (enginepools.analysis.paired) against expectations
computed another way: brute-force enumeration of every sign assignment for
the signed-rank test, published critical values, and the Walsh-average
definition of the Hodges–Lehmann interval written out with loops."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from enginepools.analysis import paired as P


def brute_p(d: list[float]) -> float:
    """Two-sided signed-rank p by enumerating all 2^n sign flips of the
    absolute differences, ranks by plain counting (midranks for ties)."""
    d = [x for x in d if x != 0]
    a = [abs(x) for x in d]
    ranks = []
    for x in a:
        less = sum(1 for y in a if y < x)
        equal = sum(1 for y in a if y == x)
        ranks.append(less + (equal + 1) / 2)
    t = sum(r for r, x in zip(ranks, d) if x > 0)
    sums = [sum(r for r, s in zip(ranks, signs) if s) for signs in itertools.product((0, 1), repeat=len(d))]
    le = sum(1 for s in sums if s <= t + 1e-9) / len(sums)
    ge = sum(1 for s in sums if s >= t - 1e-9) / len(sums)
    return min(1.0, 2 * min(le, ge))


@pytest.mark.parametrize("d", [
    [0.1, 0.2, -0.05, 0.3, 0.15, 0.01],  # one negative among six
    [0.3, -0.2, 0.1, -0.4, 0.25, 0.05, -0.15, 0.35],  # mixed
    [0.1, 0.1, -0.1, 0.2, 0.2, 0.3, -0.3],  # tied |d|
    [0.0, 0.2, 0.4, -0.1, 0.5],  # a zero difference is dropped
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],  # all positive: 2/1024
    [0.3, -0.2, 0.2, -0.3, -0.2, 0.1],  # ties in pairs and threes: odd doubled midranks, T⁺ near the middle
    [0.1, -0.1],  # T⁺ at the centre: both tails hold more than half, p is 1, not 2 × a tail
])
def test_signed_rank_p_equals_enumeration(d: list[float]) -> None:
    assert P.signed_rank_p(np.array(d)) == pytest.approx(brute_p(d), abs=1e-12)


def test_all_positive_rounds_give_the_smallest_p() -> None:
    for n in range(1, 12):
        assert P.signed_rank_p(np.arange(1, n + 1) / 10) == pytest.approx(2 / 2 ** n)


def test_critical_values_match_the_published_table() -> None:
    # two-sided α = 0.05 critical values of T (reject when T ≤ k), standard
    # tables (e.g. Wilcoxon, Katti & Wilcox 1963): n=6:0, 7:2, 8:3, 9:5, 10:8, 11:10, 12:13, 15:25, 20:52
    table = {6: 0, 7: 2, 8: 3, 9: 5, 10: 8, 11: 10, 12: 13, 15: 25, 20: 52}
    for n, k in table.items():
        assert P._critical(n, 0.05) == k, n
    assert P._critical(5, 0.05) is None
    assert P.min_rounds(0.95) == 6 and P.min_rounds(0.99) == 8


def test_hodges_lehmann_interval_from_walsh_averages_by_hand() -> None:
    d = [0.05, -0.02, 0.08, 0.03, 0.11, 0.01, 0.04, -0.01]
    walsh = sorted((d[i] + d[j]) / 2 for i in range(len(d)) for j in range(i, len(d)))
    assert len(walsh) == 36
    est, lo, hi = P.walsh_interval(np.array(d))
    mid = (walsh[17] + walsh[18]) / 2  # median of 36 values
    assert est == pytest.approx(mid)
    assert lo == pytest.approx(walsh[3]) and hi == pytest.approx(walsh[32])  # k = 3 at n = 8


def test_paired_estimate_is_a_ratio_of_new_to_old() -> None:
    old = [100.0, 104.0, 98.0, 120.0, 101.0, 99.0, 103.0]
    new = [x * 0.9 for x in old]  # every round 10% less
    e = P.paired(old, new)
    assert e.ratio == pytest.approx(0.9) and e.delta == pytest.approx(-0.1)
    assert e.lo == pytest.approx(0.9) and e.hi == pytest.approx(0.9)
    assert e.p_value == pytest.approx(2 / 2 ** 7)
    assert e.significant(0.05) and not e.significant(0.01)


def test_pairing_removes_drift_that_an_unpaired_interval_carries() -> None:
    drift = np.linspace(1.0, 1.6, 12)  # the machine slows down over the run
    rng = np.random.default_rng(3)
    old = 100 * drift * np.exp(rng.normal(0, 0.005, 12))
    new = 95 * drift * np.exp(rng.normal(0, 0.005, 12))
    e = P.paired(old, new)
    assert e.delta_lo < -0.04 and e.delta_hi > -0.06 and e.delta_hi < 0
    # the same samples unpaired cannot tell 5% from nothing
    from scipy.stats import mannwhitneyu

    assert mannwhitneyu(old, new).pvalue > 0.05
    assert e.p_value is not None and e.p_value <= 0.001


def test_too_few_rounds_have_no_interval_and_say_how_many_are_needed() -> None:
    e = P.paired([1.0, 1.1, 0.9], [1.0, 1.2, 0.95])
    assert e.lo is None and e.hi is None and e.half_width is None
    assert P.rounds_needed(e, 0.02) is None


def test_rounds_needed_scales_with_the_square_of_the_width() -> None:
    rng = np.random.default_rng(7)
    old = rng.normal(100, 1, 10)
    new = old * np.exp(rng.normal(0, 0.04, 10))
    e = P.paired(old, new)
    assert e.half_width is not None and e.half_width > 0.01
    need = P.rounds_needed(e, e.half_width / 2)
    assert need in (40, 41)  # 10 × 2², up to rounding of the width
    assert P.rounds_needed(e, e.half_width * 2) == e.n


@pytest.mark.parametrize("factor, margin, expected", [
    (1.00, 0.05, True),   # the same: equivalent within ±5%
    (1.03, 0.05, True),   # 3% slower, interval inside ±5%
    (1.08, 0.05, False),  # 8% slower: outside
    (0.92, 0.05, False),  # 8% faster: outside
])
def test_equivalence_is_the_interval_inside_the_margin(factor: float, margin: float, expected: bool) -> None:
    rng = np.random.default_rng(11)
    old = rng.normal(100, 3, 12)
    new = old * factor * np.exp(rng.normal(0, 0.002, 12))
    assert P.equivalent(old, new, margin) is expected


def test_bad_pairs_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="one value per round"):
        P.paired([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="positive"):
        P.paired([1.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="positive"):
        P.paired([1.0, float("nan")], [1.0, 1.0])


def test_significant_means_p_at_or_below_alpha() -> None:
    # 5 positive rounds: p = 2/2⁵ = 0.0625 exactly
    e = P.paired([1.0] * 5, [1.1, 1.2, 1.3, 1.4, 1.5])
    assert e.p_value == 0.0625
    assert e.significant(0.0625) and not e.significant(0.0624)


def test_the_interval_edge_is_inclusive_at_alpha_over_two() -> None:
    # n = 5: P(T⁺ ≤ 0) = 1/32 = α/2 exactly at α = 1/16, so k = 0 and the interval is the extreme Walsh averages
    assert P._critical(5, 1 / 16) == 0 and P.min_rounds(1 - 1 / 16) == 5
    assert P.min_rounds() == 6  # the default confidence is 95%
    d = [0.01, 0.02, 0.04, 0.08, 0.16]
    e = P.paired([1.0] * 5, np.exp(d), confidence=1 - 1 / 16)
    assert (math.log(e.lo), math.log(e.hi)) == pytest.approx((0.01, 0.16)) and e.confidence == 1 - 1 / 16
    # at 95% the same rounds have no interval: the confidence given is the one used
    assert P.paired([1.0] * 5, np.exp(d)).lo is None


def test_one_round_is_an_estimate_without_interval_and_none_is_refused() -> None:
    e = P.paired([2.0], [3.0])
    assert (e.n, e.ratio, e.lo, e.hi, e.p_value) == (1, pytest.approx(1.5), None, None, 1.0)
    with pytest.raises(ValueError, match="at least one round"):
        P.paired([], [])


def test_bad_new_values_are_refused_like_bad_old_ones() -> None:
    for new in ([1.0, 0.0], [1.0, -1.0], [1.0, float("inf")]):
        with pytest.raises(ValueError, match="paired ratios need finite, positive values on both sides"):
            P.paired([1.0, 1.0], new)


def test_equivalence_uses_the_1_minus_2_alpha_interval_with_inclusive_bounds() -> None:
    # 5 rounds, ratios 1, 1, 1, 1, 1.2.  At 1 − 2α = 90% (α = 0.05) k = 0: the interval is [1, 1.2], outside ±10%.
    # (At 95% there would be no interval; at 85% k = 1 and the interval [1, √1.2 = 1.095] would be inside.)
    old, new = [1.0] * 5, [1.0, 1.0, 1.0, 1.0, 1.2]
    assert P.equivalent(old, new, 0.10) is False
    assert P.equivalent(old, new, 0.25) is True
    # identical rounds: the interval is [1, 1], inside [1 − 0, 1 + 0] — the bounds are inclusive
    assert P.equivalent([1.0] * 5, [1.0] * 5, 0.0) is True


def test_rounds_needed_at_and_just_past_the_target() -> None:
    e = P.PairedEstimate(n=6, ratio=1.0, lo=math.exp(-0.05), hi=math.exp(0.05), p_value=1.0, confidence=0.95)
    assert e.half_width == pytest.approx(0.05)
    assert P.rounds_needed(e, e.half_width) == 6  # reached: no more rounds
    # 5% wider than the target: 6 × 1.05² = 6.615 → 7 rounds
    assert P.rounds_needed(e, e.half_width / 1.05) == 7

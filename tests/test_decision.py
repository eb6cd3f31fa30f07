"""Per-pool decisions: the rules' edges (docs/compare-and-verdict.md), the
grouping of kernels into pools, and the share of a profile."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

import pytest

from enginepools.analysis import decision as dc
from enginepools.analysis.verdict import Rules


def eff(delta, lo, hi, lo2=None, hi2=None, what="wall time", n=10):
    """An effect with given Δ and intervals (fractions); the 90% interval
    defaults to the 95% one."""
    lo2 = lo if lo2 is None else lo2
    hi2 = hi if hi2 is None else hi2
    return dc.Effect(what, delta, lo, hi, lo2, hi2, 0.01, n, (math.log1p(hi) - math.log1p(lo)) / 2)


@pytest.mark.parametrize("time, memory, want", [
    (eff(-0.05, -0.08, -0.01), None, "keep"),            # Δ = −margin exactly keeps (Δ ≤ −m)
    (eff(-0.049, -0.08, -0.01), None, "inconclusive"),   # just short of the margin, interval crosses −5%
    (eff(-0.10, -0.20, 0.0), None, "inconclusive"),      # hi = 0 is not significant (hi < 0 needed)
    (eff(0.01, 0.001, 0.02), None, "remove"),            # significantly worse, however little
    (eff(0.0, -0.05, 0.05), None, "remove"),             # 90% interval on the edges: equivalent (inclusive)
    (eff(0.0, -0.0501, 0.05), None, "inconclusive"),     # a hair below −m: an improvement of m is open
    (eff(0.03, -0.05, 0.08), None, "remove"),            # lo₂ = −m exactly, hi₂ > +m: equivalent or worse
    (eff(0.03, -0.0499, 0.11), None, "remove"),          # not equivalent, not significantly worse: still no gain
    (eff(0.03, -0.01, 0.07, lo2=-0.0501, hi2=0.06), None, "inconclusive"),  # the 90% interval decides, not the 95%
    (eff(0.0, -0.06, 0.06, lo2=-0.05, hi2=0.05), None, "remove"),           # 95% crosses −m, 90% does not
    (eff(-0.10, -0.15, -0.05), eff(0.05, 0.01, 0.09, what="peak RSS"), "trade-off"),  # worse by ≥ margin
    (eff(-0.10, -0.15, -0.05), eff(0.049, 0.01, 0.09, what="peak RSS"), "keep"),     # worse, but < margin
    (eff(0.0, -0.01, 0.01), eff(-0.20, -0.3, -0.1, what="peak RSS"), "keep"),        # memory alone keeps
    (eff(0.0, -0.01, 0.01), eff(0.0, -0.2, 0.2, what="peak RSS"), "inconclusive"),   # memory unresolved
])
def test_rule_edges(time, memory, want):
    assert dc.apply_rules(time, memory, 5.0, "measured")[0] == want


def test_rounds_needed_to_rule_out_the_margin():
    # Δ = +1%: remove once lo ≥ −5%, i.e. a half-width of ln 1.01 − ln 0.95 = 0.061244;
    # from 0.1 at n = 10: 10 × (0.1 / 0.061244)² = 26.66 → 27
    e = dc.Effect("CPU time", 0.01, -0.09, 0.12, -0.08, 0.10, 0.5, 10, 0.1)
    d, rule, rounds = dc.apply_rules(e, None, 5.0, "measured")
    assert (d, rounds) == ("inconclusive", 27)
    assert "not proven" in rule


def test_no_interval_is_inconclusive():
    e = dc.Effect("wall time", -0.3, None, None, None, None, None, 3, None)
    assert dc.apply_rules(e, None, 5.0, "measured")[0] == "inconclusive"


def test_inconclusive_says_how_many_rounds():
    # Δ = −10%, 95% half-width 0.2 in log terms at n = 10: resolving needs a
    # half-width below |ln 0.9| = 0.10536 → n × (0.2 / 0.10536)² = 36.03 → 37
    e = dc.Effect("wall time", -0.10, math.exp(-math.log(0.9) * -1 - 0.2) - 1, 0.5, None, None, 0.2, 10, 0.2)
    d, _, rounds = dc.apply_rules(e, None, 5.0, "measured")
    assert d == "inconclusive"
    assert rounds == 37


@pytest.mark.parametrize("name, pool", [
    ("BenchmarkHashBuffer/impl=pool-noclear-2", "hash buffer"),
    ("BenchmarkTarArchive", "tar buffer"),
    ("BenchmarkObjectPool/size=64-2", "object pool"),
    ("BenchmarkPoolContention-2", "object pool"),
    ("BenchmarkWorkerPool-2", "worker pool"),
    ("BenchmarkFooCache/x=1-8", "FooCache"),
])
def test_pool_of_groups_variants_and_threads(name, pool):
    assert dc.pool_of(name) == pool


def test_micro_effect_averages_log_ratios_per_round():
    # two kernels; round i's log-ratios: ln 0.5 and ln 2 for round 0 → 0; the
    # others all ln 0.5 → the per-round means are 0, ln .5, ln .5, ln .5, ln .5, ln .5
    a = ([1.0] * 6, [0.5] * 6)
    b = ([1.0] * 6, [2.0] + [0.5] * 5)
    e = dc.micro_effect([a, b], 0.05)
    # Walsh averages of {0, L×5} (L = ln .5): 6 of value 0? only (0,0) = 0; (0, L) ×5 = L/2; (L, L) ×15 = L
    # 21 averages, median (11th smallest) is L → ratio 0.5
    assert e is not None and e.n == 6
    assert e.delta == pytest.approx(-0.5)


def test_decide_pools_predicts_share_times_micro():
    pairs = {("BenchmarkTarBuffer", "pool"): ([2.0] * 6, [1.0] * 6)}
    share = dc.Share("cpu", "plain-cpu", 20.0, 100.0, "samples")
    (d,) = dc.decide_pools(pairs, {}, {}, Rules(), {"tar buffer": (share, None)})
    assert d.basis == "predicted"
    assert d.predicted.delta == pytest.approx(0.2 * -0.5)  # 20% × −50%
    assert d.decision == "keep"


def test_bound_removes_when_share_below_margin():
    pairs = {("BenchmarkTarBuffer", "WithPool"): ([2.0], [1.0])}  # one sample: no interval
    share = dc.Share("cpu", "build_cpu", 4.9, 100.0, "samples")
    (d,) = dc.decide_pools(pairs, {}, {}, Rules(), {"tar buffer": (share, None)})
    assert (d.basis, d.decision) == ("bound", "remove")
    share = dc.Share("cpu", "build_cpu", 5.0, 100.0, "samples")  # share = margin: no longer ruled out
    (d,) = dc.decide_pools(pairs, {}, {}, Rules(), {"tar buffer": (share, None)})
    assert (d.basis, d.decision) == ("bound", "inconclusive")


class _AB:
    configs = ["none", "tar"]

    def values(self, config, unit):
        import numpy as np

        base = {"ns/op": [100.0] * 8, "cpu-ns/op": [50.0] * 8, "peak-RSS-B": [1e6] * 8}[unit]
        if config == "tar" and unit == "ns/op":
            return np.array([90.0] * 8)  # −10% every round
        return np.array(base)


def test_measured_ab_decides_over_prediction():
    pairs = {("BenchmarkTarBuffer", "pool"): ([1.0] * 6, [1.0] * 6)}
    share = dc.Share("cpu", "plain-cpu", 20.0, 100.0, "samples")
    (d,) = dc.decide_pools(pairs, {}, {}, Rules(), {"tar buffer": (share, None)}, _AB())
    assert d.basis == "measured"
    assert d.measured["wall time"].delta == pytest.approx(-0.10)
    assert d.decision == "keep"
    # prediction (0%) and measurement (−10%, a point interval) do not overlap: said
    assert d.disagreement


def test_margin_from_toml(tmp_path):
    from enginepools.analysis.verdict import load_rules

    p = tmp_path / "r.toml"
    p.write_text("[verdict]\nmargin_pct = 2.5\n")
    assert load_rules(p).margin_pct == 2.5


def test_consistency_checker_checks_paired_estimates_and_amdahl_products():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import report_consistency as rc

    assert rc.check_text("x", "wall time -3.2% [-5.1%, -1.0%] here") == []
    assert rc.check_text("x", "wall time -6.2% [-5.1%, -1.0%] here")  # estimate outside its interval
    # 28.7% × +52.0% = 14.92%, × 48.8% = 14.01%, × 60.8% = 17.45%
    ok = "Predicted: +14.9% [+14.0%, +17.4%] = 28.7% × +52.0% [+48.8%, +60.8%]."
    assert rc.check_text("x", ok) == []
    bad = "Predicted: +16.9% [+14.0%, +17.4%] = 28.7% × +52.0% [+48.8%, +60.8%]."
    assert any("is 14.92%" in p for p in rc.check_text("x", bad))


def test_rule_sentences_pass_the_report_checker():
    """Every percentage a rule sentence prints is a threshold or an estimate
    with its interval, so the checker of the documents can verify it."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import report_consistency as rc

    cases = [(eff(-0.10, -0.20, 0.05), None), (eff(-0.10, -0.15, -0.05), None), (eff(0.02, 0.01, 0.03), None),
             (eff(0.0, -0.01, 0.01), None), (eff(0.03, -0.02, 0.08), None),
             (eff(-0.10, -0.15, -0.05), eff(0.06, 0.01, 0.09, what="peak RSS"))]
    decisions = set()
    for t, m in cases:
        d, rule, _ = dc.apply_rules(t, m, 5.0, "measured")
        decisions.add(d)
        assert rc.check_text("x", rule) == [], rule
    assert decisions == {"keep", "remove", "trade-off", "inconclusive"}


def test_pool_inputs_pairs_rounds_and_sums_medians_per_pool() -> None:
    from enginepools.bench import benchfmt

    text = "\n".join([
        # round 1 and 2 of two hash-buffer benchmarks and one string builder; one record without impl
        "BenchmarkHashBuffer/size=1/impl=std-2 10 100 ns/op 1000 B/op 4 allocs/op",
        "BenchmarkHashBuffer/size=1/impl=pool-2 10 80 ns/op 10 B/op 1 allocs/op 500 retained-B",
        "BenchmarkHashBuffer/size=2/impl=std-2 10 200 ns/op 3000 B/op 6 allocs/op",
        "BenchmarkHashBuffer/size=2/impl=pool-2 10 150 ns/op 30 B/op 2 allocs/op 700 retained-B",
        "BenchmarkStringBuilder/impl=std-2 10 50 ns/op",
        "BenchmarkStringBuilder/impl=sync.Pool-2 10 40 ns/op",
        "BenchmarkStringBuilder/impl=other-2 10 45 ns/op",
        "BenchmarkLonely-2 10 5 ns/op",
        "BenchmarkHashBuffer/size=1/impl=std-2 10 110 ns/op 1200 B/op 4 allocs/op",
        "BenchmarkHashBuffer/size=1/impl=pool-2 10 90 ns/op 20 B/op 1 allocs/op 900 retained-B",
        "BenchmarkHashBuffer/size=2/impl=std-2 10 210 ns/op 3000 B/op 6 allocs/op",
        "BenchmarkHashBuffer/size=2/impl=pool-2 10 160 ns/op 30 B/op 2 allocs/op 100 retained-B",
    ]) + "\n"
    pairs, totals, held = dc.pool_inputs(benchfmt.parse(text), "impl", ("ns/op",), ("std",))
    assert pairs == {("HashBuffer/size=1-2", "pool"): ([100.0, 110.0], [80.0, 90.0]),
                     ("HashBuffer/size=2-2", "pool"): ([200.0, 210.0], [150.0, 160.0]),
                     ("StringBuilder-2", "sync.Pool"): ([50.0], [40.0])}  # "other" is no pool variant
    # per pool, the medians summed over its benchmarks: B/op 1100 + 3000 plain, 15 + 30 pooled
    hb = {t.unit: (t.plain, t.pooled) for t in totals["hash buffer"]}
    assert hb == {"B/op": (4100.0, 45.0), "allocs/op": (10.0, 3.0)}
    assert "string builder" not in totals  # no B/op in its records
    assert held == {"hash buffer": 700.0}  # the largest median retained-B: medians 700 and 400
    # without a named baseline among the variants nothing pairs
    assert dc.pool_inputs(benchfmt.parse(text), "impl", ("ns/op",), ("plain",)) == ({}, {}, {})


def _heap(samples: list[tuple[int, list[str], str | None]]) -> Any:
    from enginepools.pprof.profile import ProfileBuilder

    b = ProfileBuilder(period=1)
    for nbytes, stack, pool in samples:
        b.add_sample([1, nbytes, 0, 0], [(f, "x.c", 1) for f in stack], labels={"pool": pool} if pool else None)
    return b.build()


def test_profile_share_counts_the_pools_path_its_labels_and_nothing_else() -> None:
    prof = _heap([
        (600, ["ep_alloc", "hash_job.part.0", "worker_main"], None),  # through the hash path (a compiler clone)
        (50, ["ep_alloc", "pool_refill", "ep_bufpool_get"], "hash"),  # a miss of the hash pool: its label
        (200, ["ep_alloc", "tar_all", "ep_pipeline_run"], "tar"),
        (0, ["ep_alloc", "hash_job"], None),  # an empty sample counts for nothing
        (150, ["malloc", "walk_dir"], None),
    ])
    s = dc.profile_share(prof, "heap", "plain", "hash buffer")
    assert (s.kind, s.profile, s.part, s.total, s.unit) == ("heap", "plain", 650.0, 1000.0, "bytes")
    assert s.fraction == 0.65
    t = dc.profile_share(prof, "heap", "plain", "tar buffer")
    assert (t.part, t.total) == (200.0, 1000.0)
    # the object pool counts only within the hash, tar and builder paths
    obj = _heap([(100, ["ep_pool_get", "hash_job"], None), (300, ["ep_pool_get", "main"], None),
                 (40, ["buf_get", "tar_all"], None)])
    assert dc.profile_share(obj, "heap", "x", "object pool").part == 140.0
    # a user's pool: functions holding its name, or in the benchmarked package
    user = _heap([(70, ["FooPool.get", "main"], None), (30, ["mypkg.helper", "main"], None), (5, ["other"], None)])
    assert dc.profile_share(user, "heap", "x", "FooPool").part == 70.0
    assert dc.profile_share(user, "heap", "x", "FooPool", pkg="mypkg").part == 30.0
    # a CPU profile has no alloc_space: no share of that kind
    assert dc.profile_share(prof, "cpu", "plain", "hash buffer") is None
    assert dc.Share("heap", "p", 0.0, 0.0, "bytes").fraction == 0.0


def test_effect_of_rounds_has_both_intervals_from_the_walsh_averages() -> None:
    # 8 rounds; two-sided signed-rank critical values (published tables): α = 0.05 → 3, α = 0.10 → 5
    d = np.log([1.10, 0.97, 1.20, 1.05, 1.15, 0.99, 1.08, 1.30])
    walsh = sorted((d[i] + d[j]) / 2 for i in range(8) for j in range(i, 8))
    e = dc.effect_from_logs("wall time", d, 0.05)
    assert (e.what, e.n) == ("wall time", 8)
    assert e.delta == pytest.approx(math.exp(float(np.median(walsh))) - 1)
    assert (e.lo, e.hi) == (pytest.approx(math.exp(walsh[3]) - 1), pytest.approx(math.exp(walsh[-4]) - 1))
    assert (e.lo2, e.hi2) == (pytest.approx(math.exp(walsh[5]) - 1), pytest.approx(math.exp(walsh[-6]) - 1))
    assert e.half_width == pytest.approx((walsh[-4] - walsh[3]) / 2)
    # the two negative rounds (0.99, 0.97) have the smallest |d|, ranks 1 and 2: T⁻ = 3.  Sign sets with
    # T⁻ ≤ 3: {}, {1}, {2}, {3}, {1, 2} — 5 of 2⁸, so p = 2 · 5/256
    assert e.p_value == pytest.approx(2 * 5 / 256)
    s = dc.scaled(e, 0.25)
    assert s.what == "CPU time" and (s.p_value, s.n) == (e.p_value, 8)
    assert (s.delta, s.lo, s.hi, s.lo2, s.hi2, s.half_width) == tuple(
        pytest.approx(0.25 * x) for x in (e.delta, e.lo, e.hi, e.lo2, e.hi2, e.half_width))
    # too few rounds for an interval: none, and no half-width
    few = dc.effect_from_logs("wall time", d[:3], 0.05)
    assert (few.lo, few.hi, few.lo2, few.hi2, few.half_width) == (None,) * 5
    assert dc.scaled(few, 0.5).half_width is None


def test_micro_effect_averages_each_rounds_log_ratio_over_the_pools_benchmarks() -> None:
    pairs = [([100.0, 100.0, 100.0], [80.0, 90.0, 70.0]), ([10.0, 10.0, 10.0, 10.0], [12.0, 9.0, 11.0, 8.0]),
             ([], [1.0]), ([1.0, 0.0], [1.0, 1.0])]  # an empty and an unusable pair are skipped, not the end
    e = dc.micro_effect(pairs, 0.05)
    d = [(math.log(0.8) + math.log(1.2)) / 2, (math.log(0.9) + math.log(0.9)) / 2, (math.log(0.7) + math.log(1.1)) / 2]
    assert (e.what, e.n) == ("time per op", 3)
    walsh = sorted((d[i] + d[j]) / 2 for i in range(3) for j in range(i, 3))
    assert e.delta == pytest.approx(math.exp(float(np.median(walsh))) - 1)
    assert dc.micro_effect([([1.0], [2.0])], 0.05).n == 1  # one round is an effect (without interval)
    assert dc.micro_effect([([], [])], 0.05) is None


# ------------------------------------------------ the rule sentences, in full
# Each branch of apply_rules / _decide prints one sentence naming the rule and
# the numbers that decided; the expectations below are written from the rules
# (docs/compare-and-verdict.md), with every percentage worked out by hand.

def _e(what, delta, lo, hi, lo2, hi2, n=10, hw=None):
    return dc.Effect(what, delta, lo, hi, lo2, hi2, 0.01, n, hw)


KEEP_MARGIN = "is a significant improvement of at least the {} margin"
SENTENCES = [
    pytest.param(_e("wall time", -0.10, -0.15, -0.05, -0.14, -0.06), None, 5.0,
                 ("keep", "keep: measured end-to-end wall time -10.0% [-15.0%, -5.0%] is a significant improvement "
                          "of at least the 5% margin", None), id="keep"),
    pytest.param(_e("wall time", -0.08, -0.12, -0.0751, -0.11, -0.08), None, 7.5,
                 ("keep", "keep: measured end-to-end wall time -8.0% [-12.0%, -7.5%] is a significant improvement "
                          "of at least the 7.5% margin", None), id="keep-margin-7.5"),
    pytest.param(_e("wall time", 0.0, -0.01, 0.01, -0.005, 0.005),
                 _e("peak RSS", -0.20, -0.30, -0.10, -0.28, -0.12), 5.0,
                 ("keep", "keep: measured end-to-end peak RSS -20.0% [-30.0%, -10.0%] is a significant improvement "
                          "of at least the 5% margin", None), id="keep-on-memory"),
    pytest.param(_e("wall time", -0.10, -0.15, -0.05, -0.14, -0.06), _e("peak RSS", 0.06, 0.01, 0.09, 0.02, 0.08),
                 5.0, ("trade-off", "trade-off: measured end-to-end wall time -10.0% [-15.0%, -5.0%] is better by at "
                                    "least the 5% margin, but peak RSS +6.0% [+1.0%, +9.0%] is worse by at least it",
                       None), id="trade-off-time-better"),
    pytest.param(_e("wall time", 0.08, 0.02, 0.12, 0.03, 0.11), _e("peak RSS", -0.20, -0.30, -0.10, -0.28, -0.12),
                 5.0, ("trade-off", "trade-off: measured end-to-end peak RSS -20.0% [-30.0%, -10.0%] is better by at "
                                    "least the 5% margin, but wall time +8.0% [+2.0%, +12.0%] is worse by at least it",
                       None), id="trade-off-memory-better"),
    pytest.param(_e("wall time", 0.02, 0.01, 0.03, 0.012, 0.028), None, 5.0,
                 ("remove", "remove: measured end-to-end wall time +2.0% [+1.0%, +3.0%] is significantly worse, and "
                            "nothing improves by the 5% margin", None), id="remove-worse"),
    pytest.param(_e("wall time", 0.0, -0.01, 0.01, -0.005, 0.005), _e("peak RSS", 0.03, 0.01, 0.05, 0.015, 0.045),
                 5.0, ("remove", "remove: measured end-to-end peak RSS +3.0% [+1.0%, +5.0%] is significantly worse, "
                                 "and nothing improves by the 5% margin", None), id="remove-memory-worse"),
    # -0.0004 prints as +0.0% (never -0.0%)
    pytest.param(_e("wall time", -0.0004, -0.01, 0.01, -0.008, 0.008), None, 5.0,
                 ("remove", "remove: measured end-to-end wall time +0.0% [-1.0%, +1.0%] equivalent to plain allocation "
                            "(the 90% intervals lie within \u00b15%): a pool is code to maintain", None),
                 id="remove-equivalent"),
    pytest.param(_e("wall time", 0.0, -0.01, 0.01, -0.008, 0.008), _e("peak RSS", 0.01, -0.02, 0.03, -0.015, 0.025),
                 5.0, ("remove", "remove: measured end-to-end wall time +0.0% [-1.0%, +1.0%] and peak RSS +1.0% "
                                 "[-2.0%, +3.0%] equivalent to plain allocation (the 90% intervals lie within \u00b15%): "
                                 "a pool is code to maintain", None), id="remove-equivalent-both"),
    pytest.param(_e("wall time", 0.03, -0.04, 0.11, -0.03, 0.10), None, 5.0,
                 ("remove", "remove: measured end-to-end wall time +3.0% [-4.0%, +11.0%]: no improvement of the 5% "
                            "margin (the 90% intervals start at or above the lower edge of \u00b15%: equivalent or "
                            "worse): a pool is code to maintain", None), id="remove-no-improvement"),
    # Δ = +1%: resolved (remove) once lo >= -5%, a log half-width of ln 1.01 - ln 0.95
    # = 0.0099503 + 0.0512933 = 0.0612436; from 0.1 at n = 10: 10 x (0.1 / 0.0612436)^2 = 26.66 -> 27
    pytest.param(_e("CPU time", 0.01, -0.09, 0.12, -0.08, 0.10, hw=0.1), None, 5.0,
                 ("inconclusive", "inconclusive: measured end-to-end CPU time +1.0% [-9.0%, +12.0%] might be an "
                                  "improvement of the 5% margin, not proven (the 90% interval reaches below the lower "
                                  "edge of \u00b15%); about 27 rounds would resolve it", 27), id="inconclusive-remove-side"),
    # Δ = -10%: resolved (keep) once hi < 0, a half-width of |ln 0.9| = 0.1053605;
    # from 0.2 at n = 10: 10 x (0.2 / 0.1053605)^2 = 36.03 -> 37
    pytest.param(_e("wall time", -0.10, -0.25, 0.08, -0.22, 0.05, hw=0.2), None, 5.0,
                 ("inconclusive", "inconclusive: measured end-to-end wall time -10.0% [-25.0%, +8.0%] might be an "
                                  "improvement of the 5% margin, not proven (the 90% interval reaches below the lower "
                                  "edge of \u00b15%); about 37 rounds would resolve it", 37), id="inconclusive-keep-side"),
    # Δ = -5% exactly is on the keep side: |ln 0.95| = 0.0512933; 10 x (0.1 / 0.0512933)^2 = 38.01 -> 39
    pytest.param(_e("wall time", -0.05, -0.20, 0.10, -0.18, 0.08, hw=0.1), None, 5.0,
                 ("inconclusive", "inconclusive: measured end-to-end wall time -5.0% [-20.0%, +10.0%] might be an "
                                  "improvement of the 5% margin, not proven (the 90% interval reaches below the lower "
                                  "edge of \u00b15%); about 39 rounds would resolve it", 39), id="inconclusive-at-margin"),
    # already narrow enough (0.05 < 0.0612436): the rounds it has
    pytest.param(_e("wall time", 0.01, -0.04, 0.06, -0.06, 0.05, n=12, hw=0.05), None, 5.0,
                 ("inconclusive", "inconclusive: measured end-to-end wall time +1.0% [-4.0%, +6.0%] might be an "
                                  "improvement of the 5% margin, not proven (the 90% interval reaches below the lower "
                                  "edge of \u00b15%); about 12 rounds would resolve it", 12), id="inconclusive-narrow"),
    # two open effects: the larger need; time is named. peak RSS at +1%: 10 x (0.2 / 0.0612436)^2 = 106.64 -> 107
    pytest.param(_e("CPU time", 0.01, -0.09, 0.12, -0.08, 0.10, hw=0.1),
                 _e("peak RSS", 0.01, -0.09, 0.12, -0.08, 0.10, hw=0.2), 5.0,
                 ("inconclusive", "inconclusive: measured end-to-end CPU time +1.0% [-9.0%, +12.0%] might be an "
                                  "improvement of the 5% margin, not proven (the 90% interval reaches below the lower "
                                  "edge of \u00b15%); about 107 rounds would resolve it", 107), id="inconclusive-two-open"),
    # no half-width: no figure
    pytest.param(_e("wall time", 0.01, -0.09, 0.12, -0.08, 0.10), None, 5.0,
                 ("inconclusive", "inconclusive: measured end-to-end wall time +1.0% [-9.0%, +12.0%] might be an "
                                  "improvement of the 5% margin, not proven (the 90% interval reaches below the lower "
                                  "edge of \u00b15%)", None), id="inconclusive-no-half-width"),
    pytest.param(_e("wall time", -0.3, None, None, None, None, n=3), None, 5.0,
                 ("inconclusive", "no measured end-to-end time interval: the paired test needs at least 6 rounds", None),
                 id="no-interval"),
    pytest.param(None, _e("peak RSS", -0.3, -0.4, -0.2, -0.38, -0.22), 5.0,
                 ("inconclusive", "no measured end-to-end time interval: the paired test needs at least 6 rounds", None),
                 id="no-time"),
]


@pytest.mark.parametrize("time, memory, margin, want", SENTENCES)
def test_rule_sentence_of_each_branch(time, memory, margin, want):
    assert dc.apply_rules(time, memory, margin, "measured end-to-end") == want


def test_no_interval_sentence_asks_the_statistics_for_the_rounds():
    # the exact signed-rank test's smallest two-sided p is 2 / 2^n: at alpha = 0.01
    # n = 7 gives 0.0156 (too large), n = 8 gives 0.0078 -> 8 rounds
    assert dc.apply_rules(None, None, 5.0, "measured", alpha=0.01)[1] == \
        "no measured time interval: the paired test needs at least 8 rounds"
    assert dc.apply_rules(None, None, 5.0, "measured")[1] == \
        "no measured time interval: the paired test needs at least 6 rounds"


def test_rounds_to_resolve_by_hand():
    # remove side, Δ = +2%: ln 1.02 - ln 0.95 = 0.0198026 + 0.0512933 = 0.0710959;
    # hw 0.3 at n = 8: 8 x (0.3 / 0.0710959)^2 = 142.44 -> 143
    assert dc.rounds_to_resolve(_e("x", 0.02, -0.2, 0.3, -0.1, 0.2, n=8, hw=0.3), 5.0 / 100) == 143
    # keep side, Δ = -20%: |ln 0.8| = 0.2231436; hw 0.3 at n = 8: 8 x 1.80749 = 14.46 -> 15
    assert dc.rounds_to_resolve(_e("x", -0.20, -0.4, 0.1, -0.35, 0.05, n=8, hw=0.3), 0.05) == 15
    # just past n: at least one more round
    assert dc.rounds_to_resolve(_e("x", -0.20, -0.4, 0.1, -0.35, 0.05, n=8, hw=0.2232), 0.05) == 9
    assert dc.rounds_to_resolve(_e("x", -0.20, -0.4, 0.1, -0.35, 0.05, n=8, hw=None), 0.05) is None


def _one_round_pairs():
    return {("BenchmarkTarBuffer-4", "impl=pool"): ([2.0], [1.0])}  # one round: no interval


@pytest.mark.parametrize("part, total, rules, want", [
    (4.9, 100.0, Rules(), ("remove", "remove: the pooled path is 4.9% of the workload's CPU, less than the 5% margin, "
                                     "so the pool cannot improve end-to-end time by the margin however fast it is")),
    (14.8, 200.0, Rules(margin_pct=7.5), ("remove", "remove: the pooled path is 7.4% of the workload's CPU, less than "
                                                    "the 7.5% margin, so the pool cannot improve end-to-end time by the "
                                                    "margin however fast it is")),
    (5.0, 100.0, Rules(), ("inconclusive", "inconclusive: the pooled path is 5.0% of the workload's CPU, but the micro "
                                           "benchmarks have no paired interval (at least 6 rounds are needed)")),
    (31.25, 50.0, Rules(alpha=0.01), ("inconclusive", "inconclusive: the pooled path is 62.5% of the workload's CPU, "
                                                      "but the micro benchmarks have no paired interval (at least 8 "
                                                      "rounds are needed)")),
], ids=["bound-remove", "bound-remove-margin-7.5", "bound-inconclusive", "bound-inconclusive-alpha-0.01"])
def test_bound_sentences(part, total, rules, want):
    share = dc.Share("cpu", "plain-cpu", part, total, "samples")
    (d,) = dc.decide_pools(_one_round_pairs(), {}, {}, rules, {"tar buffer": (share, None)})
    assert (d.decision, d.rule) == want
    assert d.basis == "bound" and d.bound == pytest.approx(part / total)
    assert d.rounds_needed is None and d.kernels == ["BenchmarkTarBuffer/impl=pool-4"]
    assert d.time is d.predicted and d.memory is None


def _spread_pairs():
    # six rounds whose log-ratios are -0.3, -0.2 (x4), -0.1: the Walsh averages are
    # symmetric about -0.2 (the estimate); at 95% with 6 rounds the interval is the
    # smallest and largest average, -0.3 and -0.1
    logs = [-0.3, -0.2, -0.2, -0.2, -0.2, -0.1]
    return {("BenchmarkTarBuffer-4", "impl=pool"): ([2.0] * 6, [2.0 * math.exp(x) for x in logs])}


def test_predicted_sentence_scales_the_micro_effect_by_the_share():
    # share 50%: -0.5 x (1 - e^-0.2) = -0.0906 -> -9.1%; lo -0.5 x (1 - e^-0.3) = -0.1296 -> -13.0%;
    # hi -0.5 x (1 - e^-0.1) = -0.0476 -> -4.8%
    share = dc.Share("cpu", "plain-cpu", 50.0, 100.0, "samples")
    (d,) = dc.decide_pools(_spread_pairs(), {}, {}, Rules(), {"tar buffer": (share, None)})
    assert (d.basis, d.decision, d.bound) == ("predicted", "keep", 0.5)
    assert d.rule == ("keep: predicted end-to-end CPU time -9.1% [-13.0%, -4.8%] is a significant improvement of at "
                      "least the 5% margin")
    assert d.predicted.delta == pytest.approx(-0.5 * (1 - math.exp(-0.2)))
    assert (d.predicted.lo, d.predicted.hi) == (pytest.approx(-0.5 * (1 - math.exp(-0.3))),
                                                pytest.approx(-0.5 * (1 - math.exp(-0.1))))
    assert d.micro.delta == pytest.approx(math.exp(-0.2) - 1) and d.micro.what == "time per op"
    assert d.rounds_needed is None and d.disagreement is None and d.ab_config is None


def test_micro_sentence_without_a_cpu_profile_takes_the_whole_workload():
    # no profile: share 100%: e^-0.2 - 1 = -18.1%, [e^-0.3 - 1, e^-0.1 - 1] = [-25.9%, -9.5%]
    (d,) = dc.decide_pools(_spread_pairs(), {}, {}, Rules())
    assert (d.basis, d.decision, d.bound, d.cpu_share) == ("micro", "keep", None, None)
    assert d.rule == ("keep: micro (no CPU profile: the share taken as the 100% upper bound) CPU time -18.1% "
                      "[-25.9%, -9.5%] is a significant improvement of at least the 5% margin")


class _ABSpread:
    """pools=none and pools=tar, 8 rounds; ``stop_rule.unit`` picks the target measure."""

    configs = ["none", "tar"]

    def __init__(self, unit="ns/op"):
        self.stop_rule = type("S", (), {"unit": unit})()

    def values(self, config, unit):
        if config == "tar" and unit == "ns/op":
            return np.array([90.0] * 8)  # -10% every round
        return np.array({"ns/op": [100.0] * 8, "cpu-ns/op": [50.0] * 8, "peak-RSS-B": [1e6] * 8}[unit])


def test_measured_sentences_follow_the_ab_target_measure():
    share = dc.Share("cpu", "plain-cpu", 20.0, 100.0, "samples")
    (d,) = dc.decide_pools(_spread_pairs(), {}, {}, Rules(), {"tar buffer": (share, None)}, _ABSpread())
    assert (d.basis, d.ab_config, d.time_measure, d.decision) == ("measured", "tar", "wall time", "keep")
    assert d.rule == ("keep: measured end-to-end wall time -10.0% [-10.0%, -10.0%] is a significant improvement of "
                      "at least the 5% margin")
    assert set(d.measured) == {"wall time", "CPU time", "peak RSS"}
    assert d.time is d.measured["wall time"] and d.memory is d.measured["peak RSS"]
    # the A/B's target is CPU time: unchanged (50 vs 50 every round), and so is peak RSS
    (d,) = dc.decide_pools(_spread_pairs(), {}, {}, Rules(), {"tar buffer": (share, None)}, _ABSpread("cpu-ns/op"))
    assert (d.time_measure, d.decision) == ("CPU time", "remove")
    assert d.rule == ("remove: measured end-to-end CPU time +0.0% [+0.0%, +0.0%] and peak RSS +0.0% [+0.0%, +0.0%] "
                      "equivalent to plain allocation (the 90% intervals lie within \u00b15%): a pool is code to "
                      "maintain")


DISAGREE = ("the predicted and measured intervals do not overlap: the micro kernel is not the pipeline's use of the "
            "pool (sizes, threads, cache state), the share comes from one profiled run, and the end-to-end run also "
            "pays the pool's set-up and the memory it holds")


@pytest.mark.parametrize("predicted, measured, want", [
    ((-0.30, -0.20), (-0.10, 0.00), DISAGREE),   # prediction entirely below
    ((-0.10, 0.00), (-0.30, -0.20), DISAGREE),   # prediction entirely above
    ((-0.30, -0.20), (-0.20, -0.10), None),      # touching: they share -20%
    ((-0.20, -0.10), (-0.30, -0.20), None),
    ((-0.30, -0.10), (-0.20, -0.15), None),      # one inside the other
    ((-0.30, -0.20), (None, None), None),        # no measured interval
    ((None, None), (-0.10, 0.00), None),         # no predicted interval
], ids=["below", "above", "touch-low", "touch-high", "inside", "no-measured", "no-predicted"])
def test_disagreement_both_ways(predicted, measured, want):
    p = _e("CPU time", -0.25, predicted[0], predicted[1], None, None)
    w = _e("wall time", -0.05, measured[0], measured[1], None, None)
    dec = dc.PoolDecision("tar buffer", "keep", "", "measured", predicted=p, measured={"wall time": w})
    assert dc._disagree(dec) == want
    # the measure the A/B targeted is the one compared
    dec = dc.PoolDecision("tar buffer", "keep", "", "measured", predicted=p, measured={"CPU time": w},
                          time_measure="CPU time")
    assert dc._disagree(dec) == want
    dec = dc.PoolDecision("tar buffer", "keep", "", "measured", predicted=p, measured={"CPU time": w})
    assert dc._disagree(dec) is None  # targets wall time, which was not measured
    assert dc._disagree(dc.PoolDecision("tar buffer", "keep", "", "measured", measured={"wall time": w})) is None


def test_measured_disagreement_is_recorded_on_the_decision():
    # micro: every round 1.0 vs 1.0 -> predicted 0%; measured -10% every round: no overlap
    pairs = {("BenchmarkTarBuffer", "pool"): ([1.0] * 6, [1.0] * 6)}
    share = dc.Share("cpu", "plain-cpu", 20.0, 100.0, "samples")
    (d,) = dc.decide_pools(pairs, {}, {}, Rules(), {"tar buffer": (share, None)}, _ABSpread())
    assert d.disagreement == DISAGREE


# ------------------------------------------- what decide_pools carries through

class _StrictAB:
    """An A/B that knows only pools=none and pools=tar (anything else is an error)."""

    configs = ["none", "tar"]

    def values(self, config, unit):
        table = {("none", "ns/op"): [100.0] * 8, ("tar", "ns/op"): [90.0] * 8,
                 ("none", "cpu-ns/op"): [50.0] * 8, ("tar", "cpu-ns/op"): [50.0] * 8,
                 ("none", "peak-RSS-B"): [1e6] * 8, ("tar", "peak-RSS-B"): [1e6] * 8}
        return np.array(table[(config, unit)])


def test_decide_pools_carries_the_pools_totals_held_and_name():
    pairs = {("BenchmarkTarBuffer-4", "impl=pool"): ([2.0] * 6, [1.0] * 6),
             ("BenchmarkHashBuffer-4", "impl=pool"): ([1.0] * 6, [1.0] * 6)}
    totals = {"tar buffer": [dc.Totals("B/op", 4096.0, 16.0)], "hash buffer": [dc.Totals("B/op", 10.0, 10.0)]}
    held = {"tar buffer": 65536.0}
    ds = {d.pool: d for d in dc.decide_pools(pairs, totals, held, Rules(), None, _StrictAB())}
    assert set(ds) == {"tar buffer", "hash buffer"}
    tar, hb = ds["tar buffer"], ds["hash buffer"]
    assert (tar.totals, tar.held, tar.ab_config, tar.basis) == (totals["tar buffer"], 65536.0, "tar", "measured")
    # the hash pool has no configuration in this A/B: decided on the micro benchmarks alone (0% -> remove)
    assert (hb.totals, hb.held, hb.ab_config, hb.basis, hb.measured) == (totals["hash buffer"], None, None,
                                                                        "micro", {})
    assert hb.decision == "remove"


def test_an_ab_without_configs_measures_nothing():
    class NoConfigs:
        def values(self, config, unit):  # pragma: no cover - must not be asked
            raise AssertionError("asked for values")

    (d,) = dc.decide_pools({("BenchmarkTarBuffer", "pool"): ([2.0] * 6, [1.0] * 6)}, {}, {}, Rules(), None,
                           NoConfigs())
    assert (d.basis, d.ab_config, d.measured) == ("micro", None, {})


def test_micro_without_an_interval_names_the_rounds_for_alpha():
    # one round, no CPU profile: no interval; at alpha = 0.01 the test needs 8 rounds (2/2^8 <= 0.01 < 2/2^7)
    (d,) = dc.decide_pools({("BenchmarkTarBuffer", "pool"): ([2.0], [1.0])}, {}, {}, Rules(alpha=0.01))
    assert (d.basis, d.decision) == ("micro", "inconclusive")
    assert d.rule == ("no micro (no CPU profile: the share taken as the 100% upper bound) time interval: the paired "
                      "test needs at least 8 rounds")


def test_bound_uses_the_margin_as_a_fraction():
    # 7.44% of the CPU is below a 7.5% margin (and above 7.5 / 101 = 7.43%)
    share = dc.Share("cpu", "plain-cpu", 14.88, 200.0, "samples")
    (d,) = dc.decide_pools(_one_round_pairs(), {}, {}, Rules(margin_pct=7.5), {"tar buffer": (share, None)})
    assert (d.basis, d.decision) == ("bound", "remove")


def test_micro_effect_skips_empty_and_unusable_pairs():
    good = ([2.0] * 6, [1.0] * 6)
    for bad in (([], []), ([0.0] * 6, [1.0] * 6)):  # no rounds; a zero time has no log-ratio
        e = dc.micro_effect([bad, good], 0.05)
        assert e is not None and e.n == 6 and e.delta == pytest.approx(-0.5)
    assert dc.micro_effect([([], [])], 0.05) is None


def test_paired_effect_of_one_round_has_no_interval():
    e = dc.paired_effect("wall time", [100.0], [150.0], 0.05)
    assert e is not None and e.n == 1 and e.delta == pytest.approx(0.5) and not e.has_interval
    assert dc.interval(e) == "no interval (too few rounds)"
    assert dc.paired_effect("wall time", [], [], 0.05) is None
    assert dc.paired_effect("wall time", [1.0, 2.0], [1.0], 0.05) is None


@pytest.mark.parametrize("name, pool", [("Benchmark", "Benchmark"), ("BenchmarkX", "X"), ("BenchmarkX-8", "X")])
def test_pool_of_strips_the_prefix_only_before_a_name(name, pool):
    assert dc.pool_of(name) == pool


def _profile(types, samples):
    from enginepools.pprof.profile import ProfileBuilder

    b = ProfileBuilder(sample_types=types, period_type=None, period=1)
    for values, stack, labels in samples:
        b.add_sample(values, [(f, "x.c", 1) for f in stack], labels=labels)
    return b.build()


def test_profile_share_columns_labels_and_empty_samples():
    # a CPU profile whose first column is samples: its "samples" column is the one counted
    cpu = _profile([("samples", "count"), ("cpu", "nanoseconds")],
                   [([0, 0], ["hash_job"], None), ([3, 30], ["hash_job", "main"], None), ([1, 10], ["main"], None)])
    s = dc.profile_share(cpu, "cpu", "c", "hash buffer")
    assert (s.part, s.total, s.unit) == (30.0, 40.0, "nanoseconds")
    samples_only = _profile([("samples", "count")], [([0], ["x"], None), ([1], ["hash_job"], None), ([3], ["y"], None)])
    s = dc.profile_share(samples_only, "cpu", "c", "hash buffer")
    assert (s.part, s.total, s.unit) == (1.0, 4.0, "count")  # an empty sample first does not end the count
    # a heap profile with in-use space only; the label key may be ep_pool
    heap = _profile([("inuse_space", "bytes")],
                    [([64], ["malloc"], {"ep_pool": "tar"}), ([36], ["malloc"], None)])
    s = dc.profile_share(heap, "heap", "h", "tar buffer")
    assert (s.part, s.total, s.unit) == (64.0, 100.0, "bytes")
    # a function name with two dots: the part before the first is the function
    dotted = _profile([("inuse_space", "bytes")], [([5], ["tar_all.isra.0"], None), ([7], ["x.tar_all.y"], None),
                                                    ([11], ["ep_pool_get", "tag_entry.part.1"], None),
                                                    ([13], ["ep_pool_get", "q.tag_entry"], None)])
    assert dc.profile_share(dotted, "heap", "h", "tar buffer").part == 5.0
    assert dc.profile_share(dotted, "heap", "h", "object pool").part == 11.0
    # a location no function of the pool's path reaches counts for nothing
    assert dc.profile_share(dotted, "heap", "h", "worker pool").part == 0.0


@pytest.mark.parametrize("time, memory, want", [
    # the 90% interval exactly on both edges of +-5%: equivalent (edges included)
    pytest.param(_e("wall time", 0.0, -0.06, 0.06, -0.05, 0.05), None,
                 "remove: measured end-to-end wall time +0.0% [-6.0%, +6.0%] equivalent to plain allocation (the 90% "
                 "intervals lie within \u00b15%): a pool is code to maintain", id="equivalent-on-the-edges"),
    pytest.param(_e("wall time", 0.03, -0.04, 0.11, -0.03, 0.10), _e("peak RSS", 0.0, -0.01, 0.01, -0.008, 0.008),
                 "remove: measured end-to-end wall time +3.0% [-4.0%, +11.0%] and peak RSS +0.0% [-1.0%, +1.0%]: no "
                 "improvement of the 5% margin (the 90% intervals start at or above the lower edge of \u00b15%: "
                 "equivalent or worse): a pool is code to maintain", id="no-improvement-both"),
])
def test_rule_sentence_edges(time, memory, want):
    assert dc.apply_rules(time, memory, 5.0, "measured end-to-end") == ("remove", want, None)


def test_effect_from_logs_uses_alpha_for_both_intervals():
    # 8 rounds; two-sided signed-rank critical values (published tables): alpha = 0.01 -> 0, 0.02 -> 1
    r = [1.10, 0.97, 1.20, 1.05, 1.15, 0.99, 1.08, 1.30]
    e = dc.effect_from_logs("x", np.log(r), 0.01)
    assert (e.lo, e.hi) == (pytest.approx(0.97 - 1), pytest.approx(1.30 - 1))  # the extreme Walsh averages
    # the second smallest and second largest Walsh averages: (ln .97 + ln .99) / 2 and (ln 1.2 + ln 1.3) / 2
    assert (e.lo2, e.hi2) == (pytest.approx(math.sqrt(0.97 * 0.99) - 1), pytest.approx(math.sqrt(1.2 * 1.3) - 1))
    assert e.half_width == pytest.approx((math.log(1.30) - math.log(0.97)) / 2)


def test_decision_to_dict_and_kernel_names_without_threads():
    (d,) = dc.decide_pools({("BenchmarkTarBuffer", "pool"): ([2.0] * 6, [1.0] * 6)}, {}, {}, Rules())
    assert d.kernels == ["BenchmarkTarBuffer/pool"]
    out = d.to_dict()
    assert (out["pool"], out["decision"], out["basis"], out["kernels"]) == ("tar buffer", "keep", "micro",
                                                                           ["BenchmarkTarBuffer/pool"])
    assert out["micro"]["delta"] == pytest.approx(-0.5)


def test_pool_inputs_needs_both_sides_for_totals_and_keeps_zero_held():
    from enginepools.bench import benchfmt

    text = ("BenchmarkHashBuffer/impl=std-2 10 100 ns/op\n"
            "BenchmarkHashBuffer/impl=pool-2 10 80 ns/op 16 B/op 0 retained-B\n")
    pairs, totals, held = dc.pool_inputs(benchfmt.parse(text), "impl", ("ns/op",), ("std",))
    assert pairs == {("HashBuffer-2", "pool"): ([100.0], [80.0])}
    assert totals == {} and held == {"hash buffer": 0.0}


def test_profile_share_of_a_known_pool_in_a_named_package():
    prof = _heap([(600, ["ep_alloc", "hash_job"], None), (30, ["mypkg.helper", "main"], None), (70, ["main"], None)])
    # with the benchmarked package named, its functions are the pool's path, not the built-in one
    assert dc.profile_share(prof, "heap", "x", "hash buffer", pkg="mypkg").part == 30.0

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

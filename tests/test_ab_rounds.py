"""The end-to-end A/B's rounds: the adaptive stopping rule on synthetic
sample streams (no clock involved), the paired analysis and its JSON round
trip, budget-hit reporting, `-configs none,none`, and `-inject`.

Expected half-widths are worked out by hand: with 6 rounds the 95% signed-
rank interval of the Hodges–Lehmann estimate is [smallest, largest] Walsh
average (critical value 0 at n = 6), i.e. [min d, max d] of the per-round
log-ratios d, so its half-width is (max d − min d) / 2."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from enginepools.bench.result import BenchResult
from enginepools.cli import main
from enginepools.e2e import ab as abmod
from enginepools.e2e.rounds import StopRule, decide
from enginepools.e2e.treegen import TreeSpec, generate
from enginepools.errors import UsageError

TINY = TreeSpec(seed=3, files=40, dirs=5, max_depth=2, median_size=4000, sigma=1.0, max_size=60_000,
                symlink_fraction=0.0, long_name_fraction=0.0)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("abrounds") / "tree"
    generate(root, TINY)
    return root


def stream(log_ratios: list[float], base: float = 1e8) -> tuple[list[float], list[float]]:
    """A baseline stream and an arm whose per-round log-ratios are given."""
    old = [base * (1 + 0.01 * i) for i in range(len(log_ratios))]
    return old, [o * math.exp(d) for o, d in zip(old, log_ratios)]


def first_stop(rule: StopRule, old: list[float], arms: dict[str, list[float]], round_seconds: float = 1.0):
    """Feed the streams round by round (round r ends at r seconds); the first stop."""
    for r in range(1, len(old) + 1):
        d = decide(rule, old[:r], {k: v[:r] for k, v in arms.items()}, elapsed=r * round_seconds,
                   round_seconds=round_seconds)
        if d.stop:
            return r, d.reason
    return None, None


# ------------------------------------------------------------ stopping rule

def test_constant_ratio_stops_on_target_once_an_interval_exists() -> None:
    old, new = stream([0.05] * 20)
    # every round +5%: the interval is the single point 1.05 (half-width 0), but
    # a 95% signed-rank interval needs 6 rounds, so neither 2 nor 5 is enough
    assert first_stop(StopRule(min_rounds=2, target=0.02), old, {"a": new}) == (6, "target")
    assert first_stop(StopRule(min_rounds=9, target=0.02), old, {"a": new}) == (9, "target")


def test_half_width_at_the_target_stops_and_just_above_does_not() -> None:
    # six rounds: half-width = (max − min) / 2 = (0.028 − (−0.010)) / 2 = 0.019 ≤ 0.02
    old, new = stream([0.028, -0.010, 0.01, 0.0, 0.02, 0.01])
    assert first_stop(StopRule(min_rounds=6, target=0.02), old, {"a": new}) == (6, "target")
    # (0.032 + 0.010) / 2 = 0.021 > 0.02: no stop, and no budget to end it
    old, new = stream([0.032, -0.010, 0.01, 0.0, 0.02, 0.01])
    assert first_stop(StopRule(min_rounds=6, target=0.02), old, {"a": new}) == (None, None)


def test_budget_ends_a_noisy_stream_when_the_next_round_would_overrun() -> None:
    old, new = stream([0.2, -0.2] * 20)
    # round r ends at r s, the next would take 1 s: after round 10, 10 + 1 > 10.5
    assert first_stop(StopRule(min_rounds=6, target=0.02, budget=10.5), old, {"a": new}) == (10, "budget")
    # the minimum rounds always run, budget or not
    assert first_stop(StopRule(min_rounds=8, target=0.02, budget=2.0), old, {"a": new}) == (8, "budget")


def test_every_configuration_must_reach_the_target() -> None:
    old, precise = stream([0.05] * 30)
    _, noisy = stream([0.2, -0.2] * 15)
    assert first_stop(StopRule(min_rounds=6, target=0.02), old, {"a": precise}) == (6, "target")
    assert first_stop(StopRule(min_rounds=6, target=0.02, budget=20.5), old,
                      {"a": precise, "b": noisy}) == (20, "budget")


def test_no_target_means_a_fixed_count() -> None:
    old, new = stream([0.2, -0.2] * 10)
    assert first_stop(StopRule(min_rounds=7, target=None), old, {"a": new}) == (7, "count")


def test_rounds_are_paired_only_where_both_sides_finished() -> None:
    old, new = stream([0.05] * 7)
    # the arm has one round more than the baseline (a round cut short): 6 pairs
    d = decide(StopRule(min_rounds=6, target=0.02), old[:6], {"a": new}, elapsed=0, round_seconds=0)
    assert d.rounds == 6 and d.half_widths["a"] == pytest.approx(0.0, abs=1e-12) and d.reason == "target"


# --------------------------------------------------- the paired analysis

def synthetic(arm_ratios: list[float], **kw) -> abmod.ABResult:
    res = BenchResult()
    cfgs = ["none", "hash"]
    for i, r in enumerate(arm_ratios):
        base = {"ns/op": 1e8 + 1e6 * i, "cpu-ns/op": 2e8 + 1e6 * i, "peak-RSS-B": 50e6}
        res.add("Pipeline/pools=none", 2, 1, base)
        res.add("Pipeline/pools=hash", 2, 1, {k: v * r for k, v in base.items()})
    return abmod.ABResult("tree", cfgs, len(arm_ratios), 2, res, **kw)


def test_paired_summary_of_a_constant_ratio() -> None:
    ab = synthetic([1.1] * 6)
    (row,) = ab.paired_summary("cpu-ns/op")
    assert row["rounds"] == 6
    assert row["ratio"] == pytest.approx(1.1) and row["lo"] == pytest.approx(1.1) and row["hi"] == pytest.approx(1.1)
    assert row["half_width"] == pytest.approx(0.0, abs=1e-12)
    assert row["p_value"] == pytest.approx(2 / 64)  # all six rounds up: 2 × 2^-6
    assert row["significant"] is True


def test_budget_hit_is_reported_with_the_rounds_that_would_do(tmp_path: Path) -> None:
    d = [0.06, -0.04, 0.02, 0.0, 0.01, 0.03]  # half-width (0.06 + 0.04) / 2 = 0.05
    ab = synthetic([math.exp(x) for x in d], stop="budget", seconds=31.0,
                   stop_rule=StopRule(min_rounds=6, target=0.02, budget=30.0, unit="cpu-ns/op"))
    assert ab.half_widths() == {"hash": pytest.approx(0.05)}
    line = ab.stop_line()
    # 6 × (0.05 / 0.02)² = 37.5 → 38 rounds
    assert "budget 30 s hit" in line and "widest 5.0%, pools=hash" in line and "about 38 rounds" in line
    assert line in ab.table() and line in ab.markdown()
    js = tmp_path / "ab.json"
    ab.write_json(js)
    doc = json.loads(js.read_text())["ab"]
    assert doc["stop"] == "budget" and doc["rounds"] == 6 and doc["stop_rule"]["budget"] == 30.0
    assert doc["paired"]["cpu-ns/op"][0]["half_width"] == pytest.approx(0.05)


def test_json_round_trip_keeps_the_new_fields(tmp_path: Path) -> None:
    ab = synthetic([1.02, 1.05, 0.99, 1.03, 1.04, 1.01, 1.02], stop="target", seconds=12.5, inject=0.05,
                   stop_rule=StopRule(min_rounds=6, target=0.03, budget=45.0, unit="ns/op"))
    js = tmp_path / "ab.json"
    ab.write_json(js)
    back = abmod.load(js)
    assert back.inject == 0.05 and back.stop == "target" and back.seconds == 12.5
    assert back.stop_rule == ab.stop_rule and back.rounds() == 7
    assert back.paired_summary("ns/op") == ab.paired_summary("ns/op")
    assert back.stop_line() == ab.stop_line()
    # values in round order, as written (what the report reads)
    assert list(back.values("hash", "ns/op")) == list(ab.values("hash", "ns/op"))
    # an older result (no rounds fields) still loads: a fixed count
    doc = json.loads(js.read_text())
    for k in ("inject", "stop", "stop_rule", "seconds", "rounds", "paired"):
        del doc["ab"][k]
    js.write_text(json.dumps(doc))
    old = abmod.load(js)
    assert old.inject == 0.0 and old.stop == "count" and old.stop_rule is None and "fixed count" in old.stop_line()


# ------------------------------------------------- configs and injection

def test_a_configuration_given_twice_is_a_second_arm() -> None:
    assert abmod.parse_configs("none,none") == ["none", "none#01"]
    assert abmod.parse_configs("hash,none,hash,hash") == ["none", "hash", "hash#01", "hash#02"]
    assert abmod.parse_configs(["none", "none#01"]) == ["none", "none#01"]  # parsing is idempotent
    assert abmod.config_pools("hash+tar#01") == "hash,tar"


@pytest.mark.parametrize("flag,value,message", [
    ("-inject", "abc", "-inject 'abc': want a percentage like 5%"),
    ("-inject", "-5%", "-inject '-5%': must be between 0% and 1000%"),
    ("-inject", "2000%", "-inject '2000%': must be between 0% and 1000%"),
    ("-target", "150%", "-target '150%': must be between 0% and 99%"),
    ("-budget", "soon", "-budget 'soon': want a duration like 60s or 2m"),
    ("-budget", "0s", "-budget '0s': must be a positive duration"),
])
def test_bad_rounds_flags_are_one_line_usage_errors(tmp_path: Path, capsys, flag: str, value: str,
                                                    message: str) -> None:
    assert main(["ab", str(tmp_path), f"{flag}={value}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"enginepools ab: {message}"


def test_durations_and_percentages_parse() -> None:
    assert abmod.parse_seconds("90", "-budget") == 90
    assert abmod.parse_seconds("1m30s", "-budget") == 90
    assert abmod.parse_seconds("2m", "-budget") == 120
    with pytest.raises(UsageError):  # ms is not a budget unit
        abmod.parse_seconds("500ms", "-budget")
    assert abmod.parse_percent("5%", "-inject") == pytest.approx(0.05)
    assert abmod.parse_percent("0.5", "-inject") == pytest.approx(0.005)


def test_injected_arm_is_slower_and_the_baseline_never_spins(tree: Path) -> None:
    ab = abmod.run_ab(tree, "none,none", 3, warmup=0, write_archive=False, inject=1.0)
    assert ab.configs == ["none", "none#01"] and ab.stop == "count" and ab.rounds() == 3
    for s in ab.samples:
        if s.config == "none":
            assert "inject" not in s.child
        else:  # spun until the process had used the pipeline's CPU time once more
            inj = s.child["inject"]
            assert inj["fraction"] == 1.0 and inj["clock"] == "cpu"
            assert inj["spin_cpu_ns"] >= inj["of_ns"] > 0
            assert s.values["ns/op"] >= s.child["seconds"]["walk"] * 1e9 + inj["spin_wall_ns"]
    # doubling the CPU work: the arm's CPU time is well above the baseline's
    e = ab.paired("none#01", "cpu-ns/op")
    assert e is not None and e.ratio > 1.4
    assert float(np.median(ab.values("none#01", "cpu-ns/op"))) > float(np.median(ab.values("none", "cpu-ns/op")))


def test_wall_clock_injection_spins_wall_time(tree: Path) -> None:
    ab = abmod.run_ab(tree, "none,none", 1, warmup=0, write_archive=False, inject=0.5, measure="wall")
    (s,) = [s for s in ab.samples if s.config == "none#01"]
    inj = s.child["inject"]
    assert inj["clock"] == "wall" and inj["spin_wall_ns"] >= 0.5 * inj["of_ns"]


def test_budget_stops_after_the_minimum_rounds(tree: Path) -> None:
    # an unreachable target and a budget spent by the first round: the minimum runs, then it stops
    ab = abmod.run_ab(tree, "none,hash", 2, warmup=0, write_archive=False, target=1e-6, budget=1e-3)
    assert ab.stop == "budget" and ab.rounds() == 2 and ab.complete
    assert "budget 0.001 s hit" in ab.table()


def test_cli_none_none_with_injection_writes_both_arms(tree: Path, tmp_path: Path, capsys) -> None:
    js, md = tmp_path / "ab.json", tmp_path / "ab.md"
    rc = main(["ab", str(tree), "-configs", "none,none", "-inject", "50%", "-count", "2", "-target", "0",
               "-warmup", "0", "-archive", "none", "-json", str(js), "-md", str(md), "-q"])
    assert rc == 0
    doc = json.loads(js.read_text())
    assert doc["ab"]["configs"] == ["none", "none#01"] and doc["ab"]["inject"] == 0.5
    back = abmod.load(js)
    assert back.configs == ["none", "none#01"] and back.rounds() == 2
    out = capsys.readouterr().out
    assert "spun 50% of its pipeline time" in out and "none#01" in out
    assert "| CPU time | `none#01` | 2 |" in md.read_text()

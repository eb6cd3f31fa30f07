"""Verdicts: every rule, the conflict case, TOML overrides, JSON rows."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import pytest

from enginepools.analysis import compare, verdict
from enginepools.bench.benchfmt import make_record, parse_text
from enginepools.errors import InputError

STD_NS = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2]


def rows(pool_ns: Sequence[float], pool_bop: float | Sequence[float] = 64.0, std_bop: float = 64.0,
         std_ns: Sequence[float] = STD_NS) -> list[compare.Row]:
    def bop(v: float | Sequence[float], i: int) -> float:
        return float(v if isinstance(v, (int, float)) else v[i])

    recs = [make_record("BenchmarkHash/impl=std-2", 100, {"ns/op": v, "B/op": std_bop}) for v in std_ns]
    recs += [make_record("BenchmarkHash/impl=pool-2", 100, {"ns/op": v, "B/op": bop(pool_bop, i)})
             for i, v in enumerate(pool_ns)]
    return compare.compare_columns(recs, "/impl").rows


def one(rs: list[compare.Row], rules: verdict.Rules | None = None) -> verdict.Verdict:
    [v] = verdict.decide(rs, rules)
    return v


def scaled(f: float) -> list[float]:
    return [x * f for x in STD_NS]


def test_significantly_faster_by_15_percent_keeps() -> None:
    v = one(rows(scaled(0.70)))
    assert v.decision == "keep" and v.rule.startswith("significantly faster")
    assert (v.pool, v.candidate, v.baseline) == ("Hash-2", "pool", "std")
    assert v.time is not None and v.time.delta_pct == pytest.approx(-30.0) and v.time.significant


def test_significantly_less_memory_keeps() -> None:
    v = one(rows(scaled(1.0), pool_bop=48.0))  # same time, -25% B/op every run
    assert v.decision == "keep" and "significantly less memory" in v.rule
    assert v.memory is not None and v.memory.delta_pct == pytest.approx(-25.0)


def test_significantly_slower_removes() -> None:
    v = one(rows(scaled(1.5)))
    assert v.decision == "remove" and v.rule.startswith("significantly slower: time +50.0%")


def test_within_10_percent_without_memory_gain_removes_significant_or_not() -> None:
    noisy = [101.0, 99.2, 100.4, 99.9, 100.6, 100.1]
    v = one(rows(noisy))
    assert v.time is not None and not v.time.significant
    assert v.decision == "remove" and "within ±10%" in v.rule and "not significant" in v.rule
    v = one(rows(scaled(0.95)))  # 5% faster, significant: still no benefit worth a pool
    assert v.time is not None and v.time.significant and v.decision == "remove"


def test_faster_but_short_of_the_threshold_is_inconclusive() -> None:
    v = one(rows(scaled(0.88)))
    assert v.decision == "inconclusive" and "short of the 15%" in v.rule


def test_large_but_not_significant_difference_is_inconclusive() -> None:
    wild = [40.0, 160.0, 45.0, 150.0, 50.0, 70.0]
    v = one(rows(wild))
    assert v.time is not None and not v.time.significant and abs(v.time.delta_pct or 0) >= 10
    assert v.decision == "inconclusive" and "not significant" in v.rule


def test_within_10_percent_with_some_memory_gain_is_inconclusive() -> None:
    v = one(rows(scaled(1.0), pool_bop=58.0))  # -9.4% B/op: a gain, but short of 20%
    assert v.decision == "inconclusive" and "short of the 20%" in v.rule


def test_slower_but_much_less_memory_is_a_trade_off() -> None:
    rs = rows(scaled(2.5), pool_bop=24.0, std_bop=32.0)  # the study's hash pool shape
    v = one(rs)
    assert v.decision == "inconclusive" and v.rule.startswith("trade-off")
    assert one(rs, verdict.Rules(on_conflict="keep")).decision == "keep"


def test_too_few_samples_are_not_enough() -> None:
    v = one(rows(scaled(0.5)[:3], std_ns=STD_NS[:3]))
    assert v.decision == "inconclusive" and v.rule.startswith("not enough samples")
    assert v.time is not None and v.time.delta_pct == pytest.approx(-50.0) and v.time.p_value is None


def test_study_like_single_samples_are_all_inconclusive() -> None:
    recs = parse_text((Path(__file__).parent / "data" / "study_like_bench.txt").read_text())
    vs = verdict.decide(compare.compare_columns(recs, pairs=[("WithPool", "Standard")]).rows)
    assert [v.pool for v in vs] == ["StringBuilder-4", "HashBuffer-4", "TarBuffer-4"]
    assert all(v.decision == "inconclusive" and "not enough samples" in v.rule for v in vs)


def test_rules_from_toml_override_thresholds(tmp_path: Path) -> None:
    f = tmp_path / "rules.toml"
    f.write_text("[verdict]\nkeep_faster_pct = 10\nalpha = 0.01\n")
    rules = verdict.load_rules(f)
    assert rules.keep_faster_pct == 10.0 and rules.alpha == 0.01 and rules.keep_less_memory_pct == 20.0
    assert one(rows(scaled(0.88)), rules).decision == "keep"
    f.write_text("remove_within_pct = 3\n")  # top level works too
    assert one(rows(scaled(0.95)), verdict.load_rules(f)).decision == "inconclusive"


@pytest.mark.parametrize("text, message", [
    ("keep_fastr_pct = 10\n", r"rules\.toml: unknown rule 'keep_fastr_pct'"),
    ("keep_faster_pct = 'ten'\n", r"rules\.toml: rule 'keep_faster_pct': expected float"),
    ("alpha = 2\n", r"rules\.toml: alpha must be between 0 and 1"),
    ("on_conflict = 'maybe'\n", r"on_conflict must be one of keep, remove, inconclusive"),
    ("keep_faster_pct = \n", r"rules\.toml: not valid TOML"),
], ids=["unknown-rule", "not-a-float", "alpha-out-of-range", "bad-on-conflict", "not-toml"])  # no "\\" in an id (ascii_id)
def test_bad_rule_files_are_input_errors(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "rules.toml"
    f.write_text(text)
    with pytest.raises(InputError, match=message):
        verdict.load_rules(f)


def test_decide_reads_json_rows_like_row_objects() -> None:
    res_rows = rows(scaled(0.7), pool_bop=48.0)
    dicts = json.loads(json.dumps([r.to_dict() for r in res_rows]))
    assert [v.to_dict() for v in verdict.decide(dicts)] == [v.to_dict() for v in verdict.decide(res_rows)]


def test_verdict_renders_evidence_and_rule() -> None:
    vs = verdict.decide(rows(scaled(1.5)))
    text = verdict.render(vs, "text")
    assert "Hash-2" in text and "remove" in text and "+50.0%" in text and "significantly slower" in text
    md = verdict.render(vs, "markdown")
    assert md.splitlines()[0].startswith("| pool |")
    [d] = json.loads(verdict.render(vs, "json"))
    assert d["decision"] == "remove" and d["time"]["unit"] == "ns/op" and d["memory"]["unit"] == "B/op"


def test_evidence_describes_itself_as_documented() -> None:
    e = verdict.Evidence("ns/op", 59.88, 70.40, 6, 6, 17.568, 2 / 924, True)
    assert e.describe() == "+17.6% ns/op (p=0.002, n=6+6)"
    e = verdict.Evidence("B/op", 0.0, 24.0, 1, 2, None, None, False)
    assert e.describe() == "? B/op (no p-value, n=1+2)"


def _two_verdicts() -> list[verdict.Verdict]:
    rows = [
        {"name": "A", "unit": "ns/op", "old_label": "std", "new_label": "pool", "old": {"median": 100.0, "n": 6},
         "new": {"median": 80.0, "n": 6}, "delta_pct": -20.0, "p_value": 0.002},
        {"name": "A", "unit": "B/op", "old_label": "std", "new_label": "pool", "old": {"median": 64.0, "n": 6},
         "new": {"median": 64.0, "n": 6}, "delta_pct": 0.0, "p_value": 1.0},
        {"name": "B|x", "unit": "ns/op", "old_label": "std", "new_label": "pool", "old": {"median": 100.0, "n": 2},
         "new": {"median": 300.0, "n": 2}, "delta_pct": 200.0, "p_value": None},
    ]
    return verdict.decide(rows)


def test_render_markdown_text_and_json_exactly() -> None:
    vs = _two_verdicts()
    a_rule, b_rule = vs[0].rule, vs[1].rule
    assert (vs[0].decision, vs[1].decision) == ("keep", "inconclusive")
    assert verdict.render(vs, "markdown") == (
        "| pool | vs | verdict | time Δ | p | B/op Δ | p | rule |\n"
        "|---|---|---|---|---|---|---|---|\n"
        f"| A | pool vs std | keep | -20.0% | 0.002 | +0.0% | 1.000 | {a_rule} |\n"
        f"| B\\|x | pool vs std | inconclusive | +200.0% | — | — |  | {b_rule} |\n")
    assert verdict.render(vs, "text") == (
        "pool  vs           verdict       time Δ   p      B/op Δ  p      rule\n"
        f"A     pool vs std  keep          -20.0%   0.002  +0.0%   1.000  {a_rule}\n"
        f"B|x   pool vs std  inconclusive  +200.0%  —      —              {b_rule}\n")
    doc = json.loads(verdict.render(vs, "json"))
    assert [d["decision"] for d in doc] == ["keep", "inconclusive"] and doc[1]["memory"] is None
    assert verdict.render(vs, "json").startswith('[\n  {\n    "pool": "A",')
    with pytest.raises(ValueError, match="unknown format 'csv'"):
        verdict.render(vs, "csv")


def test_verdicts_html_has_the_columns_and_numbers() -> None:
    html = verdict.verdicts_html(_two_verdicts())
    for h in ("pool", "vs", "verdict", "time Δ", "B/op Δ", "rule"):
        assert f">{h}<" in html, h
    assert "verdicts" in html and 'class="ep-keep"' in html and "-20.0%" in html and "1.000" in html


def test_rules_from_mapping_types_and_the_verdict_key() -> None:
    r = verdict.rules_from_mapping({"verdict": {}, "alpha": 0.01, "keep_faster_pct": 5, "holm": True,
                                    "time_units": "sec/op"})
    assert (r.alpha, r.keep_faster_pct, r.holm, r.time_units) == (0.01, 5.0, True, ("sec/op",))
    assert isinstance(r.keep_faster_pct, float)
    assert verdict.rules_from_mapping({"time_units": ["a", "b"]}).time_units == ("a", "b")
    with pytest.raises(InputError, match=r"^unknown rule 'x', 'y' \(known: alpha, keep_faster_pct, "):
        verdict.rules_from_mapping({"x": 1, "y": 2})
    for key, bad in (("holm", 1), ("alpha", True), ("time_units", [1]), ("time_units", 3), ("on_conflict", 2)):
        with pytest.raises(InputError, match=f"rule '{key}': expected"):
            verdict.rules_from_mapping({key: bad})


def test_load_rules_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(InputError, match=f"^{missing}: no such file$"):
        verdict.load_rules(missing)
    p = tmp_path / "r.toml"
    p.write_text("verdict = 3\n")
    with pytest.raises(InputError, match=r"r\.toml: \[verdict\] must be a table$"):
        verdict.load_rules(p)
    with pytest.raises(InputError, match=f"^{tmp_path}: "):
        verdict.load_rules(tmp_path)  # a directory


def test_rules_accept_their_bounds_and_name_every_bad_value() -> None:
    verdict.Rules(keep_faster_pct=0.0, keep_less_memory_pct=100.0, remove_within_pct=0.0, margin_pct=100.0)
    for alpha in (0.0, 1.0, 1.5):
        with pytest.raises(InputError, match=f"alpha must be between 0 and 1, got {alpha}"):
            verdict.Rules(alpha=alpha)
    with pytest.raises(InputError) as e:
        verdict.Rules(keep_faster_pct=100.5, remove_within_pct=-1.0)
    assert str(e.value) == ("keep_faster_pct must be a percentage between 0 and 100, got 100.5; "
                            "remove_within_pct must be a percentage between 0 and 100, got -1.0")


def test_rules_file_errors_say_what_the_file_should_be(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (3 << 19) + "\n")  # 1.5 MiB: over the 1 MiB a rules file may have
    with pytest.raises(InputError, match=r"big\.toml: 1572867 bytes is larger than the 1048576 a verdict rules "
                                         r"file \(TOML\) may have"):
        verdict.load_rules(big)
    d = tmp_path / "dir.toml"
    d.mkdir()
    with pytest.raises(InputError, match=r"dir\.toml: is a directory, expected a verdict rules file \(TOML\)"):
        verdict.load_rules(d)
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"alpha = 0.05\n\xff\n")
    with pytest.raises(InputError, match=r"bad\.toml: not a text file \(invalid start byte at byte 13\), "
                                         r"expected TOML rules"):
        verdict.load_rules(bad)


def test_evidence_carries_the_medians_and_counts_of_its_row() -> None:
    row = {"name": "BenchmarkX", "unit": "ns/op", "old_label": "std", "new_label": "pool",
           "old": {"median": 100.0, "n": 7}, "new": {"median": 80.0, "n": 9}, "delta_pct": -20.0, "p_value": 0.001}
    [v] = verdict.decide([row])
    assert v.time == verdict.Evidence("ns/op", 100.0, 80.0, 7, 9, -20.0, 0.001, True)

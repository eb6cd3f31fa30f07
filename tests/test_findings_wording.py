"""The findings' wording follows the statistics in force: no claim that a
difference is real unless it was shown significant at the α of the rules,
an equivalent pool is called so, and the sample minimums are the ones that
α (and the interval's confidence) imply — not 4 and 6 typed in."""
from __future__ import annotations

from pathlib import Path

import report_consistency as rc

from enginepools.analysis import verdict
from enginepools.bench.result import BenchResult
from enginepools.report import gather
from enginepools.report.writer import write_report


def findings(tmp_path: Path, pool_ns: list[float], std_ns: list[float], rules: verdict.Rules | None = None) -> str:
    res = BenchResult()
    for p, s in zip(pool_ns, std_ns):
        res.add_raw("HashBuffer/impl=pool", 1, 1000, int(p * 1000), 0, 0)
        res.add_raw("HashBuffer/impl=std", 1, 1000, int(s * 1000), 0, 0)
    tmp_path.mkdir(exist_ok=True)
    res.write_json(tmp_path / "bench.json")
    write_report(gather([str(tmp_path / "bench.json")], [], None, rules=rules), tmp_path / "r")
    assert rc.check_report(tmp_path / "r") == []
    assert rc.check_against_raw(tmp_path / "r", tmp_path / "bench.json") == []
    return (tmp_path / "r" / "profiling-analysis-findings.md").read_text()


def test_a_change_that_is_not_significant_is_not_called_real(tmp_path: Path) -> None:
    # the samples overlap: per round pool/std = .6, 1.83, .59, 3.25, .375, 1.16 — signed-rank p = 1
    std = [1000.0, 300.0, 1100.0, 400.0, 1200.0, 500.0]
    pool = [600.0, 550.0, 650.0, 1300.0, 450.0, 580.0]
    text = findings(tmp_path, pool, std)
    assert "### hash buffer: inconclusive" in text
    assert "real" not in text.replace("real workload", "")
    assert "signed-rank p=1.000" in text
    assert "might be an improvement of the 5% margin, not proven (the 90% interval reaches below the lower edge of ±5%)" in text
    assert "- Measure **hash buffer** again with about " in text


def test_a_significant_change_inside_the_margin_is_equivalent_and_removes(tmp_path: Path) -> None:
    std = [1000.0 + i for i in range(6)]
    pool = [970.0 + i for i in range(6)]  # −3% every round: significant (p = 2/64), but inside ±5%
    text = findings(tmp_path, pool, std)
    assert "### hash buffer: remove" in text
    assert "signed-rank p=0.031" in text
    assert "equivalent to plain allocation (the 90% intervals lie within ±5%)" in text


def test_sample_minimums_follow_alpha(tmp_path: Path) -> None:
    # 4 a side: enough at α = 0.05 (2/C(8,4) = 0.029), too few at α = 0.01
    std = [1000.0, 1001.0, 1002.0, 1003.0]
    pool = [500.0, 501.0, 502.0, 503.0]
    at05 = findings(tmp_path / "a", pool, std)
    assert ("Few samples: some comparisons have 4 samples per side — enough for a test at α = 0.05, not for a "
            "95% interval of the median.") in at05
    at01 = findings(tmp_path / "b", pool, std, verdict.Rules(alpha=0.01))
    assert ("Too few samples: some comparisons have only 4 sample(s) per side, so no difference can be shown "
            "significant at α = 0.01 and no verdict is final.") in at01
    assert "enough for a test" not in at01

"""Measured figures in the docs come from committed recordings
(docs/gen_figures.py renders them from docs/data/*.json) and nothing else
in those sections is a hand-typed ratio; anywhere in the docs, a ratio
printed beside its operands recomputes from them."""
from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RATIO_WITH_OPERANDS = re.compile(
    r"(\d+(?:\.\d+)?)×\**\s*\(\s*(\d[\d,]*(?:\.\d+)?)\s*(?:[a-zµ/]+\s*)?(?:vs|/)\s*(\d[\d,]*(?:\.\d+)?)")
GENERATED = re.compile(r"<!-- BEGIN GENERATED: .*?<!-- END GENERATED: [^>]*-->", re.S)


def test_generated_sections_are_up_to_date() -> None:
    r = subprocess.run([sys.executable, str(DOCS / "gen_figures.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_recorded_ratios_are_the_medians_of_their_rounds() -> None:
    rec = json.loads((DOCS / "data" / "pool_speed.json").read_text())
    assert rec["ratios"], "empty recording"
    for f in rec["ratios"]:
        assert len(f["per_round"]) == (rec["rounds"] if f["clock"] != "python" else len(f["per_round"]))
        assert f["median"] == pytest.approx(statistics.median(f["per_round"]), rel=1e-12), f["label"]
        assert (f["min"], f["max"]) == (min(f["per_round"]), max(f["per_round"])), f["label"]
    med = rec["median_ns_per_op"]["cpu"]
    # a run where the pool was not faster than malloc at 64 B would be a different finding than the text's
    assert med["pool_1t"] < med["malloc_1t"]


@pytest.mark.parametrize("doc, heading", [("pools.md", "## 6. Figures"), ("profiling.md", "## Cost")])
def test_figure_sections_hold_no_hand_typed_ratio(doc: str, heading: str) -> None:
    text = (DOCS / doc).read_text()
    start = text.index(heading)
    nxt = text.find("\n## ", start + len(heading))
    section = GENERATED.sub("", text[start: nxt if nxt > 0 else len(text)])
    assert not re.findall(r"\d(?:\.\d+)?×", section), f"{doc} {heading}: a ratio outside the generated block"


def ratio_figures(text: str) -> list[tuple[str, float, float, float]]:
    out = []
    for m in RATIO_WITH_OPERANDS.finditer(text):
        r, a, b = (float(g.replace(",", "")) for g in m.groups())
        out.append((m.group(0), r, a, b))
    return out


def test_every_ratio_beside_its_operands_recomputes() -> None:
    bad = []
    for doc in sorted(DOCS.glob("*.md")) + [ROOT / "README.md"]:
        for shown, r, a, b in ratio_figures(doc.read_text()):
            if f"{a / b:.2f}" != f"{r:.2f}" and f"{b / a:.2f}" != f"{r:.2f}":
                bad.append(f"{doc.name}: {shown!r}")
    assert not bad, bad


def test_the_ratio_check_catches_the_old_pools_md_figure() -> None:
    [(_, r, a, b)] = ratio_figures("| 64 B get+put vs malloc+free | **3.19×** (3.19 vs 10.71 ns) | 2.86× |")
    assert (r, a, b) == (3.19, 3.19, 10.71) and f"{b / a:.2f}" == "3.36"
    assert ratio_figures("`2.53× (1237 / 489.9 ns/op)`")[0][1:] == (2.53, 1237.0, 489.9)


def test_stress_recording_is_of_passing_runs_with_balanced_books() -> None:
    rec = json.loads((DOCS / "data" / "c_stress.json").read_text())
    assert set(rec["runs"]) == {"optimised", "asan", "tsan"}
    names = [p["name"] for p in rec["runs"]["optimised"]["phases"]]
    assert names, "no phase recorded"
    for build, r in rec["runs"].items():
        assert (r["ok"], r["exit"], r["failures"], r["books_balance"]) == (True, 0, 0, True), build
        assert r["iters"] == rec["iters"] and [p["name"] for p in r["phases"]] == names, build
        assert all(0 <= p["hit_pct"] <= 100 and p["gets"] > 0 for p in r["phases"]), build
        assert r["build_s"] > 0 and r["run_s"] > 0


def test_stress_recording_parses_what_the_program_prints() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import c_stress

    out = ("stress_pool: 8 threads, 1000 gets per thread per phase\n"
           "  uncapped                     gets      8000  hit 100.0%  drops        0  trimmed       0  retained     8  peak    1024 B\n"
           "  bufpool (shared 4 MiB cap)   gets       800  hit  90.7%  drops        3  retained 4096 B\n"
           "stress_pool: ok (0 failures)\n")
    assert c_stress.parse(out) == {"threads": 8, "iters": 1000, "ok": True, "failures": 0, "books_balance": True,
                                   "phases": [{"name": "uncapped", "gets": 8000, "hit_pct": 100.0},
                                              {"name": "bufpool (shared 4 MiB cap)", "gets": 800, "hit_pct": 90.7}]}
    bad = out.replace("ok (0 failures)", "FAIL (2 failures)") + "ep_alloc books do not balance: 64 bytes\n"
    r = c_stress.parse(bad)
    assert (r["ok"], r["failures"], r["books_balance"]) == (False, 2, False)


def test_figures_section_of_pools_md_holds_no_hand_typed_time_or_rate() -> None:
    text = (DOCS / "pools.md").read_text()
    start = text.index("## 6. Figures")
    nxt = text.find("\n## ", start + 1)
    section = GENERATED.sub("", text[start: nxt if nxt > 0 else len(text)])
    assert not re.findall(r"\d(?:\.\d+)? ?(?:s|ms)\b|\d%", section), "a timing or rate outside the generated blocks"

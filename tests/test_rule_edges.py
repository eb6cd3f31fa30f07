"""Every verdict rule at, just inside and just outside each threshold.

Written from the rules as documented (docs/compare-and-verdict.md "verdict",
docs/methodology.md §3 and the docstring of enginepools.analysis.verdict),
not from the code:

* significant means p ≤ α (α = 0.05 by default);
* keep: significantly faster by ≥ 15% (Δ time ≤ −15%);
* keep: significantly less B/op by ≥ 20% (Δ B/op ≤ −20%), unless also
  significantly slower — then ``on_conflict`` (default inconclusive);
* remove: significantly slower (Δ time > 0);
* remove: |Δ time| < 10%, significant or not, and no significant B/op
  reduction;
* otherwise inconclusive; no p-value for time → inconclusive.

Each rule has one table of (time Δ%, time p, B/op Δ%, B/op p, expected); a
case names the edge it pins.  When the rules change, re-point the tables:
one line per case, the thresholds as named constants.  Replacing a ``≤``
by ``<`` (or the reverse) at any threshold fails at least one case."""
from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from enginepools.analysis import verdict

# The documented thresholds (typed here from the docs, not read from Rules()).
ALPHA = 0.05
KEEP_FASTER = 15.0
KEEP_LESS_MEMORY = 20.0
REMOVE_WITHIN = 10.0
EPS = 1e-6  # "just inside / just outside": far below any printed precision, far above float rounding

KEEP, REMOVE, INCONCLUSIVE = "keep", "remove", "inconclusive"
P_SIG, P_NOT = 0.001, 0.5  # clearly significant / clearly not


class Case(NamedTuple):
    edge: str
    time_delta: float | None
    time_p: float | None
    mem_delta: float | None  # None: no B/op row
    mem_p: float | None
    expected: str


def _row(unit: str, delta_pct: float, p: float | None, n: int = 10) -> dict[str, Any]:
    return {"name": "BenchmarkX", "unit": unit, "old_label": "std", "new_label": "pool",
            "old": {"median": 100.0, "n": n}, "new": {"median": 100.0 * (1 + delta_pct / 100), "n": n},
            "delta_pct": delta_pct, "p_value": p}


def decide(c: Case, **rules: Any) -> str:
    rows = [_row("ns/op", c.time_delta if c.time_delta is not None else 0.0, c.time_p)]
    if c.mem_delta is not None:
        rows.append(_row("B/op", c.mem_delta, c.mem_p))
    [v] = verdict.decide(rows, verdict.Rules(**rules) if rules else None)
    return v.decision


SIGNIFICANCE = [  # p ≤ α is significant: a 20% speed-up keeps only when significant
    Case("p = α exactly", -20.0, ALPHA, None, None, KEEP),
    Case("p just under α", -20.0, ALPHA - EPS, None, None, KEEP),
    Case("p just over α", -20.0, ALPHA + EPS, None, None, INCONCLUSIVE),
    Case("no p-value (too few samples)", -50.0, None, None, None, INCONCLUSIVE),
]

KEEP_ON_TIME = [  # significantly faster by ≥ 15%
    Case("Δ = −15% exactly", -KEEP_FASTER, P_SIG, None, None, KEEP),
    Case("Δ just past −15%", -KEEP_FASTER - EPS, P_SIG, None, None, KEEP),
    Case("Δ just short of −15%", -KEEP_FASTER + EPS, P_SIG, None, None, INCONCLUSIVE),
    Case("−15% but not significant", -KEEP_FASTER, P_NOT, None, None, INCONCLUSIVE),
]

KEEP_ON_MEMORY = [  # significantly less B/op by ≥ 20%, time within noise
    Case("B/op Δ = −20% exactly", 0.0, P_NOT, -KEEP_LESS_MEMORY, P_SIG, KEEP),
    Case("B/op Δ just past −20%", 0.0, P_NOT, -KEEP_LESS_MEMORY - EPS, P_SIG, KEEP),
    Case("B/op Δ just short of −20% (a gain, short of keeping)", 0.0, P_NOT, -KEEP_LESS_MEMORY + EPS, P_SIG,
         INCONCLUSIVE),
    Case("B/op −20% at p = α", 0.0, P_NOT, -KEEP_LESS_MEMORY, ALPHA, KEEP),
    Case("B/op −20% at p just over α (no gain: remove)", 0.0, P_NOT, -KEEP_LESS_MEMORY, ALPHA + EPS, REMOVE),
]

TRADE_OFF = [  # keeps on memory but significantly slower → on_conflict (inconclusive)
    Case("−20% B/op, slower by a hair", EPS, P_SIG, -KEEP_LESS_MEMORY, P_SIG, INCONCLUSIVE),
    Case("−20% B/op, Δ time 0 (not slower)", 0.0, P_SIG, -KEEP_LESS_MEMORY, P_SIG, KEEP),
    Case("−20% B/op, slower at p just over α (not slower)", 30.0, ALPHA + EPS, -KEEP_LESS_MEMORY, P_SIG, KEEP),
    Case("B/op short of −20%, slower: remove", EPS, P_SIG, -KEEP_LESS_MEMORY + EPS, P_SIG, REMOVE),
]

REMOVE_WHEN_SLOWER = [  # significantly slower (any Δ > 0), even with a small B/op gain
    Case("slower by a hair, small B/op gain", EPS, P_SIG, -5.0, P_SIG, REMOVE),
    Case("Δ time 0, small B/op gain: not slower", 0.0, P_SIG, -5.0, P_SIG, INCONCLUSIVE),
    Case("+5%, small B/op gain", 5.0, P_SIG, -5.0, P_SIG, REMOVE),
    Case("+50% significant", 50.0, P_SIG, None, None, REMOVE),
    Case("+50% at p just over α: not slower, outside ±10%", 50.0, ALPHA + EPS, None, None, INCONCLUSIVE),
]

REMOVE_WHEN_WITHIN = [  # |Δ time| < 10%, significant or not, no significant B/op reduction
    Case("Δ just under +10%, not significant", REMOVE_WITHIN - EPS, P_NOT, None, None, REMOVE),
    Case("Δ = +10% exactly, not significant", REMOVE_WITHIN, P_NOT, None, None, INCONCLUSIVE),
    Case("Δ just over −10%, not significant", -REMOVE_WITHIN + EPS, P_NOT, None, None, REMOVE),
    Case("Δ = −10% exactly, not significant", -REMOVE_WITHIN, P_NOT, None, None, INCONCLUSIVE),
    Case("Δ = −10% exactly, significant (faster, short of keep)", -REMOVE_WITHIN, P_SIG, None, None, INCONCLUSIVE),
    Case("Δ just over −10%, significant", -REMOVE_WITHIN + EPS, P_SIG, None, None, REMOVE),
    Case("within, B/op significantly lower", 1.0, P_NOT, -1.0, P_SIG, INCONCLUSIVE),
    Case("within, B/op lower at p just over α", 1.0, P_NOT, -1.0, ALPHA + EPS, REMOVE),
    Case("within, B/op lower at p = α", 1.0, P_NOT, -1.0, ALPHA, INCONCLUSIVE),
    Case("within, B/op significantly higher", 1.0, P_NOT, 30.0, P_SIG, REMOVE),
    Case("within, B/op unchanged (Δ 0, significant)", 1.0, P_NOT, 0.0, P_SIG, REMOVE),
]

TABLES = {"significance": SIGNIFICANCE, "keep on time": KEEP_ON_TIME, "keep on memory": KEEP_ON_MEMORY,
          "trade-off": TRADE_OFF, "remove when slower": REMOVE_WHEN_SLOWER, "remove when within": REMOVE_WHEN_WITHIN}
CASES = [(rule, c) for rule, table in TABLES.items() for c in table]


def ascii_id(text: str) -> str:
    """A test id in plain ASCII.  pytest escapes a non-ASCII id (``\\u0394``),
    and when one process runs pytest twice (mutmut's runner) the second run
    escapes the escape, so the ids mutmut recorded no longer resolve."""
    for a, b in (("Δ", "delta"), ("−", "-"), ("α", "alpha"), ("±", "+-"), ("≤", "<="), ("≥", ">=")):
        text = text.replace(a, b)
    assert text.isascii(), text
    return text


@pytest.mark.parametrize("rule, case", CASES, ids=[ascii_id(f"{r}: {c.edge}") for r, c in CASES])
def test_documented_rule_at_its_edge(rule: str, case: Case) -> None:
    assert decide(case) == case.expected


# The thresholds are rules, not constants: the same edges hold where a TOML
# file moves them (α = 0.01, keep at 5% faster / 50% less memory, remove
# within 2%), and on_conflict picks the trade-off's side.
MOVED = dict(alpha=0.01, keep_faster_pct=5.0, keep_less_memory_pct=50.0, remove_within_pct=2.0)
MOVED_CASES = [
    Case("p = α", -5.0, 0.01, None, None, KEEP),
    Case("p just over α", -5.0, 0.01 + EPS, None, None, INCONCLUSIVE),
    Case("Δ = −5% exactly", -5.0, 0.001, None, None, KEEP),
    Case("Δ just short of −5%", -5.0 + EPS, 0.001, None, None, INCONCLUSIVE),
    Case("B/op −50% exactly", 0.0, P_NOT, -50.0, 0.001, KEEP),
    Case("B/op just short of −50%", 0.0, P_NOT, -50.0 + EPS, 0.001, INCONCLUSIVE),
    Case("Δ just under +2%", 2.0 - EPS, P_NOT, None, None, REMOVE),
    Case("Δ = +2% exactly", 2.0, P_NOT, None, None, INCONCLUSIVE),
]


@pytest.mark.parametrize("case", MOVED_CASES, ids=[ascii_id(c.edge) for c in MOVED_CASES])
def test_rules_moved_by_a_rules_file_have_the_same_edges(case: Case) -> None:
    assert decide(case, **MOVED) == case.expected


@pytest.mark.parametrize("on_conflict", [KEEP, REMOVE, INCONCLUSIVE])
def test_on_conflict_decides_the_trade_off(on_conflict: str) -> None:
    c = Case("trade-off", 3.0, P_SIG, -40.0, P_SIG, on_conflict)
    assert decide(c, on_conflict=on_conflict) == on_conflict


# The reason each rule gives, word for word, as docs/compare-and-verdict.md
# shows them: a user reads these sentences, so each branch's wording and
# the figures in it are pinned here (typed by hand from the cases).
def _why(rows: list[dict[str, Any]], **rules: Any) -> tuple[str, str]:
    [v] = verdict.decide(rows, verdict.Rules(**rules) if rules else None)
    return v.decision, v.rule


REASONS = [
    ("no time row", [_row("B/op", -50.0, P_SIG)],
     (INCONCLUSIVE, "no time comparison (ns/op or sec/op) for this pool")),
    ("baseline median 0", [{**_row("ns/op", 0.0, P_SIG), "delta_pct": None}],
     (INCONCLUSIVE, "time difference undefined: the baseline median is 0")),
    ("trade-off", [_row("ns/op", 3.0, P_SIG), _row("B/op", -25.0, P_SIG)],
     (INCONCLUSIVE, "trade-off (inconclusive by rule on_conflict): 25.0% less B/op (p=0.001) but significantly "
                    "slower, time +3.0% (p=0.001)")),
    ("within, not significant", [_row("ns/op", -2.0, P_NOT)],
     (REMOVE, "no benefit: time -2.0% (p=0.500, not significant) is within ±10% of the baseline, with no "
              "significant memory gain")),
    ("within, significant, memory up", [_row("ns/op", -2.0, P_SIG), _row("B/op", 4.0, P_SIG)],
     (REMOVE, "no benefit: time -2.0% (p=0.001, significant) is within ±10% of the baseline, with memory +4.0% "
              "B/op, not a gain")),
    ("within, memory down short of keep", [_row("ns/op", 1.0, P_NOT), _row("B/op", -12.0, P_SIG)],
     (INCONCLUSIVE, "time within ±10% (+1.0%) but B/op significantly lower by 12.0%, short of the 20% to keep")),
    ("faster short of keep", [_row("ns/op", -12.0, P_SIG)],
     (INCONCLUSIVE, "significantly faster (-12.0%, p=0.001) but short of the 15% the rules ask to keep")),
    ("outside, not significant", [_row("ns/op", -40.0, P_NOT)],
     (INCONCLUSIVE, "time -40.0% is outside ±10% but not significant (p=0.500 > α=0.05)")),
]


@pytest.mark.parametrize("rows, expected", [(r, e) for _, r, e in REASONS], ids=[ascii_id(n) for n, _, _ in REASONS])
def test_each_rule_gives_its_reason_word_for_word(rows: list[dict[str, Any]], expected: tuple[str, str]) -> None:
    assert _why(rows) == expected


def test_rows_group_by_package_and_columns_and_keep_allocs() -> None:
    a = {**_row("ns/op", -20.0, P_SIG), "pkg": "a"}
    b = {**_row("ns/op", 20.0, P_SIG), "pkg": "b"}
    allocs = {**_row("allocs/op", -50.0, P_SIG), "pkg": "a"}
    summary = {"name": "BenchmarkX", "unit": "ns/op", "old": {"median": 1.0, "n": 5}, "new": None}
    vs = verdict.decide([summary, a, allocs, b, summary])  # a summary row (no new column) is skipped, not the end
    assert [(v.pkg, v.decision) for v in vs] == [("a", KEEP), ("b", REMOVE)]
    assert vs[0].allocs is not None and vs[0].allocs.delta_pct == -50.0 and vs[0].allocs.significant
    # unlabelled columns are "old" and "new"; a row without pkg is in package ""
    [v] = verdict.decide([{k: x for k, x in _row("ns/op", -20.0, P_SIG).items() if k not in ("old_label", "new_label")}])
    assert (v.pkg, v.baseline, v.candidate) == ("", "old", "new")

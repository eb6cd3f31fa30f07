"""Keep / remove / inconclusive per pool, from comparison rows and rules.

A *pool* is one benchmark compared against its plain-allocation twin (one
:class:`~enginepools.analysis.compare.Row` per unit).  :func:`decide` reads the
time row (``ns/op``) and the memory row (``B/op``) of each and applies, in
order (defaults from the original study's plan; α from the rules):

1. no time comparison, or no p-value for it → **inconclusive**
   ("not enough samples" when the sample sizes are the reason);
2. significantly faster by ≥ ``keep_faster_pct`` → **keep**;
3. significantly less B/op by ≥ ``keep_less_memory_pct``: **keep** — unless
   also significantly slower, which is a trade-off the numbers cannot
   settle: ``on_conflict`` (default **inconclusive**);
4. significantly slower → **remove**;
5. |Δ time| < ``remove_within_pct`` (significant or not) and no
   significant B/op reduction → **remove**;
6. anything else → **inconclusive**.

Each :class:`Verdict` carries the evidence (medians, Δ, p, n per unit) and
one sentence naming the rule that decided it.  Rules can be overridden in a
TOML file (:func:`load_rules`), at top level or under ``[verdict]``.
"""
from __future__ import annotations

import math
import os
import sys
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Iterable, Mapping, Sequence

from ..errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

KEEP, REMOVE, INCONCLUSIVE = "keep", "remove", "inconclusive"
DECISIONS = (KEEP, REMOVE, INCONCLUSIVE)


@dataclass(frozen=True)
class Rules:
    """Verdict thresholds (percentages are of the baseline median)."""

    alpha: float = 0.05
    keep_faster_pct: float = 15.0
    keep_less_memory_pct: float = 20.0
    remove_within_pct: float = 10.0
    margin_pct: float = 5.0  # per-pool decisions (analysis.decision): the end-to-end effect that matters
    on_conflict: str = INCONCLUSIVE
    holm: bool = False
    time_units: tuple[str, ...] = ("ns/op", "sec/op")
    memory_unit: str = "B/op"
    allocs_unit: str = "allocs/op"

    def __post_init__(self) -> None:
        problems = []
        if not 0 < self.alpha < 1:
            problems.append(f"alpha must be between 0 and 1, got {self.alpha}")
        for name in ("keep_faster_pct", "keep_less_memory_pct", "remove_within_pct", "margin_pct"):
            v = getattr(self, name)
            if not 0 <= v <= 100:
                problems.append(f"{name} must be a percentage between 0 and 100, got {v}")
        if self.on_conflict not in DECISIONS:
            problems.append(f"on_conflict must be one of {', '.join(DECISIONS)}, got {self.on_conflict!r}")
        if problems:
            raise InputError("; ".join(problems))


@dataclass(frozen=True)
class Evidence:
    """The numbers for one unit of one pool."""

    unit: str
    old_median: float
    new_median: float
    n_old: int
    n_new: int
    delta_pct: float | None
    p_value: float | None
    significant: bool

    def describe(self) -> str:
        """``+17.6% ns/op (p=0.002, n=6+6)``."""
        d = "?" if self.delta_pct is None else f"{self.delta_pct:+.1f}%"
        p = "no p-value" if self.p_value is None else f"p={self.p_value:.3f}"
        return f"{d} {self.unit} ({p}, n={self.n_old}+{self.n_new})"


@dataclass(frozen=True)
class Verdict:
    pool: str  # benchmark name, e.g. "HashBuffer-2"
    candidate: str  # the pooled column, e.g. "pool" or "WithPool"
    baseline: str  # the column it is compared with, e.g. "std"
    decision: str  # keep / remove / inconclusive
    rule: str  # the sentence that says why
    time: Evidence | None
    memory: Evidence | None
    allocs: Evidence | None = None
    pkg: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def _repr_html_(self) -> str:
        return verdicts_html([self])


class Verdicts(list):
    """The list :func:`decide` returns; renders as a table in Jupyter."""

    def _repr_html_(self) -> str:
        return verdicts_html(self)


# ------------------------------------------------------------------ rules

def load_rules(path: str | os.PathLike[str] | None) -> Rules:
    """Rules from a TOML file (keys of :class:`Rules`, at top level or
    under ``[verdict]``); the defaults when `path` is None."""
    if path is None:
        return Rules()
    p = os.fspath(path)
    from .._inputs import read_input

    data = read_input(p, "verdict rules file (TOML)", 1 << 20)
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise InputError(f"{p}: not a text file ({e.reason} at byte {e.start}), expected TOML rules") from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{p}: not valid TOML: {e}") from None
    table = doc.get("verdict", doc)
    if not isinstance(table, dict):
        raise InputError(f"{p}: [verdict] must be a table")
    try:
        return rules_from_mapping(table)
    except InputError as e:
        raise InputError(f"{p}: {e}") from None


def rules_from_mapping(m: Mapping[str, Any]) -> Rules:
    known = {f.name: f for f in fields(Rules)}
    unknown = [k for k in m if k not in known and k != "verdict"]
    if unknown:
        raise InputError(f"unknown rule {', '.join(map(repr, unknown))} (known: {', '.join(known)})")
    kw: dict[str, Any] = {}
    for k, v in m.items():
        if k == "verdict":
            continue
        default = getattr(Rules(), k)
        if isinstance(default, bool):
            ok = isinstance(v, bool)
        elif isinstance(default, float):
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            v = float(v) if ok else v
        elif isinstance(default, tuple):
            if isinstance(v, str):
                v = [v]
            ok = isinstance(v, list) and all(isinstance(x, str) for x in v)
            v = tuple(v) if ok else v
        else:
            ok = isinstance(v, str)
        if not ok:
            raise InputError(f"rule {k!r}: expected {type(default).__name__}, got {v!r}")
        kw[k] = v
    return replace(Rules(), **kw)


# --------------------------------------------------------------- deciding

def _get(row: Any, key: str) -> Any:
    return row[key] if isinstance(row, Mapping) else getattr(row, key)


def _evidence(row: Any, alpha: float) -> Evidence:
    if isinstance(row, Mapping):
        old, new = row["old"], row["new"]
        om, nm, no, nn = old["median"], new["median"], old["n"], new["n"]
        delta_pct = row.get("delta_pct")
    else:
        om, nm, no, nn = row.old.center, row.new.center, row.old.n, row.new.n
        delta_pct = row.delta_pct
    p = _get(row, "p_value")
    return Evidence(_get(row, "unit"), om, nm, no, nn, delta_pct, p, p is not None and p <= alpha)


def decide(rows: Iterable[Any], rules: Rules | None = None) -> "Verdicts":
    """One verdict per (benchmark, candidate column) found in `rows`.

    `rows` are :class:`~enginepools.analysis.compare.Row` objects or their JSON
    dicts (``name, unit, old, new, delta_pct, p_value`` and optionally
    ``old_label, new_label, pkg``).  Significance is re-derived from
    ``p_value`` and ``rules.alpha``."""
    rules = rules or Rules()
    groups: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for row in rows:
        if isinstance(row, Mapping):
            if row.get("new") is None:
                continue  # a single-column summary row: nothing compared
            key = (str(row.get("pkg", "")), row["name"], str(row.get("old_label") or "old"),
                   str(row.get("new_label") or "new"))
        else:
            key = (row.pkg, row.name, row.old_label, row.new_label)
        groups.setdefault(key, {})[_get(row, "unit")] = row
    verdicts = []
    for (pkg, name, base, cand), by_unit in groups.items():
        time_row = next((by_unit[u] for u in rules.time_units if u in by_unit), None)
        t = _evidence(time_row, rules.alpha) if time_row is not None else None
        m = _evidence(by_unit[rules.memory_unit], rules.alpha) if rules.memory_unit in by_unit else None
        a = _evidence(by_unit[rules.allocs_unit], rules.alpha) if rules.allocs_unit in by_unit else None
        decision, why = _rule(t, m, rules)
        verdicts.append(Verdict(name, cand, base, decision, why, t, m, a, pkg))
    return Verdicts(verdicts)


def _rule(t: Evidence | None, m: Evidence | None, r: Rules) -> tuple[str, str]:
    alpha = f"α={r.alpha:g}"
    if t is None:
        return INCONCLUSIVE, f"no time comparison ({' or '.join(r.time_units)}) for this pool"
    if t.p_value is None:
        return INCONCLUSIVE, (f"not enough samples: {t.n_old} and {t.n_new} samples cannot show a significant "
                              f"difference at {alpha} (time {_d(t)})")
    if t.delta_pct is None:
        return INCONCLUSIVE, "time difference undefined: the baseline median is 0"
    faster = t.significant and t.delta_pct <= -r.keep_faster_pct
    slower = t.significant and t.delta_pct > 0
    mem_keep = (m is not None and m.significant and m.delta_pct is not None
                and m.delta_pct <= -r.keep_less_memory_pct)
    mem_gain = m is not None and m.significant and m.delta_pct is not None and m.delta_pct < 0
    if faster:
        return KEEP, (f"significantly faster: time {_d(t)}, p={t.p_value:.3f} ≤ {alpha}, at least the "
                      f"{r.keep_faster_pct:g}% the rules ask")
    if mem_keep and slower:
        assert m is not None
        return r.on_conflict, (f"trade-off ({r.on_conflict} by rule on_conflict): {_d(m, neg=True)} less "
                               f"{m.unit} (p={m.p_value:.3f}) but significantly slower, time {_d(t)} "
                               f"(p={t.p_value:.3f})")
    if mem_keep:
        assert m is not None
        return KEEP, (f"significantly less memory: {m.unit} {_d(m)}, p={m.p_value:.3f} ≤ {alpha}, at least "
                      f"the {r.keep_less_memory_pct:g}% the rules ask (time {_d(t)}, p={t.p_value:.3f})")
    if slower:
        return REMOVE, f"significantly slower: time {_d(t)}, p={t.p_value:.3f} ≤ {alpha}"
    if abs(t.delta_pct) < r.remove_within_pct and not mem_gain:
        sig = "significant" if t.significant else "not significant"
        mem = "no significant memory gain" if m is None or not m.significant else \
            f"memory {_d(m)} {m.unit}, not a gain"
        return REMOVE, (f"no benefit: time {_d(t)} (p={t.p_value:.3f}, {sig}) is within "
                        f"±{r.remove_within_pct:g}% of the baseline, with {mem}")
    if abs(t.delta_pct) < r.remove_within_pct:
        assert m is not None
        return INCONCLUSIVE, (f"time within ±{r.remove_within_pct:g}% ({_d(t)}) but {m.unit} significantly "
                              f"lower by {_d(m, neg=True)}, short of the {r.keep_less_memory_pct:g}% to keep")
    if t.significant:  # faster, but less than the keep threshold
        return INCONCLUSIVE, (f"significantly faster ({_d(t)}, p={t.p_value:.3f}) but short of the "
                              f"{r.keep_faster_pct:g}% the rules ask to keep")
    return INCONCLUSIVE, (f"time {_d(t)} is outside ±{r.remove_within_pct:g}% but not significant "
                          f"(p={t.p_value:.3f} > {alpha})")


def _d(e: Evidence, neg: bool = False) -> str:
    if e.delta_pct is None:
        return "?"
    return f"{-e.delta_pct:.1f}%" if neg else f"{e.delta_pct:+.1f}%"


# -------------------------------------------------------------- rendering

def render(verdicts: list[Verdict], fmt: str = "text") -> str:
    if fmt == "json":
        import json

        from .stats import json_finite

        return json.dumps(json_finite([v.to_dict() for v in verdicts]), indent=2, allow_nan=False) + "\n"
    head = ["pool", "vs", "verdict", "time Δ", "p", "B/op Δ", "p", "rule"]
    body = []
    for v in verdicts:
        body.append([v.pool, f"{v.candidate} vs {v.baseline}", v.decision, *_cells(v.time), *_cells(v.memory),
                     v.rule])
    if fmt == "markdown":
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
        return "\n".join(lines) + "\n"
    if fmt != "text":
        raise ValueError(f"unknown format {fmt!r}")
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head) - 1)]
    lines = []
    for row in [head, *body]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _cells(e: Evidence | None) -> list[str]:
    if e is None:
        return ["—", ""]
    d = "?" if e.delta_pct is None else f"{e.delta_pct:+.1f}%"
    p = "—" if e.p_value is None else f"{e.p_value:.3f}"
    return [d, p]


__all__ = ["KEEP", "REMOVE", "INCONCLUSIVE", "Rules", "Evidence", "Verdict", "Verdicts", "decide", "load_rules",
           "rules_from_mapping", "render"]


def verdicts_html(vs: Sequence[Any]) -> str:
    """A list of :class:`Verdict` as an HTML table."""
    from ..render import html

    head = ["pool", "vs", "verdict", "time Δ", "p", "B/op Δ", "p", "rule"]
    rows = []
    for v in vs:
        rows.append([v.pool, f"{v.candidate} vs {v.baseline}",
                     html.Raw(f'<span class="ep-{html.esc(v.decision)}"><b>{html.esc(v.decision)}</b></span>'),
                     *_evidence_cells(v.time), *_evidence_cells(v.memory), v.rule])
    return html.table(head, rows, caption="verdicts", numeric=[False, False, False, True, True, True, True, False])


def _evidence_cells(e: Any) -> list[str]:
    from ..render import html

    if e is None:
        return ["—", ""]
    return [html.pct(e.delta_pct), html.pval(e.p_value)]

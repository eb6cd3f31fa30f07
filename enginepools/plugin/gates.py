"""The gates that fail a benchmarked test: the pool's ``min_hit_rate`` and
``max_retained_bytes`` (read from the pool's ``stats()`` around the run, or
from a kernel's pool units), and ``--ep-fail-on`` against the compared run.
Each appends its reason to ``Entry.failures``."""
from __future__ import annotations

from typing import Any

import pytest

from .session import Entry, State
from .table import fmt

# ------------------------------------------------------------ pool gates


def pool_stats(pool: Any) -> list[dict[str, float]] | None:
    """The counters of `pool` (a pool with ``.stats()``, or a list of them)."""
    if pool is None:
        return None
    pools = list(pool) if isinstance(pool, (list, tuple)) else [pool]
    out = []
    for p in pools:
        if not hasattr(p, "stats"):
            raise pytest.UsageError(f"pool_benchmark(pool=...): {p!r} has no .stats()")
        out.append(_flatten(p.stats()))
    return out


def _flatten(s: Any) -> dict[str, float]:
    """Counters from a stats dict/object; nested per-class dicts are summed."""
    if not isinstance(s, dict):
        s = {k: getattr(s, k) for k in dir(s) if not k.startswith("_") and
             isinstance(getattr(s, k, None), (int, float))}
    out: dict[str, float] = {}
    for k, v in s.items():
        if isinstance(v, bool):
            continue
        if isinstance(v, (int, float)):
            out[k] = out.get(k, 0.0) + float(v)
        elif isinstance(v, dict):
            for kk, vv in _flatten(v).items():
                out[kk] = out.get(kk, 0.0) + vv
        elif isinstance(v, (list, tuple)):
            for item in v:
                if isinstance(item, dict):
                    for kk, vv in _flatten(item).items():
                        out[kk] = out.get(kk, 0.0) + vv
    return out


def pool_metrics(before: list[dict[str, float]], after: list[dict[str, float]]) -> dict[str, float]:
    """hit_rate, gets and retained_bytes over the run, from :func:`pool_stats` before and after."""
    hits = misses = 0.0
    retained = 0.0
    for i, a in enumerate(after):
        b = before[i] if i < len(before) else {}
        h = a.get("hits", 0.0) - b.get("hits", 0.0)
        if "misses" in a:
            m = a["misses"] - b.get("misses", 0.0)
        else:
            m = (a.get("gets", 0.0) - b.get("gets", 0.0)) - h
        hits += h
        misses += m
        retained += max(a.get("retained_bytes", 0.0), a.get("peak_retained_bytes", 0.0))
    out = {"retained_bytes": retained, "gets": hits + misses}
    if hits + misses > 0:
        out["hit_rate"] = hits / (hits + misses)
    return out


def gate_pool(entry: Entry, opts: dict[str, Any]) -> None:
    """``min_hit_rate`` and ``max_retained_bytes`` against ``entry.pool``."""
    m = entry.pool
    lo = opts["min_hit_rate"]
    if lo is not None:
        if not 0 <= float(lo) <= 1:
            raise pytest.UsageError(f"{entry.nodeid}: min_hit_rate {lo!r}: expected a fraction between 0 and 1")
        rate = m.get("hit_rate")
        if rate is None:
            entry.failures.append("min_hit_rate: the pool served no gets during the benchmark")
        elif rate < float(lo):
            gets = f" ({m['gets']:.0f} gets during the benchmark)" if "gets" in m else ""
            entry.failures.append(f"pool hit rate {rate:.1%} is below min_hit_rate {float(lo):.1%}{gets}")
    hi = opts["max_retained_bytes"]
    if hi is not None:
        if float(hi) < 0:
            raise pytest.UsageError(f"{entry.nodeid}: max_retained_bytes {hi!r}: must be >= 0")
        if m["retained_bytes"] > float(hi):
            entry.failures.append(f"pool retained {m['retained_bytes']:.0f} B, more than max_retained_bytes "
                                  f"{float(hi):.0f}")


# ------------------------------------------------------------ --ep-fail-on

def gate_fail_on(st: State, entry: Entry) -> None:
    """Each ``--ep-fail-on`` clause against ``entry.rows`` (the comparison
    with the saved run): a failure only when the change is significant AND
    beyond the clause's threshold in its direction."""
    for clause in st.fail_on:
        row = entry.rows.get(clause.unit)
        if row is None or not row.significant or not clause.breached(row.delta_pct):
            continue
        entry.failures.append(
            f"{clause.unit} regression {row.delta_pct:+.1f}% (median {fmt(row.old.center)} -> "
            f"{fmt(row.new.center)}, p={row.p_value:.4f} <= alpha {st.alpha:g}, n={row.old.n}+{row.new.n}) "
            f"breaks --ep-fail-on {clause}")

"""One decision per pool — keep, remove, trade-off or inconclusive — from
its evidence chain (docs/compare-and-verdict.md states the rules; this is
their one implementation).

A *pool* gathers every micro-benchmark of it: kernel variants (``HashBuffer``
with ``impl=pool`` and ``impl=pool-noclear``) and thread counts (``-2``)
are one pool, not several.  Its evidence chain:

a. **micro** — Δ time per op, paired: each round's log-ratio pooled/plain,
   averaged over the pool's (kernel, variant, thread count) pairs of that
   round, then the exact signed-rank test and the Hodges–Lehmann interval
   (:mod:`enginepools.analysis.paired`);
b. **share** — the fraction of the end-to-end workload's CPU samples and of
   its allocated bytes whose stack runs through the pooled path (or carries
   the pool's ``pool`` label), from the plain run's profiles;
c. **predicted** end-to-end Δ time = share × micro Δ (Amdahl), with the
   interval scaled alike; with a profile but no paired micro interval, only
   the bound ``improvement ≤ share``;
d. **measured** end-to-end Δ wall time, CPU time and peak RSS from the A/B,
   paired by round against ``pools=none``;
e. **held** — what the pool retains (``retained-B``), beside the bytes per
   op it saves.

The decision rests on the measured effect when the A/B ran the pool's own
configuration, else on the predicted one (time only: B/op never keeps a
pool).  Pure functions of numbers: nothing here measures or draws.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from . import paired as pr
from .verdict import Rules

KEEP, REMOVE, TRADE_OFF, INCONCLUSIVE = "keep", "remove", "trade-off", "inconclusive"
DECISIONS = (KEEP, REMOVE, TRADE_OFF, INCONCLUSIVE)

#: benchmark base name (without ``Benchmark``) -> pool, for enginepools' kernels
KERNEL_POOLS = {"StringBuilder": "string builder", "HashBuffer": "hash buffer", "TarBuffer": "tar buffer",
                "TarArchive": "tar buffer", "ObjectPool": "object pool", "PoolGetPut": "object pool",
                "PoolContention": "object pool", "WorkerPool": "worker pool"}
#: pool -> the pipeline functions its path runs through (a stack with one of them is the pool's)
POOL_PATHS = {"hash buffer": ("hash_job",), "tar buffer": ("tar_all", "ep_tar_add_fd", "ep_tar_add_mem",
                                                            "ep_tar_finish"),
              "string builder": ("tag_entry", "tag_layer_end"),
              "worker pool": ("ep_workerpool_create", "ep_workerpool_submit", "ep_workerpool_submit_timed"),
              "object pool": ("buf_get", "buf_put", "ep_pool_get", "ep_pool_put", "ep_alloc", "ep_alloc_aligned",
                              "ep_free")}
#: pool -> functions one of which must also be on the stack: the object pool is the
#: buffer pools' mechanism, so its path is the allocation and freeing (or the
#: get and put) of the buffers the hash, tar and string-builder stages use
POOL_WITHIN = {"object pool": POOL_PATHS["hash buffer"] + POOL_PATHS["tar buffer"] + POOL_PATHS["string builder"]}
#: pool -> ``pool`` label values its allocations carry in enginepools heap profiles
POOL_LABELS = {"hash buffer": ("hash",), "tar buffer": ("tar",)}
#: pool -> the ``enginepools ab`` configuration that turns on that pool alone
AB_CONFIGS = {"hash buffer": "hash", "tar buffer": "tar", "string builder": "string"}
_PROCS = re.compile(r"-\d+$")


@dataclass(frozen=True)
class Effect:
    """A relative effect new/old − 1 (fractions: −0.05 = 5% less)."""

    what: str  # "time per op", "wall time", "CPU time", "peak RSS"
    delta: float
    lo: float | None  # confidence interval (1 − α)
    hi: float | None
    lo2: float | None  # (1 − 2α) interval, for the equivalence test
    hi2: float | None
    p_value: float | None
    n: int  # rounds
    half_width: float | None  # of the (1 − α) interval, log scale

    @property
    def has_interval(self) -> bool:
        return self.lo is not None and self.hi is not None


@dataclass(frozen=True)
class Share:
    """Part of a profile's total that runs through the pool's path."""

    kind: str  # "cpu" or "heap"
    profile: str  # the profile's label
    part: float
    total: float
    unit: str  # "samples"/"nanoseconds"/"bytes"

    @property
    def fraction(self) -> float:
        return self.part / self.total if self.total > 0 else 0.0


@dataclass(frozen=True)
class Totals:
    """Medians summed over the pool's kernels, plain and pooled (B/op, allocs/op, retained-B)."""

    unit: str
    plain: float
    pooled: float


@dataclass
class PoolDecision:
    pool: str
    decision: str
    rule: str  # the sentence naming the rule and the numbers that decided
    basis: str  # "measured", "predicted", "bound" or "micro"
    kernels: list[str] = field(default_factory=list)  # "HashBuffer/impl=pool-noclear-2", …
    micro: Effect | None = None
    totals: list[Totals] = field(default_factory=list)
    cpu_share: Share | None = None
    heap_share: Share | None = None
    predicted: Effect | None = None
    bound: float | None = None  # the most the pool can improve end-to-end time (fraction), from the share
    ab_config: str | None = None
    measured: dict[str, Effect] = field(default_factory=dict)  # "wall time", "CPU time", "peak RSS"
    time_measure: str = "wall time"  # the measured time the decision rests on: the one the A/B targeted
    held: float | None = None  # bytes the pool retains (median retained-B, largest kernel)
    rounds_needed: int | None = None
    disagreement: str | None = None

    @property
    def time(self) -> Effect | None:
        """The end-to-end time effect the decision rests on."""
        if self.basis == "measured":
            return self.measured.get(self.time_measure)
        return self.predicted

    @property
    def memory(self) -> Effect | None:
        return self.measured.get("peak RSS") if self.basis == "measured" else None

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


# ---------------------------------------------------------------- naming

def pool_of(name: str) -> str:
    """The pool a benchmark belongs to: ``BenchmarkHashBuffer/impl=pool-2`` →
    ``hash buffer``; a user's ``BenchmarkFooBar/x=1`` → ``FooBar``."""
    base = _PROCS.sub("", name).split("/")[0]
    base = base[len("Benchmark"):] if base.startswith("Benchmark") and len(base) > 9 else base
    return KERNEL_POOLS.get(base, base)


# ----------------------------------------------------------------- effects

def effect_from_logs(what: str, d: np.ndarray, alpha: float) -> Effect:
    """The paired effect of per-round log-ratios `d`."""
    est, lo, hi = pr.walsh_interval(d, 1 - alpha)
    _, lo2, hi2 = pr.walsh_interval(d, 1 - 2 * alpha)
    f = lambda x: None if x is None else math.exp(x) - 1  # noqa: E731
    hw = None if lo is None or hi is None else (hi - lo) / 2
    return Effect(what, math.exp(est) - 1, f(lo), f(hi), f(lo2), f(hi2), pr.signed_rank_p(d), len(d), hw)


def paired_effect(what: str, old: Sequence[float], new: Sequence[float], alpha: float) -> Effect | None:
    """Round i of `old` against round i of `new` (None: fewer than 2 rounds or unpaired)."""
    n = min(len(old), len(new))
    if n < 1 or len(old) != len(new):
        return None
    try:
        d = pr.log_ratios(old, new)
    except ValueError:
        return None
    return effect_from_logs(what, d, alpha)


def micro_effect(pairs: Sequence[tuple[Sequence[float], Sequence[float]]], alpha: float) -> Effect | None:
    """Each round's mean log-ratio over the pool's (plain, pooled) pairs."""
    logs = []
    for old, new in pairs:
        n = min(len(old), len(new))
        if n < 1:
            continue
        try:
            logs.append(pr.log_ratios(np.asarray(old[:n], float), np.asarray(new[:n], float)))
        except ValueError:
            continue
    if not logs:
        return None
    n = min(len(x) for x in logs)
    d = np.mean([x[:n] for x in logs], axis=0)
    return effect_from_logs("time per op", d, alpha)


def scaled(e: Effect, share: float, what: str = "CPU time") -> Effect:
    """share × e (Amdahl: the rest of the program is unchanged)."""
    m = lambda x: None if x is None else share * x  # noqa: E731
    hw = None if e.half_width is None else share * e.half_width
    return Effect(what, share * e.delta, m(e.lo), m(e.hi), m(e.lo2), m(e.hi2), e.p_value, e.n, hw)


# ------------------------------------------------------------------- rules

def better(e: Effect, m: float) -> bool:
    """A significant improvement of at least the margin: hi < 0 and Δ ≤ −m."""
    return e.hi is not None and e.hi < 0 and e.delta <= -m


def worse(e: Effect) -> bool:
    """Significantly worse: lo > 0."""
    return e.lo is not None and e.lo > 0


def equivalent(e: Effect, m: float) -> bool:
    """TOST at α: the (1 − 2α) interval lies inside [−m, +m] (edges included)."""
    return e.lo2 is not None and e.hi2 is not None and -m <= e.lo2 and e.hi2 <= m


def rules_out_margin(e: Effect, m: float) -> bool:
    """No improvement of the margin: the (1 − 2α) interval's lower end is at
    or above −m (equivalent, or worse than that: the one-sided test of
    "improves by at least m" rejects at α)."""
    return e.lo2 is not None and -m <= e.lo2


def _target(e: Effect, m: float) -> float:
    """Log half-width that would let `e` resolve, at its present estimate."""
    d, lo_edge = math.log1p(e.delta), math.log1p(-m)
    if e.delta <= -m:
        return abs(d)  # keep once hi < 0
    return d - lo_edge  # remove once lo ≥ −m


def rounds_to_resolve(e: Effect, m: float) -> int | None:
    if e.half_width is None:
        return None
    t = _target(e, m)
    if t <= 0:
        return None
    est = pr.PairedEstimate(n=e.n, ratio=1 + e.delta, lo=math.exp(-e.half_width), hi=math.exp(e.half_width),
                            p_value=e.p_value, confidence=0.95)
    return pr.rounds_needed(est, t)


def pct(x: float) -> str:
    v = round(100 * x, 1)
    return f"{0.0 if v == 0 else v:+.1f}%"


def interval(e: Effect) -> str:
    if not e.has_interval:
        return "no interval (too few rounds)"
    assert e.lo is not None and e.hi is not None
    return f"[{pct(e.lo)}, {pct(e.hi)}]"


def apply_rules(time: Effect | None, memory: Effect | None, margin_pct: float, source: str,
                alpha: float = 0.05) -> tuple[str, str, int | None]:
    """(decision, rule sentence, rounds needed) from the end-to-end effects."""
    m = margin_pct / 100
    mg = f"{margin_pct:g}%"
    if time is None or not time.has_interval:
        return INCONCLUSIVE, (f"no {source} time interval: the paired test needs at least "
                              f"{pr.min_rounds(1 - alpha)} rounds"), None
    effects = [e for e in (time, memory) if e is not None and e.has_interval]
    for e in effects:
        if better(e, m):
            other = next((o for o in effects if o is not e), None)
            if other is not None and worse(other) and other.delta >= m:
                return TRADE_OFF, (f"trade-off: {source} {e.what} {pct(e.delta)} {interval(e)} is better by at "
                                   f"least the {mg} margin, but {other.what} {pct(other.delta)} {interval(other)} "
                                   f"is worse by at least it"), None
            return KEEP, (f"keep: {source} {e.what} {pct(e.delta)} {interval(e)} is a significant improvement "
                          f"of at least the {mg} margin"), None
    bad = next((e for e in effects if worse(e)), None)
    if bad is not None:
        return REMOVE, (f"remove: {source} {bad.what} {pct(bad.delta)} {interval(bad)} is significantly worse, "
                        f"and nothing improves by the {mg} margin"), None
    if all(rules_out_margin(e, m) for e in effects):
        if all(equivalent(e, m) for e in effects):
            what = " and ".join(f"{e.what} {pct(e.delta)} {interval(e)}" for e in effects)
            return REMOVE, (f"remove: {source} {what} equivalent to plain allocation (the 90% intervals lie "
                            f"within ±{mg}): a pool is code to maintain"), None
        what = " and ".join(f"{e.what} {pct(e.delta)} {interval(e)}" for e in effects)
        return REMOVE, (f"remove: {source} {what}: no improvement of the {mg} margin (the 90% intervals start at "
                        f"or above the lower edge of ±{mg}: equivalent or worse): a pool is code to maintain"), None
    open_ = [e for e in effects if not rules_out_margin(e, m)]
    needed = [rounds_to_resolve(e, m) for e in open_]
    known = [n for n in needed if n is not None]
    rounds = max(known) if known else None
    e = open_[0]
    more = f"; about {rounds} rounds would resolve it" if rounds is not None else ""
    return INCONCLUSIVE, (f"inconclusive: {source} {e.what} {pct(e.delta)} {interval(e)} might be an improvement "
                          f"of the {mg} margin, not proven (the 90% interval reaches below the lower edge of ±{mg}){more}"), rounds


# ---------------------------------------------------------------- decide

def profile_share(profile: Any, kind: str, label: str, pool: str, pkg: str | None = None) -> Share | None:
    """The part of `profile` (a :class:`~enginepools.pprof.profile.Profile`)
    whose stack runs through `pool`'s path: its functions (:data:`POOL_PATHS`),
    its ``pool`` labels, or — for a user's pool — a function whose name holds
    the pool's name or lies in the benchmarked package `pkg`."""
    names = [t[0] for t in profile.sample_types]
    want = ("cpu", "samples") if kind == "cpu" else ("alloc_space", "inuse_space")
    col = next((names.index(w) for w in want if w in names), None)
    if col is None:
        return None
    unit = profile.sample_types[col][1]
    vals = np.asarray(profile.values[:, col], float)
    s = profile.strings
    funcs = None if pkg else POOL_PATHS.get(pool)
    labels = set(POOL_LABELS.get(pool, ()))
    fn_match: dict[int, bool] = {}
    for fid, n in zip(profile.function_id, profile.function_name):
        name = s[int(n)]
        short = name.split(".", 1)[0] if funcs else name
        if funcs:
            hit = short in funcs
        else:
            hit = bool(pkg and name.startswith(pkg + ".")) or (not pkg and pool in name)
        fn_match[int(fid)] = hit
    within = set(POOL_WITHIN.get(pool, ())) if funcs else set()
    fn_within = {int(fid): s[int(n)].split(".", 1)[0] in within
                 for fid, n in zip(profile.function_id, profile.function_name)} if within else {}
    loc_index = {int(lid): i for i, lid in enumerate(profile.location_id)}
    loc_hit: dict[int, bool] = {}
    loc_within: dict[int, bool] = {}
    for lid, i in loc_index.items():
        a, b = profile.location_line_offsets[i], profile.location_line_offsets[i + 1]
        loc_hit[lid] = any(fn_match.get(int(f), False) for f in profile.line_function[a:b])
        loc_within[lid] = any(fn_within.get(int(f), False) for f in profile.line_function[a:b])
    pool_keys = {i for i, x in enumerate(s) if x in ("pool", "ep_pool")}
    part = 0.0
    for k in range(profile.n_samples):
        v = vals[k]
        if v == 0:
            continue
        a, b = profile.sample_loc_offsets[k], profile.sample_loc_offsets[k + 1]
        stack = profile.sample_loc_ids[a:b]
        hit = any(loc_hit.get(int(lid), False) for lid in stack)
        if hit and within:
            hit = any(loc_within.get(int(lid), False) for lid in stack)
        if not hit and labels:
            la, lb = profile.sample_label_offsets[k], profile.sample_label_offsets[k + 1]
            hit = any(int(profile.label_key[j]) in pool_keys and s[int(profile.label_str[j])] in labels
                      for j in range(la, lb))
        if hit:
            part += v
    return Share(kind, label, part, float(vals.sum()), unit)


def decide_pools(rows_by_pair: Mapping[tuple[str, str], tuple[Sequence[float], Sequence[float]]],
                 totals: Mapping[str, list[Totals]], held: Mapping[str, float], rules: Rules,
                 shares: Mapping[str, tuple[Share | None, Share | None]] | None = None,
                 ab: Any = None) -> list[PoolDecision]:
    """One :class:`PoolDecision` per pool.

    `rows_by_pair`: (benchmark name, pooled variant) → (plain ns/op, pooled
    ns/op) in round order; `totals`/`held`: per pool; `shares`: pool →
    (CPU share, heap share), None when no profile was given; `ab`: an
    :class:`~enginepools.e2e.ab.ABResult` (or anything with ``configs`` and
    ``values(config, unit)``)."""
    alpha = rules.alpha
    pools: dict[str, list[tuple[str, tuple[Sequence[float], Sequence[float]]]]] = {}
    for (name, cand), vals in rows_by_pair.items():
        pools.setdefault(pool_of(name), []).append((f"{_PROCS.sub('', name)}/{cand}" + _procs(name), vals))
    out = []
    for pool, items in pools.items():
        micro = micro_effect([v for _, v in items], alpha)
        dec = PoolDecision(pool, INCONCLUSIVE, "", "micro", kernels=[k for k, _ in items], micro=micro,
                           totals=list(totals.get(pool, [])), held=held.get(pool))
        cpu, heap = (shares or {}).get(pool, (None, None))
        dec.cpu_share, dec.heap_share = cpu, heap
        if cpu is not None:
            dec.bound = cpu.fraction
            if micro is not None:
                dec.predicted = scaled(micro, cpu.fraction)
        elif micro is not None:
            dec.predicted = scaled(micro, 1.0)  # no CPU profile: the workload is taken to be all pooled path
        cfg = AB_CONFIGS.get(pool)
        if ab is not None and cfg in getattr(ab, "configs", ()):
            dec.ab_config = cfg
            # the A/B adds rounds until its target measure (CPU time by default) is precise; decide on it
            unit = getattr(getattr(ab, "stop_rule", None), "unit", "ns/op")
            dec.time_measure = "CPU time" if unit == "cpu-ns/op" else "wall time"
            for what, unit in (("wall time", "ns/op"), ("CPU time", "cpu-ns/op"), ("peak RSS", "peak-RSS-B")):
                e = paired_effect(what, ab.values("none", unit), ab.values(cfg, unit), alpha)
                if e is not None:
                    dec.measured[what] = e
        _decide(dec, rules)
        out.append(dec)
    return out


def _procs(name: str) -> str:
    m = _PROCS.search(name)
    return m.group(0) if m else ""


def _decide(dec: PoolDecision, rules: Rules) -> None:
    m = rules.margin_pct / 100
    mg = f"{rules.margin_pct:g}%"
    measured = dec.measured.get(dec.time_measure)
    if measured is not None and measured.has_interval:
        dec.basis = "measured"
        dec.decision, dec.rule, dec.rounds_needed = apply_rules(measured, dec.measured.get("peak RSS"),
                                                                rules.margin_pct, "measured end-to-end", rules.alpha)
        dec.disagreement = _disagree(dec)
        return
    if dec.cpu_share is not None and (dec.predicted is None or not dec.predicted.has_interval):
        dec.basis = "bound"
        share = dec.cpu_share.fraction
        if share < m:
            dec.decision = REMOVE
            dec.rule = (f"remove: the pooled path is {100 * share:.1f}% of the workload's CPU, less than the {mg} "
                        f"margin, so the pool cannot improve end-to-end time by the margin however fast it is")
        else:
            dec.decision = INCONCLUSIVE
            dec.rule = (f"inconclusive: the pooled path is {100 * share:.1f}% of the workload's CPU, but the micro "
                        f"benchmarks have no paired interval (at least {pr.min_rounds(1 - rules.alpha)} rounds "
                        f"are needed)")
        return
    dec.basis = "predicted" if dec.cpu_share is not None else "micro"
    source = "predicted end-to-end" if dec.basis == "predicted" else "micro (no CPU profile: the share taken as the 100% upper bound)"
    dec.decision, dec.rule, dec.rounds_needed = apply_rules(dec.predicted, None, rules.margin_pct, source, rules.alpha)


def _disagree(dec: PoolDecision) -> str | None:
    """Why prediction and measurement may differ, when their intervals do not overlap."""
    p, w = dec.predicted, dec.measured.get(dec.time_measure)
    if p is None or w is None or not p.has_interval or not w.has_interval:
        return None
    assert p.lo is not None and p.hi is not None and w.lo is not None and w.hi is not None
    if p.hi < w.lo or w.hi < p.lo:
        return ("the predicted and measured intervals do not overlap: the micro kernel is not the pipeline's "
                "use of the pool (sizes, threads, cache state), the share comes from one profiled run, and the "
                "end-to-end run also pays the pool's set-up and the memory it holds")
    return None


def pool_inputs(records: Iterable[Any], key: str = "impl", time_units: Sequence[str] = ("ns/op", "sec/op"),
                base_names: Sequence[str] = ()) -> tuple[dict[tuple[str, str], tuple[list[float], list[float]]],
                                                         dict[str, list[Totals]], dict[str, float]]:
    """From benchmark records (with ``/impl=`` parts): plain/pooled series in
    file (= round) order per (name, pooled variant), the B/op and allocs/op
    medians summed per pool, and the largest median ``retained-B`` per pool."""
    series: dict[tuple[str, str], dict[str, list[float]]] = {}
    other: dict[tuple[str, str, str], list[float]] = {}
    for r in records:
        if key not in r.parts:
            continue
        name = r.label(drop=[key])
        v = r.parts[key]
        tu = next((u for u in time_units if u in r.values), None)
        if tu is not None:
            series.setdefault((name, v), {}).setdefault("t", []).append(float(r.values[tu]))
        for u in ("B/op", "allocs/op", "retained-B"):
            if u in r.values:
                other.setdefault((name, v, u), []).append(float(r.values[u]))
    names = {n for n, _ in series}
    pairs: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    totals: dict[str, dict[str, list[float]]] = {}
    held: dict[str, float] = {}
    for name in names:
        variants = [v for n, v in series if n == name]
        base = next((b for b in base_names if b in variants), None)
        if base is None:
            continue
        for v in variants:
            if v == base or "pool" not in v.lower():
                continue
            pairs[(name, v)] = (series[(name, base)]["t"], series[(name, v)]["t"])
            pool = pool_of(name)
            for u in ("B/op", "allocs/op"):
                a, b = other.get((name, base, u)), other.get((name, v, u))
                if a and b:
                    t = totals.setdefault(pool, {}).setdefault(u, [0.0, 0.0])
                    t[0] += float(np.median(a))
                    t[1] += float(np.median(b))
            rb = other.get((name, v, "retained-B"))
            if rb:
                held[pool] = max(held.get(pool, 0.0), float(np.median(rb)))
    tot = {p: [Totals(u, a, b) for u, (a, b) in d.items()] for p, d in totals.items()}
    return dict(sorted(pairs.items())), tot, held


__all__ = ["KEEP", "REMOVE", "TRADE_OFF", "INCONCLUSIVE", "DECISIONS", "Effect", "Share", "Totals", "PoolDecision",
           "pool_of", "paired_effect", "micro_effect", "scaled", "better", "worse", "equivalent", "rules_out_margin",
           "apply_rules",
           "rounds_to_resolve", "profile_share", "decide_pools", "pool_inputs", "KERNEL_POOLS", "POOL_PATHS",
           "AB_CONFIGS"]

"""Gather a :class:`~enginepools.report.model.ReportData` from files.

``--bench`` files are Go benchmark text or enginepools JSON (told apart by
content); pooled/plain twins are found by the ``/impl=`` name part (our
runner's names) or, failing that, by name suffixes such as
``XWithPool``/``XStandard`` (the original Go study's names).  ``--profile``
files are pprof profiles (gzipped or not), read with
:mod:`enginepools.pprof.profile`.  ``--ab`` is an ``enginepools ab`` result.
Every problem is an :class:`~enginepools.errors.InputError` naming the file.
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Sequence

from ..bench import benchfmt
from ..analysis import compare as cmp
from ..analysis import verdict as vd
from ..bench.benchfmt import Record
from ..errors import InputError
from .model import ABInput, BenchInput, ProfileInput, ReportData

#: (pooled suffix, plain suffix) pairs tried on names without ``/impl=``.
DEFAULT_PAIRS: tuple[tuple[str, str], ...] = (("WithPool", "Standard"),)
#: plain-allocation column names, in order of preference, for ``/impl=`` names.
BASE_NAMES = ("std", "plain", "malloc", "nopool", "Standard", "NoPool")
IMPL = "impl"
MACHINE_KEYS = ("goos", "goarch", "cpu", "pkg", "python", "platform", "ncpu", "enginepools", "compiler", "kernel")


def gather(bench: Sequence[str] = (), profiles: Sequence[str] = (), ab: str | None = None, *,
           pairs: Sequence[tuple[str, str]] | None = None, base: str | None = None,
           rules: vd.Rules | None = None, study: dict[str, Any] | None = None) -> ReportData:
    """Read every input and compute comparisons and verdicts."""
    data = ReportData(rules=rules or vd.Rules(), study=study)
    for path in bench:
        data.bench.append(read_bench(path))
    for path in profiles:
        data.profiles.append(read_profile(path, taken={p.label for p in data.profiles}))
    if ab is not None:
        data.ab = read_ab(ab)
    if data.bench:
        _compare(data, pairs if pairs is not None else DEFAULT_PAIRS, base)
        data.machine = machine_info(data.records)
    _decide(data)
    return data


def _decide(data: ReportData) -> None:
    """One decision per pool from the evidence chain (analysis.decision)."""
    from ..analysis import decision as dc

    if not data.pool_series:
        return
    pairs, totals, held = data.pool_series
    heap = _baseline(data.heap_profiles())
    cpu = _baseline([p for p in data.profiles if p.kind == "cpu"])
    pkg = data.machine.get("pkg")
    go_pkg = pkg if pkg and "." in pkg.split("/")[0] else None
    shares = None
    if heap is not None or cpu is not None:
        shares = {}
        for pool in {dc.pool_of(n) for n, _ in pairs}:
            shares[pool] = (None if cpu is None else dc.profile_share(cpu.profile, "cpu", cpu.label, pool, go_pkg),
                            None if heap is None else dc.profile_share(heap.profile, "heap", heap.label, pool, go_pkg))
    ab = data.ab.data if data.ab is not None else None
    data.decisions = dc.decide_pools(pairs, totals, held, data.rules, shares, ab)


def _baseline(profiles: Sequence[ProfileInput]) -> ProfileInput | None:
    """The plain run's profile when one is named so (Amdahl's share is of the baseline), else the first."""
    return next((p for p in profiles if "plain" in p.label), profiles[0] if profiles else None)


# ------------------------------------------------------------------ bench

def read_bench(path: str | os.PathLike[str]) -> BenchInput:
    p = os.fspath(path)
    records = benchfmt.read(p)  # InputError naming the file on any problem
    with open(p, encoding="utf-8") as f:
        text = f.read()
    if text.lstrip().startswith("{"):
        return BenchInput(p, "json", benchfmt.format_text(records), records)
    return BenchInput(p, "go", text, records)


#: twins that differ by name rather than by /impl= (enginepools' raw object-pool kernels):
#: base name -> (common name, impl value)
NAMED_TWINS = {"BenchmarkPoolGetPut": ("BenchmarkObjectPool", "pool"),
               "BenchmarkMallocFree": ("BenchmarkObjectPool", "std")}


def _named_twins(records: Sequence[Record]) -> list[Record]:
    """``PoolGetPut/size=64`` and ``MallocFree/size=64`` become
    ``ObjectPool/size=64/impl=pool`` and ``…/impl=std`` when both occur."""
    bases = {r.base for r in records}
    if not all(b in bases for b in NAMED_TWINS):
        return list(records)
    out = []
    for r in records:
        twin = NAMED_TWINS.get(r.base)
        out.append(r.with_name(twin[0], (*r.sub, f"{IMPL}={twin[1]}")) if twin and IMPL not in r.parts else r)
    return out


def _compare(data: ReportData, pairs: Sequence[tuple[str, str]], base: str | None) -> None:
    original = data.records
    records = _named_twins(original)
    alpha, holm = data.rules.alpha, data.rules.holm
    used_pairs: list[tuple[str, str]] = []
    if not any(IMPL in r.parts for r in records):
        paired = cmp.pair_variants(records, pairs, IMPL)
        # keep only the pairs whose both sides occur
        seen = {r.parts.get(IMPL) for r in paired}
        used_pairs = [(n, o) for n, o in pairs if n in seen and o in seen]
        if used_pairs:
            records = cmp.pair_variants(records, used_pairs, IMPL)
    values = list(dict.fromkeys(r.parts[IMPL] for r in records if IMPL in r.parts))
    result = None
    if used_pairs:
        result = cmp.compare_columns(records, IMPL, base, pairs=used_pairs, alpha=alpha, holm=holm)
    elif len(values) >= 2:
        chosen = base or next((b for b in BASE_NAMES if b in values), None)
        if chosen is None:
            data.notes.append(f"benchmarks have /{IMPL}= variants ({', '.join(values)}) but none is a known "
                              f"plain-allocation name ({', '.join(BASE_NAMES)}); pass -base to compare")
        else:
            result = cmp.compare_columns(records, IMPL, chosen, alpha=alpha, holm=holm)
    if result is not None and result.rows:
        from ..analysis import decision as dc

        bases = [o for _, o in used_pairs] if used_pairs else [base or next((b for b in BASE_NAMES if b in values), "")]
        data.pool_series = dc.pool_inputs(records, IMPL, data.rules.time_units, bases)
        data.comparison = result
        data.verdicts = vd.decide(_pool_rows(result.rows), data.rules)
        data.notes.extend(n for n in result.notes if not n.startswith("not compared"))
    compared = _compared_names(result) if result is not None else set()
    rest = [o for o, r in zip(original, records) if (r.label(drop=[IMPL]), r.parts.get(IMPL)) not in compared]
    if rest:
        data.others = cmp.summarize_records(rest, label="median")


def _pool_rows(rows: Sequence[cmp.Row]) -> list[cmp.Row]:
    """The rows that compare a *pool* with plain allocation: when some
    candidate is named like a pool (``pool``, ``WithPool``, ``pool-noclear``),
    other candidates (``memcpy``, …) are reference points, not pools, and
    get no verdict."""
    pooled = [r for r in rows if "pool" in r.new_label.lower()]
    return pooled or list(rows)


def _compared_names(result: cmp.Result) -> set[tuple[str, str | None]]:
    out: set[tuple[str, str | None]] = set()
    for row in result.rows:
        out.add((row.name, row.old_label))
        out.add((row.name, row.new_label))
    return out


def machine_info(records: Iterable[Record]) -> dict[str, str]:
    """Configuration keys shared by all records that describe the machine."""
    recs = list(records)
    if not recs:
        return {}
    common = dict(recs[0].config)
    for r in recs[1:]:
        common = {k: v for k, v in common.items() if r.config.get(k) == v}
    ordered = {k: common[k] for k in MACHINE_KEYS if k in common}
    ordered.update({k: v for k, v in common.items() if k not in ordered})
    return ordered


# ---------------------------------------------------------------- profile

def read_profile(path: str | os.PathLike[str], taken: set[str] | None = None) -> ProfileInput:
    p = os.fspath(path)
    if not os.path.exists(p):
        raise InputError(f"{p}: no such file")
    if os.path.isdir(p):
        raise InputError(f"{p}: is a directory, expected a pprof profile")
    from ..pprof.profile import Profile

    try:
        prof = Profile.read(p)
    except InputError:
        raise
    except (ValueError, OSError, EOFError) as e:
        raise InputError(f"{p}: not a pprof profile ({e})") from None
    types = sample_types(prof)
    if not types:
        raise InputError(f"{p}: profile has no sample types")
    label = _label(p, taken or set())
    return ProfileInput(p, label, prof, profile_kind(types), types, read_timeline(timeline_sidecar(p)))


def timeline_sidecar(profile_path: str | os.PathLike[str]) -> str:
    """Where a heap profile's in-use timeline lives: ``x-heap.pb.gz`` →
    ``x-heap.timeline.json`` beside it (what `enginepools study` writes)."""
    p = os.fspath(profile_path)
    for ext in (".pb.gz", ".pprof", ".pb", ".gz"):
        if p.endswith(ext):
            return p[: -len(ext)] + ".timeline.json"
    return p + ".timeline.json"


def read_timeline(path: str) -> dict[str, Any] | None:
    """The timeline JSON at `path` (None when there is none); InputError
    naming the file when it is not one."""
    if not os.path.exists(path):
        return None
    import json

    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        t, series = d["t"], d["series"]
        if not isinstance(series, dict) or any(len(v) != len(t) for v in series.values()):
            raise ValueError("every series must have one value per time")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: not an in-use timeline ({e})") from None
    return d


def sample_types(prof: Any) -> list[str]:
    out = []
    for st in getattr(prof, "sample_types", None) or getattr(prof, "sample_type", []):
        t = getattr(st, "type", None)
        u = getattr(st, "unit", None)
        if t is None and isinstance(st, (tuple, list)):
            t, u = st[0], st[1]
        out.append(f"{t}/{u}")
    return out


def profile_kind(types: Sequence[str]) -> str:
    names = {t.split("/")[0] for t in types}
    if names & {"inuse_space", "alloc_space", "inuse_objects", "alloc_objects"}:
        return "heap"
    if "cpu" in names:
        return "cpu"
    return "other"


def _label(path: str, taken: set[str]) -> str:
    base = os.path.basename(path)
    for ext in (".gz", ".pb", ".prof", ".pprof"):
        if base.endswith(ext):
            base = base[: -len(ext)]
    base = "".join(c if c.isalnum() or c in "-_" else "-" for c in base) or "profile"
    label, i = base, 2
    while label in taken:
        label, i = f"{base}-{i}", i + 1
    return label


# --------------------------------------------------------------------- ab

def read_ab(path: str | os.PathLike[str]) -> ABInput:
    p = os.fspath(path)
    if not os.path.exists(p):
        raise InputError(f"{p}: no such file")
    from ..e2e import ab as ab_mod

    try:
        return ABInput(p, ab_mod.load(p))
    except InputError:
        raise
    except (ValueError, KeyError, TypeError, OSError) as e:
        raise InputError(f"{p}: not a pipeline A/B result ({e})") from None

"""End-to-end A/B of the pools: pipeline configurations run interleaved, one process each.

    from enginepools.e2e.ab import run_ab
    ab = run_ab("ctx/", configs=["none", "all", "hash", "tar", "string"], count=10)
    print(ab.table())
    ab.write_go("pipeline.txt"); ab.write_json("pipeline.json")

Every run is a fresh ``python -m enginepools.e2e.child`` process, so
its peak RSS (``ru_maxrss`` from ``os.wait4``) belongs to that run alone.
Round *r* runs every configuration once, starting at a different one each
round (A B C, B C A, …), so drift and position hit every configuration
alike.  Each sample records, as units of ``BenchmarkPipeline/pools=X-T``
(T = hash workers):

=====================  ==========================================================
``ns/op``              pipeline wall time (walk + hash + tar), measured in C
``walk-ns/op`` …       the same per phase (walk, hash, tar)
``cpu-ns/op``          user + system CPU of the process during the pipeline
``proc-wall-ns/op``    the whole process, interpreter start-up included
``proc-cpu-ns/op``     the whole process's user + system CPU (``wait4``)
``peak-RSS-B``         the process's peak resident set (VmHWM; see below)
``minor-faults/op``    minor page faults during the pipeline
``B/op``, ``allocs/op``  bytes / allocations through ``ep_alloc`` (all threads)
``<pool>-hits/op`` …   pool counters (gets, hits, misses; clear-ns: time clearing on put)
=====================  ==========================================================

Peak RSS is the child's own ``VmHWM`` (Linux): ``ru_maxrss`` from
``wait4`` would not do, because Linux carries the forking parent's
high-water mark across ``exec`` into it (this process, with numpy and
scipy loaded, is bigger than the child).  ``ru_maxrss`` is kept in the JSON.

**Paired statistics.**  Round *r* of every configuration saw the same
moment of the machine, so each configuration is analysed against the
baseline round by round: the per-round log-ratio, its Hodges–Lehmann
estimate with the exact signed-rank interval and p
(:func:`enginepools.analysis.paired.paired`), for wall time, CPU time and
peak RSS (:data:`PAIRED_UNITS`, :meth:`ABResult.paired`).

**Adaptive rounds.**  With a target (``run_ab(..., target=0.02,
budget=60)``) rounds are added after ``count`` until every configuration's
interval of its CPU-time ratio (``measure="wall"``: wall time) has a
half-width of at most the target, or the budget would be exceeded
(:mod:`enginepools.e2e.rounds`); :attr:`ABResult.stop` says which.

**Calibration.**  ``inject=0.05`` makes every configuration but the
baseline spin on the CPU for 5% of its own pipeline's CPU (or wall) time
inside its run
(:mod:`enginepools.e2e.child`); a configuration may be given twice
(``none,none``: the second is named ``none#01``, as Go names a repeated
sub-benchmark), so two arms can differ by the injection alone.

Each configuration is also compared with ``none`` by the statistics engine
(:func:`enginepools.analysis.compare.compare_columns`: medians with 95% CIs,
Mann–Whitney U), Δ gets a bootstrap 95% CI, and each gets a verdict
(:mod:`enginepools.analysis.verdict`) with the study's thresholds, "memory" being the
peak RSS (:data:`END_TO_END_RULES`; B/op is reported beside it).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ..bench import benchfmt
from ..analysis import compare, stats
from ..analysis.paired import PairedEstimate, paired, rounds_needed
from ..analysis import verdict as vd
from ..bench.result import BenchResult
from ..errors import EnginepoolsError, InputError, UsageError
from .pipeline import POOLS, check_root, parse_pools, pools_label
from .rounds import StopRule, decide

BENCH = "Pipeline"
DEFAULT_CONFIGS = ("none", "all", "hash", "tar", "string")
#: Verdict rules end to end: the study's thresholds, with the process's peak
#: RSS as "memory" — allocation volume (B/op) is reported, but what a whole
#: program costs in memory is what the OS gives it.
END_TO_END_RULES = vd.Rules(memory_unit="peak-RSS-B")
#: units compared in the table (others are kept in the results)
TABLE_UNITS = ("ns/op", "walk-ns/op", "hash-ns/op", "tar-ns/op", "cpu-ns/op", "peak-RSS-B", "B/op", "allocs/op",
               "minor-faults/op")
#: units analysed round by round against the baseline (wall time, CPU time, peak RSS)
PAIRED_UNITS = ("ns/op", "cpu-ns/op", "peak-RSS-B")
PAIRED_NAMES = {"ns/op": "wall time", "cpu-ns/op": "CPU time", "peak-RSS-B": "peak RSS"}
#: the time the adaptive target and -inject refer to
TIME_UNITS = {"cpu": "cpu-ns/op", "wall": "ns/op"}


def parse_configs(spec: str | Sequence[str]) -> list[str]:
    """``none,all,hash,tar,string`` (a config may combine pools: ``hash+tar``).
    ``none`` is always included (it is the baseline) and comes first.  A
    configuration given again is another arm, named as Go names a repeated
    sub-benchmark: ``none,none`` → ``none``, ``none#01``."""
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for it in items:
        if not it:
            continue
        try:
            label = pools_label(parse_pools(it.split("#", 1)[0].replace("+", ",")))
        except UsageError as e:  # name the flag the user gave, not pipeline's -pools
            raise UsageError(f"-configs {it!r}: {str(e).removeprefix('-pools: ')}") from None
        name, k = label, 0
        while name in out:
            k += 1
            name = f"{label}#{k:02d}"
        out.append(name)
    if not out:
        raise UsageError("-configs: no configuration given")
    if "none" in out:
        out.remove("none")
    return ["none"] + out


def config_pools(label: str) -> str:
    return label.split("#", 1)[0].replace("+", ",")


def parse_percent(text: str, flag_name: str, *, low: float = 0.0, high: float = 10.0) -> float:
    """``5%``, ``0.5%`` or ``0`` → a fraction (0.05); a clear error otherwise."""
    t = str(text).strip()
    num = t[:-1] if t.endswith("%") else t
    try:
        v = float(num) / 100
    except ValueError:
        raise UsageError(f"{flag_name} {text!r}: want a percentage like 5%") from None
    if not math.isfinite(v) or v < low or v > high:
        raise UsageError(f"{flag_name} {text!r}: must be between {100 * low:g}% and {100 * high:g}%")
    return v


def parse_seconds(text: str, flag_name: str) -> float:
    """``60s``, ``2m``, ``1m30s``, ``90`` (seconds) → seconds (> 0)."""
    import re

    t = str(text).strip()
    try:
        v = float(t)
    except ValueError:
        m = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?", t)
        if not t or m is None or not any(m.groups()):
            raise UsageError(f"{flag_name} {text!r}: want a duration like 60s or 2m") from None
        h, mi, se = (float(g) if g else 0.0 for g in m.groups())
        v = 3600 * h + 60 * mi + se
    if not math.isfinite(v) or v <= 0:
        raise UsageError(f"{flag_name} {text!r}: must be a positive duration")
    return v


@dataclass
class RunSample:
    config: str
    round: int
    values: dict[str, float]
    child: dict[str, Any]


@dataclass
class ABResult:
    root: str
    configs: list[str]
    count: int
    threads: int
    result: BenchResult
    samples: list[RunSample] = field(default_factory=list)
    alpha: float = stats.ALPHA
    complete: bool = True
    note: str = ""
    rules: vd.Rules | None = None  # None: END_TO_END_RULES
    heap_profiles: dict[str, str] = field(default_factory=dict)  # config -> pprof file (rate 1)
    inject: float = 0.0  # fraction of its pipeline time every non-baseline run spun (calibration)
    stop_rule: StopRule | None = None  # None: a fixed count (older results)
    stop: str = "count"  # what ended the rounds: target, budget, count, interrupted
    seconds: float | None = None  # the A/B's own duration (warm-up and rounds)

    # ---- analysis
    def records(self) -> list[benchfmt.Record]:
        return self.result.records()

    def comparison(self, holm: bool = False) -> compare.Result:
        return compare.compare_columns(self.records(), col="pools", base="none", alpha=self.alpha, holm=holm)

    def rows(self, unit: str = "ns/op") -> dict[str, compare.Row]:
        """config -> Row of `unit` against none."""
        return {r.new_label: r for r in self.comparison().rows if r.unit == unit}

    def verdicts(self, rules: vd.Rules | None = None) -> list[vd.Verdict]:
        return vd.decide(self.comparison().rows, rules or self.rules or END_TO_END_RULES)

    def values(self, config: str, unit: str) -> np.ndarray:
        for name, s in self.result.series.items():
            if benchfmt.parse_name(name)[2].get("pools") == config and unit in s.values:
                a = s.values[unit]
                return a[~np.isnan(a)]
        return np.zeros(0)

    def rounds(self) -> int:
        """Rounds every configuration finished."""
        return min((len(self.values(c, "ns/op")) for c in self.configs), default=0)

    def paired(self, config: str, unit: str = "ns/op", confidence: float = 0.95) -> PairedEstimate | None:
        """config/none over the rounds both finished, round by round (None:
        no round, or a unit without positive values)."""
        base, new = self.values("none", unit), self.values(config, unit)
        n = min(len(base), len(new))
        if n == 0:
            return None
        try:
            return paired(base[:n], new[:n], confidence)
        except ValueError:
            return None

    @property
    def time_unit(self) -> str:
        """The time unit the rounds' target (and -inject) refer to."""
        return self.stop_rule.unit if self.stop_rule is not None else "ns/op"

    def half_widths(self, unit: str | None = None) -> dict[str, float | None]:
        """Per non-baseline configuration: the paired interval's half-width."""
        out: dict[str, float | None] = {}
        for c in self.configs[1:]:
            e = self.paired(c, unit or self.time_unit)
            out[c] = None if e is None else e.half_width
        return out

    def paired_summary(self, unit: str = "ns/op") -> list[dict[str, Any]]:
        """Per non-baseline configuration: rounds, ratio, Δ and its paired 95%
        interval (fractions), half-width, exact signed-rank p, significant."""
        out = []
        for c in self.configs[1:]:
            e = self.paired(c, unit)
            if e is None:
                continue
            out.append({"config": c, "unit": unit, "rounds": e.n, "ratio": e.ratio, "lo": e.lo, "hi": e.hi,
                        "delta": e.delta, "delta_lo": e.delta_lo, "delta_hi": e.delta_hi,
                        "half_width": e.half_width, "p_value": e.p_value,
                        "significant": e.significant(self.alpha)})
        return out

    def stop_line(self) -> str:
        """One sentence: how many rounds ran and why they ended."""
        n = self.rounds()
        took = "" if self.seconds is None else f" in {self.seconds:.1f} s"
        rule = self.stop_rule
        if self.stop == "interrupted" or not self.complete:
            return f"interrupted after {n} round(s){took}: the finished rounds are analysed"
        if rule is None or rule.target is None or self.stop == "count":
            return f"{n} round(s){took} (fixed count)"
        worst = max(((h, c) for c, h in self.half_widths().items() if h is not None), default=None)
        tgt = f"{100 * rule.target:.1f}%"
        what = PAIRED_NAMES.get(rule.unit, rule.unit)
        if self.stop == "target":
            return (f"{n} rounds{took}: target reached, every {what} interval half-width ≤ {tgt}"
                    + ("" if worst is None else f" (widest {100 * worst[0]:.1f}%, pools={worst[1]})"))
        budget = "" if rule.budget is None else f" {rule.budget:g} s"
        return (f"{n} rounds{took}: budget{budget} hit before the {what} target half-width {tgt}"
                + ("" if worst is None else f" (widest {100 * worst[0]:.1f}%, pools={worst[1]}; about "
                   f"{rounds_needed_for(self, worst[1], rule.target)} rounds would reach it)"))

    def delta_ci(self, config: str, unit: str = "ns/op", confidence: float = 0.95) -> tuple[float, float] | None:
        """Bootstrap percentile CI of Δ = median(config)/median(none) − 1 (fraction)."""
        return stats.delta_ci_bootstrap(self.values("none", unit), self.values(config, unit), confidence)

    def summary(self, unit: str = "ns/op") -> list[dict[str, Any]]:
        """Per config: n, median, Δ%, Δ CI (%), p, significant, verdict (vs none)."""
        rows = self.rows(unit)
        verdicts = {v.candidate: v for v in self.verdicts()}
        out = []
        for c in self.configs:
            v = self.values(c, unit)
            d: dict[str, Any] = {"config": c, "unit": unit, "n": int(len(v)),
                                 "median": float(np.median(v)) if len(v) else None}
            row = rows.get(c)
            if row is not None:
                ci = self.delta_ci(c, unit)
                d.update(delta_pct=row.delta_pct, p_value=row.p_value, significant=row.significant,
                         delta_ci_pct=None if ci is None else (100 * ci[0], 100 * ci[1]))
                if c in verdicts:
                    d["verdict"] = verdicts[c].decision
                    d["rule"] = verdicts[c].rule
            out.append(d)
        return out

    # ---- output
    def table(self) -> str:
        return render_table(self)

    def markdown(self) -> str:
        return render_markdown(self)

    def _repr_html_(self) -> str:
        return summary_html(self)

    def to_json(self) -> dict[str, Any]:
        doc = self.result.to_json()
        doc["complete"] = self.complete
        doc["ab"] = {
            "root": self.root, "configs": self.configs, "count": self.count, "threads": self.threads,
            "note": self.note,
            "heap_profiles": {c: os.path.abspath(p) for c, p in self.heap_profiles.items()},
            "inject": self.inject, "rounds": self.rounds(), "stop": self.stop, "seconds": self.seconds,
            "stop_rule": None if self.stop_rule is None else self.stop_rule.to_dict(),
            "paired": {u: self.paired_summary(u) for u in PAIRED_UNITS if len(self.values("none", u))},
            "summary": {u: self.summary(u) for u in TABLE_UNITS if len(self.values("none", u))},
            "verdicts": [v.to_dict() for v in self.verdicts()] if len(self.configs) > 1 else [],
            "runs": [{"config": s.config, "round": s.round, "child": s.child} for s in self.samples],
        }
        return doc

    def write_go(self, dest: str | os.PathLike[str]) -> None:
        self.result.write_go(dest)

    def write_json(self, dest: str | os.PathLike[str]) -> None:
        from .._atomic import write_text

        write_text(dest, json.dumps(_jsonable(self.to_json()), indent=1, allow_nan=False) + "\n")


def rounds_needed_for(ab: ABResult, config: str, target: float) -> int | None:
    """Rounds that would bring `config`'s time-ratio half-width to `target`."""
    e = ab.paired(config, ab.time_unit)
    return None if e is None else rounds_needed(e, target)


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, (np.floating, np.integer)):
        return _jsonable(x.item())
    return x


# ------------------------------------------------------------------ running

def child_command(root: str, config: str, threads: int, out: str | None, inject: float = 0.0,
                  inject_clock: str = "cpu") -> list[str]:
    spec: dict[str, Any] = {"root": root, "pools": config_pools(config), "threads": threads, "out": out}
    if inject:
        spec["inject"] = inject
        spec["inject_clock"] = inject_clock
    return python_command("enginepools.e2e.child", json.dumps(spec))


#: Starts a module of this very package in a fresh interpreter.  ``python -m``
#: (and ``-c``) would put the working directory first on ``sys.path``, so a
#: source checkout or any ``enginepools/`` folder there would shadow the
#: installed package (``-P`` does not exist before 3.11): the bootstrap puts
#: the parent of the package this process imported in its place instead.
_BOOT = ("import sys, runpy; sys.path[0] = sys.argv.pop(1); "
         "runpy.run_module(sys.argv.pop(1), run_name='__main__', alter_sys=True)")


def python_command(module: str, *args: str) -> list[str]:
    """argv that runs `module` (of this enginepools, wherever the working
    directory is) with `args` in a fresh interpreter."""
    pkg_parent = str(Path(__file__).resolve().parent.parent)
    return [sys.executable, "-c", _BOOT, pkg_parent, module, *args]


def run_one(root: str, config: str, threads: int = 0, out: str | None = None,
            inject: float = 0.0, inject_clock: str = "cpu") -> tuple[dict[str, float], dict[str, Any]]:
    """One measured run in a fresh process; returns (units, child JSON).
    `inject` > 0: the run also spins for that fraction of its pipeline's
    CPU (or, `inject_clock` ``wall``, wall) time, included in ``ns/op`` and
    ``cpu-ns/op``."""
    cmd = child_command(root, config, threads, out, inject, inject_clock)
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter_ns()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        try:
            data = proc.stdout.read()
            _, status, ru = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter_ns() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        if proc.returncode != 0:
            if proc.returncode in (130, -2):
                raise KeyboardInterrupt
            err.seek(0)
            msg = err.read().decode(errors="replace").strip().splitlines()
            raise EnginepoolsError(f"pipeline run (pools={config}) failed: {msg[-1] if msg else f'exit {proc.returncode}'}")
    child = json.loads(data)
    ru_cpu = int(round((ru.ru_utime + ru.ru_stime) * 1e9))
    values: dict[str, float] = {
        "ns/op": child["seconds"]["total"] * 1e9,
        "walk-ns/op": child["seconds"]["walk"] * 1e9,
        "hash-ns/op": child["seconds"]["hash"] * 1e9,
        "tar-ns/op": child["seconds"]["tar"] * 1e9,
        "cpu-ns/op": child["rusage"]["cpu_ns"],
        "proc-wall-ns/op": wall,
        "proc-cpu-ns/op": ru_cpu,
        # VmHWM of the child: ru_maxrss would inherit this (large) parent's RSS across fork+exec
        "peak-RSS-B": (child["rusage"].get("vmhwm_kib") or ru.ru_maxrss) * 1024,
        "minor-faults/op": child["rusage"]["minflt"],
        "B/op": child["alloc"]["alloc_bytes"],
        "allocs/op": child["alloc"]["alloc_objects"],
    }
    for pool, s in child["pool_stats"].items():
        for k in ("gets", "hits", "misses"):
            values[f"{pool}-{k}/op"] = s[k]
        if s.get("clear_ns"):
            values[f"{pool}-clear-ns/op"] = s["clear_ns"]
    child["process"] = {"wall_ns": wall, "cpu_ns": ru_cpu, "maxrss_kib": ru.ru_maxrss, "minflt": ru.ru_minflt}
    return values, child


def heap_profile_one(root: str, config: str, path: str, threads: int = 0, rate: int = 1) -> str:
    """Heap profile (pprof, every allocation at rate 1) of one pipeline run in
    configuration `config`, made in a fresh process and written to `path`."""
    spec = {"root": root, "pools": config_pools(config), "threads": threads, "memprofile": path,
            "memprofilerate": rate}
    cmd = python_command("enginepools.e2e.child", json.dumps(spec))
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        if r.returncode in (130, -2):
            raise KeyboardInterrupt
        msg = r.stderr.strip().splitlines()
        raise EnginepoolsError(f"heap-profiled run (pools={config}) failed: {msg[-1] if msg else r.returncode}")
    return path


def run_ab(root: str | os.PathLike[str], configs: str | Sequence[str] = DEFAULT_CONFIGS, count: int = 10, *,
           threads: int = 0, warmup: int = 1, write_archive: bool = True, heap_profiles_dir: str | None = None,
           progress: Callable[[str], None] | None = None, target: float | None = None,
           budget: float | None = None, inject: float = 0.0, measure: str = "cpu") -> ABResult:
    """Run every configuration in rounds, interleaved (round r starts at
    configuration r mod k): `count` rounds, or, with a `target` half-width
    (a fraction: 0.02), at least `count` and then more until every
    configuration's paired interval of its `measure` time ratio (``cpu`` or
    ``wall``) is that narrow or one more round would end after `budget`
    seconds (counted from the start, warm-up included).  `inject` > 0 slows
    every configuration but the first by spinning for that fraction of its
    own pipeline's `measure` time.  Ctrl-C stops after
    the current run; the result then holds the finished runs with
    ``complete = False``.  With `heap_profiles_dir`, one more run per
    configuration, unmeasured, under the heap profiler at rate 1 writes
    ``heap-<config>.pb.gz`` there."""
    root_s = check_root(root)
    cfgs = parse_configs(configs)
    if count < 1:
        raise UsageError(f"-count: must be at least 1, not {count}")
    if target is not None and not (0 < target < 1):
        raise UsageError(f"-target: must be between 0% and 100%, not {100 * target:g}%")
    if budget is not None and not budget > 0:
        raise UsageError(f"-budget: must be positive, not {budget:g}s")
    if not (0 <= inject <= 10):
        raise UsageError(f"-inject: must be between 0% and 1000%, not {100 * inject:g}%")
    if measure not in TIME_UNITS:
        raise UsageError(f"-measure: choose cpu or wall, not {measure!r}")
    unit = TIME_UNITS[measure]
    rule = StopRule(min_rounds=count, target=target, budget=budget, unit=unit)
    from ..bench.machine import go_header, metadata

    header = dict(go_header())
    header["pkg"] = "enginepools/pipeline"
    tmp = tempfile.mkdtemp(prefix="enginepools-ab-")
    out_path = os.path.join(tmp, "context.tar") if write_archive else None
    res = BenchResult(config=header, machine=metadata(),
                      settings={"count": count, "configs": cfgs, "root": root_s, "warmup": warmup,
                                "archive": "file" if write_archive else "none", "inject": inject,
                                "target": target, "budget": budget, "measure": measure})
    probe_threads = threads or (min(os.cpu_count() or 1, 8))
    ab = ABResult(root_s, cfgs, count, probe_threads, res, inject=inject, stop_rule=rule)
    load0 = _loadavg()
    t_start = time.perf_counter()

    def inj(c: str) -> float:
        return inject if c != cfgs[0] else 0.0

    try:
        for w in range(warmup):
            for c in cfgs:
                run_one(root_s, c, threads, out_path, inj(c), measure)
        k = len(cfgs)
        done = 0
        r = 0
        t_rounds = time.perf_counter()
        while True:
            for j in range(k):
                c = cfgs[(r + j) % k]
                values, child = run_one(root_s, c, threads, out_path, inj(c), measure)
                ab.threads = int(child["threads"])
                res.add(f"{BENCH}/pools={c}", ab.threads, 1, values)
                ab.samples.append(RunSample(c, r, values, child))
                done += 1
                if progress:
                    total = f"{count * k}" if target is None else f"{max(count, r + 1) * k}+"
                    progress(f"run {done}/{total} pools={c} {values['ns/op'] / 1e6:.1f}ms "
                             f"rss {values['peak-RSS-B'] / 2**20:.1f}MiB")
            r += 1
            now = time.perf_counter()
            per_round = (now - t_rounds) / r  # what one more round is expected to take
            d = decide(rule, ab.values(cfgs[0], unit), {c: ab.values(c, unit) for c in cfgs[1:]},
                       now - t_start, per_round)
            if d.stop:
                ab.stop = d.reason or "count"
                break
            if progress and r >= count and target is not None:
                worst = max((h for h in d.half_widths.values() if h is not None), default=None)
                progress(f"round {r}: widest {PAIRED_NAMES[unit]} half-width "
                         f"{'—' if worst is None else f'{100 * worst:.1f}%'} > target {100 * target:.1f}%")
        ab.count = r
        ab.seconds = time.perf_counter() - t_start
        if heap_profiles_dir is not None:
            os.makedirs(heap_profiles_dir, exist_ok=True)
            for c in cfgs:
                path = os.path.join(heap_profiles_dir, f"heap-{c}.pb.gz")
                ab.heap_profiles[c] = heap_profile_one(root_s, c, path, threads)
                if progress:
                    progress(f"heap profile pools={c}: {path}")
    except KeyboardInterrupt:
        ab.complete = res.complete = False
        ab.stop = "interrupted"
        ab.count = ab.rounds()
        ab.seconds = time.perf_counter() - t_start
        if progress:
            progress(f"interrupted after {len(ab.samples)} runs")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load1 = _loadavg()
    if load0 is not None and load1 is not None:
        cpus = os.cpu_count() or 1
        res.settings["loadavg"] = [load0, load1]
        busy = max(load0, load1) > 0.5 * cpus
        ab.note = (f"Machine: {cpus} CPUs, 1-minute load average {load0:.2f} before and {load1:.2f} after the runs"
                   + (" — other work was running, so the wall-time intervals are wide; CPU time and memory are "
                      "less affected." if busy else "."))
    return ab


def _loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def load(path: str | os.PathLike[str]) -> ABResult:
    """An ABResult from a file written by :meth:`ABResult.write_json` or ``write_go``."""
    p = os.fspath(path)
    records = benchfmt.read(p)
    res = BenchResult.from_records(r for r in records if r.base == "Benchmark" + BENCH and "pools" in r.parts)
    if not len(res):
        raise InputError(f"{p}: no BenchmarkPipeline/pools=… results")
    configs = list(dict.fromkeys(benchfmt.parse_name(n)[2]["pools"] for n in res.series))
    if "none" not in configs:
        raise InputError(f"{p}: no pools=none baseline to compare with")
    configs.remove("none")
    meta: dict[str, Any] = {}
    if p.endswith(".json") or open(p, encoding="utf-8").read(1) == "{":
        with open(p, encoding="utf-8") as f:
            meta = json.load(f).get("ab", {})
    procs = next(iter(res.series.values())).procs
    n = max(len(s) for s in res.series.values())
    heaps = {str(c): str(hp) for c, hp in (meta.get("heap_profiles") or {}).items()}
    sr = meta.get("stop_rule")
    rule = None if not isinstance(sr, dict) else StopRule(
        min_rounds=int(sr.get("min_rounds", 1)), target=sr.get("target"), budget=sr.get("budget"),
        confidence=float(sr.get("confidence", 0.95)), unit=str(sr.get("unit", "ns/op")))
    return ABResult(meta.get("root", ""), ["none"] + configs, meta.get("count", n), meta.get("threads", procs),
                    res, note=meta.get("note", ""), heap_profiles=heaps, inject=float(meta.get("inject") or 0.0),
                    stop_rule=rule, stop=str(meta.get("stop", "count")), seconds=meta.get("seconds"))


# ---------------------------------------------------------------- rendering

def _fmt(unit: str, v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if unit.endswith("ns/op"):
        return f"{v / 1e6:.1f}ms"
    if unit in ("peak-RSS-B", "B/op"):
        return f"{v / 2**20:.2f}MiB" if v >= 2**20 else f"{v / 1024:.1f}KiB"
    return f"{v:.0f}"


def render_table(ab: ABResult, units: Iterable[str] = TABLE_UNITS) -> str:
    """One block per unit: config, median, Δ vs none with bootstrap 95% CI, p, and the verdict."""
    verdicts = {v.candidate: v for v in ab.verdicts()} if len(ab.configs) > 1 else {}
    lines = [f"pipeline A/B  {ab.root}  {ab.rounds()} interleaved runs per configuration, "
             f"{ab.threads} hash workers" + ("" if ab.complete else "  (INTERRUPTED: partial)")]
    lines.append(ab.stop_line() + (f"; every configuration but none spun {100 * ab.inject:g}% of its pipeline "
                                   "time (-inject)" if ab.inject else ""))
    if ab.note:
        lines.append(ab.note)
    paired_rows = paired_table(ab)
    if paired_rows:
        lines.append("")
        lines.append("paired by round vs none (Hodges–Lehmann ratio, exact signed-rank 95% interval and p)")
        widths = [max(len(r[i]) for r in paired_rows) for i in range(len(paired_rows[0]))]
        for r in paired_rows:
            lines.append("  " + "  ".join(x.ljust(w) for x, w in zip(r, widths)).rstrip())
        lines.append("")
        lines.append("unpaired, per unit (medians; bootstrap CI of Δ; Mann–Whitney U p, as benchstat)")
    for unit in units:
        if not len(ab.values("none", unit)):
            continue
        rows = ab.rows(unit)
        body = [["pools", "n", "median", "Δ vs none", "95% CI of Δ", "p", ""]]
        for c in ab.configs:
            v = ab.values(c, unit)
            med = float(np.median(v)) if len(v) else None
            if c == "none":
                body.append([c, str(len(v)), _fmt(unit, med), "", "", "", "(baseline)"])
                continue
            row = rows.get(c)
            ci = ab.delta_ci(c, unit)
            d = "—" if row is None or row.delta_pct is None else f"{row.delta_pct:+.1f}%"
            cis = "—" if ci is None else f"[{100 * ci[0]:+.1f}%, {100 * ci[1]:+.1f}%]"
            p = "—" if row is None or row.p_value is None else f"{row.p_value:.3f}"
            sig = "" if row is None else ("significant" if row.significant else "~")
            body.append([c, str(len(v)), _fmt(unit, med), d, cis, p, sig])
        widths = [max(len(r[i]) for r in body) for i in range(len(body[0]))]
        lines.append("")
        lines.append(unit)
        for r in body:
            lines.append("  " + "  ".join(x.ljust(w) for x, w in zip(r, widths)).rstrip())
    if verdicts:
        lines.append("")
        r = ab.rules or END_TO_END_RULES
        lines.append(f"verdicts (time {r.time_units[0]}, memory {r.memory_unit}; thresholds of docs/methodology.md)")
        for c in ab.configs[1:]:
            v = verdicts.get(c)
            if v is not None:
                lines.append(f"  pools={c:<12} {v.decision:<13} {v.rule}")
    return "\n".join(lines) + "\n"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:+.1f}%"


def paired_table(ab: ABResult) -> list[list[str]]:
    """Header and rows: unit, pools, rounds, Δ, 95% interval of Δ,
    half-width, p, significant — the paired analysis of :data:`PAIRED_UNITS`."""
    rows = [["", "pools", "rounds", "Δ vs none", "95% interval", "half-width", "p", ""]]
    for unit in PAIRED_UNITS:
        for d in ab.paired_summary(unit):
            iv = "—" if d["lo"] is None else f"[{_pct(d['delta_lo'])}, {_pct(d['delta_hi'])}]"
            hw = "—" if d["half_width"] is None else f"±{100 * d['half_width']:.1f}%"
            p = "—" if d["p_value"] is None else f"{d['p_value']:.3f}"
            rows.append([PAIRED_NAMES[unit], d["config"], str(d["rounds"]), _pct(d["delta"]), iv, hw, p,
                         "significant" if d["significant"] else "~"])
    return rows if len(rows) > 1 else []


def render_markdown(ab: ABResult) -> str:
    """The paired analysis as markdown: how the rounds ended, then one row
    per (measure, configuration)."""
    out = [f"**Pipeline A/B** ({ab.threads} hash workers): {ab.stop_line()}."]
    if ab.inject:
        out.append(f"Every configuration but `none` spun {100 * ab.inject:g}% of its own pipeline time "
                   "(calibration, `-inject`).")
    if ab.note:
        out.append(ab.note)
    rows = paired_table(ab)
    if rows:
        head = ["measure", "pools", "rounds", "Δ vs none", "95% interval of Δ", "half-width", "p", ""]
        out.append("")
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join([":--", ":--"] + ["--:"] * 5 + [":--"]) + "|")
        for r in rows[1:]:
            r = r[:1] + [f"`{r[1]}`"] + r[2:]
            out.append("| " + " | ".join(r) + " |")
        out.append("")
        out.append("Paired by round: Hodges–Lehmann estimate of the per-round ratio against `none`, its exact "
                   "signed-rank 95% interval and p; `~`: not significant at α = 0.05.")
    return "\n".join(out) + "\n"


__all__ = ["END_TO_END_RULES", "ABResult", "RunSample", "run_ab", "run_one", "heap_profile_one", "load", "parse_configs", "render_table",
           "render_markdown", "paired_table", "parse_percent", "parse_seconds", "DEFAULT_CONFIGS", "TABLE_UNITS",
           "PAIRED_UNITS", "POOLS"]


def summary_html(ab: Any) -> str:
    """An :class:`ABResult` as an HTML table: one row per (unit, configuration)
    with the median, Δ against ``none`` with its bootstrap interval, the
    U-test p-value and the verdict, as ``ABResult.table()`` prints them."""
    from ..render import html

    head = ["unit", "pools", "n", "median", "Δ vs none", "95% CI of Δ", "p", "verdict"]
    body, classes = [], []
    for unit in TABLE_UNITS:
        rows = [r for r in ab.summary(unit) if r["n"]]
        if not rows:
            continue
        for r in rows:
            if r["config"] == "none":
                delta = ci = p = ""
                verdict = "(baseline)"
            else:
                delta = html.pct(r.get("delta_pct"))
                lo_hi = r.get("delta_ci_pct")
                ci = "—" if not lo_hi else f"[{lo_hi[0]:+.1f}%, {lo_hi[1]:+.1f}%]"
                p = html.pval(r.get("p_value")) + ("" if r.get("significant") else " ~")
                verdict = r.get("verdict", "") if unit == "ns/op" else ""
            body.append([unit, r["config"], r["n"], _fmt(unit, r["median"]), delta, ci, p,
                         html.Raw(f'<span class="ep-{html.esc(verdict)}">{html.esc(verdict)}</span>') if verdict else ""])
            classes.append("ep-sig" if r.get("significant") else "")
    notes = [] if ab.complete else ["incomplete run (interrupted): only finished runs are shown"]
    caption = f"pipeline A/B: {ab.count} interleaved runs per configuration, {ab.threads} hash workers"
    return html.table(head, body, caption=caption, numeric=[False, False, True, True, True, True, True, False],
                      row_class=classes, notes=notes)

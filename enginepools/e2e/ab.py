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

Each configuration is compared with ``none`` by the statistics engine
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
from ..analysis import verdict as vd
from ..bench.result import BenchResult
from ..errors import EnginepoolsError, InputError, UsageError
from .pipeline import POOLS, check_root, parse_pools, pools_label

BENCH = "Pipeline"
DEFAULT_CONFIGS = ("none", "all", "hash", "tar", "string")
#: Verdict rules end to end: the study's thresholds, with the process's peak
#: RSS as "memory" — allocation volume (B/op) is reported, but what a whole
#: program costs in memory is what the OS gives it.
END_TO_END_RULES = vd.Rules(memory_unit="peak-RSS-B")
#: units compared in the table (others are kept in the results)
TABLE_UNITS = ("ns/op", "walk-ns/op", "hash-ns/op", "tar-ns/op", "cpu-ns/op", "peak-RSS-B", "B/op", "allocs/op",
               "minor-faults/op")


def parse_configs(spec: str | Sequence[str]) -> list[str]:
    """``none,all,hash,tar,string`` (a config may combine pools: ``hash+tar``).
    ``none`` is always included (it is the baseline) and comes first."""
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for it in items:
        if not it:
            continue
        try:
            label = pools_label(parse_pools(it.replace("+", ",")))
        except UsageError as e:  # name the flag the user gave, not pipeline's -pools
            raise UsageError(f"-configs {it!r}: {str(e).removeprefix('-pools: ')}") from None
        if label not in out:
            out.append(label)
    if not out:
        raise UsageError("-configs: no configuration given")
    if "none" in out:
        out.remove("none")
    return ["none"] + out


def config_pools(label: str) -> str:
    return label.replace("+", ",")


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

    def _repr_html_(self) -> str:
        return summary_html(self)

    def to_json(self) -> dict[str, Any]:
        doc = self.result.to_json()
        doc["complete"] = self.complete
        doc["ab"] = {
            "root": self.root, "configs": self.configs, "count": self.count, "threads": self.threads,
            "note": self.note,
            "heap_profiles": {c: os.path.abspath(p) for c, p in self.heap_profiles.items()},
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

def child_command(root: str, config: str, threads: int, out: str | None) -> list[str]:
    spec = {"root": root, "pools": config_pools(config), "threads": threads, "out": out}
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


def run_one(root: str, config: str, threads: int = 0, out: str | None = None) -> tuple[dict[str, float], dict[str, Any]]:
    """One measured run in a fresh process; returns (units, child JSON)."""
    cmd = child_command(root, config, threads, out)
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
           progress: Callable[[str], None] | None = None) -> ABResult:
    """Run every configuration `count` times, interleaved (round r starts at
    configuration r mod k).  Ctrl-C stops after the current run; the result
    then holds the finished runs with ``complete = False``.  With
    `heap_profiles_dir`, one more run per configuration, unmeasured, under the
    heap profiler at rate 1 writes ``heap-<config>.pb.gz`` there."""
    root_s = check_root(root)
    cfgs = parse_configs(configs)
    if count < 1:
        raise UsageError(f"-count: must be at least 1, not {count}")
    from ..bench.machine import go_header, metadata

    header = dict(go_header())
    header["pkg"] = "enginepools/pipeline"
    tmp = tempfile.mkdtemp(prefix="enginepools-ab-")
    out_path = os.path.join(tmp, "context.tar") if write_archive else None
    res = BenchResult(config=header, machine=metadata(),
                      settings={"count": count, "configs": cfgs, "root": root_s, "warmup": warmup,
                                "archive": "file" if write_archive else "none"})
    probe_threads = threads or (min(os.cpu_count() or 1, 8))
    ab = ABResult(root_s, cfgs, count, probe_threads, res)
    load0 = _loadavg()
    try:
        for w in range(warmup):
            for c in cfgs:
                run_one(root_s, c, threads, out_path)
        k = len(cfgs)
        total = count * k
        done = 0
        for r in range(count):
            for j in range(k):
                c = cfgs[(r + j) % k]
                values, child = run_one(root_s, c, threads, out_path)
                ab.threads = int(child["threads"])
                res.add(f"{BENCH}/pools={c}", ab.threads, 1, values)
                ab.samples.append(RunSample(c, r, values, child))
                done += 1
                if progress:
                    progress(f"run {done}/{total} pools={c} {values['ns/op'] / 1e6:.1f}ms "
                             f"rss {values['peak-RSS-B'] / 2**20:.1f}MiB")
        if heap_profiles_dir is not None:
            os.makedirs(heap_profiles_dir, exist_ok=True)
            for c in cfgs:
                path = os.path.join(heap_profiles_dir, f"heap-{c}.pb.gz")
                ab.heap_profiles[c] = heap_profile_one(root_s, c, path, threads)
                if progress:
                    progress(f"heap profile pools={c}: {path}")
    except KeyboardInterrupt:
        ab.complete = res.complete = False
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
    return ABResult(meta.get("root", ""), ["none"] + configs, meta.get("count", n), meta.get("threads", procs),
                    res, note=meta.get("note", ""), heap_profiles=heaps)


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
    lines = [f"pipeline A/B  {ab.root}  {ab.count} interleaved runs per configuration, "
             f"{ab.threads} hash workers" + ("" if ab.complete else "  (INTERRUPTED: partial)")]
    if ab.note:
        lines.append(ab.note)
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


__all__ = ["END_TO_END_RULES", "ABResult", "RunSample", "run_ab", "run_one", "heap_profile_one", "load", "parse_configs", "render_table",
           "DEFAULT_CONFIGS", "TABLE_UNITS", "POOLS"]


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

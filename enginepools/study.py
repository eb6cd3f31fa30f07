"""``enginepools study``: the whole analysis on this machine, in one run.

1. **Benchmarks** — every kernel, pooled and plain variants interleaved,
   ``-count`` ≥ 6 so each comparison has a confidence interval and a test
   (:mod:`enginepools.bench.runner`).
2. **Profiles** — the heap (every allocation sampled: rate 1) of a
   representative workload, once with pools and once with plain
   allocation, so the report can show both heap graphs and their
   difference (:mod:`enginepools.pprof.profilers`).
3. **A/B** — a short end-to-end pipeline run, pooled against plain
   (:mod:`enginepools.e2e.ab`), when this build has it.
4. **Report** — the result files are written beside the documents and the
   report is built *from those files*, exactly as ``enginepools report``
   would build it, so anyone can regenerate it.

Each phase is optional: when a part is missing from the build or fails on
this machine, the study carries on and the report names what is absent.
The budget (:class:`Plan`) keeps the default run under 3 minutes and
``--quick`` under 45 s on a 2-core machine.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import EnginepoolsError

DEFAULT_OUT = "enginepools-report"


@dataclass(frozen=True)
class Plan:
    """How much work the study does."""

    quick: bool = False
    count: int = 6  # samples per variant (6: the fewest with a 95% CI of the median)
    benchtime: str = "200ms"  # per sample (Go: 1s; shorter keeps the whole study under 3 minutes)
    cpu: tuple[int, ...] = (1, 2)  # thread counts for the contention kernel
    heap_rate: int = 1  # heap sampling rate in bytes (1: every allocation)
    ab_runs: int = 6  # pipeline A/B runs per configuration
    ab_configs: tuple[str, ...] = ("none", "all", "hash", "tar", "string")
    tree_files: int = 3000  # files in the generated build context (pipeline workload)
    filter: str | None = None  # regex on kernel names (None: all)


DEFAULT_PLAN = Plan()
QUICK_PLAN = Plan(quick=True, count=6, benchtime="40ms", cpu=(1, 2), ab_runs=6, ab_configs=("none", "all"),
                  tree_files=600)


@dataclass
class StudyResult:
    out: Path
    data: Any  # ReportData
    files: list[Path]
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)  # phase -> seconds
    skipped: dict[str, str] = field(default_factory=dict)  # phase -> why


class Unavailable(Exception):
    """A phase this build or machine cannot run; the message says why."""


class Progress:
    """One tqdm bar for the whole study (on stderr; silent when disabled)."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        from tqdm import tqdm

        # disable=None: tqdm draws only on a terminal, so logs and CI output stay clean
        self.bar = tqdm(total=total, unit="step", file=sys.stderr, disable=None if enabled else True,
                        dynamic_ncols=True, mininterval=0.2,
                        bar_format="{desc:<38.38}|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]")

    def phase(self, name: str) -> None:
        self.bar.set_description_str(name)

    def note(self, text: str) -> None:
        self.bar.set_description_str(text)

    def advance(self, n: int = 1) -> None:
        self.bar.update(n)

    def grow(self, n: int) -> None:
        self.bar.total += n
        self.bar.refresh()

    def close(self, done: bool = True) -> None:
        if done and self.bar.total and self.bar.n < self.bar.total:
            self.bar.update(self.bar.total - self.bar.n)
        self.bar.close()


def run_study(out: str | os.PathLike[str] = DEFAULT_OUT, plan: Plan = DEFAULT_PLAN, progress: bool = True,
              log: Callable[[str], None] | None = None) -> StudyResult:
    """Run every phase of the plan and write the report into `out`."""
    from .report import gather
    from .report.writer import check_out_dir, write_report

    target = check_out_dir(out)
    t0 = time.perf_counter()
    phases: dict[str, float] = {}
    skipped: dict[str, str] = {}
    work = Path(tempfile.mkdtemp(prefix=".enginepools-study-", dir=target.resolve().parent))
    bar = Progress(total=_estimate_steps(plan), enabled=progress)
    ok = False
    try:
        bench_files: list[str] = []
        profile_files: list[str] = []
        ab_file: str | None = None
        extra: list[str] = []
        info: dict[str, Any] = {"quick": plan.quick, "count": plan.count, "benchtime": plan.benchtime,
                                "cpu": ",".join(map(str, plan.cpu)), "heap_rate": plan.heap_rate}
        for name, fn in (("benchmarks", _bench_phase), ("profiles", _profile_phase), ("A/B", _ab_phase)):
            bar.phase(f"{name}")
            t = time.perf_counter()
            try:
                produced, kept = fn(plan, work, bar)
            except Unavailable as e:
                skipped[name] = str(e)
                produced, kept = [], []
            extra += kept
            phases[name] = time.perf_counter() - t
            if name == "benchmarks":
                bench_files = produced
                info["bench_seconds"] = phases[name]
            elif name == "profiles":
                profile_files = produced
            else:
                ab_file = produced[0] if produced else None
        bar.phase("report")
        t = time.perf_counter()
        info["skipped"] = dict(skipped)
        data = gather(bench_files, profile_files, ab_file, study=info)
        for phase, why in skipped.items():
            data.notes.append(f"study phase '{phase}' skipped: {why}")
        attachments = [Path(p) for p in [*bench_files, *extra, *profile_files, *([ab_file] if ab_file else [])]]
        files = write_report(data, target, progress=lambda s: (bar.note(s), bar.advance()),
                             attachments=attachments)
        phases["report"] = time.perf_counter() - t
        bar.phase("done")
        ok = True
    finally:
        bar.close(done=ok)
        shutil.rmtree(work, ignore_errors=True)
    return StudyResult(target, data, files, time.perf_counter() - t0, phases, skipped)


def _estimate_steps(plan: Plan) -> int:
    """Steps of the report phase (figures and documents); each measuring
    phase adds its own once it knows how many."""
    return 25


# ------------------------------------------------------------------ phases
# Each phase returns (inputs for the report, extra files to keep beside it).

def _bench_phase(plan: Plan, work: Path, bar: Progress) -> tuple[list[str], list[str]]:
    from .bench import runner

    selected = runner.select(plan.filter or ".")
    serial = [k for k in selected if not k.parallel]
    parallel = [k for k in selected if k.parallel]
    bar.grow(len(runner.plan(serial, [1], plan.count)) + len(runner.plan(parallel, plan.cpu, plan.count)))

    def on_sample(res: Any, name: str, i: int) -> None:
        bar.note(f"bench {name}")
        bar.advance()

    result = None
    # serial kernels run on one thread whatever -cpu says, so run them once;
    # the parallel ones (contention, raw get/put) at every thread count
    for kernels, cpus in ((serial, [1]), (parallel, list(plan.cpu))):
        if not kernels:
            continue
        r = runner.Runner(kernels, benchtime=plan.benchtime, count=plan.count, cpus=cpus, on_sample=on_sample,
                          progress=False, pattern=plan.filter or ".")
        result = r.run(result)
        if not result.complete:
            raise KeyboardInterrupt
    assert result is not None
    go, js = work / "bench.txt", work / "bench.json"
    result.write_go(go)
    result.write_json(js)
    return [str(go)], [str(js)]


def _workload_tree(plan: Plan) -> Path:
    from .e2e import treegen

    spec = treegen.TreeSpec(files=plan.tree_files, dirs=max(10, plan.tree_files // 20))
    return Path(treegen.default_tree(spec).path)


def _profile_phase(plan: Plan, work: Path, bar: Progress) -> tuple[list[str], list[str]]:
    from .e2e.pipeline import profile_pipeline

    bar.grow(2)
    root = _workload_tree(plan)
    out = []
    # plain first: it is the base of the differential flame graph
    for label, pools in (("plain", "none"), ("pooled", "all")):
        bar.note(f"heap profile, {label}")
        prof = profile_pipeline(root, pools, rate=plan.heap_rate)
        path = work / f"{label}-heap.pb.gz"
        prof.write(path)
        out.append(str(path))
        bar.advance()
    return out, []


def _ab_phase(plan: Plan, work: Path, bar: Progress) -> tuple[list[str], list[str]]:
    from .e2e import ab

    root = _workload_tree(plan)
    configs = list(plan.ab_configs)
    bar.grow(plan.ab_runs * len(configs))

    def progress(msg: str) -> None:
        if msg.startswith("run "):
            bar.note(f"A/B {msg.split()[2]}")
            bar.advance()

    res = ab.run_ab(root, configs, plan.ab_runs, warmup=1, progress=progress)
    if not res.complete:
        raise KeyboardInterrupt
    go, js = work / "pipeline-ab.txt", work / "pipeline-ab.json"
    res.write_go(go)
    res.write_json(js)
    return [str(js)], [str(go)]


def plan_for(quick: bool) -> Plan:
    return QUICK_PLAN if quick else DEFAULT_PLAN


__all__ = ["Plan", "DEFAULT_PLAN", "QUICK_PLAN", "StudyResult", "run_study", "plan_for", "DEFAULT_OUT",
           "EnginepoolsError", "asdict"]

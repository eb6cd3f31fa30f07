"""``enginepools study``: the whole analysis on this machine, in one run.

1. **Benchmarks** — every kernel, pooled and plain variants interleaved,
   ``-count`` ≥ 6 so each comparison has a confidence interval and a test
   (:mod:`enginepools.bench.runner`).
2. **Profiles** — the heap (every allocation sampled: rate 1) of a
   representative workload, once with pools and once with plain
   allocation, so the report can show both heap graphs and their
   difference (:mod:`enginepools.pprof.profilers`).
3. **A/B** — the end-to-end pipeline, every pool configuration against
   plain, in rounds until every paired CPU-time interval is ±2% or the
   phase's budget (``Plan.ab_budget``) runs out (:mod:`enginepools.e2e.ab`),
   when this build has it.
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
    cpu_profile_seconds: float = 4.0  # pipeline runs under the CPU profiler (the pools' CPU share)
    ab_runs: int = 6  # pipeline A/B rounds at least (6: the fewest with a paired 95% interval)
    ab_target: float | None = 0.02  # add rounds until every time-ratio half-width is this (None: ab_runs)
    ab_budget: float | None = 40.0  # seconds for the A/B phase, warm-up included (keeps the study < 180 s)
    ab_measure: str = "cpu"  # the time the target refers to (see docs/methodology.md)
    ab_configs: tuple[str, ...] = ("none", "all", "hash", "tar", "string")
    tree_files: int = 3000  # files in the generated build context (pipeline workload)
    filter: str | None = None  # regex on kernel names (None: all)


DEFAULT_PLAN = Plan()
QUICK_PLAN = Plan(quick=True, count=6, benchtime="40ms", cpu=(1, 2), ab_runs=6, ab_configs=("none", "all"),
                  tree_files=600, cpu_profile_seconds=2.0, ab_budget=10.0)


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


class StudyFailed(EnginepoolsError):
    """A phase failed or was interrupted after others had finished: their
    results are kept in `staging`, and `command` builds a report from them."""

    def __init__(self, phase: str, why: str, staging: Path, kept: list[Path], command: str | None,
                 interrupted: bool = False) -> None:
        self.phase, self.why, self.staging, self.kept, self.command = phase, why, staging, kept, command
        self.interrupted = interrupted
        self.exit_code = 130 if interrupted else 1
        what = "was interrupted" if interrupted else f"failed: {why}"
        lines = [f"phase '{phase}' {what}"]
        if kept:
            lines.append(f"finished results are kept in {staging}/: {', '.join(p.name for p in kept)}")
        if command:
            lines.append(f"build a report from them with:\n  {command}")
        super().__init__("\n".join(lines))


def run_study(out: str | os.PathLike[str] = DEFAULT_OUT, plan: Plan = DEFAULT_PLAN, progress: bool = True,
              log: Callable[[str], None] | None = None) -> StudyResult:
    """Run every phase of the plan and write the report into `out`.

    Each measuring phase writes its raw results into a staging directory
    beside `out` (``<out>.partial-XXXX``) as soon as it finishes; an earlier
    report in `out` is replaced only once the new one is complete.  When a
    phase fails or is interrupted, :class:`StudyFailed` says which, and the
    staging directory stays with the finished results and the
    ``enginepools report`` command that builds a report from them."""
    from .report import gather
    from .report.writer import check_out_dir, write_report

    target = check_out_dir(out)
    t0 = time.perf_counter()
    phases: dict[str, float] = {}
    skipped: dict[str, str] = {}
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.partial-", dir=target.resolve().parent))
    bar = Progress(total=_estimate_steps(plan), enabled=progress)
    inputs: dict[str, list[str]] = {"bench": [], "profile": [], "ab": []}
    extra: list[str] = []
    ok = False
    phase = "benchmarks"
    try:
        info: dict[str, Any] = {"quick": plan.quick, "count": plan.count, "benchtime": plan.benchtime,
                                "cpu": ",".join(map(str, plan.cpu)), "heap_rate": plan.heap_rate}
        for phase, key, fn in (("benchmarks", "bench", _bench_phase), ("profiles", "profile", _profile_phase),
                               ("A/B", "ab", _ab_phase)):
            bar.phase(phase)
            t = time.perf_counter()
            try:
                produced, kept = fn(plan, staging, bar)
            except Unavailable as e:
                skipped[phase] = str(e)
                produced, kept = [], []
            inputs[key], extra = produced, extra + kept
            phases[phase] = time.perf_counter() - t
            if phase == "benchmarks":
                info["bench_seconds"] = phases[phase]
        phase = "report"
        bar.phase(phase)
        t = time.perf_counter()
        info["skipped"] = dict(skipped)
        ab_file = inputs["ab"][0] if inputs["ab"] else None
        data = gather(inputs["bench"], inputs["profile"], ab_file, study=info)
        for name, why in skipped.items():
            data.notes.append(f"study phase '{name}' skipped: {why}")
        attachments = [Path(p) for p in [*inputs["bench"], *extra, *inputs["profile"], *inputs["ab"]]]
        files = write_report(data, target, progress=lambda s: (bar.note(s), bar.advance()),
                             attachments=attachments)
        phases["report"] = time.perf_counter() - t
        bar.phase("done")
        ok = True
    except (Exception, KeyboardInterrupt) as e:
        interrupted = isinstance(e, KeyboardInterrupt)
        why = str(e) if isinstance(e, EnginepoolsError) else f"{type(e).__name__}: {e}"
        kept = sorted(p for p in staging.iterdir() if p.is_file())
        if not kept:
            shutil.rmtree(staging, ignore_errors=True)
            if interrupted:
                raise
            if isinstance(e, EnginepoolsError):
                raise EnginepoolsError(f"phase '{phase}' failed: {e}") from e
            raise
        raise StudyFailed(phase, why, _shown(staging), kept, report_command(inputs, target),
                          interrupted=interrupted) from e
    finally:
        bar.close(done=ok)
    shutil.rmtree(staging, ignore_errors=True)  # everything it held is now in the report
    return StudyResult(target, data, files, time.perf_counter() - t0, phases, skipped)


def report_command(inputs: dict[str, list[str]], out: Path) -> str | None:
    """The ``enginepools report`` command line that builds a report from
    the study inputs finished so far (None when nothing finished)."""
    import shlex

    args = ["enginepools", "report"]
    for flag_, key in (("--bench", "bench"), ("--profile", "profile"), ("--ab", "ab")):
        if inputs[key]:
            args += [flag_, *map(str, map(_shown, inputs[key]))]
    if len(args) == 2:
        return None
    return shlex.join([*args, "--out", str(_shown(out))])


def _shown(path: str | os.PathLike[str]) -> Path:
    """`path` as a user in this directory would type it: relative when it
    lies below the working directory, absolute otherwise."""
    p = Path(path).absolute()
    try:
        return p.relative_to(Path.cwd())
    except ValueError:
        return p


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
    import json

    from ._atomic import write_text
    from .e2e.pipeline import cpu_profile_pipeline, profile_pipeline_peak
    from .report.build import timeline_sidecar

    bar.grow(3)
    root = _workload_tree(plan)
    out, kept = [], []
    # plain first: it is the base of the differential flame graph.  In-use
    # values are the heap at its peak; the timeline sits beside each profile.
    for label, pools in (("plain", "none"), ("pooled", "all")):
        bar.note(f"heap profile, {label}")
        prof, timeline = profile_pipeline_peak(root, pools, rate=plan.heap_rate)
        path = work / f"{label}-heap.pb.gz"
        prof.write(path)
        out.append(str(path))
        if timeline is not None:
            tpath = timeline_sidecar(path)
            write_text(tpath, json.dumps(timeline) + "\n")
            kept.append(tpath)
        bar.advance()
    # the CPU profile of the plain run: the pooled path's share of the CPU (Amdahl's share)
    bar.note("CPU profile, plain")
    path = work / "plain-cpu.pb.gz"
    cpu_profile_pipeline(root, "none", min_seconds=plan.cpu_profile_seconds).write(path)
    out.append(str(path))
    bar.advance()
    return out, kept


def _ab_phase(plan: Plan, work: Path, bar: Progress) -> tuple[list[str], list[str]]:
    from .e2e import ab

    root = _workload_tree(plan)
    configs = list(plan.ab_configs)
    bar.grow(plan.ab_runs * len(configs))

    planned = plan.ab_runs * len(configs)
    runs = 0

    def progress(msg: str) -> None:
        nonlocal runs
        if msg.startswith("run "):
            runs += 1
            if runs > planned:  # an adaptive round beyond the minimum
                bar.grow(1)
            bar.note(f"A/B {msg.split()[2]}")
            bar.advance()

    res = ab.run_ab(root, configs, plan.ab_runs, warmup=1, progress=progress, target=plan.ab_target,
                    budget=plan.ab_budget if plan.ab_target else None, measure=plan.ab_measure)
    if not res.complete:
        raise KeyboardInterrupt
    go, js = work / "pipeline-ab.txt", work / "pipeline-ab.json"
    res.write_go(go)
    res.write_json(js)
    return [str(js)], [str(go)]


def plan_for(quick: bool) -> Plan:
    return QUICK_PLAN if quick else DEFAULT_PLAN


__all__ = ["Plan", "DEFAULT_PLAN", "QUICK_PLAN", "StudyResult", "StudyFailed", "run_study", "report_command", "plan_for", "DEFAULT_OUT",
           "EnginepoolsError", "asdict"]

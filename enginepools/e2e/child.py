"""One measured pipeline run in a fresh process (used by ``enginepools ab``).

    python -m enginepools.e2e.child '{"root": "...", "pools": "hash", "threads": 0, "out": null}'

With ``"memprofile": PATH`` in the spec it instead runs the pipeline once
under the heap profiler (``memprofilerate``, default 1) and writes PATH:
its in-use values are those at the run's in-use peak (``"peak": false``
for the end of the run); with ``"timeline": PATH2`` it also writes the
in-use bytes over time per pool label as JSON.

Imports only the C core and enginepools.e2e.pipeline (no numpy, no scipy), so
the process's peak RSS is the interpreter plus the pipeline.  Prints one JSON
object: the pipeline result plus the process's own CPU time and faults
during the run (getrusage before/after, all threads).

With ``"inject": F`` (a fraction, e.g. 0.05) the measured run spins on the
CPU, right after the pipeline, for F × the pipeline's own measured time
(``enginepools ab -inject``: a known slowdown to calibrate the A/B against):
with ``"inject_clock": "cpu"`` (the default) until the process has used F ×
the pipeline's CPU time more, with ``"wall"`` for F × its wall time.  The
spin is part of the run: ``seconds.total`` and the CPU time include it, and
``inject`` records the fraction, the clock and the nanoseconds spun (wall
and CPU).
"""
from __future__ import annotations

import json
import resource
import sys
import time


def _vmhwm_kib() -> int | None:
    """Peak RSS of this program since its exec (Linux VmHWM).  Unlike
    ru_maxrss it does not inherit the parent's size: Linux carries the
    forking parent's high-water mark across exec into ru_maxrss."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def spin(ns: int, clock: str = "cpu") -> tuple[int, int]:
    """Busy-wait on the CPU until `ns` nanoseconds have passed on `clock`
    (``cpu``: this process's CPU time; ``wall``: the monotonic clock);
    returns the (wall, CPU) nanoseconds actually spun."""
    now = time.process_time_ns if clock == "cpu" else time.perf_counter_ns
    w0, c0 = time.perf_counter_ns(), time.process_time_ns()
    end = now() + ns
    x = 0
    while now() < end:
        x += 1
    return time.perf_counter_ns() - w0, time.process_time_ns() - c0


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    from .pipeline import run_pipeline

    memprofile = spec.get("memprofile")
    if memprofile:  # a profiled run (not a measured one): every allocation, written atomically
        from .._atomic import write_text
        from .pipeline import _profiled_run

        timeline = spec.get("timeline")
        prof, tl = _profiled_run(spec["root"], spec.get("pools", "all"), int(spec.get("memprofilerate", 1)),
                                 0.0005 if timeline else None, bool(spec.get("peak", True)),
                                 {"threads": int(spec.get("threads", 0))})
        prof.write(memprofile)
        if timeline and tl is not None:
            write_text(timeline, json.dumps(tl) + "\n")
        sys.stdout.write(json.dumps({"memprofile": memprofile, "timeline": timeline}) + "\n")
        return 0
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    r = run_pipeline(spec["root"], spec.get("pools", "all"), spec.get("out"), threads=int(spec.get("threads", 0)))
    inject = float(spec.get("inject") or 0.0)
    spun = None
    if inject > 0:
        clock = spec.get("inject_clock", "cpu")
        rp = resource.getrusage(resource.RUSAGE_SELF)
        base_ns = (r.seconds["total"] * 1e9 if clock == "wall" else
                   ((rp.ru_utime - r0.ru_utime) + (rp.ru_stime - r0.ru_stime)) * 1e9)
        spun = spin(int(round(base_ns * inject)), clock)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    d = r.to_dict()
    if spun is not None:
        d["inject"] = {"fraction": inject, "clock": clock, "of_ns": int(round(base_ns)),
                       "spin_wall_ns": spun[0], "spin_cpu_ns": spun[1]}
        d["seconds"]["total"] += spun[0] / 1e9
    d["rusage"] = {
        "cpu_ns": int(round(((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)) * 1e9)),
        "user_ns": int(round((r1.ru_utime - r0.ru_utime) * 1e9)),
        "sys_ns": int(round((r1.ru_stime - r0.ru_stime) * 1e9)),
        "minflt": r1.ru_minflt - r0.ru_minflt,
        "majflt": r1.ru_majflt - r0.ru_majflt,
        "maxrss_before_kib": r0.ru_maxrss,
        "vmhwm_kib": _vmhwm_kib(),
    }
    sys.stdout.write(json.dumps(d) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:  # reported to the parent on stderr, one line
        sys.stderr.write(f"{type(e).__name__}: {e}\n")
        sys.exit(1)

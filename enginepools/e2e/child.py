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
"""
from __future__ import annotations

import json
import resource
import sys


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
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    d = r.to_dict()
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

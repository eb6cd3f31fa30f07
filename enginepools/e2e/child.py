"""One measured pipeline run in a fresh process (used by ``enginepools ab``).

    python -m enginepools.e2e.child '{"root": "...", "pools": "hash", "threads": 0, "out": null}'

With ``"memprofile": PATH`` in the spec it instead runs the pipeline once
under the heap profiler (``memprofilerate``, default 1) and writes PATH.

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
        from ..pprof.profilers import HeapProfiler

        with HeapProfiler(rate=int(spec.get("memprofilerate", 1)), seed=1) as hp:
            run_pipeline(spec["root"], spec.get("pools", "all"), None, threads=int(spec.get("threads", 0)))
        hp.write(memprofile, "alloc_space")
        sys.stdout.write(json.dumps({"memprofile": memprofile}) + "\n")
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

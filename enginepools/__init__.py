"""enginepools — do your memory pools pay?

Fast, thread-safe pools in C; benchmark kernels that run each pooled design
beside its plain-malloc twin; a heap and CPU profiler writing pprof; and the
statistics, charts and reports that turn the runs into a keep/remove verdict
per pool.
"""
from __future__ import annotations

from . import _core
from .errors import EnginepoolsError, UsageError

__version__: str = _core.VERSION


def alloc_counters() -> dict[str, int]:
    """Bytes and objects allocated and freed through the C ``ep_alloc`` path,
    summed over every thread (live and exited)."""
    return _core.alloc_counters()


# Public names defined in submodules, imported on first use so that
# `import enginepools` stays cheap (no matplotlib, no scipy).
_LAZY = {
    "ObjectPool": "pools",
    "BufferPool": "pools",
    "StringBuilderPool": "pools",
    "WorkerPool": "pools",
    "Profile": "profile",
    "ProfileBuilder": "profile",
    "ProfileFormatError": "profile",
    "HeapProfiler": "profiling",
    "CPUProfiler": "profiling",
    "BenchResult": "benchresult",
    "run_pipeline": "pipeline",
    "run_ab": "ab",
}


def __getattr__(name: str):
    import importlib
    import importlib.util

    mod = _LAZY.get(name)
    if mod is None:
        # public submodules too, as the README uses them: enginepools.runner.run(...)
        if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
            return importlib.import_module(f".{name}", __name__)
        raise AttributeError(f"module 'enginepools' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{mod}", __name__), name)


__all__ = ["__version__", "alloc_counters", "EnginepoolsError", "UsageError", *_LAZY]

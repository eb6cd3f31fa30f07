"""enginepools — do your memory pools pay?

Fast, thread-safe pools in C; benchmark kernels that run each pooled design
beside its plain-malloc twin; a heap and CPU profiler writing pprof; and the
statistics, charts and reports that turn the runs into a keep/remove verdict
per pool.
"""
from __future__ import annotations

import sys as _sys

from . import _core
from .errors import EnginepoolsError, UsageError

__version__: str = _core.VERSION


def alloc_counters() -> dict[str, int]:
    """Bytes and objects allocated and freed through the C ``ep_alloc`` path,
    summed over every thread (live and exited)."""
    return _core.alloc_counters()


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext enginepools``: the ``%%ep_memprofile`` cell magic
    (:mod:`enginepools.magic`)."""
    from .magic import load_ipython_extension as load

    load(ipython)


# Public names defined in submodules, imported on first use so that
# `import enginepools` stays cheap (no matplotlib, no scipy).
_LAZY = {
    "ObjectPool": "pools",
    "BufferPool": "pools",
    "StringBuilderPool": "pools",
    "WorkerPool": "pools",
    "Profile": "pprof.profile",
    "ProfileBuilder": "pprof.profile",
    "ProfileFormatError": "pprof.profile",
    "HeapProfiler": "pprof.profilers",
    "CPUProfiler": "pprof.profilers",
    "PyHeapProfiler": "pprof.pyheap",
    "memprofile": "pprof.pyheap",
    "AllocCounter": "bench.pyalloc",
    "BenchResult": "bench.result",
    "run_pipeline": "e2e.pipeline",
    "run_ab": "e2e.ab",
}

# The modules' names from before the subpackages, still importable
# (`import enginepools.runner`, `from enginepools import stats`,
# `enginepools.pybench.run(...)`): each is the module where it lives now.
_MOVED = {
    "runner": "bench.runner",
    "pybench": "bench.pybench",
    "benchresult": "bench.result",
    "benchfmt": "bench.benchfmt",
    "machine": "bench.machine",
    "noise": "bench.noise",
    "profile": "pprof.profile",
    "pprof_graph": "pprof.graph",
    "pprof_units": "pprof.units",
    "pprof_http": "pprof.http",
    "profiling": "pprof.profilers",
    "profile_flags": "pprof.flags",
    "symbolize": "pprof.symbolize",
    "pprof_report": "pprof.report",
    "stats": "analysis.stats",
    "compare": "analysis.compare",
    "verdict": "analysis.verdict",
    "compare_render": "analysis.tables",
    "charts": "render.charts",
    "callgraph": "render.callgraph",
    "flamegraph": "render.flamegraph",
    "pipeline": "e2e.pipeline",
    "ab": "e2e.ab",
    "treegen": "e2e.treegen",
    "pipeline_report": "report.pipeline",
}


class _OldNames:
    """Finder and loader on ``sys.meta_path`` for the names in ``_MOVED``:
    the module imported under its old name is the new module itself (one
    object, registered in ``sys.modules`` under both names)."""

    @staticmethod
    def find_spec(fullname: str, path=None, target=None):
        pkg, _, name = fullname.rpartition(".")
        if pkg != __name__ or name not in _MOVED:
            return None
        from importlib.machinery import ModuleSpec

        return ModuleSpec(fullname, _OldNames)

    @staticmethod
    def create_module(spec):
        import importlib

        module = importlib.import_module(f"{__name__}.{_MOVED[spec.name.rpartition('.')[2]]}")
        spec.loader_state = module.__spec__
        return module

    @staticmethod
    def exec_module(module) -> None:
        # the import system set __spec__ to the alias's; the module keeps its own
        module.__spec__ = module.__spec__.loader_state


if _OldNames not in _sys.meta_path:
    _sys.meta_path.append(_OldNames)


def _submodules(package: str):
    """A module ``__getattr__`` for `package` that imports its public
    submodules on first use, so that after a plain ``import enginepools``
    ``enginepools.bench.runner.run(...)`` works as the README writes it."""

    def __getattr__(name: str):
        import importlib
        import importlib.util

        if not name.startswith("_") and importlib.util.find_spec(f"{package}.{name}") is not None:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


_submodule = _submodules(__name__)


def __getattr__(name: str):
    mod = _LAZY.get(name)
    if mod is None:
        return _submodule(name)  # old names (_MOVED) too, through _OldNames
    import importlib

    return getattr(importlib.import_module(f".{mod}", __name__), name)


__all__ = ["__version__", "alloc_counters", "EnginepoolsError", "UsageError", *_LAZY]

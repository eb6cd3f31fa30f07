"""The run's state (like pytest-benchmark's ``BenchmarkSession``): the
options in force, every benchmarked test, the saved run to compare with;
comparing one benchmark with that run, and saving this one."""
from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .options import SAVE_DIR, FailOn


@dataclass
class Entry:
    """One benchmarked test."""

    nodeid: str
    name: str  # Go name, e.g. BenchmarkHashBuffer/impl=pool
    result: Any  # PyBenchResult (or a kernel result with the same surface)
    rows: dict[str, Any] = field(default_factory=dict)  # unit -> compare.Row against the saved run
    pool: dict[str, float] = field(default_factory=dict)  # hit_rate, retained_bytes
    failures: list[str] = field(default_factory=list)


@dataclass
class State:
    benchtime: str | None
    count: int | None
    alpha: float
    save: str | None
    compare_path: Path | None
    fail_on: list[FailOn]
    rootdir: Path
    baseline: list[Any] | None = None  # benchfmt.Record list, read lazily
    entries: list[Entry] = field(default_factory=list)

    def load_baseline(self) -> list[Any]:
        if self.baseline is None:
            from ..bench import benchfmt

            assert self.compare_path is not None
            self.baseline = benchfmt.read(self.compare_path)
        return self.baseline


STATE = pytest.StashKey[State]()
SAVED = pytest.StashKey[tuple[Path, Path]]()  # the files pytest_sessionfinish wrote


def run_config() -> dict[str, str]:
    """The configuration lines of this run's records."""
    from ..bench import machine

    return {"goos": machine.goos(), "goarch": machine.goarch(), "python": platform.python_version(),
            "pkg": "pytest"}


# ------------------------------------------------------------ comparing

def compare_entry(st: State, entry: Entry) -> None:
    """Fill ``entry.rows`` (unit -> compare.Row) from the saved run's samples
    of the same benchmark; none when the saved run does not have it."""
    from ..analysis import compare

    old = [r for r in st.load_baseline() if r.name == entry.name]
    if not old:
        return
    new = entry.result.records(run_config())
    res = compare.compare_files([_strip_pkg(old), _strip_pkg(new)], ["saved", "current"], alpha=st.alpha)
    entry.rows = {r.unit: r for r in res.rows}


def _strip_pkg(records: list[Any]) -> list[Any]:
    """Compare by name only: saved files from other tools may carry a pkg."""
    from dataclasses import replace

    return [replace(r, config={k: v for k, v in r.config.items() if k != "pkg"}) for r in records]


# ------------------------------------------------------------ saving

def write_results(st: State, name: str) -> tuple[Path, Path]:
    from ..bench import benchfmt
    from .._atomic import write_text

    d = st.rootdir / SAVE_DIR
    d.mkdir(parents=True, exist_ok=True)
    cfg = run_config()
    records = [r for e in st.entries for r in e.result.records(cfg)]
    doc = {
        "format": benchfmt.JSON_FORMAT,
        "config": cfg,
        "samples": [{"name": r.name, "iterations": r.iterations, "values": dict(r.values)} for r in records],
        "pytest": {e.name: {"nodeid": e.nodeid, "pool": e.pool} for e in st.entries},
    }
    jpath, tpath = d / f"{name}.json", d / f"{name}.txt"
    write_text(jpath, json.dumps(doc, indent=1, allow_nan=False) + "\n")
    write_text(tpath, benchfmt.format_text(records))
    return jpath, tpath


def finish(config: pytest.Config) -> None:
    """At the session's end: write ``--ep-save NAME`` if anything was
    benchmarked here, and note the files for the terminal summary."""
    st = config.stash.get(STATE, None)
    if st is None or not st.save or not st.entries:
        return
    if hasattr(config, "workerinput"):  # xdist worker: the controller has no entries to save
        return
    paths = write_results(st, st.save)
    st.save = None
    config.stash[SAVED] = paths

"""What a report is written from: :class:`ReportData`.

Every source is optional.  A report built from a benchmark file alone has
no profile section; one built from a profile alone has no verdicts.  Each
document says which sources it had (:attr:`ReportData.absent`), so a
missing part is visible, not silently skipped.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from ..bench.benchfmt import Record
from ..analysis.compare import Result, Row
from ..analysis.verdict import Rules, Verdict


@dataclass
class BenchInput:
    """One benchmark result file as given."""

    path: str
    kind: str  # "go" (Go benchmark text) or "json" (enginepools JSON)
    raw: str  # the Go-format text: as given, or rendered from the JSON
    records: list[Record]


@dataclass
class ProfileInput:
    """One pprof profile."""

    path: str
    label: str  # short name used in headings and file names
    profile: Any  # enginepools.pprof.profile.Profile
    kind: str  # "heap", "cpu" or "other" (from its sample types)
    sample_types: list[str] = field(default_factory=list)  # "inuse_space/bytes", …
    timeline: dict[str, Any] | None = None  # in-use bytes over time per pool label (a heap profile's sidecar)

    @property
    def at_peak(self) -> bool:
        """A heap profile whose in-use values are those of the run's peak."""
        return any(c.startswith("inuse at peak") for c in getattr(self.profile, "comments", None) or [])


@dataclass
class ABInput:
    """An end-to-end pipeline A/B result (``enginepools ab`` output)."""

    path: str
    data: Any


@dataclass
class ReportData:
    bench: list[BenchInput] = field(default_factory=list)
    comparison: Result | None = None  # pooled vs plain, per benchmark and unit
    others: Result | None = None  # benchmarks without a twin: medians only
    verdicts: list[Verdict] = field(default_factory=list)
    rules: Rules = field(default_factory=Rules)
    decisions: list[Any] = field(default_factory=list)  # analysis.decision.PoolDecision, one per pool
    pool_series: Any = None  # analysis.decision.pool_inputs of the benchmarks (None: no pooled/plain pair)
    profiles: list[ProfileInput] = field(default_factory=list)
    ab: ABInput | None = None
    machine: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # remarks on the inputs
    generated: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc)
                           .strftime("%Y-%m-%d %H:%M UTC"))
    study: dict[str, Any] | None = None  # how `enginepools study` ran (None for `report`)

    # ------------------------------------------------------------ queries

    @property
    def records(self) -> list[Record]:
        return [r for b in self.bench for r in b.records]

    @property
    def rows(self) -> list[Row]:
        return self.comparison.rows if self.comparison else []

    def rows_for(self, unit: str) -> list[Row]:
        return [r for r in self.rows if r.unit == unit]

    def time_unit(self) -> str | None:
        units = {r.unit for r in self.rows}
        return next((u for u in self.rules.time_units if u in units), None)

    def heap_profiles(self) -> list[ProfileInput]:
        return [p for p in self.profiles if p.kind == "heap"]

    @property
    def absent(self) -> list[str]:
        """What this report could not say, one sentence each."""
        out = []
        if not self.bench:
            out.append("no benchmark results were given, so there are no timings, comparisons or verdicts")
        elif not self.rows:
            out.append("the benchmark results hold no pooled/plain pairs, so there are no verdicts")
        if not self.profiles:
            out.append("no pprof profile was given, so there are no heap or allocation graphs")
        elif not self.heap_profiles():
            out.append("no heap profile was given (only CPU or other profiles)")
        if self.ab is None:
            out.append("no end-to-end pipeline A/B result was given, so whole-program impact is not measured")
        return out

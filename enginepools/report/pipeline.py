"""The report's end-to-end section: what each pool does to the whole pipeline.

``pipeline_section(ab, heap_profile=None)`` returns a :class:`PipelineSection`
— a ``(markdown, figures)`` pair whose ``str()`` is the markdown — built only
from the data given:

* from the A/B (an :class:`enginepools.e2e.ab.ABResult`, or a path to what
  ``enginepools ab -json/-o`` wrote): per configuration, the median pipeline
  wall time, Δ against ``none`` with its bootstrap 95% CI and the U-test p,
  the Δ of peak RSS and of bytes allocated, and the verdict; a chart of the
  Δs with their CIs (``charts.ab_chart``);
* from a heap profile of one pipeline run (ideally at
  ``-memprofilerate 1``, so every allocation is in it): where the bytes go,
  by pipeline stage (worker pool, hash buffers, tar buffers, walk, tags,
  pool set-up) and by function, as percentages of ``alloc_space``; give a
  dict ``{"none": profile, "all": profile}`` for one breakdown per
  configuration (an A/B run with ``-heapprofiles DIR`` names its profiles
  in its JSON; they are used when no profile is given or when the one given
  is not of a pipeline run).
  :func:`enginepools.e2e.pipeline.profile_pipeline` makes such a profile
  in this process.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from . import fmt, md

__all__ = ["PipelineSection", "pipeline_section", "heap_breakdown", "HeapBreakdown", "STAGES"]


class PipelineSection(NamedTuple):
    markdown: str
    figures: dict[str, Any]

    def __str__(self) -> str:  # the report helper embeds str(section)
        return self.markdown


#: (stage, function names that identify it), tried from the allocating frame
#: towards the root; the first stage with a frame in the stack wins.
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("worker pool", ("ep_workerpool_create", "worker_main", "ep_workerpool_submit", "ep_workerpool_submit_timed")),
    ("pool set-up", ("ep_bufpool_create", "ep_bufpool_preset", "ep_strbuf_pool_create", "ep_strbuf_pool_create_cfg", "ep_pool_create",
                     "_ep_pool_create_budgeted")),
    ("hash read buffers", ("hash_job",)),
    ("tar copy buffers", ("tar_all", "ep_tar_add_fd", "ep_tar_add_mem", "ep_tar_finish")),
    ("image tags", ("tag_entry", "tag_layer_end")),
    ("walk (paths, names, entry table)", ("walk_dir", "walk_name", "add_entry")),
    ("pipeline, other", ("ep_pipeline_run", "keep_files")),
)
_ALLOC_FRAMES = {"ep_alloc", "ep_calloc", "ep_realloc", "ep_alloc_aligned", "malloc", "calloc", "realloc"}


# ------------------------------------------------------------------- heap

@dataclass
class HeapBreakdown:
    sample_type: str
    unit: str
    total: float
    stages: list[tuple[str, float]]     # (stage, value), largest first
    functions: list[tuple[str, float]]  # (function, flat value), largest first
    pools: list[tuple[str, float]]      # (pool label or "direct", value)
    period: int

    def pct(self, v: float) -> float:
        return 100.0 * v / self.total if self.total else 0.0


def _load_profile(p: Any) -> Any:
    if isinstance(p, (str, os.PathLike)):
        from ..pprof.profile import Profile

        return Profile.read(p)
    return p


def heap_breakdown(profile: Any, sample_type: str = "alloc_space") -> HeapBreakdown:
    """Where `sample_type` (default ``alloc_space``) goes in a heap profile:
    by pipeline stage, by allocating function (flat, allocation frames such
    as ``ep_alloc`` skipped) and by pool label."""
    prof = _load_profile(profile)
    names = [t for t, _ in prof.sample_types]
    if sample_type not in names:
        raise ValueError(f"heap profile has no {sample_type} (sample types: {', '.join(names)})")
    col = names.index(sample_type)
    unit = prof.sample_types[col][1]
    vals = prof.values[:, col].astype(float)
    s = prof.strings
    loc_index = {int(lid): i for i, lid in enumerate(prof.location_id)}
    # compiler clones (".part.0", ".constprop.0", ".isra.0") are the function they came from
    fn_name = {int(fid): s[int(n)].split(".", 1)[0] or s[int(n)]
               for fid, n in zip(prof.function_id, prof.function_name)}

    def loc_funcs(lid: int) -> list[str]:
        i = loc_index.get(lid)
        if i is None:
            return []
        a, b = prof.location_line_offsets[i], prof.location_line_offsets[i + 1]
        return [fn_name.get(int(f), "?") for f in prof.line_function[a:b]]

    stage_of = {fn: st for st, fns in STAGES for fn in fns}
    stages: dict[str, float] = {}
    funcs: dict[str, float] = {}
    pools: dict[str, float] = {}
    pool_keys = {i for i, x in enumerate(s) if x in ("pool", "ep_pool")}
    for k in range(prof.n_samples):
        v = vals[k]
        if v == 0:
            continue
        a, b = prof.sample_loc_offsets[k], prof.sample_loc_offsets[k + 1]
        frames = [f for lid in prof.sample_loc_ids[a:b] for f in loc_funcs(int(lid))]
        leaf = next((f for f in frames if f not in _ALLOC_FRAMES and not f.startswith(("_ep_alloc", "pool_"))),
                    frames[0] if frames else "?")
        funcs[leaf] = funcs.get(leaf, 0.0) + v
        st = next((stage_of[f] for f in frames if f in stage_of), "outside the pipeline")
        stages[st] = stages.get(st, 0.0) + v
        la, lb = prof.sample_label_offsets[k], prof.sample_label_offsets[k + 1]
        label = next((s[int(prof.label_str[j])] for j in range(la, lb) if int(prof.label_key[j]) in pool_keys),
                     "direct (no pool)")
        pools[label] = pools.get(label, 0.0) + v
    total = float(vals.sum())

    def ordered(d: dict[str, float]) -> list[tuple[str, float]]:
        return sorted(d.items(), key=lambda kv: -kv[1])

    return HeapBreakdown(sample_type, unit, total, ordered(stages), ordered(funcs), ordered(pools),
                         int(getattr(prof, "period", 0) or 0))


# -------------------------------------------------------------- rendering

def _pct_points(v: float | None) -> str:
    """A Δ the A/B summary gives in percent, printed as every Δ is."""
    return fmt.pct(None if v is None else v / 100)


def _interval_points(ci: Any) -> str:
    """An interval of a Δ the A/B summary gives in percent."""
    return "—" if not ci else f"[{_pct_points(ci[0])}, {_pct_points(ci[1])}]"


def _blocks(lines: list[str]) -> str:
    """Lines and blocks (md.table ends its own line) as one markdown text,
    blocks one blank line apart."""
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).rstrip() + "\n"


def _load_ab(ab: Any) -> Any:
    if isinstance(ab, (str, os.PathLike)):
        from ..e2e.ab import load

        return load(ab)
    return ab


def _ab_figure(ab: Any) -> Any:
    rows = [r for r in ab.comparison().rows if r.unit == "ns/op"]
    if not rows:
        return None
    from ..render.charts import ab_chart

    return ab_chart(rows, "ns/op", title="End-to-end A/B: pipeline wall time vs pools=none")


def _heap_figure(hb: HeapBreakdown) -> Any:
    from ..render.charts import heap_top_chart

    return heap_top_chart(hb.stages, hb.total, hb.unit, title="Pipeline heap profile: bytes allocated by stage",
                          sample=hb.sample_type)


def pipeline_section(ab_results: Any, heap_profile: Any = None, *, figures: bool = True) -> PipelineSection:
    """Markdown (and figures) for the report's end-to-end section."""
    ab = _load_ab(ab_results)
    out: list[str] = ["## End to end: the build-context pipeline", ""]
    figs: dict[str, Any] = {}
    if ab is not None:
        n = min((len(ab.values(c, "ns/op")) for c in ab.configs), default=0)
        out.append(
            f"Each configuration ran the whole pipeline (walk, SHA-256 of every file on the worker pool, ustar "
            f"archive, image tags) {n} times, interleaved with the others, each run in its own process"
            f"{f', on `{ab.root}`' if ab.root else ''} with {ab.threads} hash worker(s). Δ is the change of the "
            "median against `pools=none` (every buffer and builder allocated per use); the 95% CI of Δ is a "
            "bootstrap percentile interval; p is the two-sided Mann–Whitney U test."
            + ("" if ab.complete else " **The run was interrupted: these are the finished runs only.**"))
        if ab.note:
            out += ["", ab.note]
        out.append("")
        wall = {d["config"]: d for d in ab.summary("ns/op")}
        rss = {d["config"]: d for d in ab.summary("peak-RSS-B")} if len(ab.values("none", "peak-RSS-B")) else {}
        mem = {d["config"]: d for d in ab.summary("B/op")} if len(ab.values("none", "B/op")) else {}
        rows = []
        for c in ab.configs:
            w = wall.get(c, {})
            r, m = rss.get(c, {}), mem.get(c, {})
            if c == "none":
                rows.append([f"`{c}`", fmt.ms(w.get("median")), "baseline", "", "",
                             fmt.bytes_(r["median"]) if r.get("median") is not None else "—",
                             fmt.bytes_(m["median"]) if m.get("median") is not None else "—", ""])
                continue
            sig = "" if w.get("significant") is None else ("" if w["significant"] else " ~")
            rows.append([f"`{c}`", fmt.ms(w.get("median")), _pct_points(w.get("delta_pct")) + sig, _interval_points(w.get("delta_ci_pct")),
                         fmt.p_value(w.get("p_value")), _pct_points(r.get("delta_pct")), _pct_points(m.get("delta_pct")),
                         w.get("verdict", "—")])
        out.append(md.table(["pools", "wall time", "Δ time", "95% CI of Δ", "p", "peak RSS (Δ)", "B/op (Δ)",
                           "verdict"], rows))
        out.append("")
        out.append("`~`: not significant at α = 0.05. Peak RSS and B/op show the baseline's value and, for the "
                   "others, their Δ.")
        out.append("")
        for c in ab.configs[1:]:
            w = wall.get(c)
            if not w or w.get("delta_pct") is None:
                continue
            sig = "significant" if w.get("significant") else "not significant"
            what = "pool" if "+" not in c and c != "all" else "pools"
            subject = "all three pools" if c == "all" else f"the {c.replace('+', ' and ')} {what}"
            out.append(f"- With {subject}, the pipeline's wall time changes by {_pct_points(w['delta_pct'])} "
                       f"(95% CI {_interval_points(w.get('delta_ci_pct'))}, p = {fmt.p_value(w.get('p_value'))}, {sig})"
                       + (f"; verdict **{w['verdict']}**: {w.get('rule', '')}" if w.get("verdict") else "") + ".")
        if figures:
            try:
                fig = _ab_figure(ab)
            except Exception as e:  # a chart must never sink the report
                out += ["", f"(A/B chart not drawn: {e})"]
            else:
                if fig is not None:
                    figs["pipeline_ab"] = fig
    own = {c: p for c, p in (getattr(ab, "heap_profiles", None) or {}).items() if os.path.exists(p)}
    if own and (heap_profile is None or not _is_pipeline_profile(heap_profile)):
        heap_profile = own  # the A/B's own profiles are of pipeline runs for sure
    if heap_profile is not None:
        profiles = heap_profile if isinstance(heap_profile, dict) else {"": heap_profile}
        for label, prof in profiles.items():
            out.append("")
            out.append(_heap_markdown(prof, figs if figures else None, label))
    return PipelineSection(_blocks(out), figs)


def _is_pipeline_profile(p: Any) -> bool:
    if isinstance(p, dict):
        return all(_is_pipeline_profile(x) for x in p.values())
    try:
        return any(k != "outside the pipeline" for k, _ in heap_breakdown(p).stages)
    except (ValueError, KeyError, OSError):
        return False


def _heap_markdown(heap_profile: Any, figs: dict[str, Any] | None, label: str = "") -> str:
    title = "### Where the pipeline's memory goes" + (f" (pools={label})" if label else "")
    try:
        hb = heap_breakdown(heap_profile)
    except (ValueError, KeyError) as e:
        return f"{title}\n\nThe heap profile given cannot be read as one: {e}.\n"
    if hb.total <= 0:
        return f"{title}\n\nThe heap profile has no allocations in it.\n"
    if [k for k, _ in hb.stages] == ["outside the pipeline"]:
        return (f"{title}\n\nThe heap profile given has no allocation made by the pipeline (it is of another "
                "workload). Profile a pipeline run: `enginepools pipeline -memprofile heap.pb.gz -memprofilerate 1`, "
                "or `enginepools ab -heapprofiles DIR`.\n")
    rate = ("every allocation recorded (rate 1)" if hb.period == 1 else
            f"allocations sampled every {fmt.bytes_(hb.period)} on average, values unbiased" if hb.period else
            "allocations as sampled")
    lines = [title, "",
             f"From a heap profile of one pipeline run, {rate}: {fmt.bytes_(hb.total)} of `{hb.sample_type}` "
             "through `ep_alloc` in all (thread stacks and the C library's own buffers are not part of it).",
             "", "By stage (the first pipeline function on each allocation's stack):", "",
             md.table(["stage", hb.sample_type, "share"], [[k, fmt.bytes_(v), fmt.share(v, hb.total)] for k, v in hb.stages]),
             "", "By allocating function (flat, top 10):", "",
             md.table(["function", hb.sample_type, "share"],
                    [[f"`{k}`", fmt.bytes_(v), fmt.share(v, hb.total)] for k, v in hb.functions[:10]])]
    if len(hb.pools) > 1 or (hb.pools and not hb.pools[0][0].startswith("direct")):
        lines += ["", "By pool label (allocations a pool made on a miss carry its name):", "",
                  md.table(["pool", hb.sample_type, "share"], [[k, fmt.bytes_(v), fmt.share(v, hb.total)] for k, v in hb.pools])]
    top = hb.stages[0]
    lines += ["", f"The largest share, {fmt.share(top[1], hb.total)}, goes to {top[0]}."]
    if figs is not None:
        try:
            figs["pipeline_heap" + (f"_{label}" if label else "")] = _heap_figure(hb)
        except Exception as e:
            lines += ["", f"(heap chart not drawn: {e})"]
    return _blocks(lines)

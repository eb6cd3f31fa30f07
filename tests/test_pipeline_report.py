"""The report's end-to-end section: numbers recomputed from the A/B samples,
and the heap breakdown of a pipeline profile by stage and function."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from enginepools.e2e import ab as abmod
from enginepools.bench.result import BenchResult
from enginepools.report.pipeline import heap_breakdown, pipeline_section
from enginepools.pprof.profile import ProfileBuilder


def synthetic_ab(n: int = 10) -> abmod.ABResult:
    rng = np.random.default_rng(3)
    res = BenchResult(config={"pkg": "enginepools/pipeline"})
    base = {"none": 100e6, "hash": 80e6, "tar": 100.5e6}
    for i in range(n):
        for c, mu in base.items():
            res.add(f"Pipeline/pools={c}", 2, 1, {
                "ns/op": mu * (1 + 0.01 * rng.standard_normal()),
                "peak-RSS-B": 50e6 + (1e6 if c == "hash" else 0) + 1e4 * i,
                "B/op": 400e6 if c == "none" else 200e6 + i,
            })
    return abmod.ABResult("tree", ["none", "hash", "tar"], n, 2, res)


def test_section_reports_measured_delta_ci_p_and_verdict(tmp_path: Path) -> None:
    ab = synthetic_ab()
    sec = pipeline_section(ab)
    md = str(sec)
    assert md == sec.markdown and "pipeline_ab" in sec.figures
    none, hash_ = ab.values("none", "ns/op"), ab.values("hash", "ns/op")
    delta = 100 * (np.median(hash_) / np.median(none) - 1)
    row = next(line for line in md.splitlines() if line.startswith("| `hash`"))
    assert f"{delta:+.1f}%" in row
    lo, hi = ab.delta_ci("hash")
    assert lo * 100 <= delta <= hi * 100 and f"[{100 * lo:+.1f}%, {100 * hi:+.1f}%]" in row
    # -20%, significant: past the 15% keep threshold (peak RSS, the memory end to end, is a little higher)
    assert row.endswith("| keep |")
    tar_row = next(line for line in md.splitlines() if line.startswith("| `tar`"))
    assert tar_row.endswith("| remove |")  # +0.5%: within the ±10% of "no benefit"
    # and the same from the JSON file the ab command writes
    path = tmp_path / "ab.json"
    ab.write_json(path)
    again = pipeline_section(str(path), figures=False)
    assert re.sub(r"on `[^`]*`", "", again.markdown) == re.sub(r"on `[^`]*`", "", md)


def test_too_few_runs_give_no_ci() -> None:
    md = str(pipeline_section(synthetic_ab(n=3), figures=False))
    row = next(line for line in md.splitlines() if line.startswith("| `hash`"))
    assert "| — |" in row  # no CI below 4 samples


def heap_profile() -> object:
    b = ProfileBuilder(period=1)
    f = "csrc/pipeline.c"

    def add(nbytes: int, stack: list[str], pool: str | None = None) -> None:
        b.add_sample([1, nbytes, 0, 0], [(name, f, 1) for name in stack], labels={"pool": pool} if pool else None)

    add(600, ["ep_alloc", "hash_job", "worker_main"])
    add(200, ["ep_alloc", "pool_refill", "ep_bufpool_get", "buf_get", "tar_all", "ep_pipeline_run"], pool="tar")
    add(100, ["ep_alloc", "ep_workerpool_create", "ep_pipeline_run"])
    add(60, ["ep_realloc", "ep_strbuf_append", "walk_name", "walk_dir", "ep_pipeline_run"])
    add(40, ["ep_alloc", "ep_strbuf_init", "sb_get", "tag_entry", "tar_all", "ep_pipeline_run"])
    return b.build()


def test_heap_breakdown_by_stage_function_and_pool() -> None:
    hb = heap_breakdown(heap_profile())
    assert hb.total == 1000
    stages = dict(hb.stages)
    assert stages == {"hash read buffers": 600, "tar copy buffers": 200, "worker pool": 100,
                      "walk (paths, names, entry table)": 60, "image tags": 40}
    assert hb.stages[0][0] == "hash read buffers"
    funcs = dict(hb.functions)
    assert funcs["hash_job"] == 600 and funcs["ep_bufpool_get"] == 200 and funcs["ep_strbuf_append"] == 60
    assert dict(hb.pools) == {"direct (no pool)": 800, "tar": 200}


def test_section_with_heap_profile_gives_percentages() -> None:
    sec = pipeline_section(synthetic_ab(), heap_profile())
    md = sec.markdown
    assert "| hash read buffers | 600 B | 60.0% |" in md
    assert "| worker pool | 100 B | 10.0% |" in md
    assert "every allocation recorded (rate 1)" in md
    assert "pipeline_heap" in sec.figures


def test_profile_without_alloc_space_is_reported_not_raised() -> None:
    b = ProfileBuilder(sample_types=[("samples", "count"), ("cpu", "nanoseconds")], period_type=("cpu", "nanoseconds"))
    b.add_sample([1, 10], [("f", "x.c", 1)])
    md = str(pipeline_section(synthetic_ab(), b.build(), figures=False))
    assert "cannot be read as one" in md and "alloc_space" in md


def test_missing_ab_file_is_input_error(tmp_path: Path) -> None:
    from enginepools.errors import InputError

    with pytest.raises(InputError):
        pipeline_section(str(tmp_path / "nope.json"))


def test_real_heap_profile_of_the_pipeline(tmp_path: Path) -> None:
    from enginepools.e2e.pipeline import profile_pipeline
    from enginepools.e2e.treegen import TreeSpec, generate

    root = tmp_path / "t"
    generate(root, TreeSpec(seed=2, files=40, dirs=5, max_depth=2, median_size=5000, sigma=1.0))
    none = heap_breakdown(profile_pipeline(root, "none"))
    stages = dict(none.stages)
    # without pools: one 64 KiB read buffer per file, one 64 KiB copy buffer per entry (+1 for the end)
    assert stages["hash read buffers"] == 40 * 65536
    assert stages["tar copy buffers"] == (40 + 5 + 1) * 65536
    assert none.pools == [("direct (no pool)", none.total)]
    pooled = heap_breakdown(profile_pipeline(root, "hash,tar"))
    labels = dict(pooled.pools)
    assert labels["hash"] >= 65536 and labels["tar"] >= 65536
    assert pooled.total < none.total / 4


def test_heap_profile_of_another_workload_is_named_as_such() -> None:
    b = ProfileBuilder(period=1)
    b.add_sample([1, 4096, 0, 0], [("ep_alloc", "alloc.c", 1), ("kernel_hash_std", "kernels_hash.c", 1)])
    md = str(pipeline_section(synthetic_ab(), b.build(), figures=False))
    assert "no allocation made by the pipeline" in md and "| stage |" not in md


def test_ab_heap_profiles_used_when_the_given_one_is_not_of_the_pipeline(tmp_path: Path) -> None:
    ab = synthetic_ab()
    heap_profile().write(tmp_path / "heap-none.pb.gz")
    ab.heap_profiles = {"none": str(tmp_path / "heap-none.pb.gz")}
    b = ProfileBuilder(period=1)
    b.add_sample([1, 4096, 0, 0], [("ep_alloc", "alloc.c", 1), ("kernel_hash_std", "kernels_hash.c", 1)])
    md = str(pipeline_section(ab, b.build(), figures=False))
    assert "### Where the pipeline's memory goes (pools=none)" in md and "| hash read buffers | 600 B | 60.0% |" in md


def _ab_report(tmp_path: Path, ab: abmod.ABResult) -> tuple[Path, Path, Path]:
    from enginepools.report import gather
    from enginepools.report.writer import write_report

    ab_path, heap = tmp_path / "ab.json", tmp_path / "heap.pb.gz"
    ab.write_json(ab_path)
    heap_profile().write(str(heap))
    out = tmp_path / "r"
    write_report(gather([], [str(heap)], str(ab_path)), out)
    return out, ab_path, heap


def test_the_reports_end_to_end_section_recomputes_from_the_ab_file_and_the_profile(tmp_path: Path) -> None:
    import report_consistency as rc

    out, ab_path, heap = _ab_report(tmp_path, synthetic_ab())
    text = (out / "profiling-analysis-findings.md").read_text()
    assert "## End to end" in text and "| hash read buffers | 600 B | 60.0% |" in text
    assert rc.check_against_raw(out, ab=ab_path, profiles={"heap": heap}) == []
    # the same report checked against an A/B where hash and tar traded places: every moved figure is named
    other = tmp_path / "swapped.json"
    other.write_text(ab_path.read_text().replace("pools=hash", "pools=@").replace("pools=tar", "pools=hash")
                     .replace("pools=@", "pools=tar"))
    problems = rc.check_against_raw(out, ab=other, profiles={"heap": heap})
    assert any("hash: wall time 79.83 ms" in p for p in problems), problems
    assert any("tar: Δ time" in p for p in problems) and any("CI lower end" in p for p in problems)
    # one share changed by hand in the document
    doc = out / "profiling-analysis-findings.md"
    doc.write_text(text.replace("| worker pool | 100 B | 10.0% |", "| worker pool | 100 B | 11.0% |"))
    assert any("worker pool: share 11.0%, the profile gives 10.0%" in p
               for p in rc.check_against_raw(out, ab=ab_path, profiles={"heap": heap}))


def test_the_checker_counts_u_test_p_and_the_bootstrap_distribution_exactly() -> None:
    import report_consistency as rc

    # 3 vs 3, no ties, every x below every y: U = 0, one arrangement of C(6, 3) = 20 → p = 2/20
    assert rc.u_test_p([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]) == pytest.approx(0.1)
    # ties: x takes 2 of {1, 2, 2, 3}; its U (x > y counts 1, a tie ½) over the 6 ways: {1,2}: ½ (twice),
    # {1,3}: 2, {2,2}: 2, {2,3}: 3½ (twice).  Observed ½ is the smallest, 2 of 6 → p = 2 · 2/6
    assert rc.u_test_p([1.0, 2.0], [2.0, 3.0]) == pytest.approx(2 * 2 / 6)
    # the bootstrap median of {1, 2, 3}: the middle draw is 1 when ≥ 2 of 3 draws are 1: 3·(1/3)²(2/3) + (1/3)³
    d = rc.bootstrap_median_dist([1.0, 2.0, 3.0])
    assert d[1.0] == pytest.approx(7 / 27) and d[3.0] == pytest.approx(7 / 27) and d[2.0] == pytest.approx(13 / 27)
    # even n: {1, 2}: draws (1,1) → 1, (2,2) → 2, mixed → 1.5
    assert rc.bootstrap_median_dist([1.0, 2.0]) == pytest.approx({1.0: 0.25, 1.5: 0.5, 2.0: 0.25})

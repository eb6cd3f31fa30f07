"""The report on heap profiles taken at their peak: who holds the peak (the
worker pool and each pool label, as shares computed by hand here), the
in-use timeline beside a profile, and a bad timeline file as a clean error."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import report_consistency as rc
from enginepools import cli
from enginepools.pprof.profile import ProfileBuilder

KiB = 1024


def peak_profile(path: Path) -> Path:
    b = ProfileBuilder(sample_types=[("alloc_objects", "count"), ("alloc_space", "bytes"),
                                     ("inuse_objects", "count"), ("inuse_space", "bytes")],
                       period_type=("space", "bytes"), period=1,
                       comments=["inuse at peak: 262144 sampled bytes in use at event 10 of 20"])
    run = ("ep_pipeline_run", "pipeline.c", 1)
    worker = ("worker_main", "workerpool.c", 2)
    samples = [  # (stack leaf first, in-use bytes at the peak, pool label)
        ([("buf_get", "pipeline.c", 3), ("hash_job", "pipeline.c", 4), worker], 128 * KiB, "hash"),
        ([("ep_workerpool_create", "workerpool.c", 5), run], 1 * KiB, None),
        ([("buf_get", "pipeline.c", 3), ("tar_all", "pipeline.c", 6), run], 64 * KiB, "tar"),
        ([("add_entry", "pipeline.c", 7), ("walk_dir", "pipeline.c", 8), run], 63 * KiB, None),
    ]
    for stack, inuse, pool in samples:
        b.add_sample([10, 4 * inuse, 2, inuse], stack, labels={"pool": pool} if pool else None)
    b.build().write(path)
    return path


@pytest.fixture(scope="module")
def peak_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("peak")
    prof = peak_profile(d / "pooled-heap.pb.gz")
    timeline = {"t": [0.0, 0.001, 0.002, 0.003], "total": [0, 131072, 262144, 65536],
                "series": {"direct (no pool)": [0, 65536, 65536, 65536], "hash": [0, 65536, 131072, 0],
                           "tar": [0, 0, 65536, 0]},
                "peak_bytes": 262144, "peak_t": 0.002}
    (d / "pooled-heap.timeline.json").write_text(json.dumps(timeline))
    out = d / "report"
    assert cli.main(["report", "--profile", str(prof), "--out", str(out)]) == 0
    return out


def test_the_worker_pools_and_each_pools_share_of_the_peak(peak_report: Path) -> None:
    text = (peak_report / "pprof-results-analysis.md").read_text()
    section = text[text.index("## The heap at its peak"):]
    section = section[:section.index("\n## ", 5)]
    # 256 KiB at the peak; worker_main's stacks hold 128 KiB: 50.0%; its own create 1 KiB: 0.4%
    assert "had 256 KiB in use" in section
    assert re.search(r"worker pool \(stacks through `worker_main`.*holds 50\.0% \(128 of 256 KiB\)", section)
    assert "own queue and thread table hold 0.4% (1 of 256 KiB)" in section
    # labels: hash 128, tar 64, untagged 1 + 63 = 64 KiB
    assert "`hash` 50.0% (128 of 256 KiB)" in section
    assert "`tar` 25.0% (64 of 256 KiB)" in section and "direct (no pool) 25.0% (64 of 256 KiB)" in section
    assert rc.check_report(peak_report) == []


def test_the_timeline_beside_the_profile_is_drawn_and_the_graph_is_the_peaks(peak_report: Path) -> None:
    names = {p.name for p in peak_report.iterdir()}
    assert {"heap-timeline.png", "heap-timeline.svg"} <= names
    text = (peak_report / "pprof-results-analysis.md").read_text()
    assert "](heap-timeline.png)" in text
    assert "](heap-timeline.png)" in (peak_report / "visual-performance-summary.md").read_text()
    assert "Heap profile graph (in use at the peak)" in text


def test_a_bad_timeline_file_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prof = peak_profile(tmp_path / "x-heap.pb.gz")
    (tmp_path / "x-heap.timeline.json").write_text('{"t": [0, 1], "series": {"a": [1]}}')
    assert cli.main(["report", "--profile", str(prof), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "x-heap.timeline.json: not an in-use timeline" in err[0]

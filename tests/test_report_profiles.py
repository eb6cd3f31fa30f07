"""Reports from pprof profiles made with ProfileBuilder: top tables that are
pprof's own rows, call graphs, flame graphs, the differential flame graph —
and, when go is installed, the same rows and percentages as go tool pprof."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import report_consistency as rc
from enginepools import cli
from enginepools.pprof.graph import GraphOptions, build_graph
from enginepools.pprof.profile import ProfileBuilder

PKG = "example.com/tool/pkg"


def heap_profile(pool_share: int, path: Path) -> Path:
    """A Go-like heap profile: a worker pool holding most of the heap, a
    buffer pool in the benchmarked package holding `pool_share` KiB."""
    b = ProfileBuilder(period=524288)
    main = ("main.main", "main.go", 10)
    stacks = [
        ([(f"{PKG}/container.NewWorkerPool", "pool.go", 30), (f"{PKG}/build.Run", "run.go", 5), main], 5714),
        ([("runtime.allocm", "proc.go", 1)], 1539),
        ([("regexp.(*bitState).reset", "backtrack.go", 3), ("regexp.Compile", "regexp.go", 9), main], 528),
        ([("encoding/json.typeFields", "encode.go", 7), ("encoding/json.Marshal", "encode.go", 2), main], 512),
        ([(f"{PKG}/memory.(*BufferPool).Get", "buf.go", 12), (f"{PKG}/build.Run", "run.go", 6), main], pool_share),
    ]
    for stack, kib in stacks:
        nbytes = kib * 1024
        b.add_sample([kib // 8, 2 * nbytes, kib // 16, nbytes], stack)
    p = b.build()
    p.write(path)
    return path


@pytest.fixture(scope="module")
def profiles_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    d = tmp_path_factory.mktemp("prof")
    plain = heap_profile(64, d / "plain.prof")
    pooled = heap_profile(640, d / "pooled.prof")
    bench = d / "bench.txt"
    bench.write_text(f"pkg: {PKG}/memory\n" + "".join(
        f"BenchmarkBufWithPool-2 1000 {100 + i} ns/op 16 B/op 1 allocs/op\n"
        f"BenchmarkBufStandard-2 1000 {130 + i} ns/op 4096 B/op 1 allocs/op\n" for i in range(6)))
    out = d / "report"
    assert cli.main(["report", "--bench", str(bench), "--profile", str(plain), str(pooled), "--out", str(out)]) == 0
    return out, plain, pooled


def md_top_rows(text: str, heading: str) -> list[list[str]]:
    """The rows of the top table under `heading` (flat, flat%, sum%, cum, cum%, function)."""
    part = text[text.index(heading):]
    rows = []
    started = False
    for line in part.splitlines():
        if line.startswith("| flat |"):
            started = True
            continue
        if started and line.startswith("|---"):
            continue
        if started:
            if not line.startswith("|"):
                break
            rows.append(rc.split_row(line))
    return rows


def test_top_tables_are_pprofs_rows(profiles_report: tuple[Path, Path, Path]) -> None:
    out, plain, _ = profiles_report
    text = (out / "pprof-results-analysis.md").read_text()
    rows = md_top_rows(text, "## `plain` — heap profile")
    g = build_graph(str(plain), GraphOptions(sample_index="inuse_space", nodecount=20))
    assert [r[5].split("`")[1] for r in rows] == [n.name for n in g.nodes]
    assert rows[0][:2] == [g.format_value(g.nodes[0].flat), "68.37%"]  # 5714 KiB of 8357 KiB
    assert f"`{PKG}/container.NewWorkerPool`" in rows[0][5]
    for ix in ("inuse_space", "alloc_space", "inuse_objects", "alloc_objects"):
        assert f"`{ix}`" in text


def test_graphs_flame_graphs_and_diff_are_drawn(profiles_report: tuple[Path, Path, Path]) -> None:
    out, _, _ = profiles_report
    names = {p.name for p in out.iterdir()}
    for stem in ("heap-profile-graph-plain", "allocation-profile-graph-pooled", "flame-graph-plain", "flame-diff",
                 "heap-top", "time", "impact"):
        assert f"{stem}.png" in names and f"{stem}.svg" in names, stem
    assert "heap-profile-graph-plain.dot" in names
    dot = (out / "heap-profile-graph-plain.dot").read_text()
    assert "NewWorkerPool" in dot and "->" in dot
    text = (out / "pprof-results-analysis.md").read_text()
    assert "](flame-diff.png)" in text and "pooled vs plain: differential flame graph" in text
    for img in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (out / img).is_file(), img


def test_findings_name_the_top_consumer_and_the_package_share(profiles_report: tuple[Path, Path, Path]) -> None:
    out, _, _ = profiles_report
    findings = (out / "profiling-analysis-findings.md").read_text()
    assert f"`{PKG}/container.NewWorkerPool` holds the most of the in-use heap" in findings
    # benchmarked package: example.com/tool/pkg/memory holds 64 of 8357 KiB in `plain`
    assert re.search(r"benchmarked package .* account for 0\.8% \(0\.06250 of 8\.161 MiB\)", findings)
    assert rc.check_report(out) == []


@pytest.mark.go
@pytest.mark.skipif(shutil.which("go") is None, reason="go is not installed")
def test_same_rows_and_percentages_as_go_tool_pprof(profiles_report: tuple[Path, Path, Path]) -> None:
    out, plain, _ = profiles_report
    text = (out / "pprof-results-analysis.md").read_text()
    for ix in ("inuse_space", "alloc_objects"):
        go = subprocess.run(["go", "tool", "pprof", "-top", "-nodecount=20", f"-sample_index={ix}", str(plain)],
                            capture_output=True, text=True, check=True).stdout
        go_rows = [line.split() for line in go.splitlines() if re.match(r"^\s*[\d.]+\w*\s+[\d.]+%", line)]
        section = text[text.index("## `plain` — heap profile"):]
        ours = md_top_rows(section, f"`{ix}`")
        assert len(ours) == len(go_rows)
        for o, g in zip(ours, go_rows):
            assert o[:5] == g[:5]
            assert o[5].split("`")[1] == g[5]

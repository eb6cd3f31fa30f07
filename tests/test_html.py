"""Jupyter rendering: result objects show as compact, escaped HTML tables."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np

from enginepools.render import html as _html
from enginepools.bench import benchfmt, pybench
from enginepools.analysis import compare, verdict


class _Cells(HTMLParser):
    """Collect table rows as lists of cell texts (and check tags balance)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.stack: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("table", "tr", "td", "th", "caption", "thead", "tbody", "span", "b", "div", "style"):
            self.stack.append(tag)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}> in {self.stack}"
        self.stack.pop()
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def cells(html_text: str) -> list[list[str]]:
    p = _Cells()
    p.feed(html_text)
    p.close()
    assert not p.stack
    return p.rows


def _records(pool_ns: list[float], std_ns: list[float], name: str = "Hash",
             pool_bytes: float = 16.0) -> list[benchfmt.Record]:
    out = []
    for v in pool_ns:
        out.append(benchfmt.make_record(f"Benchmark{name}/impl=pool-2", 1000, {"ns/op": v, "B/op": pool_bytes}))
    for v in std_ns:
        out.append(benchfmt.make_record(f"Benchmark{name}/impl=std-2", 1000, {"ns/op": v, "B/op": 65536.0}))
    return out


def test_compare_result_html_matches_the_numbers() -> None:
    res = compare.compare_columns(_records([120, 121, 122, 119, 123, 120], [100, 101, 99, 100, 102, 98]), "impl")
    rows = cells(res._repr_html_())
    head = rows[0]
    assert head == ["benchmark", "std", "pool", "vs std"]
    hash_row = next(r for r in rows if r[0] == "Hash-2")
    assert hash_row[3].startswith("+20.50%") and "p=0.002" in hash_row[3]  # medians 100 -> 120.5
    assert 'class="ep-sig"' in res._repr_html_()  # significant rows stand out
    # one table per unit, B/op scaled as in the text tables: one binary scale per
    # row, set by its smallest value (16 B: no prefix, two decimals), as benchstat
    assert any(r[:3] == ["Hash-2", "65536.00 ± 0%", "16.00 ± 0%"] for r in rows)


def test_not_significant_rows_are_marked() -> None:
    res = compare.compare_columns(_records([100, 103, 99, 101], [101, 100, 102, 99]), "impl")
    rows = cells(res._repr_html_())
    r = next(r for r in rows if r[0] == "Hash-2")
    assert "~" in r[3]


def test_verdicts_render_with_decision_and_rule() -> None:
    res = compare.compare_columns(_records([200, 201, 202, 199, 203, 200], [100, 101, 99, 100, 102, 98],
                                           pool_bytes=65536.0), "impl")
    vs = verdict.decide(res.rows)
    assert isinstance(vs, list) and len(vs) == 1
    rows = cells(vs._repr_html_())
    assert rows[0][:3] == ["pool", "vs", "verdict"]
    assert rows[1][2] == "remove" and rows[1][3].startswith("+100") and "significantly slower" in rows[1][-1]
    assert 'class="ep-remove"' in vs._repr_html_()
    assert cells(vs[0]._repr_html_())[1][2] == "remove"


def test_values_are_escaped() -> None:
    recs = [benchfmt.make_record("Benchmark<script>/impl=pool", 1, {"ns/op": 1.0}),
            benchfmt.make_record("Benchmark<script>/impl=std", 1, {"ns/op": 2.0})]
    out = compare.compare_columns(recs, "impl")._repr_html_()
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_pybench_result_html() -> None:
    r = pybench.PyBenchResult("f", np.full(6, 100), np.array([10.0, 11, 12, 10, 11, 10]),
                              np.zeros(6), np.zeros(6), 4, "1s")
    rows = cells(r._repr_html_())
    assert rows[0] == ["unit", "median ±CI", "n"]
    assert rows[1][0] == "ns/op" and rows[1][1].startswith("10.50") and rows[1][2] == "6"


def test_number_formatting() -> None:
    assert _html.num(1234567.0) == "1,234,567"
    assert _html.num(0.012345) == "0.01235"
    assert _html.num(None) == "—"
    assert _html.pct(17.61) == "+17.6%" and _html.pval(0.0021) == "0.002"
    assert re.fullmatch(r"100\.0 ±10%", _html.median_ci(100.0, 90.0, 105.0))


def test_bench_result_html_shows_median_and_interval() -> None:
    from enginepools.bench.result import BenchResult

    res = BenchResult()
    for v in (100.0, 101.0, 99.0, 100.0, 102.0, 98.0):
        res.add("HashBuffer/impl=pool", 1, 1000, {"ns/op": v, "B/op": 0.0, "hits/op": 1.0})
    res.add("HashBuffer/impl=std", 1, 1000, {"ns/op": 50.0, "B/op": 32.0})
    rows = cells(res._repr_html_())
    assert rows[0] == ["benchmark", "samples", "ns/op", "B/op", "hits/op"]
    assert rows[1] == ["BenchmarkHashBuffer/impl=pool", "6", "100.0 ±2%", "0", "1.000 ±0%"]
    assert rows[2] == ["BenchmarkHashBuffer/impl=std", "1", "50.00", "32.00", ""]
    res.complete = False
    assert "incomplete run" in res._repr_html_()


def _profile():
    from enginepools.pprof.profile import ProfileBuilder

    b = ProfileBuilder()
    b.add_sample([1, 512, 1, 512], [("malloc", "a.c", 10), ("main", "a.c", 3)])
    b.add_sample([3, 4096, 0, 0], [("pool_get", "p.c", 10), ("main", "a.c", 3)])
    return b.build()


def test_profile_and_top_graph_html_match_pprof_top() -> None:
    from enginepools.pprof import graph as pprof_graph, report as pprof_report

    p = _profile()
    rows = cells(p._repr_html_())
    assert rows[0] == ["flat", "flat%", "sum%", "cum", "cum%", "function"]
    assert rows[1] == ["512B", "100%", "100%", "512B", "100%", "malloc"]  # default type: inuse_space
    g = pprof_graph.build_graph(p, pprof_graph.GraphOptions(sample_index="alloc_space"))
    html_rows = cells(g._repr_html_())[1:]
    text_rows = [line.split() for line in pprof_report.top_text(g).splitlines()[3:]]
    assert html_rows == text_rows == [["4096B", "88.89%", "88.89%", "4096B", "88.89%", "pool_get"],
                                      ["512B", "11.11%", "100%", "512B", "11.11%", "malloc"],
                                      ["0", "0%", "100%", "4608B", "100%", "main"]]


def test_pprof_graph_draws_as_a_call_graph_in_its_sample_unit() -> None:
    # pprof_graph.Graph.unit is pprof's display unit ("MB"); the call graph must scale the
    # byte values itself, or 37.5 MB shows as "39321600MB"
    from enginepools.render import callgraph
    from enginepools.pprof import graph as pprof_graph
    from enginepools.pprof.profile import ProfileBuilder

    b = ProfileBuilder()
    b.add_sample([600, 39321600, 0, 0], [("tb_std_run", "k.c", 10), ("main", "a.c", 3)])
    g = pprof_graph.build_graph(b.build(), pprof_graph.GraphOptions(sample_index="alloc_space"))
    dot = callgraph.to_dot(g)
    assert "37.50MB" in dot and "39321600MB" not in dot


def test_ab_result_html(tmp_path) -> None:
    from enginepools.e2e import ab

    lines = ["goos: linux", "pkg: enginepools/pipeline"]
    for i in range(6):
        lines.append(f"BenchmarkPipeline/pools=none-2 1 {30_000_000 + i * 10_000} ns/op {50_000_000 + i} B/op")
        lines.append(f"BenchmarkPipeline/pools=all-2 1 {20_000_000 + i * 10_000} ns/op {300_000 + i} B/op")
    f = tmp_path / "ab.txt"
    f.write_text("\n".join(lines) + "\n")
    res = ab.load(f)
    rows = cells(res._repr_html_())
    assert rows[0] == ["unit", "pools", "n", "median", "Δ vs none", "95% CI of Δ", "p", "verdict"]
    none_row = next(r for r in rows if r[:2] == ["ns/op", "none"])
    all_row = next(r for r in rows if r[:2] == ["ns/op", "all"])
    assert none_row[2:4] == ["6", "30.0ms"] and none_row[-1] == "(baseline)"
    assert all_row[3] == "20.0ms" and all_row[4] == "-33.3%" and all_row[6] == "0.002" and all_row[7] == "keep"
    assert any(r[:2] == ["B/op", "all"] for r in rows)

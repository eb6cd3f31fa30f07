"""Comparison tables: layout, deltas, p-values, warnings, output formats."""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest
import scipy.stats

from enginepools.analysis import compare, tables as compare_render
from enginepools.bench.benchfmt import Record, make_record, parse_text
from enginepools.errors import InputError

DATA = Path(__file__).parent / "data"
CFG = {"goos": "linux", "pkg": "example.com/p"}


def samples(name: str, ns: Sequence[float], bop: Sequence[float] | None = None) -> list[Record]:
    out = []
    for i, v in enumerate(ns):
        vals = {"ns/op": float(v)}
        if bop is not None:
            vals["B/op"] = float(bop[i])
        out.append(make_record(name, 1000, vals, CFG))
    return out


def study_result() -> compare.Result:
    recs = parse_text((DATA / "study_like_bench.txt").read_text(), "study_like_bench.txt")
    return compare.compare_columns(recs, pairs=[("WithPool", "Standard")])


def test_one_sample_each_gives_deltas_but_never_significance() -> None:
    res = study_result()
    time = {r.name: r for r in res.rows if r.unit == "ns/op"}
    assert set(time) == {"StringBuilder-4", "HashBuffer-4", "TarBuffer-4"}
    assert time["StringBuilder-4"].delta == pytest.approx((80.0 - 64.0) / 64.0)
    assert time["HashBuffer-4"].delta == pytest.approx(2.0)
    assert time["TarBuffer-4"].delta == pytest.approx(-0.5)
    for r in res.rows:
        assert r.p_value is None and not r.significant
        # benchstat's warnings: equal samples say so, the others how many samples a test needs
        equal = r.old_values == r.new_values
        want = "all samples are equal" if equal else "need >= 4 samples to detect a difference at alpha level 0.05"
        assert want in r.warnings
        assert r.comparison.p_test == 1.0  # one sample a side: U is 0 or 1 of 1, both as extreme
        assert (r.old_label, r.new_label) == ("Standard", "WithPool")
    text = compare_render.render_text(res)
    # not significant: "~" and no Δ (benchstat); the test's p-value is still printed
    assert "64.00n ± ∞ ¹   80.00n ± ∞ ¹        ~ (p=1.000 n=1) ²" in text
    assert "+25" not in text and "-50" not in text
    assert "need >= 4 samples to detect a difference at alpha level 0.05" in text
    assert "need >= 6 samples for confidence interval at level 0.95" in text
    assert "not compared (no /impl): PoolContentionSimulation-4, BufferPool/Get/Put-4" in text


def test_json_rows_have_the_documented_schema() -> None:
    rows = json.loads(compare_render.render_json(study_result()))
    assert len(rows) == 9  # 3 benchmarks x 3 units
    for row in rows:
        assert {"name", "unit", "old", "new", "delta_pct", "p_value", "significant"} <= set(row)
        for side in ("old", "new"):
            assert set(row[side]) == {"median", "ci_low", "ci_high", "n"}
            assert row[side]["ci_low"] is None and row[side]["ci_high"] is None and row[side]["n"] == 1
        assert row["p_value"] is None and row["significant"] is False
    tar_mem = next(r for r in rows if r["name"] == "TarBuffer-4" and r["unit"] == "B/op")
    assert tar_mem["old"]["median"] == 65536 and tar_mem["new"]["median"] == 16
    assert tar_mem["delta_pct"] == pytest.approx(100 * (16 - 65536) / 65536)


def six_vs_six() -> list[Record]:
    std = samples("BenchmarkHash/impl=std-2", [100, 102, 101, 99, 103, 100.5], [32] * 6)
    pool = samples("BenchmarkHash/impl=pool-2", [80, 82, 81, 79, 83, 80.5], [32] * 6)
    same = samples("BenchmarkTar/impl=std-2", [50, 51, 52, 53, 54, 55], [0] * 6) + \
        samples("BenchmarkTar/impl=pool-2", [50.5, 51.5, 52.5, 53.5, 54.5, 49], [0] * 6)
    return std + pool + same


def test_col_impl_compares_against_std_with_intervals_and_exact_p() -> None:
    res = compare.compare_columns(six_vs_six(), "/impl")
    assert res.tables[0].columns == ["std", "pool"]
    row = next(r for r in res.rows if r.name == "Hash-2" and r.unit == "ns/op")
    std = [100, 102, 101, 99, 103, 100.5]
    pool = [80, 82, 81, 79, 83, 80.5]
    assert row.old.center == np.median(std) and row.new.center == np.median(pool)
    assert (row.old.lo, row.old.hi) == (min(std), max(std))  # n=6: orders 1 and 6
    assert row.delta == pytest.approx((np.median(pool) - np.median(std)) / np.median(std))
    assert row.p_value == pytest.approx(scipy.stats.mannwhitneyu(std, pool, method="exact").pvalue)
    assert row.significant
    d = row.to_dict()
    assert d["old"]["ci_low"] == 99 and d["old"]["ci_high"] == 103 and d["old"]["n"] == 6


def test_identical_samples_print_tilde_and_do_not_crash() -> None:
    res = compare.compare_columns(six_vs_six(), "/impl")
    mem = next(r for r in res.rows if r.name == "Hash-2" and r.unit == "B/op")
    assert mem.p_value == 1.0 and not mem.significant and mem.delta == 0.0
    zero = next(r for r in res.rows if r.name == "Tar-2" and r.unit == "B/op")
    assert zero.delta == 0.0 and zero.p_value == 1.0
    text = compare_render.render_text(res)
    assert "Hash-2    32.00 ± 0%     32.00 ± 0%       ~ (p=1.000 n=6) ¹" in text
    assert "¹ all samples are equal" in text
    # significant: Δ of the medians 100.75 -> 80.75 instead of ~
    assert f"{(80.75 / 100.75 - 1) * 100:+.2f}% (p=0.002 n=6)" == "-19.85% (p=0.002 n=6)"
    assert "-19.85% (p=0.002 n=6)" in text


def test_holm_adjusts_p_values_across_a_table() -> None:
    res = compare.compare_columns(six_vs_six(), "/impl", holm=True)
    time = [r for r in res.rows if r.unit == "ns/op"]
    raw = [r.comparison.p for r in time]  # Hash (p=.002) and Tar (p=.699): m = 2
    lo = min(1.0, 2 * min(raw))
    hi = max(lo, max(raw))
    assert [r.p_value for r in time] == pytest.approx([lo, hi] if raw[0] < raw[1] else [hi, lo])
    assert time[0].p_value == pytest.approx(2 * time[0].comparison.p) and time[0].significant
    assert all(r.to_dict()["p_raw"] == r.comparison.p for r in time)
    assert "vs base (Holm)" in compare_render.render_text(res)


def test_missing_base_column_is_an_error_naming_the_values() -> None:
    with pytest.raises(InputError, match=r"no benchmark has /impl=plain .*values seen: std, pool"):
        compare.compare_columns(six_vs_six(), "/impl", base="plain")
    res = compare.compare_columns(six_vs_six(), "/impl", base="pool")
    assert res.rows[0].old_label == "pool" and res.rows[0].new_label == "std"


def test_pair_maps_suffix_variants_onto_one_benchmark() -> None:
    recs = [make_record(n, 1, {"ns/op": 1.0}) for n in (
        "BenchmarkStringBuilderWithPool-8", "BenchmarkStringBuilderStandard-8",
        "BenchmarkPool/WithStringBuilder-8", "BenchmarkPool/NoPool-8",
        "BenchmarkFooWithPool/size=64", "BenchmarkWithPool", "BenchmarkX/impl=a")]
    out = compare.pair_variants(recs, [("WithPool", "Standard"), ("WithStringBuilder", "NoPool")])
    assert [r.name for r in out] == [
        "BenchmarkStringBuilder/impl=WithPool-8", "BenchmarkStringBuilder/impl=Standard-8",
        "BenchmarkPool/impl=WithStringBuilder-8", "BenchmarkPool/impl=NoPool-8",
        "BenchmarkFoo/impl=WithPool/size=64", "BenchmarkWithPool", "BenchmarkX/impl=a"]
    # longest suffix wins: "NoPool" is not read as "No" + "Pool"
    out = compare.pair_variants([make_record("BenchmarkANoPool", 1, {"x": 1})], [("Pool", "NoPool")])
    assert out[0].name == "BenchmarkA/impl=NoPool"


def test_each_pair_compares_its_own_variants() -> None:
    recs = parse_text((DATA / "study_like_bench.txt").read_text(), "s.txt")
    res = compare.compare_columns(recs, pairs=[("WithPool", "Standard"), ("WithStringBuilder", "NoPool")])
    sb = next(r for r in res.rows if r.name == "StringBuilderPool-4" and r.unit == "ns/op")
    assert (sb.old_label, sb.new_label) == ("NoPool", "WithStringBuilder") and sb.delta == pytest.approx(1.0)


def test_filter_selects_benchmarks_by_full_name() -> None:
    res = compare.compare_columns(six_vs_six(), "/impl", filter="Tar")
    assert {r.name for r in res.rows} == {"Tar-2"}
    with pytest.raises(InputError, match="no benchmark name matches"):
        compare.compare_columns(six_vs_six(), "/impl", filter="Nothing")


def test_two_files_compare_positionally(tmp_path: Path) -> None:
    old = tmp_path / "old.txt"
    new = tmp_path / "new.txt"
    old.write_text("pkg: p\n" + "".join(f"BenchmarkA-2 10 {v} ns/op 8 B/op\n" for v in (10, 11, 12, 10.5)))
    new.write_text("pkg: p\n" + "".join(f"BenchmarkA-2 10 {v} ns/op 8 B/op\n" for v in (20, 21, 22, 20.5)))
    res = compare.compare(old, new)
    row = next(r for r in res.rows if r.unit == "ns/op")
    assert (row.old_label, row.new_label, row.name) == ("old.txt", "new.txt", "A-2")
    assert row.delta == pytest.approx((20.75 - 10.75) / 10.75)
    assert row.p_value == pytest.approx(2 / 70)


def test_units_that_differ_between_files_are_an_error(tmp_path: Path) -> None:
    old = tmp_path / "old.txt"
    new = tmp_path / "new.txt"
    old.write_text("BenchmarkA-2 10 10 ns/op 8 B/op\n")
    new.write_text("BenchmarkA-2 10 20 ns/op\n")
    with pytest.raises(InputError, match=r"A-2: units differ between .*old\.txt \(ns/op, B/op\) and "
                                          r".*new\.txt \(ns/op\)"):
        compare.compare(old, new)


def test_csv_and_markdown_carry_the_same_rows() -> None:
    res = study_result()
    rows = list(csv.DictReader(io.StringIO(compare_render.render_csv(res))))
    assert len(rows) == 9
    sb = next(r for r in rows if r["name"] == "StringBuilder-4" and r["unit"] == "ns/op")
    assert float(sb["delta_pct"]) == pytest.approx(25.0) and sb["p_value"] == "" and sb["significant"] == "false"
    md = compare_render.render_markdown(res)
    assert "| StringBuilder-4 | 64.00n ± ∞ ¹ | 80.00n ± ∞ ¹ | ~ (p=1.000 n=1) ² |" in md


@pytest.mark.parametrize("value, kind, text", [
    (59.88e-9, "si", "59.88n"), (1.237e-6, "si", "1.237µ"), (489.9e-9, "si", "489.9n"),
    (112.0, "iec", "112.0"), (65536.0, "iec", "64.00Ki"), (0.0, "si", "0.000"), (3.0, "si", "3.000"),
    (999.96, "si", "1.000k"),
])
def test_quantities_are_scaled_like_benchstat(value: float, kind: str, text: str) -> None:
    assert compare_render.format_quantity(value, kind) == text


@pytest.mark.parametrize("unit, label, factor, kind", [
    ("ns/op", "sec/op", 1e-9, "si"), ("clear-ns/op", "clear-sec/op", 1e-9, "si"),
    ("MB/s", "B/s", 1e6, "iec"), ("B/op", "B/op", 1.0, "iec"), ("retained-B", "retained-B", 1.0, "iec"),
    ("hits/op", "hits/op", 1.0, "si"), ("ns/MB", "sec/MB", 1e-9, "si"),  # the denominator is left alone
    ("frame-bytes", "frame-bytes", 1.0, "iec"), ("Bytes/op", "Bytes/op", 1.0, "si"),
])
def test_units_are_tidied_like_benchstat(unit: str, label: str, factor: float, kind: str) -> None:
    assert compare_render.display_unit(unit) == (label, factor, kind)


def test_one_file_summary_in_json_is_the_median_and_its_interval() -> None:
    from enginepools.bench.benchfmt import parse_text as _parse

    text = "pkg: example.com/p\n" + "".join(f"BenchmarkA-2 100 {v} ns/op {b} B/op\n"
                                            for v, b in ((5, 64), (3, 64), (9, 64), (4, 64), (7, 64), (6, 64)))
    text += "BenchmarkB-2 100 2 ns/op\nBenchmarkB-2 100 4 ns/op\n"
    res = compare.summarize_records(_parse(text, "run.txt"), label="run")
    rows = {(r["name"], r["unit"]): r for r in res.to_json_rows()}
    # 6 samples at 95%: the median 5.5 and the interval from the 1st to the 6th order statistic
    assert rows[("A-2", "ns/op")] == {"name": "A-2", "unit": "ns/op", "old": {"median": 5.5, "ci_low": 3.0,
                                                                              "ci_high": 9.0, "n": 6},
                                      "new": None, "delta_pct": None, "p_value": None, "significant": False,
                                      "pkg": "example.com/p", "old_label": "run", "new_label": None, "p_raw": None,
                                      "holm": False, "warnings": []}
    assert rows[("A-2", "B/op")]["old"]["median"] == 64.0
    # 2 samples: no interval, and the warning says how many it takes
    b = rows[("B-2", "ns/op")]
    assert b["old"] == {"median": 3.0, "ci_low": None, "ci_high": None, "n": 2}
    assert b["warnings"] == ["need >= 6 samples for confidence interval at level 0.95"]
    assert set(rows) == {("A-2", "ns/op"), ("A-2", "B/op"), ("B-2", "ns/op")}


# ------------------------------------- compare_files / summaries: JSON rows by hand

def _bench_text(cpu: str, rows: dict[str, Sequence[float]]) -> str:
    return f"goos: linux\npkg: example.com/p\ncpu: {cpu}\n" + "".join(
        f"Benchmark{name} 100 {v} ns/op\n" for name, vs in rows.items() for v in vs)


HASH_OLD = [100, 102, 101, 99, 103, 100.5]   # sorted 99 100 100.5 101 102 103: median 100.75
HASH_NEW = [80, 82, 81, 79, 83, 80.5]        # median 80.75; every value below every old one
TAR_OLD = [50, 51, 52, 53, 54, 55]           # median 52.5
TAR_NEW = [1050, 1051, 1052, 1053, 1054, 1055]  # median 1052.5; every value above


def _three_files() -> list[list[Record]]:
    old = parse_text(_bench_text("X", {"Hash-2": HASH_OLD, "Tar-2": TAR_OLD}), "a/old.txt")
    new = parse_text(_bench_text("Y", {"Hash-2": HASH_NEW, "Tar-2": TAR_NEW}), "b/new.txt")
    other = parse_text(_bench_text("X", {"Other-2": [1, 2, 3]}), "c/other.txt")
    return [old, new, other]


def test_compare_files_json_rows_by_hand() -> None:
    old, new, other = _three_files()
    res = compare.compare_files([old, new, other])
    assert (res.mode, res.alpha, res.holm, res.confidence, res.col) == ("files", 0.05, False, 0.95, None)
    # labels from the records' files; the common configuration drops cpu and says so
    assert res.config == {"goos": "linux", "pkg": "example.com/p"}
    assert res.notes == ["cpu differs between inputs: X | Y",
                         "nothing compared for other.txt: no benchmark in it has the same pkg and name as one in "
                         "old.txt"]
    rows = {r["name"]: r for r in res.to_json_rows()}
    assert set(rows) == {"Hash-2", "Tar-2"}
    # complete separation of 6 and 6: the exact two-sided U-test p is 2 / C(12, 6) = 2 / 924
    p = 2 / 924
    assert rows["Hash-2"] == {
        "name": "Hash-2", "unit": "ns/op",
        "old": {"median": 100.75, "ci_low": 99.0, "ci_high": 103.0, "n": 6},
        "new": {"median": 80.75, "ci_low": 79.0, "ci_high": 83.0, "n": 6},
        "delta_pct": pytest.approx(100 * (80.75 - 100.75) / 100.75), "p_value": pytest.approx(p),
        "significant": True, "pkg": "example.com/p", "old_label": "old.txt", "new_label": "new.txt",
        "p_raw": pytest.approx(p), "holm": False, "warnings": []}
    assert rows["Tar-2"]["delta_pct"] == pytest.approx(100 * 1000 / 52.5)
    assert rows["Tar-2"]["new"] == {"median": 1052.5, "ci_low": 1050.0, "ci_high": 1055.0, "n": 6}
    assert json.loads(json.dumps(res.to_json_rows())) == res.to_json_rows()  # plain JSON values


def test_compare_files_holm_adjusts_and_keeps_the_raw_p() -> None:
    old, new, _ = _three_files()
    res = compare.compare_files([old, new], ["before", "after"], holm=True, alpha=0.004)
    rows = {r["name"]: r for r in res.to_json_rows()}
    # two raw p of 2/924 each: Holm multiplies the smaller by 2 and the next by 1 (kept monotone): both 4/924
    for name in ("Hash-2", "Tar-2"):
        assert rows[name]["p_raw"] == pytest.approx(2 / 924)
        assert rows[name]["p_value"] == pytest.approx(4 / 924)
        assert rows[name]["holm"] is True
        assert rows[name]["significant"] is False  # 0.00433 > alpha = 0.004
        assert (rows[name]["old_label"], rows[name]["new_label"]) == ("before", "after")
    assert (res.alpha, res.holm) == (0.004, True)
    res = compare.compare_files([old, new], ["before", "after"], holm=True, alpha=4 / 924)
    assert all(r.significant for r in res.rows)  # p = alpha is significant


def test_compare_files_filter_and_label_errors() -> None:
    old, new, _ = _three_files()
    res = compare.compare_files([old, new], filter="Tar")
    assert [r["name"] for r in res.to_json_rows()] == ["Tar-2"]
    with pytest.raises(InputError, match=r"^compare_files: need at least two inputs$"):
        compare.compare_files([old])
    with pytest.raises(InputError, match=r"^column labels are not unique: x, x$"):
        compare.compare_files([old, new], ["x", "x"])


def test_compare_files_labels_are_paths_when_base_names_collide(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = tmp_path / "a" / "run.txt", tmp_path / "b" / "run.txt"
    a.write_text(_bench_text("X", {"Hash-2": HASH_OLD}))
    b.write_text(_bench_text("X", {"Hash-2": HASH_NEW}))
    (row,) = compare.compare_files([a, b]).rows
    assert (row.old_label, row.new_label) == (str(a), str(b))
    assert compare.file_labels([a, tmp_path / "c.txt"]) == ["run.txt", "c.txt"]
    assert compare.compare_files([a, b]).notes == []  # same cpu: nothing to say


def test_summary_of_one_file_by_hand() -> None:
    recs = parse_text(_bench_text("X", {"Hash-2": HASH_OLD, "Tar-2": TAR_OLD}), "runs/base.txt")
    res = compare.summarize_records(recs)
    assert (res.mode, res.alpha, res.holm, res.confidence) == ("single", 0.05, False, 0.95)
    assert res.config == {"goos": "linux", "pkg": "example.com/p", "cpu": "X"} and res.notes == []
    assert res.rows == []
    assert res.to_json_rows() == [
        {"name": "Hash-2", "unit": "ns/op", "old": {"median": 100.75, "ci_low": 99.0, "ci_high": 103.0, "n": 6},
         "new": None, "delta_pct": None, "p_value": None, "significant": False, "pkg": "example.com/p",
         "old_label": "base.txt", "new_label": None, "p_raw": None, "holm": False, "warnings": []},
        {"name": "Tar-2", "unit": "ns/op", "old": {"median": 52.5, "ci_low": 50.0, "ci_high": 55.0, "n": 6},
         "new": None, "delta_pct": None, "p_value": None, "significant": False, "pkg": "example.com/p",
         "old_label": "base.txt", "new_label": None, "p_raw": None, "holm": False, "warnings": []},
    ]
    # filter, a given label, another confidence: at 90% with 6 samples the 2nd to 5th order
    # statistics cover only 1 - 2 x 7/64 = 78%, so the interval is still the 1st to the 6th (97%)
    res = compare.summarize_records(recs, filter="Tar", label="mine", confidence=0.9)
    assert res.confidence == 0.9
    (row,) = res.to_json_rows()
    assert (row["name"], row["old_label"], row["old"]) == ("Tar-2", "mine",
                                                           {"median": 52.5, "ci_low": 50.0, "ci_high": 55.0, "n": 6})


def test_summary_of_two_files_labels_by_the_first_and_notes_the_config() -> None:
    a = parse_text(_bench_text("X", {"Hash-2": HASH_OLD[:3]}), "a/run.txt")
    b = parse_text(_bench_text("Y", {"Hash-2": HASH_OLD[3:]}), "b/run.txt")
    res = compare.summarize_records(a + b)
    (row,) = res.to_json_rows()
    # base names collide: the first file's path; the six samples pooled into one cell
    assert row["old_label"] == "a/run.txt"
    assert row["old"] == {"median": 100.75, "ci_low": 99.0, "ci_high": 103.0, "n": 6}
    assert res.notes == ["cpu differs between inputs: X | Y"]
    assert res.config == {"goos": "linux", "pkg": "example.com/p"}
    empty = compare.summarize_records([])
    assert (empty.tables, empty.to_json_rows(), empty.config, empty.notes) == ([], [], {}, [])


# ------------------------------------------------ the geomean row, by hand

def _two_files(old_rows: dict[str, Sequence[float]], new_rows: dict[str, Sequence[float]]) -> compare.Table:
    old = parse_text(_bench_text("X", old_rows), "old.txt")
    new = parse_text(_bench_text("X", new_rows), "new.txt")
    (table,) = compare.compare_files([old, new]).tables
    return table


def test_geomean_row_of_two_benchmarks() -> None:
    t = _two_files({"Hash-2": HASH_OLD, "Tar-2": TAR_OLD}, {"Hash-2": HASH_NEW, "Tar-2": TAR_NEW})
    # medians 100.75, 52.5 (old) and 80.75, 1052.5 (new)
    assert t.geomeans["old.txt"] == pytest.approx(math.sqrt(100.75 * 52.5))
    assert t.geomeans["new.txt"] == pytest.approx(math.sqrt(80.75 * 1052.5))
    ratio = math.sqrt((80.75 / 100.75) * (1052.5 / 52.5))
    assert t.geomean_ratios == {"new.txt": pytest.approx(ratio)}
    assert t.geomean_delta("new.txt") == pytest.approx(ratio - 1)
    assert compare.geomean_delta(t, "new.txt") == pytest.approx(ratio - 1)
    assert t.geomean_delta("old.txt") is None
    assert t.geomean_warnings == {"old.txt": (), "new.txt": ()}


def test_geomean_row_warns_when_the_set_differs() -> None:
    t = _two_files({"Hash-2": HASH_OLD, "Tar-2": TAR_OLD}, {"Hash-2": HASH_NEW})
    assert t.geomean_ratios == {"new.txt": pytest.approx(80.75 / 100.75)}
    assert t.geomean_warnings == {"old.txt": (), "new.txt": (compare.GEOMEAN_SET_DIFFERS,)}
    assert t.geomean_warnings["new.txt"] == ("benchmark set differs from baseline; geomeans may not be comparable",)


def test_geomean_row_with_zero_medians() -> None:
    zeros = [0.0] * 6
    # both medians 0: the ratio counts as 1; the columns' geomeans are undefined
    t = _two_files({"Hash-2": HASH_OLD, "Tar-2": zeros}, {"Hash-2": HASH_NEW, "Tar-2": zeros})
    assert t.geomean_ratios == {"new.txt": pytest.approx(math.sqrt(80.75 / 100.75))}
    assert t.geomeans == {"old.txt": None, "new.txt": None}
    assert t.geomean_warnings == {"old.txt": ("summaries must be >0 to compute geomean",),
                                  "new.txt": ("summaries must be >0 to compute geomean",)}
    # a zero base under a non-zero median: no ratio, and no ratio warning either
    t = _two_files({"Hash-2": HASH_OLD, "Tar-2": zeros}, {"Hash-2": HASH_NEW, "Tar-2": TAR_OLD})
    assert t.geomean_ratios == {"new.txt": None}
    assert t.geomeans["new.txt"] == pytest.approx(math.sqrt(80.75 * 52.5))
    assert t.geomean_warnings["new.txt"] == ()
    assert t.geomean_delta("new.txt") is None
    # a zero median over a non-zero base: a ratio of 0, which has no geomean
    t = _two_files({"Hash-2": HASH_OLD, "Tar-2": TAR_OLD}, {"Hash-2": HASH_NEW, "Tar-2": zeros})
    assert t.geomean_ratios == {"new.txt": None}
    assert t.geomean_warnings["new.txt"] == ("summaries must be >0 to compute geomean",
                                             "ratios must be >0 to compute geomean")


def test_one_benchmark_has_no_geomean_row() -> None:
    t = _two_files({"Hash-2": HASH_OLD}, {"Hash-2": HASH_NEW})
    assert (t.geomeans, t.geomean_ratios, t.geomean_warnings) == ({}, {}, {})


# ----------------------------------------------- columns, labels and errors

def test_compare_columns_result_and_tables_per_unit() -> None:
    recs = (samples("BenchmarkHash/impl=std-2", HASH_OLD, [64] * 6) + samples("BenchmarkHash/impl=pool-2", HASH_NEW)
            + samples("BenchmarkTar/impl=std-2", TAR_OLD) + samples("BenchmarkTar/impl=pool-2", TAR_NEW))
    res = compare.compare_columns(recs, "/impl", alpha=0.01, confidence=0.9)
    assert (res.mode, res.col, res.alpha, res.confidence, res.holm) == ("col", "impl", 0.01, 0.9, False)
    t = {t.unit: t for t in res.tables}
    assert t["ns/op"].names == ["Hash-2", "Tar-2"] and t["ns/op"].columns == ["std", "pool"]
    # only the std variant of Hash has B/op: one column, itself the base, nothing compared
    assert (t["B/op"].names, t["B/op"].columns, t["B/op"].base, t["B/op"].rows) == (["Hash-2"], ["std"], "std", [])
    # B/op only on the pooled variant: that column is the table's base
    recs2 = samples("BenchmarkHash/impl=std-2", HASH_OLD) + samples("BenchmarkHash/impl=pool-2", HASH_NEW, [8] * 6)
    t2 = {t.unit: t for t in compare.compare_columns(recs2).tables}
    assert (t2["B/op"].columns, t2["B/op"].base) == (["pool"], "pool")
    assert compare.compare(recs2[:6], recs2[6:], labels=["a", "b"], alpha=0.001).alpha == 0.001


def test_compare_columns_errors_say_what_to_try() -> None:
    with pytest.raises(InputError, match=r"^no benchmark name has a /impl= part \(the names have /size=, /x=: "
                                         r"try -col /size\)$"):
        compare.compare_columns(samples("BenchmarkA/x=1/size=2-2", [1, 2]))
    with pytest.raises(InputError, match=r"^no benchmark name has a /impl= part after -pair Fast:Slow, New:Old "
                                         r"\(pair by name suffix with -pair NEW:OLD\)$"):
        compare.compare_columns(samples("BenchmarkA-2", [1, 2]), pairs=[("Fast", "Slow"), ("New", "Old")])


@pytest.mark.parametrize("text", ["", "/", "/a/b", "a=b", "a b", "/a\tb"],
                         ids=["empty", "slash", "two-keys", "key-value", "space", "tab"])
def test_parse_col_rejects(text: str) -> None:
    from enginepools.errors import UsageError

    with pytest.raises(UsageError) as e:
        compare.parse_col(text)
    assert str(e.value) == f"-col {text!r}: expected /KEY, e.g. /impl"


def test_parse_col_and_pair_accept() -> None:
    assert compare.parse_col("/impl") == compare.parse_col("impl") == "impl"
    assert compare.parse_pair("WithPool:Standard") == ("WithPool", "Standard")


@pytest.mark.parametrize("text", ["WithPool", ":Standard", "WithPool:", "Same:Same", "a:b:c"])
def test_parse_pair_rejects(text: str) -> None:
    from enginepools.errors import UsageError

    with pytest.raises(UsageError) as e:
        compare.parse_pair(text)
    assert str(e.value) == f"-pair {text!r}: expected NEW:OLD name suffixes, e.g. WithPool:Standard"


def test_pair_variants_renames_by_suffix() -> None:
    recs = (samples("BenchmarkHashWithPool-2", [1]) + samples("BenchmarkHashStandard-2", [2])
            + samples("BenchmarkPool/NoPool-2", [3]) + samples("BenchmarkX/size=1/SmallWithPool-2", [4])
            + samples("BenchmarkStandard-2", [5]) + samples("BenchmarkY/impl=z-2", [6]))
    out = compare.pair_variants(recs, [("WithPool", "Standard"), ("NoPool", "Pool")])
    assert [r.name for r in out] == ["BenchmarkHash/impl=WithPool-2", "BenchmarkHash/impl=Standard-2",
                                     "BenchmarkPool/impl=NoPool-2", "BenchmarkX/size=1/Small/impl=WithPool-2",
                                     "BenchmarkStandard-2", "BenchmarkY/impl=z-2"]


def test_labels_default_to_the_records_files() -> None:
    old, new, other = _three_files()
    # the first record's file names a list; an empty list is named by its position
    res = compare.compare_files([[], new])
    assert res.notes == ["nothing compared for new.txt: no benchmark in it has the same pkg and name as one in #0"]
    res = compare.compare_files([old, other])
    assert res.notes[-1] == ("nothing compared for other.txt: no benchmark in it has the same pkg and name as one "
                             "in old.txt")
    mixed = old[:1] + new[1:]  # records of two files: the first one's names the column
    assert compare.compare_files([mixed, other]).notes[-1].endswith("as one in old.txt")


def test_common_config_and_notes_ignore_pkg() -> None:
    recs = [make_record("BenchmarkA-2", 10, {"ns/op": 1.0}, {"pkg": "p", "cpu": "X", "goos": "linux"}),
            make_record("BenchmarkA-2", 10, {"ns/op": 2.0}, {"pkg": "p", "cpu": "Y", "goos": "linux"}),
            make_record("BenchmarkA-2", 10, {"ns/op": 3.0}, {"pkg": "p", "cpu": "X", "goos": "linux"}),
            make_record("BenchmarkB-2", 10, {"ns/op": 4.0}, {"pkg": "q", "cpu": "X", "goos": "linux"})]
    res = compare.summarize_records(recs, label="run")
    assert res.config == {"goos": "linux"}
    assert res.notes == ["cpu differs between inputs: X | Y"]
    nopkg = compare.summarize_records([make_record("BenchmarkA-2", 10, {"ns/op": 1.0}, {})], label="run")
    assert [r["pkg"] for r in nopkg.to_json_rows()] == [""]


def test_confidence_reaches_every_cell() -> None:
    # 6 samples at 75%: the 2nd and 5th order statistics cover 1 - 2 x 7/64 = 78% >= 75%
    old, new, _ = _three_files()
    rows = {r["name"]: r for r in compare.compare_files([old, new], confidence=0.75).to_json_rows()}
    assert rows["Hash-2"]["old"] == {"median": 100.75, "ci_low": 100.0, "ci_high": 102.0, "n": 6}
    assert rows["Hash-2"]["new"] == {"median": 80.75, "ci_low": 80.0, "ci_high": 82.0, "n": 6}


def test_geomean_row_skips_a_missing_cell_anywhere() -> None:
    t = _two_files({"Tar-2": TAR_OLD, "Hash-2": HASH_OLD}, {"Hash-2": HASH_NEW})  # the first row is missing
    assert t.geomeans["new.txt"] == pytest.approx(80.75)
    assert t.geomean_ratios == {"new.txt": pytest.approx(80.75 / 100.75)}

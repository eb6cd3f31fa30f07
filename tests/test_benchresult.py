"""BenchResult writers: Go text and JSON read back by benchfmt unchanged."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest

from enginepools.bench import benchfmt
from enginepools.bench.result import BenchResult, format_go_line, go_name, pretty, sample_values

HEADER = {"goos": "linux", "goarch": "amd64", "pkg": "enginepools/kernels", "cpu": "Test CPU @ 1GHz"}


def make_result() -> BenchResult:
    res = BenchResult(config=HEADER, machine={"cores": 2}, settings={"count": 2})
    for rep in range(2):
        res.add_raw("HashBuffer/impl=pool", 2, 1000, 1_400_000 + rep, 0, 0,
                    extra={"hits/op": 1.0, "misses/op": 0.0, "clear-ns/op": 700.5 + rep, "retained-B": 65536})
        res.add_raw("HashBuffer/impl=std", 2, 2000, 1_300_000 + 7 * rep, 64000, 2000, cpu_ns=1_200_000,
                    probe={"zero64k_ns": 580.25 + rep, "chain_ns": 2243.0})
        res.add_raw("SHA256/size=1MiB", 1, 50, 30_000_000, 0, 0, bytes_per_op=1 << 20)
    return res


@pytest.mark.parametrize("x,text", [
    (0, "         0 u"), (1237.4, "      1237 u"), (489.9, "       489.9 u"), (70.4, "        70.40 u"),
    (1.0, "         1.000 u"), (0.2797, "         0.2797 u"), (0.01234, "         0.01234 u"),
    (0.001234, "         0.001234 u"), (0.0001234, "         0.0001234 u"), (-3.5, "        -3.500 u"),
])
def test_pretty_matches_gos_prettyprint(x, text):
    assert pretty(x, "u") == text


def test_procs_suffix_only_above_one():
    assert go_name("HashBuffer/impl=pool", 1) == "BenchmarkHashBuffer/impl=pool"
    assert go_name("HashBuffer/impl=pool", 2) == "BenchmarkHashBuffer/impl=pool-2"


def test_sample_values_follow_go():
    v = sample_values(3, 3000, 100, 4, bytes_per_op=1000)
    assert v["ns/op"] == 1000 and v["MB/s"] == pytest.approx(1000.0)
    assert v["B/op"] == 33 and v["allocs/op"] == 1  # integer quotients, as Go's AllocedBytesPerOp
    with pytest.raises(ValueError):
        sample_values(0, 1, 0, 0)


def test_go_line_layout():
    line = format_go_line("BenchmarkX-2", 1000, {"ns/op": 1400.0, "MB/s": 12.345, "zz/op": 1.0, "aa/op": 2.0,
                                                  "B/op": 32, "allocs/op": 1}, width=14)
    fields = line.split("\t")
    assert fields[0] == "BenchmarkX-2  " and fields[1] == "    1000"
    assert [f.split()[-1] for f in fields[2:]] == ["ns/op", "MB/s", "aa/op", "zz/op", "B/op", "allocs/op"]
    assert fields[3] == "  12.35 MB/s"


def test_go_text_round_trips_through_benchfmt():
    res = make_result()
    text = res.format_go()
    assert text.splitlines()[:4] == [f"{k}: {v}" for k, v in HEADER.items()]
    recs = benchfmt.parse_text(text, "t.txt")
    assert [r.name for r in recs] == [n for n, _ in res.order]
    assert recs[0].name == "BenchmarkHashBuffer/impl=pool-2" and recs[0].procs == 2
    assert recs[2].name == "BenchmarkSHA256/size=1MiB" and recs[2].procs is None
    assert recs[0].parts == {"impl": "pool"}
    for rec, (name, i) in zip(recs, res.order):
        want = res.series[name].sample(i)
        assert rec.iterations == res.series[name].iterations[i]
        assert set(rec.values) == set(want)
        for unit, v in want.items():
            assert rec.values[unit] == pytest.approx(v, rel=1e-3, abs=1e-3), unit
        assert dict(rec.config) == HEADER
    std = recs[1]
    assert std.values["B/op"] == 32 and std.values["allocs/op"] == 1
    assert recs[2].values["MB/s"] == pytest.approx((1 << 20) * 50 / 30_000_000 * 1e3, rel=1e-4)


def test_go_text_is_stable_when_reread():
    text = make_result().format_go()
    again = BenchResult.from_records(benchfmt.parse_text(text))
    assert again.format_go() == text


def test_json_round_trips_exactly(tmp_path):
    res = make_result()
    p = tmp_path / "r.json"
    res.write_json(p)
    recs = benchfmt.read(p)
    assert len(recs) == len(res)
    for rec, (name, i) in zip(recs, res.order):
        assert rec.name == name and rec.values == res.series[name].sample(i)
        assert dict(rec.config) == HEADER
    doc = json.loads(p.read_text())
    assert doc["complete"] is True and doc["machine"] == {"cores": 2} and doc["settings"] == {"count": 2}
    s0 = doc["samples"][0]
    assert s0["ns"] == 1_400_000 and s0["alloc_bytes"] == 0 and s0["rep"] == 1 and s0["procs"] == 2
    assert "cpu_ns" not in s0 and doc["samples"][1]["cpu_ns"] == 1_200_000  # only when known
    assert "probe" not in s0 and doc["samples"][1]["probe"] == {"zero64k_ns": 580.25, "chain_ns": 2243.0}
    assert "probe" not in res.format_go() and "580" not in res.format_go()  # benchstat sees only the units


def test_write_go_to_open_file_and_path(tmp_path):
    res = make_result()
    buf = io.StringIO()
    res.write_go(buf)
    p = tmp_path / "r.txt"
    p.write_text("old")
    res.write_go(p)
    assert p.read_text() == buf.getvalue() == res.format_go()
    assert not [f for f in tmp_path.iterdir() if f.name != "r.txt"]  # no temp files left


def test_series_arrays_and_medians():
    res = make_result()
    s = res["BenchmarkHashBuffer/impl=pool-2"]
    assert isinstance(s.values["ns/op"], np.ndarray) and len(s) == 2
    assert s.median("ns/op") == pytest.approx(1400.0005)
    assert res.medians()["BenchmarkHashBuffer/impl=std-2"]["B/op"] == 32
    html = res._repr_html_()
    assert "BenchmarkHashBuffer/impl=std-2" in html and "<table" in html


def test_unit_first_seen_later_is_nan_before():
    res = BenchResult()
    res.add("X", 1, 10, {"ns/op": 1.0})
    res.add("X", 1, 10, {"ns/op": 2.0, "hits/op": 1.0})
    s = res["BenchmarkX"]
    assert np.isnan(s.values["hits/op"][0]) and s.sample(0) == {"ns/op": 1.0}


def test_read_back_json_keeps_raw_totals_and_metadata(tmp_path):
    res = make_result()
    res.complete = False
    res.write_json(tmp_path / "r.json")
    back = BenchResult.read(tmp_path / "r.json")
    assert back.complete is False and back.machine == res.machine and back.settings == res.settings
    assert back.format_go() == res.format_go()
    a, b = res["BenchmarkHashBuffer/impl=std-2"], back["BenchmarkHashBuffer/impl=std-2"]
    assert list(a.ns) == list(b.ns) and list(a.cpu_ns) == list(b.cpu_ns) and list(a.alloc_bytes) == list(b.alloc_bytes)
    assert list(b.probe_zero64k_ns) == [580.25, 581.25] and list(b.probe_chain_ns) == [2243.0, 2243.0]
    assert np.isnan(back["BenchmarkHashBuffer/impl=pool-2"].probe_zero64k_ns).all()  # none recorded
    res.write_go(tmp_path / "r.txt")
    assert BenchResult.read(tmp_path / "r.txt").format_go() == res.format_go()


def test_public_name():
    import enginepools

    assert enginepools.BenchResult is BenchResult

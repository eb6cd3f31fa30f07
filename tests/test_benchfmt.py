"""Reading and writing the Go benchmark format and our JSON result file."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from enginepools.bench import benchfmt
from enginepools.errors import InputError

GO_OUTPUT = """\
goos: linux
goarch: amd64
pkg: example.com/a
cpu: Some CPU
BenchmarkHashBuffer/impl=pool/size=64-2   	 1000	  1523 ns/op	  16 B/op	  1 allocs/op	  0.98 hits/op
--- BENCH: BenchmarkHashBuffer/impl=pool/size=64-2
    hash_test.go:12: warming up: 3 rounds
BenchmarkHashBuffer
Benchmarking is what this file is about, this line is prose.
# a comment: with a colon
pkg: example.com/b
note:  something
BenchmarkSolo 	 20	 5.5e+03 ns/op
note:
BenchmarkSolo-8 	 20	 6000 ns/op
PASS
ok  	example.com/b	1.234s
"""


def test_results_names_values_and_configuration(tmp_path: Path) -> None:
    f = tmp_path / "out.txt"
    f.write_text(GO_OUTPUT)
    recs = benchfmt.read(f)
    assert len(recs) == 3
    a, b, c = recs
    assert a.name == "BenchmarkHashBuffer/impl=pool/size=64-2"
    assert a.base == "BenchmarkHashBuffer" and a.sub == ("impl=pool", "size=64")
    assert dict(a.parts) == {"impl": "pool", "size": "64"} and a.procs == 2
    assert a.iterations == 1000
    assert dict(a.values) == {"ns/op": 1523.0, "B/op": 16.0, "allocs/op": 1.0, "hits/op": 0.98}
    assert a.config == {"goos": "linux", "goarch": "amd64", "pkg": "example.com/a", "cpu": "Some CPU"}
    assert (a.file, a.line) == (str(f), 5)
    # a configuration change applies to the results after it only
    assert b.config["pkg"] == "example.com/b" and b.config["note"] == "something"
    assert b.procs is None and b.values == {"ns/op": 5500.0}
    # "key:" with an empty value unsets the key
    assert "note" not in c.config and c.procs == 8
    assert a.label() == "HashBuffer/impl=pool/size=64-2"
    assert a.label(drop=["impl"]) == "HashBuffer/size=64-2"


def test_positional_sub_benchmarks_keep_their_parts() -> None:
    [r] = benchfmt.parse_text("BenchmarkBufferPool/Get/Put-8  5542700  699.6 ns/op\n")
    assert r.base == "BenchmarkBufferPool" and r.sub == ("Get", "Put") and r.parts == {} and r.procs == 8


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.txt: no such file"):
        benchfmt.read(tmp_path / "nope.txt")


def test_file_without_benchmark_lines(tmp_path: Path) -> None:
    f = tmp_path / "empty.txt"
    f.write_text("goos: linux\nPASS\nok  \tpkg\t0.1s\n")
    with pytest.raises(InputError, match=r"empty\.txt: no benchmark results"):
        benchfmt.read(f)


@pytest.mark.parametrize(
    "line, message",
    [
        ("BenchmarkX-8  100  12.x ns/op", r"f\.txt:2: BenchmarkX-8: malformed value '12\.x' for unit ns/op"),
        ("BenchmarkX-8  100  12 ns/op  3", r"f\.txt:2: BenchmarkX-8: value '3' has no unit"),
        ("BenchmarkX-8  ten  12 ns/op", r"f\.txt:2: BenchmarkX-8: iteration count 'ten' is not an integer"),
        ("BenchmarkX-8  100", r"f\.txt:2: BenchmarkX-8: no measurements"),
        ("BenchmarkX-8  100  NaN ns/op", r"malformed value 'NaN'"),
    ],
)
def test_malformed_result_lines_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    f = tmp_path / "f.txt"
    f.write_text("goos: linux\n" + line + "\n")
    with pytest.raises(InputError, match=message):
        benchfmt.read(f)


def test_round_trip_through_the_writer(tmp_path: Path) -> None:
    recs = benchfmt.parse_text(GO_OUTPUT, "in.txt")
    out = tmp_path / "out.txt"
    benchfmt.write(out, recs)
    again = benchfmt.read(out)
    assert [(r.name, r.iterations, dict(r.values), dict(r.config)) for r in again] == \
        [(r.name, r.iterations, dict(r.values), dict(r.config)) for r in recs]


def _doc(**over: object) -> dict:
    doc = {
        "format": "enginepools.bench/1",
        "config": {"goos": "linux", "pkg": "enginepools/kernels"},
        "machine": {"cores": 2},
        "settings": {"count": 2},
        "incomplete": False,
        "samples": [
            {"name": "BenchmarkHashBuffer/impl=pool-2", "iterations": 1234,
             "values": {"ns/op": 1.5, "B/op": 0, "allocs/op": 0, "hits/op": 1.0}},
            {"name": "BenchmarkHashBuffer/impl=std-2", "iterations": 99,
             "values": {"ns/op": 2.5, "B/op": 65536, "allocs/op": 1}},
        ],
    }
    doc.update(over)
    return doc


def test_json_result_file_is_detected_by_content(tmp_path: Path) -> None:
    f = tmp_path / "results.out"  # the name does not say JSON
    f.write_text(json.dumps(_doc(), indent=2))
    a, b = benchfmt.read(f)
    assert a.base == "BenchmarkHashBuffer" and a.parts == {"impl": "pool"} and a.procs == 2
    assert a.iterations == 1234 and a.values["hits/op"] == 1.0
    assert b.values == {"ns/op": 2.5, "B/op": 65536.0, "allocs/op": 1.0}
    assert a.config == {"goos": "linux", "pkg": "enginepools/kernels"}
    assert a.line > 0 and b.line > a.line


def test_json_errors_name_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "r.json"
    doc = _doc()
    doc["samples"][1]["values"]["ns/op"] = "fast"
    f.write_text(json.dumps(doc, indent=2))
    with pytest.raises(InputError, match=r"r\.json:\d+: BenchmarkHashBuffer/impl=std-2: malformed value 'fast'"):
        benchfmt.read(f)
    f.write_text('{"format": "enginepools.bench/1", "samples": [}')
    with pytest.raises(InputError, match=r"r\.json:1: not valid JSON"):
        benchfmt.read(f)
    f.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(InputError, match="not an enginepools result file"):
        benchfmt.read(f)
    f.write_text(json.dumps(_doc(samples=[])))
    with pytest.raises(InputError, match="no benchmark results"):
        benchfmt.read(f)

"""Peer test against real ``go test -bench -benchmem`` output: our Go-format
writer, fed the values Go printed, prints the very same result lines (same
name, iteration field, number formats, unit order, MB/s, ReportMetric
extras, -N suffix rules) — so whatever reads Go's output (benchstat) reads
ours."""
from __future__ import annotations

import shutil

import pytest

from enginepools.bench import benchfmt
from gotools import go_bench
from enginepools.bench.result import BenchResult

pytestmark = [pytest.mark.go, pytest.mark.skipif(shutil.which("go") is None, reason="needs the go toolchain")]

BENCH_GO = """\
package peer

import (
	"crypto/sha256"
	"sync"
	"testing"
)

var sink []byte
var pool = sync.Pool{New: func() any { b := make([]byte, 1024); return &b }}

func BenchmarkHashBuffer(b *testing.B) {
	data := make([]byte, 1024)
	b.Run("impl=pool", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p := pool.Get().(*[]byte)
			s := sha256.Sum256(data)
			copy(*p, s[:])
			pool.Put(p)
		}
		b.ReportMetric(1, "hits/op")
		b.ReportMetric(0, "misses/op")
		b.ReportMetric(65536, "retained-B")
		b.ReportMetric(0.01234, "clear-ns/op")
	})
	b.Run("impl=std", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s := sha256.Sum256(data)
			sink = append([]byte(nil), s[:]...)
		}
	})
}

func BenchmarkSHA256(b *testing.B) {
	data := make([]byte, 4096)
	b.Run("size=4KiB", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			sha256.Sum256(data)
		}
	})
}

func BenchmarkParallel(b *testing.B) {
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sink = make([]byte, 64)
		}
	})
}
"""


@pytest.fixture(scope="module")
def go_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    return go_bench(tmp_path_factory.mktemp("gopeer"), "peer", "peer_test.go", BENCH_GO,
                    "-count", "2", "-benchtime", "200x", "-cpu", "1,2")


def _result_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("Benchmark") and len(line.split()) > 1]


def test_our_writer_prints_gos_lines(go_output: str) -> None:
    recs = benchfmt.parse_text(go_output, "go.txt")
    names = {r.name for r in recs}
    assert {"BenchmarkHashBuffer/impl=pool", "BenchmarkHashBuffer/impl=std-2", "BenchmarkSHA256/size=4KiB-2",
            "BenchmarkParallel", "BenchmarkParallel-2"} <= names
    ours = _result_lines(BenchResult.from_records(recs).format_go())
    theirs = _result_lines(go_output)
    assert len(ours) == len(theirs)
    for mine, go in zip(ours, theirs):
        my_name, my_rest = mine.split("\t", 1)
        go_name, go_rest = go.split("\t", 1)
        assert my_name.rstrip() == go_name.rstrip()
        assert my_rest == go_rest  # byte for byte: N, ns/op, MB/s, extras, B/op, allocs/op


def test_our_header_is_gos(go_output: str) -> None:
    recs = benchfmt.parse_text(go_output, "go.txt")
    header = BenchResult.from_records(recs).header_lines()
    go_header = [line for line in go_output.splitlines() if line.split(":")[0] in ("goos", "goarch", "pkg", "cpu")]
    assert header == go_header


def test_procs_suffix_rule_is_gos(go_output: str) -> None:
    # Go omits -1: GOMAXPROCS=1 lines carry no suffix, ours neither (go_name)
    for line in _result_lines(go_output):
        name = line.split()[0]
        assert not name.endswith("-1")


# benchstat reading our output: tests/test_benchstat_fixtures.py, on benchstat's
# recorded output for `enginepools bench` files (no benchstat needed at test time).

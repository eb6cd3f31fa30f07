"""Real ``go test -bench -count 6`` output through our reader and
statistics: medians, deltas and p-values equal those computed by hand with
numpy/scipy from the parsed samples.  Checks equality of computations only,
never timing."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from enginepools.bench import benchfmt
from enginepools.analysis import compare
from gotools import go_bench

pytestmark = [pytest.mark.go, pytest.mark.skipif(shutil.which("go") is None, reason="needs the go toolchain")]

BENCH_GO = """\
package pooltiny

import (
	"sync"
	"testing"
)

var sink []byte

var pool = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

func BenchmarkBuffer(b *testing.B) {
	b.Run("impl=std", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			buf := make([]byte, 4096)
			buf[i%4096] = byte(i)
			sink = buf
		}
	})
	b.Run("impl=pool", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			p := pool.Get().(*[]byte)
			(*p)[i%4096] = byte(i)
			sink = *p
			pool.Put(p)
		}
	})
}
"""


@pytest.fixture(scope="module")
def go_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gobench")
    text = go_bench(root, "pooltiny", "pool_test.go", BENCH_GO, "-count", "6", "-benchtime", "20ms", "-cpu", "2")
    out = root / "bench.txt"
    out.write_text(text)
    return out


def _by_hand_p(x: np.ndarray, y: np.ndarray) -> float:
    allv = np.concatenate([x, y])
    if np.all(allv == allv[0]):
        return 1.0
    if np.unique(allv).size == allv.size:
        return float(scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method="exact").pvalue)
    method = scipy.stats.PermutationMethod(n_resamples=np.inf)
    return float(scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method=method).pvalue)


def test_go_bench_output_statistics_match_a_hand_computation(go_output: Path) -> None:
    recs = benchfmt.read(go_output)
    assert len(recs) == 12
    assert {r.parts["impl"] for r in recs} == {"std", "pool"}
    assert all(r.base == "BenchmarkBuffer" and r.procs == 2 for r in recs)
    assert recs[0].config["pkg"] == "example.com/pooltiny" and "goarch" in recs[0].config
    res = compare.compare_columns(recs, "/impl")
    rows = {r.unit: r for r in res.rows}
    assert set(rows) == {"ns/op", "B/op", "allocs/op"}
    for unit, row in rows.items():
        std = np.array([r.values[unit] for r in recs if r.parts["impl"] == "std"])
        pool = np.array([r.values[unit] for r in recs if r.parts["impl"] == "pool"])
        assert row.name == "Buffer-2" and (row.old_label, row.new_label) == ("std", "pool")
        assert row.old.center == np.median(std) and row.new.center == np.median(pool)
        assert (row.old.lo, row.old.hi) == (std.min(), std.max())  # n = 6: orders 1 and 6
        if np.median(std) != 0:
            assert row.delta == pytest.approx((np.median(pool) - np.median(std)) / np.median(std), rel=1e-12)
        assert row.p_value == pytest.approx(_by_hand_p(std, pool), rel=1e-12)
        assert row.significant == (row.p_value <= 0.05)

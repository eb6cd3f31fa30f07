"""Realistic fixed inputs for rendering every chart (used by
render_times.py and to look at the pictures; the tests build their own)."""
from __future__ import annotations

import numpy as np

from enginepools import compare, verdict
from enginepools.benchfmt import make_record
from enginepools.charts import Estimate, PoolStat, ScalingPoint

# name -> (pool ns, std ns, pool B, std B, pool allocs, std allocs, bytes per op or 0)
KERNELS = {
    "StringBuilder": (80.0, 64.0, 96, 96, 2, 2, 0),
    "HashBuffer": (905.0, 300.0, 16, 40, 1, 1, 65536),
    "TarBuffer": (750.0, 1500.0, 16, 65536, 1, 1, 65536),
    "ImageTag": (212.0, 205.0, 48, 48, 1, 1, 0),
    "WorkerPool": (1510.0, 1530.0, 320, 2100, 3, 9, 0),
}


def records(seed: int = 1, count: int = 6) -> list:
    rng = np.random.default_rng(seed)
    recs = []
    for name, (pns, sns, pb, sb, pa, sa, bpo) in KERNELS.items():
        for _ in range(count):
            for impl, ns, b, a in (("std", sns, sb, sa), ("pool", pns, pb, pa)):
                v = ns * (1 + rng.normal(0, 0.02))
                vals = {"ns/op": v, "B/op": float(b), "allocs/op": float(a)}
                if bpo:
                    vals["MB/s"] = bpo / v * 1e3
                recs.append(make_record(f"Benchmark{name}/impl={impl}-2", 100000, vals))
    return recs


def rows() -> list:
    return compare.compare_columns(records(), "/impl").rows


def verdicts() -> list:
    return verdict.decide(rows())


def heap_items() -> tuple[list[tuple[str, float]], float]:
    items = [
        ("github.com/ai-code/engine-ci/pkg/worker.NewWorkerPool", 5_714_000.0),
        ("bufio.NewReaderSize", 1_200_000.0),
        ("compress/flate.NewWriter", 1_050_000.0),
        ("runtime.allocm", 1_000_000.0),
        ("github.com/ai-code/engine-ci/pkg/memory.(*BufferPool).Get", 520_000.0),
        ("encoding/json.(*decodeState).literalStore", 512_000.0),
        ("archive/tar.(*Writer).writeRawHeader", 400_000.0),
        ("regexp/syntax.(*compiler).inst", 300_000.0),
        ("strings.(*Builder).grow", 250_000.0),
        ("crypto/sha256.New", 130_000.0),
        ("net/http.(*Transport).dialConn", 120_000.0),
        ("os.ReadFile", 90_000.0),
        ("fmt.Sprintf", 44_000.0),
    ]
    return items, 11_880_060.0


def pool_stats() -> list[PoolStat]:
    return [PoolStat("string-builder", 9_812_331, 187_669, 12_288),
            PoolStat("hash (64 KiB)", 2_998_100, 1_900, 1_048_576),
            PoolStat("tar (64 KiB)", 1_999_000, 1_000, 1_048_576),
            PoolStat("worker", 0, 0, 0)]


def scaling() -> dict[str, list[ScalingPoint]]:
    out = {}
    for label, base, slope in (("plain", 150.0, 0.25), ("pool", 120.0, 0.05)):
        pts = []
        for t in (1, 2, 4, 8):
            m = base * (1 + slope * (t - 1))
            pts.append(ScalingPoint(t, Estimate(m, m * 0.96, m * 1.05, 6)))
        out[label] = pts
    return out


def ab_rows() -> list:
    rng = np.random.default_rng(7)
    recs = []
    confs = {"baseline": 2.40, "no-string-pool": 2.36, "no-hash-pool": 2.21, "no-pools": 2.18, "tar-only": 2.19}
    for _ in range(6):
        for conf, sec in confs.items():
            recs.append(make_record(f"BenchmarkBuildContext/config={conf}", 1,
                                    {"sec/op": sec * (1 + rng.normal(0, 0.015))}))
    return compare.compare_columns(recs, "/config", base="baseline").rows

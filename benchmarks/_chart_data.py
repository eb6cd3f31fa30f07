"""Realistic fixed inputs for rendering every chart (used by
render_times.py and to look at the pictures; the tests build their own)."""
from __future__ import annotations

import numpy as np

from enginepools.analysis import compare, verdict
from enginepools.bench.benchfmt import make_record
from enginepools.render.charts import Estimate, PoolStat, ScalingPoint

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
                    vals["MB/s"] = bpo / (40 * v) * 1e3  # as if a 64 KiB block took 40x the kernel time
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


def heap_graph():
    from enginepools.render.callgraph import CallEdge, CallGraph, CallNode

    N = CallNode
    nodes = [
        N("main.main", 0, 11_880_060), N("github.com/ai-code/engine-ci/pkg/build.(*Builder).Run", 0, 11_000_000),
        N("github.com/ai-code/engine-ci/pkg/worker.NewWorkerPool", 5_714_000, 5_714_000),
        N("github.com/ai-code/engine-ci/pkg/build.(*Context).Tar", 120_000, 2_970_000),
        N("compress/flate.NewWriter", 1_050_000, 1_050_000), N("archive/tar.(*Writer).writeRawHeader", 400_000, 400_000),
        N("bufio.NewReaderSize", 1_200_000, 1_200_000), N("runtime.allocm", 1_000_000, 1_000_000),
        N("github.com/ai-code/engine-ci/pkg/memory.(*BufferPool).Get", 520_000, 520_000),
        N("encoding/json.(*decodeState).object", 0, 812_000), N("encoding/json.(*decodeState).value", 0, 812_000),
        N("encoding/json.(*decodeState).literalStore", 512_000, 512_000), N("regexp/syntax.(*compiler).inst", 300_000, 300_000),
    ]
    by = {n.name.rsplit("/", 1)[-1]: n for n in nodes}
    E = CallEdge
    edges = [
        E(by["main.main"], by["build.(*Builder).Run"], 11_000_000),
        E(by["build.(*Builder).Run"], by["worker.NewWorkerPool"], 5_714_000),
        E(by["build.(*Builder).Run"], by["build.(*Context).Tar"], 2_970_000),
        E(by["build.(*Context).Tar"], by["flate.NewWriter"] if "flate.NewWriter" in by else nodes[4], 1_050_000),
        E(by["build.(*Context).Tar"], nodes[5], 400_000, inline=True),
        E(by["build.(*Context).Tar"], by["memory.(*BufferPool).Get"], 520_000),
        E(by["build.(*Context).Tar"], by["build.(*Context).Tar"], 880_000),
        E(by["build.(*Builder).Run"], by["bufio.NewReaderSize"], 1_200_000),
        E(by["main.main"], by["runtime.allocm"], 1_000_000, residual=True),
        E(by["build.(*Builder).Run"], nodes[9], 812_000),
        E(nodes[9], nodes[10], 812_000), E(nodes[10], nodes[9], 600_000), E(nodes[10], nodes[11], 512_000),
        E(by["main.main"], nodes[12], 300_000, residual=True),
    ]
    return CallGraph(nodes, edges, 11_880_060, "bytes", title="Type: inuse_space")


def big_graph(n: int = 80, seed: int = 3):
    from enginepools.render.callgraph import CallEdge, CallGraph, CallNode

    rng = np.random.default_rng(seed)
    pk = ["ep_pool", "ep_bufpool", "ep_strbuf", "kernel", "tar", "sha256", "pipeline", "worker", "alloc"]
    nodes = [CallNode(f"{pk[i % len(pk)]}_fn{i}", float(rng.integers(0, 4000) if i > 5 else 0), 0.0)
             for i in range(n)]
    edges = []
    for i in range(1, n):
        parent = int(rng.integers(max(0, i - 12), i))
        edges.append(CallEdge(nodes[parent], nodes[i], 0.0))
    for _ in range(n // 6):
        a, b = rng.integers(0, n, 2)
        if a != b:
            edges.append(CallEdge(nodes[int(a)], nodes[int(b)], 0.0, residual=bool(rng.random() < 0.3)))
    # cum = flat + sum of children (approximate; good enough for drawing)
    for node in reversed(nodes):
        node.cum = node.flat + sum(e.dst.cum for e in edges if e.src is node and e.dst is not node
                                   and nodes.index(e.dst) > nodes.index(node)) 
    for e in edges:
        e.weight = min(e.dst.cum, e.src.cum) * 0.8
    total = sum(x.flat for x in nodes)
    return CallGraph(nodes, edges, total, "bytes")


def stacks(pooled: bool, seed: int = 5) -> dict:
    """Heap allocation stacks of a build-context-like workload (bytes)."""
    rng = np.random.default_rng(seed)
    base = ("main", "ep_pipeline_run", "ep_pipeline_stage")
    leaves = {
        ("ep_kernel_tar", "ep_tar_write_header", "ep_alloc"): 4e5,
        ("ep_kernel_tar", "ep_tar_buffer_get", "ep_bufpool_get" if pooled else "ep_alloc"): 2e5 if pooled else 3.2e6,
        ("ep_kernel_sha256", "ep_hash_buffer_get", "ep_bufpool_get" if pooled else "ep_alloc"): 1.1e6 if pooled else 1.0e6,
        ("ep_kernel_sha256", "ep_sha256_update"): 6e4,
        ("ep_kernel_imagetag", "ep_strbuf_append", "ep_strbuf_grow", "ep_alloc"): 9e5,
        ("ep_kernel_imagetag", "ep_strbuf_new", "ep_strbuf_pool_get" if pooled else "ep_alloc"): 3e5,
        ("ep_workerpool_submit", "ep_workerpool_task_new", "ep_alloc"): 5.7e6 if not pooled else 1.2e6,
        ("ep_workerpool_submit", "ep_workerpool_grow", "ep_alloc"): 8e5,
    }
    out = {}
    for leaf, v in leaves.items():
        out[base + leaf] = float(round(v * (1 + rng.normal(0, 0.05))))
    out[("main", "ep_config_load", "ep_json_parse", "ep_json_value", "ep_json_object", "ep_json_value",
         "ep_alloc")] = 3e5
    out[("main", "ep_runtime_init", "ep_alloc")] = 1.0e6
    return out

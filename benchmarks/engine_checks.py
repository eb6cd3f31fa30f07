#!/usr/bin/env python3
"""Performance checks of the benchmark engine, as ratios from one run.

    python benchmarks/engine_checks.py               # ~1-2 min on 2 cores
    python benchmarks/engine_checks.py -benchtime 0.1s -count 6 -o engine.txt

Prints, each with the baseline it is a ratio against:

* SHA-256 of 1 MiB: our MB/s ÷ hashlib's on the same data (goal ≥ 0.9);
* TarBuffer/impl=pool ÷ the same copies through a fixed buffer
  (TarBuffer/impl=memcpy), as throughput (goal ≥ 0.8);
* harness overhead: ns/op of the Empty kernel (goal < 1 ns);
* the machine probe every sample carries: ns to zero 64 KiB (goal 10 ns –
  1 ms) and ns a step of its multiply chain (goal 0.1 – 100 ns);
* the worst coefficient of variation of ns/op among the HashBuffer variants
  over -count samples (goal ≤ 3%), and per variant what the machine probe
  saw meanwhile (enginepools.bench.noise: is the spread the machine's?);
* MallocFree ÷ PoolGetPut ns/op at 64 B and 64 KiB, 1 and 2 threads;
* PoolContention throughput at 2 threads ÷ at 1 thread, pool and std;
* pool ÷ std ns/op of the study's kernels.

Every number is a median over -count samples of one run (the machine may be
shared: compare ratios, not absolute times).  Samples and the hashlib
timings are interleaved so drift hits both sides.
"""
from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from enginepools import _core  # noqa: E402
from enginepools.bench import noise, runner  # noqa: E402
from enginepools.analysis import stats  # noqa: E402
from enginepools.bench.result import BenchResult  # noqa: E402

SHA_SIZE = 1 << 20


def med(res: BenchResult, name: str, unit: str = "ns/op") -> float:
    return res[name].median(unit)


def cv(res: BenchResult, name: str, cpu: bool = False) -> float:
    """Coefficient of variation of ns/op (or of CPU ns/op: what the run would
    show on an idle machine, preemption by other processes removed)."""
    s = res[name]
    return stats.cv(s.cpu_ns / s.iterations if cpu else s.values["ns/op"])


def sha_vs_hashlib(benchtime_ns: int, count: int) -> tuple[float, float]:
    """Median MB/s of ours and hashlib's, samples alternating."""
    data = bytes(range(256)) * (SHA_SIZE // 256)
    assert _core.sha256(data) == hashlib.sha256(data).digest()
    h = _core.bench_open("SHA256/size=1MiB", 1)
    try:
        n, _ = runner.calibrate(lambda k: _core.bench_run(h, k)["ns"], benchtime_ns)
        ours, theirs = [], []
        for _ in range(count):
            r = _core.bench_run(h, n)
            ours.append(SHA_SIZE * r["n"] / r["ns"] * 1e3)
            t0 = time.perf_counter_ns()
            for _ in range(n):
                hashlib.sha256(data).digest()
            theirs.append(SHA_SIZE * n / (time.perf_counter_ns() - t0) * 1e3)
    finally:
        _core.bench_close(h)
    return statistics.median(ours), statistics.median(theirs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-benchtime", default="0.2s")
    ap.add_argument("-count", type=int, default=10)
    ap.add_argument("-o", help="also write every sample as Go benchmark text")
    args = ap.parse_args(argv)
    bt = runner.parse_benchtime(args.benchtime)
    count = args.count

    def run(pattern: str, cpus: list[int]) -> BenchResult:
        return runner.Runner(runner.select(pattern), benchtime=bt, count=count, cpus=cpus, pattern=pattern,
                             progress=None).run()

    t0 = time.monotonic()
    one = run("^Benchmark(Empty|HashBuffer|TarBuffer|StringBuilder|TarArchive)$", [1])
    alloc = run("^Benchmark(PoolGetPut|MallocFree)$", [1, 2])
    cont = run("^BenchmarkPoolContention$", [1, 2])
    ours, hl = sha_vs_hashlib(bt.ns or 200_000_000, count)
    elapsed = time.monotonic() - t0

    rows: list[tuple[str, str, str]] = []

    def row(label: str, value: str, goal: str = "") -> None:
        rows.append((label, value, goal))

    row("SHA-256 1 MiB: ours / hashlib throughput", f"{ours / hl:.3f}  ({ours:.0f} vs {hl:.0f} MB/s, "
        f"{_core.SHA256_IMPL})", "≥ 0.9")
    tp, tm = med(one, "BenchmarkTarBuffer/impl=pool"), med(one, "BenchmarkTarBuffer/impl=memcpy")
    row("TarBuffer: pool / fixed-buffer memcpy throughput", f"{tm / tp:.3f}  ({tp:.0f} vs {tm:.0f} ns/op)", "≥ 0.8")
    e = one["BenchmarkEmpty"]
    row("Empty kernel (harness overhead)", f"{med(one, 'BenchmarkEmpty'):.3f} ns/op  "
        f"(CPU time: {statistics.median(e.cpu_ns / e.iterations):.3f} ns/op)", "< 1 ns/op")
    zero = statistics.median(float(x) for n in one.names() for x in one[n].probe_zero64k_ns if x == x)
    chain = statistics.median(float(x) for n in one.names() for x in one[n].probe_chain_ns if x == x)
    row("machine probe: zeroing 64 KiB (median over all samples)", f"{zero:.0f} ns", "10 ns – 1 ms")
    row("machine probe: 2048-step multiply chain", f"{chain:.0f} ns = {chain / 2048:.2f} ns a step",
        "0.1 – 100 ns a step")
    worst = max((cv(one, n), n) for n in one.names() if n.startswith("BenchmarkHashBuffer/"))
    row(f"worst CV of HashBuffer ns/op over -count {count}", f"{worst[0] * 100:.2f}%  ({worst[1]})", "≤ 3%")
    for n in one.names():
        if n.startswith("BenchmarkHashBuffer/"):
            st = noise.stability(one[n])
            r = max((x for x in (st.r_zero, st.r_chain) if x == x), default=float("nan"))
            row(f"  {n[len('BenchmarkHashBuffer/'):]}", f"CV {st.cv * 100:.2f}%; machine probe over its samples: "
                f"64 KiB zeroing CV {st.zero_cv * 100:.1f}%, multiply chain CV {st.chain_cv * 100:.1f}%, "
                f"r(ns/op, probe) {r:.2f} → {st.cause}")
    worst_cpu = max((cv(one, n, cpu=True), n) for n in one.names() if n.startswith("BenchmarkHashBuffer/"))
    busy = sum(int(one[n].ns.sum()) for n in one.names()) / max(1, sum(int(one[n].cpu_ns.sum()) for n in one.names()))
    row("  same, CPU time of the measuring thread", f"{worst_cpu[0] * 100:.2f}%  ({worst_cpu[1]}); "
        f"wall/CPU time over these runs {busy:.2f} (1.00 = never preempted)")
    for size in (64, 65536):
        for procs, suffix in ((1, ""), (2, "-2")):
            m = med(alloc, f"BenchmarkMallocFree/size={size}{suffix}")
            p = med(alloc, f"BenchmarkPoolGetPut/size={size}{suffix}")
            row(f"MallocFree / PoolGetPut, {size} B, {procs} thread(s)", f"{m / p:.2f}  ({m:.1f} vs {p:.1f} ns/op)")
    for impl in ("pool", "std"):
        a, b = med(cont, f"BenchmarkPoolContention/impl={impl}"), med(cont, f"BenchmarkPoolContention/impl={impl}-2")
        row(f"PoolContention/impl={impl}: throughput 2 threads / 1", f"{a / b:.2f}  ({a:.0f} → {b:.0f} ns/op)")
    for base in ("StringBuilder", "HashBuffer", "TarBuffer", "TarArchive"):
        s = med(one, f"Benchmark{base}/impl=std")
        for name in one.names():
            if name.startswith(f"Benchmark{base}/impl=pool"):
                p = med(one, name)
                row(f"{name[len('Benchmark'):]} / impl=std ns/op", f"{p / s:.2f}  ({p:.0f} vs {s:.0f} ns/op)")

    width = max(len(r[0]) for r in rows)
    print(f"engine checks: -benchtime {bt} -count {count}, {elapsed:.0f} s, cpu {one.config.get('cpu', '?')}")
    for label, value, goal in rows:
        print(f"  {label:<{width}}  {value}" + (f"   [goal {goal}]" if goal else ""))
    if args.o:
        merged = BenchResult(config=one.config, machine=one.machine, settings=one.settings)
        for res in (one, alloc, cont):
            for name, i in res.order:
                s = res[name]
                merged.add(s.kernel, s.procs, int(s.iterations[i]), s.sample(i), ns=int(s.ns[i]),
                           alloc_bytes=int(s.alloc_bytes[i]), alloc_objects=int(s.alloc_objects[i]))
        merged.write_go(args.o)
        print(f"samples written to {args.o}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

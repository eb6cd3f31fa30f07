"""Write the notebooks in this folder from the cell sources below.

    python notebooks/make_notebooks.py          # rewrite every .ipynb
    python notebooks/make_notebooks.py --check  # exit 1 if a committed notebook differs

Notebooks are generated (with nbformat) so they stay consistent with each
other and reviewable as Python, and are committed WITHOUT outputs.
tests/test_notebooks.py executes every notebook not listed in PENDING with
nbclient and fails on any error.  Each notebook is sized to run in well
under 60 s on a 2-core machine: benchtimes are short, counts are 6 (the
fewest that give both a U test and a 95% interval).
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

#: notebook -> why it cannot run yet (parts of enginepools it needs that are
#: not merged); the test skips these with the reason.
PENDING: dict[str, str] = {
}

SETUP = """\
%matplotlib inline
import tempfile
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

import enginepools

WORK = Path(tempfile.mkdtemp(prefix="enginepools-nb-"))  # files this notebook writes
print("enginepools", enginepools.__version__, "- writing to", WORK)"""


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))


# ---------------------------------------------------------------- 01

QUICKSTART = [
    md("""
# Quick start: does a pool pay?

This notebook runs two of enginepools' C benchmark kernels — each pooled
design beside its plain-allocation twin — compares them the way `benchstat`
does, asks for a verdict, and plots the samples. It takes a few seconds.

* **HashBuffer**: SHA-256 of 1 KiB staged in a 64 KiB buffer from the study's
  `hash` pool (cleared on every put) vs. a fresh 32-byte digest.
* **TarBuffer**: copying 32 KiB through a 64 KiB buffer from the `tar` pool
  vs. allocating and freeing the buffer every time.
"""),
    code(SETUP),
    md("""
## 1. Run the kernels

`runner.run` calibrates N the way `go test -bench` does, then takes
`count` samples, interleaving the variants of each kernel (A B A B …) so
drift hits all of them alike. `benchtime` is short here; use `1s` for real
measurements.
"""),
    code("""
from enginepools.bench import runner

res = runner.run("HashBuffer|TarBuffer", benchtime="40ms", count=6, cpus=[1], progress=False)
res"""),
    code("""
res.write_go(WORK / "quickstart.txt")      # Go benchmark format: benchstat reads it
res.write_json(WORK / "quickstart.json")   # every sample, the machine, the settings
print((WORK / "quickstart.txt").read_text()[:600])"""),
    md("""
## 2. Compare pooled and plain

`compare_columns(records, "impl", base="std")` puts the `/impl=` variants
side by side: median ± 95% interval per column, Δ of the medians, and the
Mann–Whitney U test. `~` means the difference is not significant.
"""),
    code("""
from enginepools.analysis import compare

cmp = compare.compare_columns(res.records(), "impl", base="std")
cmp"""),
    code("""
for row in cmp.rows:
    if row.unit in ("ns/op", "B/op"):
        print(f"{row.name:12s} {row.new_label:13s} {row.unit:6s} Δ {row.delta_pct:+7.1f}%  "
              f"p={row.p_value}  significant={row.significant}")"""),
    md("""
## 3. Verdicts

Keep when significantly ≥ 15% faster or ≥ 20% less memory; remove when
significantly slower or within 10% with no memory gain; otherwise
inconclusive. Each verdict names the rule that decided it.
"""),
    code("""
from enginepools.analysis import verdict

verdicts = verdict.decide(cmp.rows)
verdicts"""),
    md("""
## 4. Plot the samples

Every sample, per variant: the spread shows how much a single run can be
trusted, and why one sample per benchmark (as in the original study) is
not enough.
"""),
    code("""
names = res.names()
fig, ax = plt.subplots(figsize=(7, 0.45 * len(names) + 1))
for i, name in enumerate(names):
    v = res[name].values["ns/op"]
    ax.scatter(v, np.full(len(v), i) + np.linspace(-0.15, 0.15, len(v)), s=14)
    ax.plot([np.median(v)] * 2, [i - 0.3, i + 0.3], color="black", lw=1)
ax.set_yticks(range(len(names)), [n.removeprefix("Benchmark") for n in names])
ax.set_xlabel("ns/op (each dot one sample, bar = median)")
ax.set_xlim(left=0)
ax.grid(axis="x", alpha=0.3)
fig.tight_layout()"""),
    md("""
The report's charts take the comparison rows directly: Δ per pool with its
interval, ~ when not significant. [docs/reading-the-charts.md](../docs/reading-the-charts.md)
explains how to read them.
"""),
    code("""
from enginepools.render import charts

charts.time_chart(cmp.rows)"""),
    code("""
charts.memory_chart(cmp.rows)"""),
]

# ---------------------------------------------------------------- 02

HEAP = [
    md("""
# Heap profiles: where does the memory go?

Profile the library's own allocations with the sampling heap profiler,
look at the top allocation sites as `go tool pprof -top` prints them, draw
the call graph and a flame graph, and diff two profiles (with and without
pools). Profiles are standard `profile.proto` files: `go tool pprof` reads
them, and the same functions read Go's heap profiles.
"""),
    code(SETUP),
    md("""
## 1. Record two heap profiles

The profiler samples allocations made through enginepools' C allocator
(rate 1 = every allocation here, so the small workload is exact). The
workload runs the TarBuffer kernels: plain allocation first, then the pool.
"""),
    code("""
from enginepools.pprof import profilers as profiling
from enginepools.bench import runner

def profile_kernel(pattern, path):
    with profiling.HeapProfiler(rate=1) as prof:
        runner.run(pattern, benchtime="300x", count=1, cpus=[1], progress=False)
    prof.write(path)
    return path

std_path = profile_kernel("TarBuffer/impl=std", WORK / "heap-std.pb.gz")
pool_path = profile_kernel("TarBuffer/impl=pool", WORK / "heap-pool.pb.gz")
std_path, pool_path"""),
    code("""
from enginepools import Profile

p = Profile.read(std_path)
p"""),
    md("""
## 2. Top allocation sites

The same rows and numbers as `go tool pprof -top -sample_index=alloc_space`.
"""),
    code("""
from enginepools.pprof import graph as pprof_graph, report as pprof_report

g = pprof_graph.build_graph(std_path, pprof_graph.GraphOptions(sample_index="alloc_space"))
print(pprof_report.top_text(g))"""),
    md("""
## 3. Call graph

A picture selects its nodes as `go tool pprof -png` does (`visual=True`:
pprof's entropy ranking, at most 80 boxes), not the biggest flat values
that `-top` lists.
"""),
    code("""
from enginepools.render import callgraph

pic = pprof_graph.build_graph(std_path, pprof_graph.GraphOptions(sample_index="alloc_space", visual=True))
fig = callgraph.draw(pic, title="TarBuffer/impl=std: alloc_space")
fig"""),
    md("## 4. Flame graph"),
    code("""
from enginepools.render import flamegraph

fig = flamegraph.flame_graph(Profile.read(std_path), "alloc_space", title="TarBuffer/impl=std")
fig"""),
    md("""
## 5. Diff: what did the pool change?

Red frames allocate more with the pool, blue frames less. `-diff_base`
gives the same numbers as a table.
"""),
    code("""
fig = flamegraph.diff_flame_graph(Profile.read(std_path), Profile.read(pool_path), "alloc_space",
                                  title="pool vs std: alloc_space")
fig"""),
    code("""
diff = pprof_graph.load_profile([pool_path], base=[std_path], diff_base=True)
gd = pprof_graph.build_graph(diff, pprof_graph.GraphOptions(sample_index="alloc_space"))
print(pprof_report.top_text(gd))"""),
]

# ---------------------------------------------------------------- 03

AB = [
    md("""
# End-to-end A/B: do the pools pay in a whole build?

Micro-benchmarks say what one operation costs. This notebook runs the
"build context" pipeline — walk a generated source tree, hash every file,
write a tar archive, build image-tag strings — with the pools on and off,
alternating, each run in a fresh process, and compares wall time and
memory of the whole run. That is the validation the original study
planned and never did.
"""),
    code(SETUP),
    md("""
## 1. A build context

A deterministic, seeded tree of files: the same bytes on every machine.
The default tree (3000 files, tens of MB) is what `enginepools ab` uses;
a small one keeps this notebook quick.
"""),
    code("""
from enginepools.e2e import treegen

tree = treegen.generate(WORK / "ctx", treegen.TreeSpec(files=400, dirs=30, seed=1))
tree"""),
    md("""
## 2. A/B: pools off vs on, interleaved

`run_ab` runs every configuration `count` times in rounds (A B, B A, …),
one process per run, so each run's peak RSS is its own. `none` is the
baseline: plain allocation everywhere; `all` turns on the hash, tar and
string pools.
"""),
    code("""
from enginepools.e2e import ab

result = ab.run_ab(tree.path, configs=["none", "all"], count=6)
result"""),
    code("""
print(result.table())   # the same numbers as text (what `enginepools ab` prints)"""),
    md("""
## 3. The statistics engine's view

The same samples as a comparison table (median ± 95% CI, Δ, U test) for
every unit the runs recorded, and the verdict for the configuration.
"""),
    code("""
cmp = result.comparison()
cmp"""),
    code("""
result.verdicts()"""),
    code("""
from enginepools.render import charts

fig = charts.ab_chart(cmp.rows, unit="ns/op")
fig"""),
    md("""
A whole-build difference that is not significant, next to a large
micro-benchmark difference, is the usual finding: the pooled operation is
a small share of the build. Look at the heap profile (notebook 02) before
deciding a pool matters to memory.
"""),
]

# ---------------------------------------------------------------- 04

TUNING = [
    md("""
# Pool tuning: speed against retained memory

A pool trades memory it keeps for allocations it saves. This notebook
sweeps the three knobs that set that trade — buffer size, retention cap,
and threads — and plots speed against the memory each setting retains.

Timings use `enginepools.bench.pybench` (Go-style calibration for Python
callables, variants sampled interleaved); retained memory comes from the pool's own counters
(`peak_retained_bytes`). Each point is the median of 6 samples.
"""),
    code(SETUP),
    code("""
from enginepools import BufferPool
from enginepools.bench import pybench

BENCHTIME, COUNT = "15ms", 6

def median_ns(func, *args):
    return float(np.median(pybench.run(func, *args, benchtime=BENCHTIME, count=COUNT, memory=False).ns_per_op))"""),
    md("""
## 1. Buffer size

Get a buffer and give it back — from a pool, or as a fresh (zeroed)
`bytearray`. Small buffers are cheap to allocate, so the pool's fixed cost
per get/put (a Python call into C each way) dominates; large ones must be
zeroed, which is where a pool can pay — unless it clears on put, as the
`hash` preset does.
"""),
    code("""
sizes = [256, 1024, 4096, 16384, 65536, 262144]
rows = []
for size in sizes:
    pools = {"pool": BufferPool(default_size=size, name=f"sweep-{size}"),
             "pool, clear": BufferPool(default_size=size, clear_on_put=True, name=f"sweep-{size}-clear")}
    variants = {label: (lambda p=p, size=size: p.put(p.get(size))) for label, p in pools.items()}
    variants["bytearray"] = lambda size=size: bytearray(size)   # allocated zeroed, freed at once
    # calibrate all three, then sample them interleaved (A B C A B C ...)
    res = pybench.run_interleaved(variants, benchtime=BENCHTIME, count=COUNT, memory=False)
    for label, r in res.items():
        kept = pools[label].stats()["peak_retained_bytes"] if label in pools else 0
        rows.append((label, size, float(np.median(r.ns_per_op)), kept))
    for p in pools.values():
        p.close()
for r in rows:
    print(f"{r[0]:12s} {r[1]:>7d} B  {r[2]:9.1f} ns/op  retained {r[3]:>8d} B")"""),
    code("""
plain = {r[1]: r[2] for r in rows if r[0] == "bytearray"}
colors = {"bytearray": "#0072B2", "pool": "#E69F00", "pool, clear": "#009E73"}
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
for label in ("bytearray", "pool", "pool, clear"):
    pts = [r for r in rows if r[0] == label]
    ax1.plot([r[1] for r in pts], [r[2] for r in pts], marker="o", label=label, color=colors[label])
    if label == "bytearray":
        continue
    speedup = [plain[r[1]] / r[2] for r in pts]
    ax2.plot([r[3] for r in pts], speedup, marker="o", label=label, color=colors[label])
    for r, x in zip(pts, speedup):
        ax2.annotate(f"{r[1] // 1024}K" if r[1] >= 1024 else f"{r[1]}", (r[3], x), fontsize=7,
                     xytext=(3, 3), textcoords="offset points")
ax2.axhline(1.0, color="grey", lw=1, ls="--")
ax2.text(300, 1.03, "break-even with bytearray", fontsize=7, color="grey")
ax1.set(xscale="log", yscale="log", xlabel="buffer size (bytes)", ylabel="ns/op (median)", title="speed by size")
ax2.set(xscale="log", yscale="log", xlabel="retained by the pool (bytes)",
        ylabel="speed-up over bytearray (×)", title="what the retained memory buys")
ax2.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g×"))
ax2.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
for ax in (ax1, ax2):
    ax.grid(alpha=0.3)
ax1.legend()
ax2.legend()
fig.tight_layout()"""),
    md("""
## 2. Retention cap

A burst holds 16 buffers of 64 KiB at once (1 MiB), then gives them back.
A cap below the burst drops buffers on put, so the next burst misses and
allocates again; a cap at or above it keeps them all. The study's presets
cap retention at 1 MiB.
"""),
    code("""
BURST, SIZE = 16, 65536
caps = [128 << 10, 256 << 10, 512 << 10, 768 << 10, 1 << 20, 2 << 20]
cap_rows = []
for cap in caps:
    pool = BufferPool(default_size=SIZE, max_bytes=cap, name=f"cap-{cap}")
    def burst(pool=pool):
        held = [pool.get(SIZE) for _ in range(BURST)]
        for lease in held:
            pool.put(lease)
    t = median_ns(burst) / BURST
    s = pool.stats()
    cap_rows.append((cap, t, s["peak_retained_bytes"], s["hit_rate"]))
    pool.close()
for cap, t, kept, hit in cap_rows:
    print(f"cap {cap >> 10:>5d} KiB  {t:8.1f} ns/buffer  retained {kept >> 10:>5d} KiB  hit rate {hit:6.1%}")"""),
    code("""
fig, ax = plt.subplots(figsize=(6, 3.6))
ax.plot([r[2] / 1024 for r in cap_rows], [r[1] for r in cap_rows], marker="o")
for cap, t, kept, hit in cap_rows:
    ax.annotate(f"cap {cap >> 10}K\\nhits {hit:.0%}", (kept / 1024, t), fontsize=7, xytext=(4, 2),
                textcoords="offset points")
ax.set(xlabel="peak retained (KiB)", ylabel="ns per buffer", title="retention cap: speed vs memory")
ax.grid(alpha=0.3)
fig.tight_layout()"""),
    md("""
## 3. Threads

The C kernels `PoolGetPut` and `MallocFree` (64 KiB objects) run
RunParallel-style on 1 and 2 threads: N operations split over the
threads, ns/op = wall time / N, so perfect scaling halves ns/op. The pool's
per-thread magazines avoid the shared lock on the fast path.
"""),
    code("""
from enginepools.bench import runner

scal = runner.run("PoolGetPut|MallocFree/size=65536", benchtime="20ms", count=6, cpus=[1, 2], progress=False)
scal"""),
    code("""
fig, ax = plt.subplots(figsize=(6, 3.6))
for kernel in ("PoolGetPut/size=65536", "MallocFree/size=65536"):
    xs, ys = [], []
    for procs in (1, 2):
        name = "Benchmark" + kernel + ("" if procs == 1 else f"-{procs}")
        if name in scal.series:
            xs.append(procs)
            ys.append(scal[name].median("ns/op"))
    ax.plot(xs, ys, marker="o", label=kernel)
ax.set(xticks=[1, 2], xlabel="threads (-cpu)", ylabel="ns/op (wall / N)", title="scaling", ylim=(0, None))
ax.legend()
ax.grid(alpha=0.3)
fig.tight_layout()"""),
    md("""
## Reading the curves

* A pool pays where its line sits below the plain one; the retained bytes
  on the x axis are what that costs, all the time, even when idle.
* A cap below the working set makes the pool allocate anyway (low hit
  rate) *and* keep memory — the worst of both.
* Clearing on put costs time proportional to the buffer size; the `hash`
  preset pays it to protect 32 bytes of digest.
"""),
]

# ---------------------------------------------------------------- 05

PYPOOL = [
    md("""
# Python pooling: exact allocs/op, a heap profile, a decision

A Python function that needs a 64 KiB scratch buffer per call can allocate
a fresh `bytearray` or lease one from a `BufferPool`. Does the pool pay?

`pybench` answers with Go's `-benchmem` numbers, exactly: **B/op** and
**allocs/op** count every block the calls allocate, freed or not (a
`PyMem_SetAllocator` counter over the interpreter's allocators, on only
while memory is measured), so the buffer a call allocates and drops counts
every time — `tracemalloc` would show it only as a high-water mark, which
stays as `peak-B/op`. Then the Python heap profiler shows where the bytes
come from, with `%%ep_memprofile`, and the verdict rules decide.
"""),
    code(SETUP),
    md("""
## 1. Two ways to get a buffer

Both encode 8 records of 1000 bytes into a 64 KiB frame. `pool.get()`
returns a lease; `with lease as mv` gives a writable `memoryview` of the
pooled buffer and puts it back at the end of the block.
"""),
    code("""
from enginepools import BufferPool

FRAME, RECORD = 64 * 1024, b"x" * 1000
SLOTS = tuple(slice(i * len(RECORD), (i + 1) * len(RECORD)) for i in range(8))
pool = BufferPool(default_size=FRAME, name="frames")

def fill(mv):
    for s in SLOTS:
        mv[s] = RECORD
    return s.stop

def encode_fresh():
    return fill(memoryview(bytearray(FRAME)))

def encode_pooled():
    with pool.get() as mv:
        return fill(mv)

encode_fresh(), encode_pooled()"""),
    md("""
## 2. Benchmark: time and exact memory per call

The variants are calibrated, then sampled interleaved (A B A B …). Memory
is measured in separate passes, so counting never slows the timed runs.
"""),
    code("""
from enginepools.bench import pybench

res = pybench.run_interleaved({"Encode/impl=std": encode_fresh, "Encode/impl=pool": encode_pooled},
                              benchtime="20ms", count=6)
for name, r in res.items():
    print(f"{name:18s} {np.median(r.ns_per_op):8.0f} ns/op  {np.median(r.bytes_per_op):8.0f} B/op  "
          f"{np.median(r.allocs_per_op):4.0f} allocs/op  {np.median(r.values('peak-B/op')):8.0f} peak-B/op")"""),
    md("""
The fresh buffer is 2 blocks a call — the `bytearray` object and its 64 KiB
storage — plus the `memoryview` over it; the pooled call allocates only the
lease's small objects (the lease and the view it lends): compare the
blocks and the bytes above. `pybench.call_overhead()` is what the
measuring loop itself shows with a no-op callable (subtracted; 0 on
CPython 3.10–3.13):
"""),
    code("""
pybench.call_overhead()"""),
    code("""
from enginepools.analysis import compare

records = [rec for r in res.values() for rec in r.records()]
cmp = compare.compare_columns(records, "impl", base="std")
cmp"""),
    md("""
## 3. Where the bytes come from

`%load_ext enginepools` adds the `%%ep_memprofile` cell magic: it runs the
cell under the Python heap profiler (here at rate 1: every allocation) and
shows the top table, as `go tool pprof -top` prints it, and the call graph.
"""),
    code("""
%load_ext enginepools"""),
    code("""
%%ep_memprofile -rate 1 -nodecount 6
for _ in range(200):
    encode_fresh()"""),
    code("""
%%ep_memprofile -rate 1 -nodecount 6
for _ in range(200):
    encode_pooled()"""),
    md("""
The same profiles come from a script with
`enginepools run -memprofile mem.pb.gz script.py`, or from a `with
enginepools.memprofile("mem.pb.gz"):` block, and `go tool pprof` reads them.

## 4. Keep or remove?

The verdict rules of `enginepools verdict`: keep when significantly ≥ 15%
faster or ≥ 20% less memory, remove when significantly slower or within
10% with no memory gain, else inconclusive.
"""),
    code("""
from enginepools.analysis import verdict

verdicts = verdict.decide(cmp.rows)
print(verdict.render(verdicts))"""),
    md("""
In Python the fresh buffer is freed at once (reference counting), so its
bytes are allocator traffic, not memory held; what the pool keeps is
`retained_bytes` below, all the time. The decision above weighs the time
and the allocation volume; the retained bytes are its price.
"""),
    code("""
{k: pool.stats()[k] for k in ("hits", "misses", "retained_bytes")}"""),
]

NOTEBOOKS = {
    "01-quickstart.ipynb": QUICKSTART,
    "02-heap-profiles.ipynb": HEAP,
    "03-end-to-end-ab.ipynb": AB,
    "04-pool-tuning.ipynb": TUNING,
    "05-python-pooling.ipynb": PYPOOL,
}


def build(cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    # stable ids, so regenerating does not churn the files
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i:02d}"
    return nb


def render(name: str) -> str:
    return nbformat.writes(build(NOTEBOOKS[name])) + "\n"


def main(argv: list[str]) -> int:
    stale = []
    for name in NOTEBOOKS:
        text = render(name)
        path = HERE / name
        if "--check" in argv:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(HERE.parent)}" + ("  (pending: " + PENDING[name] + ")" if name in PENDING
                                                           else ""))
    if stale:
        print("out of date (run python notebooks/make_notebooks.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

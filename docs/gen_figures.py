"""Generate the measured figures in docs/pools.md and docs/profiling.md
from recorded runs, so no figure in them is typed by hand.

    python docs/gen_figures.py          # rewrite the generated sections
    python docs/gen_figures.py --check  # exit 1 if a section is out of date

The recordings are committed beside this script:

* docs/data/pool_speed.json — ``python benchmarks/pool_speed.py -json``;
* docs/data/heapprof_overhead.json — ``python benchmarks/heapprof_overhead.py
  -json docs/data/heapprof_overhead.json``;
* docs/data/c_stress.json — ``python benchmarks/c_stress.py -json
  docs/data/c_stress.json`` (the C stress test's builds, timed).

To publish a new run, re-record the file and run this script.  Each section
sits between ``<!-- BEGIN GENERATED: NAME -->`` and ``<!-- END GENERATED:
NAME -->`` markers; tests/test_docs_figures.py fails when a section is
stale or a ratio does not recompute from the recording.
"""
from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "docs" / "data"
sys.path.insert(0, str(ROOT))

from enginepools.report import fmt  # noqa: E402

# pool_speed.py's ratio labels → the doc's wording
POOL_ROWS = [
    ("64 B: pool get+put vs malloc+free (x faster)", "64 B get+put vs malloc+free"),
    ("64 B: pool get+put vs ep_alloc+ep_free (x faster)", "64 B get+put vs ep_alloc+ep_free"),
    ("64 KiB: tar pool get+put vs malloc+free (x faster)", "64 KiB \"tar\" get+put vs malloc+free"),
    ("64 KiB: hash pool (zeroes on put) vs malloc+free (x faster)",
     "64 KiB \"hash\" get+put (zeroes 64 KiB) vs malloc+free"),
    ("pool: 2-thread vs 1-thread throughput (x)", "pool, 2 threads vs 1 thread"),
    ("malloc: 2-thread vs 1-thread throughput (x)", "malloc, 2 threads vs 1 thread"),
]
PY_ROWS = [
    ("Python: with pool.buffer() 64 KiB vs bytearray(65536) (x faster)",
     "`with pool.buffer() as mv` (64 KiB, \"tar\") vs `bytearray(65536)`"),
    ("Python: with pool.object() 64 B vs bytearray(64) (x faster)",
     "`with pool.object() as mv` (64 B) vs `bytearray(64)`"),
]
VARIANTS = [("pool_1t", "pool get+put, 64 B"), ("malloc_1t", "malloc+free, 64 B"),
            ("epalloc_1t", "ep_alloc+ep_free, 64 B"), ("pool_2t", "pool get+put, 64 B, 2 threads"),
            ("malloc_2t", "malloc+free, 64 B, 2 threads"), ("tar64k_1t", "\"tar\" pool get+put, 64 KiB"),
            ("hash64k_1t", "\"hash\" pool get+put, 64 KiB"), ("malloc64k_1t", "malloc+free, 64 KiB")]


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def ratio_of_rounds(fig: dict[str, Any]) -> float:
    """The figure a row prints: the median of the per-round ratios."""
    return statistics.median(fig["per_round"])


def _x(v: float) -> str:
    return f"{v:.2f}×"


def pool_speed_section(rec: dict[str, Any]) -> str:
    figs = {(f["clock"], f["label"]): f for f in rec["ratios"]}
    med = rec["median_ns_per_op"]
    out = [f"Recorded run (`python benchmarks/pool_speed.py -json -iters {rec['iters']} -rounds {rec['rounds']}`, "
           "docs/data/pool_speed.json). Each ratio is the median over the rounds of the ratio measured within "
           "a round, with the range over rounds; it is not the ratio of the medians in the second table.", "",
           "| figure | CPU-time ratio (range) | wall-clock ratio (range) |", "|---|---|---|"]
    for label, text in POOL_ROWS:
        cells = []
        for clock in ("cpu", "wall"):
            f = figs[(clock, label)]
            cells.append(f"{_x(ratio_of_rounds(f))} ({_x(min(f['per_round']))}–{_x(max(f['per_round']))})")
        out.append(f"| {text} | {cells[0]} | {cells[1]} |")
    out += ["", "| variant | CPU ns/op | wall ns/op |", "|---|---|---|"]
    for key, text in VARIANTS:
        out.append(f"| {text} | {fmt.num(med['cpu'][key])} | {fmt.num(med['wall'][key])} |")
    out += ["", "From Python, through the seam (wall clock, `timeit`, interleaved rounds):", "",
            "| figure | ratio (range) | ns per call, median |", "|---|---|---|"]
    py = med["python"]
    names = {PY_ROWS[0][0]: ("py_lend64k", "py_bytearray64k"), PY_ROWS[1][0]: ("py_lend64", "py_bytearray64")}
    for label, text in PY_ROWS:
        f = figs[("python", label)]
        lend, plain = names[label]
        out.append(f"| {text} | {_x(ratio_of_rounds(f))} ({_x(min(f['per_round']))}–{_x(max(f['per_round']))}) "
                   f"| {fmt.num(py[lend])} vs {fmt.num(py[plain])} |")
    return "\n".join(out)


def heapprof_section(rec: dict[str, Any]) -> str:
    clocks = {r["clock"] for r in rec.values()}
    clock = "CPU time of the calling thread" if clocks == {"cpu"} else "wall time"
    out = ["Recorded run (`python benchmarks/heapprof_overhead.py -json docs/data/heapprof_overhead.json`; "
           f"{clock}; ratios are medians of the per-round ratios against \"off\"; off/off is the noise floor):",
           "", "| kernel | off ns/op | default rate / off | rate 1 / off | off / off |", "|---|---|---|---|---|"]
    for name, r in rec.items():
        q = r["ratio_vs_off"]
        out.append(f"| {name} | {fmt.num(r['median_ns_per_op']['off'])} | {q['default']:.3f}× | "
                   f"{q['rate1']:.2f}× | {q['off2']:.3f}× |")
    return "\n".join(out)


STRESS_BUILDS = [("optimised", "optimised (`make stress`)"), ("asan", "ASan + UBSan, EP_DEBUG (`make stress-asan`)"),
                 ("tsan", "TSan, EP_DEBUG (`make stress-tsan`)")]


def c_stress_section(rec: dict[str, Any]) -> str:
    runs = rec["runs"]
    first = runs[STRESS_BUILDS[0][0]]
    phases = [p["name"] for p in first["phases"]]
    out = [f"Recorded run (`python benchmarks/c_stress.py -json docs/data/c_stress.json`, docs/data/c_stress.json): "
           f"{first['threads']} threads, {fmt.count(rec['iters'])} gets per thread per phase, each build compiled "
           f"and run once on a {rec['cores']}-core machine shared with other work (wall clock; the 1-minute load "
           "average before each run beside it, since the times follow the load).", "",
           "| build | compile | run | load | result | hit rate: " + ", ".join(phases) + " |", "|---|---|---|---|---|---|"]
    for key, text in STRESS_BUILDS:
        r = runs[key]
        result = (f"{'ok' if r['ok'] and r['exit'] == 0 else 'FAIL'}, {r['failures']} failures, ep_alloc books "
                  + ("balance" if r["books_balance"] else "do not balance"))
        hits = {p["name"]: p["hit_pct"] for p in r["phases"]}
        out.append(f"| {text} | {fmt.seconds(r['build_s'])} | {fmt.seconds(r['run_s'])} | {r['load_before']:.1f} | "
                   f"{result} | " + ", ".join(fmt.pct(hits[n] / 100, signed=False) for n in phases) + " |")
    return "\n".join(out)


SECTIONS: dict[str, tuple[Path, str, Callable[[dict[str, Any]], str]]] = {
    "pool_speed": (ROOT / "docs" / "pools.md", "pool_speed.json", pool_speed_section),
    "heapprof_overhead": (ROOT / "docs" / "profiling.md", "heapprof_overhead.json", heapprof_section),
    "c_stress": (ROOT / "docs" / "pools.md", "c_stress.json", c_stress_section),
}


def begin(name: str) -> str:
    return (f"<!-- BEGIN GENERATED: {name} (python docs/gen_figures.py from docs/data/{SECTIONS[name][1]}; "
            "do not edit by hand) -->")


def end(name: str) -> str:
    return f"<!-- END GENERATED: {name} -->"


def rewrite(text: str, name: str, body: str) -> str:
    b, e = begin(name), end(name)
    i, j = text.find(b), text.find(e)
    if i < 0 or j < i:
        raise SystemExit(f"gen_figures: {SECTIONS[name][0].name} has no {name} markers")
    return text[: i + len(b)] + "\n" + body + "\n" + text[j:]


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, (doc, data, render) in SECTIONS.items():
        text = doc.read_text()
        new = rewrite(text, name, render(load(data)))
        if new != text:
            stale.append(doc.name)
            if not check:
                doc.write_text(new)
    if check and stale:
        print(f"gen_figures: out of date: {', '.join(stale)} (run: python docs/gen_figures.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

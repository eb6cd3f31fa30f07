"""libFuzzer target (atheris) for the Go benchmark reader, enginepools/bench/benchfmt.py.

    fuzz/run.sh benchfmt 60          # what CI runs
    python fuzz/fuzz_benchfmt.py -max_total_time=60 fuzz/corpus/benchfmt

The reader is Python, so atheris instruments its bytecode for coverage and
drives it with libFuzzer.  Properties checked for every input: reading
either returns records or raises InputError whose message is one line and
names the file (never another exception); every value read is finite and
within benchfmt.MAX_MAGNITUDE; the records written back as Go text read back
equal (name, iterations, values).  ``--make-seeds DIR`` writes the seeds.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["enginepools.bench.benchfmt"]):
    from enginepools.bench import benchfmt
    from enginepools.errors import InputError


def check(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return  # benchfmt.read refuses non-UTF-8 before parsing
    try:
        recs = benchfmt.parse(text, "fuzz.txt")
    except InputError as e:
        msg = str(e)
        assert msg.startswith("fuzz.txt") and "\n" not in msg, msg
        return
    for r in recs:
        for v in r.values.values():
            assert math.isfinite(v) and abs(v) <= benchfmt.MAX_MAGNITUDE, v
    again = benchfmt.parse(benchfmt.format_text(recs), "again.txt")
    assert [(r.name, r.iterations, r.values) for r in again] == [(r.name, r.iterations, r.values) for r in recs]


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris' name
    check(data)


SEEDS = {
    "go.txt": "goos: linux\ngoarch: amd64\npkg: x\ncpu: Some CPU\n"
              "BenchmarkHash/size=64-8   \t 1000000\t      1050 ns/op\t  60.95 MB/s\t      16 B/op\t       1 allocs/op\n"
              "BenchmarkHash/size=64-8   \t 1000000\t      1049.5 ns/op\n"
              "PASS\nok  \tx\t1.2s\n",
    "custom.txt": "pool: on\nBenchmarkA 10 5e3 ns/op 12 custom-unit\nBenchmarkA 10 4.5e3 ns/op 3 custom-unit\n",
    "json.json": '{"samples": [{"name": "BenchmarkA-2", "iterations": 10, "values": {"ns/op": 12.5}}]}',
    "bad.txt": "BenchmarkA 10 +Inf ns/op\nBenchmarkB x 1 ns/op\n",
}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--make-seeds"]:
        out = Path(sys.argv[2])
        out.mkdir(parents=True, exist_ok=True)
        for name, text in SEEDS.items():
            (out / name).write_text(text, encoding="utf-8")
        sys.exit(0)
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()

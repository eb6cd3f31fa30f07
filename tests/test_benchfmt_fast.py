"""The fast Go-text reader (C scanner + lazy Records) reads what the line
reader reads: same records, same line numbers, same configuration, same
errors — on line breaks, separators, number spellings and odd lines that
the scanner either takes or leaves to the line reader."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from enginepools.bench import benchfmt
from enginepools.errors import InputError


def both(text: str) -> tuple[list[benchfmt.Record], list[benchfmt.Record]]:
    fast = benchfmt.parse_text(text, "t.txt")
    ref = benchfmt.parse_lines(text, "t.txt")
    return fast, ref


def test_line_breaks_are_str_splitlines(tmp_path: Path) -> None:
    # \r\n, \r, \v, \f, \x1c-\x1e all end a line for str.splitlines(); \x1f separates fields
    text = ("goos: linux\r\nBenchmarkA-2 10 5 ns/op\rBenchmarkB 3\x1f7 ns/op\x0bpkg: p\x0c"
            "BenchmarkC 1 2 B/op\x1cBenchmarkD 1 3 B/op\x1dnote: x\x1eBenchmarkE 1 4 B/op")
    fast, ref = both(text)
    assert fast == ref
    # by hand: lines 1..8 as str.splitlines() numbers them
    assert [(r.name, r.line, r.iterations) for r in fast] == [
        ("BenchmarkA-2", 2, 10), ("BenchmarkB", 3, 3), ("BenchmarkC", 5, 1), ("BenchmarkD", 6, 1),
        ("BenchmarkE", 8, 1)]
    assert fast[0].config == {"goos": "linux"} and fast[2].config == {"goos": "linux", "pkg": "p"}
    assert fast[4].config == {"goos": "linux", "pkg": "p", "note": "x"}
    p = tmp_path / "b.txt"
    p.write_bytes(text.encode())
    assert list(benchfmt.read(p)) == [benchfmt.make_record(r.name, r.iterations, r.values, r.config, str(p), r.line)
                                      for r in fast]


def test_number_spellings_read_as_pythons_float() -> None:
    rng = random.Random(16)
    spellings = []
    for _ in range(3000):
        k = rng.randrange(8)
        if k == 0:
            spellings.append(repr(rng.uniform(-1e6, 1e6)))
        elif k == 1:
            spellings.append(f"{rng.uniform(0, 1e5):.{rng.randint(0, 6)}f}")
        elif k == 2:
            spellings.append(f"{rng.random() * 10 ** rng.randint(-30, 30):.17g}")
        elif k == 3:
            spellings.append(str(rng.randint(0, 10**19)))
        elif k == 4:
            spellings.append(f"{rng.randint(0, 99999)}.{rng.randint(0, 99999):05d}e{rng.randint(-25, 25)}")
        elif k == 5:
            spellings.append("0." + "0" * rng.randint(0, 25) + str(rng.randint(1, 10 ** rng.randint(1, 20))))
        elif k == 6:
            spellings.append(f"{rng.uniform(0, 1e300):.{rng.randint(1, 20)}e}")
        else:
            spellings.append(rng.choice(["-0", "+5", ".5", "5.", "1E3", "1e+3", "1_000", "00012", "-.25e-2"]))
    text = "".join(f"BenchmarkN {i + 1} {s} u/op\n" for i, s in enumerate(spellings))
    fast, ref = both(text)
    assert fast == ref and len(fast) == len(spellings)
    for r, s in zip(fast, spellings):
        assert r.values["u/op"] == float(s.replace("_", ""))


def test_odd_lines_go_to_the_line_reader() -> None:
    text = "\n".join([
        "goos: linux",
        "BenchmarkX",                                   # go test -v announcing a benchmark
        "Benchmarking is prose",
        "BenchmarkMicro/µs=1-2 5 7 ns/op",              # non-ASCII name
        "BenchmarkPlus +5 7 ns/op",                     # Python's int() takes +5
        "BenchmarkU 5 1_000 ns/op",                     # and float() takes 1_000
        "# comment: x",
        "pkg:",                                         # unsets nothing set
        "cpu: Intel(R) Core™ i7",                       # non-ASCII configuration
        "BenchmarkDup 1 1 a 2 b 3 a",                   # a repeated unit: last value, first place
        "ok  \tpkg\t1.2s",
    ]) + "\n"
    fast, ref = both(text)
    assert fast == ref
    assert [r.name for r in fast] == ["BenchmarkMicro/µs=1-2", "BenchmarkPlus", "BenchmarkU", "BenchmarkDup"]
    assert fast[1].iterations == 5 and fast[2].values == {"ns/op": 1000.0}
    assert list(fast[3].values.items()) == [("a", 3.0), ("b", 2.0)]
    assert fast[3].config == {"goos": "linux", "cpu": "Intel(R) Core™ i7"}


def test_unicode_line_separators_fall_back_to_the_line_reader() -> None:
    text = "goos: linux\u2028BenchmarkA 1 2 ns/op\x85BenchmarkB 1 3 ns/op\n"
    fast, ref = both(text)
    assert fast == ref and [(r.name, r.line) for r in fast] == [("BenchmarkA", 2), ("BenchmarkB", 3)]


@pytest.mark.parametrize("line, message", [
    ("BenchmarkX-8  100  12.x ns/op", "t.txt:3: BenchmarkX-8: malformed value '12.x' for unit ns/op"),
    ("BenchmarkX-8  100  12 ns/op  3", "t.txt:3: BenchmarkX-8: value '3' has no unit"),
    ("BenchmarkX-8  -1  12 ns/op", "t.txt:3: BenchmarkX-8: negative iteration count -1"),
    ("BenchmarkX-8  100", "t.txt:3: BenchmarkX-8: no measurements after the iteration count"),
    ("BenchmarkX-8  100  1e400 ns/op", "t.txt:3: BenchmarkX-8: malformed value '1e400' for unit ns/op "
                                       "(out of range: magnitude above 1e+300)"),
    ("BenchmarkX-8  100  inf ns/op", "t.txt:3: BenchmarkX-8: malformed value 'inf' for unit ns/op"),
])
def test_errors_are_the_line_readers(tmp_path: Path, line: str, message: str) -> None:
    p = tmp_path / "t.txt"
    p.write_text(f"goos: linux\nBenchmarkOK 1 1 ns/op\n{line}\nBenchmarkOK 1 1 ns/op\n")
    with pytest.raises(InputError) as e:
        benchfmt.read(p)
    assert str(e.value) == f"{p}:{message.split(':', 1)[1]}"
    with pytest.raises(InputError) as e2:
        benchfmt.parse_lines(p.read_text(), str(p))
    assert str(e2.value) == str(e.value)


def test_bad_utf8_is_reported_at_its_byte(tmp_path: Path) -> None:
    p = tmp_path / "bin.txt"
    good = "BenchmarkA 1 2 ns/op # µ\n".encode()
    p.write_bytes(good * 3 + b"\xff" + good)
    with pytest.raises(InputError, match=rf"bin\.txt: not a text file \(invalid start byte at byte {3 * len(good)}\)"):
        benchfmt.read(p)
    # the chunked check names the same byte when the bad byte is in a later chunk
    # or a character is cut by a chunk boundary
    data = good * 3 + b"\xe2\x82" + good
    with pytest.raises(InputError, match=rf"at byte {3 * len(good)}\)"):
        benchfmt._check_utf8(data, "f", chunk=7)
    benchfmt._check_utf8(good * 5, "f", chunk=7)  # "µ" cut in two by chunk boundaries: fine


def test_records_behave_as_a_read_only_list(tmp_path: Path) -> None:
    p = tmp_path / "r.txt"
    p.write_text("pkg: a\n" + "".join(f"BenchmarkA-2 {i + 1} {i * 10 + 1} ns/op {i} B/op\n" for i in range(5))
                 + "BenchmarkA-2 +9 1 ns/op\n")
    recs = benchfmt.read(p)
    assert len(recs) == 6
    assert recs[0].iterations == 1 and recs[-1].iterations == 9 and recs[-2].values == {"ns/op": 41.0, "B/op": 4.0}
    assert [r.iterations for r in recs[1:3]] == [2, 3]
    listed = list(recs)
    assert recs == listed and listed == list(recs[:])
    assert len(recs + listed) == 12 and len(listed + recs) == 12
    with pytest.raises(IndexError):
        recs[6]
    # each record owns its configuration, as the line reader gives it
    recs[0].config["pkg"] = "changed"  # type: ignore[index]
    assert recs[1].config == {"pkg": "a"}

"""The bad-input matrix (issue 18): every command and the Python API, fed
what a careless or hostile user would give them.

Each CLI case runs ``enginepools.cli.main`` in-process on tiny inputs and
must end with exactly one line on stderr that names the file or argument and
says what is wrong, exit 1 (bad input) or 2 (bad usage), no traceback — and
no file that existed before the run is changed, replaced or removed (every
file under the case's directory is snapshotted before and after: kind,
bytes, mode).  Each API case must raise ValueError/TypeError naming the
argument.  Expected fragments are written by hand from the input, not taken
from the code."""
from __future__ import annotations

import gzip
import math
import os
import stat
from pathlib import Path

import pytest

from enginepools.cli import main

GOOD_OLD = "".join(f"BenchmarkA-2 100 {v} ns/op\n" for v in (100, 101, 99, 100, 102, 98))
GOOD_NEW = "".join(f"BenchmarkA-2 100 {v} ns/op\n" for v in (80, 81, 79, 80, 82, 78))


def _small_profile() -> bytes:
    from enginepools.pprof.profile import ProfileBuilder

    b = ProfileBuilder()
    b.add_sample([1, 64, 1, 64], [("f", "f.c", 1), ("main", "m.c", 2)])
    return b.build().to_bytes()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("matrix")
    (d / "old.txt").write_text(GOOD_OLD)
    (d / "new.txt").write_text(GOOD_NEW)
    (d / "prof.pb.gz").write_bytes(_small_profile())
    (d / "empty").write_bytes(b"")
    (d / "bin.dat").write_bytes(bytes(range(256)) * 4)
    (d / "text.txt").write_text("hello, these are not benchmarks\n")
    (d / "trunc.pb.gz").write_bytes(_small_profile()[:20])
    (d / "garbage.pb").write_bytes(b"\x0a\xff\xff\xff\xff\x0f" + b"\x00" * 10)
    (d / "zero.gz").write_bytes(gzip.compress(b""))
    (d / "bomb.pb.gz").write_bytes(gzip.compress(b"\0" * (4 << 20)))  # 4 MiB under a 1 MiB cap
    (d / "nan.txt").write_text("BenchmarkA-2 100 NaN ns/op\n")
    (d / "inf.txt").write_text("BenchmarkA-2 100 +Inf ns/op\n")
    (d / "e400.txt").write_text("BenchmarkA-2 100 1e400 ns/op\n")
    (d / "e308.txt").write_text("BenchmarkA-2 100 1.7e308 ns/op\n")
    (d / "bigint.json").write_text('{"format": "enginepools.bench/1", "samples": [{"name": "BenchmarkA", "iterations": 1, "values": {"ns/op": 1'
                                   + "0" * 400 + "}}]}")
    (d / "badjson.json").write_text('{"samples": 3}')
    (d / "badline.txt").write_text("BenchmarkA-2 lots 5 ns/op\n")
    (d / "bin.toml").write_bytes(b"\xff\xfe\x00binary" * 10)
    (d / "bad.toml").write_text("x = = 1\n")
    (d / "unknown.toml").write_text("no_such_rule = 1\n")
    (d / "adir").mkdir()
    (d / "out.txt").write_text("precious output of an earlier run\n")
    (d / "userdir").mkdir()
    (d / "userdir" / "README.md").write_text("the user's own README\n")
    os.symlink("out.txt", d / "link.txt")
    return d


def _snapshot(d: Path) -> dict[str, tuple]:
    snap = {}
    for root, dirs, names in os.walk(d):
        for n in dirs + names:
            p = Path(root) / n
            st = os.lstat(p)
            body = p.read_bytes() if stat.S_ISREG(st.st_mode) else os.readlink(p) if stat.S_ISLNK(st.st_mode) else b""
            snap[str(p.relative_to(d))] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), body, st.st_ino)
    return snap


# (command line with {d} for the case directory, exit code, fragments the one line must contain)
C: list[tuple[str, int, tuple[str, ...]]] = []

# ---- top: unreadable or malformed profiles -----------------------------------------
for f, frag in [("missing.pb", "no such file"), ("adir", "is a directory"), ("empty", "empty"),
                ("bin.dat", "bin.dat"), ("text.txt", "text.txt"), ("trunc.pb.gz", "gzip"),
                ("garbage.pb", "garbage.pb"), ("zero.gz", "zero.gz"), ("old.txt", "old.txt"),
                ("bomb.pb.gz", "inflates to more than 1048576 bytes")]:
    C.append((f"top {{d}}/{f}", 1, (f, frag)))
C.append(("top /dev/zero", 1, ("/dev/zero", "not a regular file")))
C.append(("top {d}/prof.pb.gz {d}/bin.dat", 1, ("bin.dat",)))
for flag, val, frag in [("-nodecount", "lots", "-nodecount"), ("-nodecount", "1" + "0" * 30, "-nodecount"),
                        ("-nodefraction", "nan", "-nodefraction"), ("-nodefraction", "inf", "-nodefraction"),
                        ("-edgefraction", "x", "-edgefraction"), ("-divide_by", "nan", "-divide_by"),
                        ("-focus", "(", "focus regexp"), ("-ignore", "[", "ignore regexp"),
                        ("-sample_index", "nosuch", "nosuch"), ("-output", "", "-output")]:
    C.append((f"top {flag} '{val}' {{d}}/prof.pb.gz", 2, (frag,)))
C.append(("top -output {d}/adir {d}/prof.pb.gz", 1, ("adir", "is a directory")))
C.append(("top -output {d}/nodir/x.txt {d}/prof.pb.gz", 1, ("nodir", "does not exist")))
C.append(("top -dot -output {d}/nodir/x.dot {d}/prof.pb.gz", 1, ("nodir",)))
C.append(("top -nosuchflag {d}/prof.pb.gz", 2, ("-nosuchflag",)))

# ---- compare / verdict: benchmark files ---------------------------------------------
BAD_BENCH = [("missing.txt", "no such file"), ("adir", "is a directory"), ("empty", "no benchmark results"),
             ("bin.dat", "not a text file"), ("text.txt", "no benchmark results"), ("nan.txt", "NaN"),
             ("inf.txt", "+Inf"), ("e400.txt", "out of range"), ("e308.txt", "out of range"),
             ("bigint.json", "out of range"), ("badjson.json", "badjson.json"), ("badline.txt", "badline.txt"),
             ("prof.pb.gz", "prof.pb.gz")]
for cmd in ("compare", "verdict"):
    for f, frag in BAD_BENCH:
        C.append((f"{cmd} {{d}}/old.txt {{d}}/{f}", 1, (f, frag)))
    C.append((f"{cmd} /dev/zero", 1, ("/dev/zero",)))
    C.append((f"{cmd} -format xml {{d}}/old.txt {{d}}/new.txt", 2, ("-format",)))
    C.append((f"{cmd} -filter '(' {{d}}/old.txt {{d}}/new.txt", 2, ("-filter",)))
    C.append((f"{cmd} -pair nocolon {{d}}/old.txt {{d}}/new.txt", 2, ("-pair",)))
for val in ("nan", "2", "-0.5", "x", "inf"):
    C.append((f"compare -alpha {val} {{d}}/old.txt {{d}}/new.txt", 2, ("-alpha",)))
for f, frag in [("bin.toml", "not a text file"), ("bad.toml", "not valid TOML"), ("unknown.toml", "no_such_rule"),
                ("missing.toml", "no such file"), ("adir", "is a directory")]:
    C.append((f"verdict -config {{d}}/{f} {{d}}/old.txt {{d}}/new.txt", 1, (f, frag)))
C.append(("verdict -config /dev/zero {d}/old.txt {d}/new.txt", 1, ("/dev/zero",)))

# ---- bench: flags (all refused before any kernel runs) --------------------------------
for flag, val, frag in [("-benchtime", "fast", "-benchtime"), ("-benchtime", "0x", "-benchtime"),
                        ("-benchtime", "-1s", "-benchtime"), ("-benchtime", "99999999999999999999x", "out of range"),
                        ("-benchtime", "999999999999999999999h", "-benchtime"), ("-benchtime", "x", "-benchtime"),
                        ("-count", "0", "-count"), ("-count", "-1", "-count"), ("-count", "lots", "-count"),
                        ("-count", "1" + "0" * 31, "out of range"), ("-count", str(2 ** 63), "out of range"),
                        ("-cpu", "0", "-cpu"), ("-cpu", "x", "-cpu"), ("-cpu", "1,,2", "-cpu"),
                        ("-cpu", "9999", "-cpu"), ("-bench", "(", "-bench"),
                        ("-o", "", "-o"), ("-json", "", "-json"), ("-memprofile", "", "-memprofile"),
                        ("-cpuprofile", "", "-cpuprofile"), ("-memprofilerate", "0", "-memprofilerate"),
                        ("-memprofilerate", "x", "-memprofilerate"), ("-memprofilerate", "-5", "-memprofilerate"),
                        ("-memprofilerate", str(2 ** 70), "-memprofilerate"), ("-pprof-http", "nocolon", "--pprof-http"),
                        ("-pprof-http", "127.0.0.1:99999", "--pprof-http")]:
    C.append((f"bench -bench SHA256 {flag} '{val}'", 2, (frag,)))
for flag in ("-o", "-json", "-memprofile", "-cpuprofile"):
    C.append((f"bench -bench SHA256 -benchtime 1x {flag} {{d}}/adir", 1, ("adir", "is a directory")))
    C.append((f"bench -bench SHA256 -benchtime 1x {flag} {{d}}/nodir/f", 1, ("nodir", "does not exist")))
C.append(("bench -bench NoSuchKernelAtAll", 1, ("NoSuchKernelAtAll",)))
C.append(("bench -bench SHA256 -o {d}/out.txt -json {d}/out.txt", 2, ("out.txt",)))
C.append(("bench -bench SHA256 -benchtme 1s", 2, ("-benchtme",)))

# ---- ab -------------------------------------------------------------------------------
for flag, val, frag in [("-count", "0", "-count"), ("-count", "x", "-count"), ("-count", "1" + "0" * 30, "-count"),
                        ("-threads", "-1", "-threads"), ("-threads", "5000", "-threads"), ("-threads", "x", "-threads"),
                        ("-warmup", "-1", "-warmup"), ("-warmup", "x", "-warmup"), ("-seed", "x", "-seed"),
                        ("-seed", "1" + "0" * 30, "-seed"), ("-configs", "bogus", "bogus"),
                        ("-archive", "tape", "-archive"), ("-o", "", "-o"), ("-json", "", "-json")]:
    C.append((f"ab {flag} '{val}' {{d}}/adir", 2, (frag,)))
C.append(("ab -o {d}/adir {d}/adir", 1, ("adir", "is a directory")))
C.append(("ab -json {d}/nodir/r.json {d}/adir", 1, ("nodir",)))
C.append(("ab -heapprofiles {d}/old.txt {d}/adir", 1, ("old.txt", "not a directory")))
for f, frag in [("bin.toml", "not a text file"), ("bad.toml", "not valid TOML"), ("missing.toml", "no such file")]:
    C.append((f"ab -config {{d}}/{f} {{d}}/adir", 1, (f, frag)))

# ---- pipeline ---------------------------------------------------------------------------
for flag, val, frag in [("-pools", "bogus", "bogus"), ("-threads", "-1", "-threads"), ("-threads", "5000", "-threads"),
                        ("-threads", "x", "-threads"), ("-count", "0", "-count"), ("-count", "x", "-count"),
                        ("-count", "1" + "0" * 30, "-count"), ("-seed", "x", "-seed"), ("-o", "", "-o"),
                        ("-stats-json", "", "-stats-json"), ("-memprofilerate", "0", "-memprofilerate"),
                        ("-memprofile", "", "-memprofile")]:
    exit_code = 1 if flag in ("-threads", "-count") and val not in ("x", "1" + "0" * 30) else 2
    C.append((f"pipeline {flag} '{val}' {{d}}/adir", exit_code, (frag,)))
C.append(("pipeline -o {d}/adir {d}/adir", 1, ("adir", "is a directory")))
C.append(("pipeline -o {d}/nodir/a.tar {d}/adir", 1, ("nodir",)))
C.append(("pipeline -stats-json {d}/adir {d}/adir", 1, ("adir", "is a directory")))
C.append(("pipeline {d}/missingdir", 1, ("missingdir", "no such directory")))
C.append(("pipeline {d}/old.txt", 1, ("old.txt", "not a directory")))

# ---- report -----------------------------------------------------------------------------
for out, code, frag in [("/", 1, "system directory"), ("/usr", 1, "system directory"), ("/etc", 1, "system directory"),
                        ("/proc/self", 1, "system directory"), ("{d}/old.txt", 1, "not a directory"),
                        ("{d}/userdir", 1, "README.md"), ("''", 2, "-out")]:
    C.append((f"report -bench {{d}}/old.txt -out {out}", code, (frag,)))
for flag, f, frag in [("-bench", "missing.txt", "no such file"), ("-bench", "bin.dat", "not a text file"),
                      ("-bench", "nan.txt", "NaN"), ("-bench", "e400.txt", "out of range"),
                      ("-profile", "missing.pb", "no such file"), ("-profile", "bin.dat", "bin.dat"),
                      ("-profile", "trunc.pb.gz", "gzip"), ("-profile", "bomb.pb.gz", "inflates to more than"),
                      ("-ab", "missing.json", "no such file"), ("-ab", "bin.dat", "bin.dat"),
                      ("-config", "bin.toml", "not a text file")]:
    more = "-bench {d}/old.txt " if flag == "-config" else ""
    C.append((f"report {more}{flag} {{d}}/{f} -out {{d}}/rep", 1, (f, frag)))
C.append(("report -bench {d}/old.txt", 2, ("-out",)))

# ---- study ------------------------------------------------------------------------------
for args, code, frag in [("-out /", 1, "system directory"), ("-out /etc", 1, "system directory"),
                         ("-out {d}/old.txt", 1, "not a directory"), ("-out {d}/userdir", 1, "README.md"),
                         ("-out ''", 2, "-out"), ("-count 0", 2, "-count"), ("-count x", 2, "-count"),
                         ("-count " + "1" * 40, 2, "-count"), ("-benchtime fast", 2, "-benchtime"),
                         ("-benchtime 0x", 2, "-benchtime"), ("-benchtime 99999999999999999999x", 2, "-benchtime"),
                         ("-benchtime ''", 2, "-benchtime"), ("-count 100000000", 2, "-count"),
                         ("-filter '('", 2, "-filter")]:
    C.append((f"study {args}", code, (frag,)))

C.append(("nosuchcommand", 2, ("nosuchcommand",)))


def _argv(line: str, d: Path) -> list[str]:
    import shlex

    return shlex.split(line.format(d=d))


@pytest.mark.parametrize("line,code,frags", C, ids=[c[0].replace("{d}/", "")[:80] for c in C])
def test_cli_bad_input(files: Path, line: str, code: int, frags: tuple[str, ...], capsys, monkeypatch) -> None:
    monkeypatch.setenv("ENGINEPOOLS_MAX_INFLATED", "1M")
    monkeypatch.chdir(files / "adir")
    before = _snapshot(files)
    try:
        rc = main(_argv(line, files))
    except SystemExit as e:
        rc = e.code
    out, err = capsys.readouterr()
    lines = [x for x in err.splitlines() if x.strip()]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert rc == code, err
    for frag in frags:
        assert frag.format(d=files) in lines[0], lines[0]
    assert lines[0].startswith("enginepools")
    after = _snapshot(files)
    assert {k: v for k, v in after.items() if k in before} == before


# ---- the Python API ----------------------------------------------------------------------

def _api_cases():
    from enginepools import pools as P

    def wp():
        return P.WorkerPool(1)

    def with_pool(fn):
        def run():
            w = wp()
            try:
                fn(w)
            finally:
                w.shutdown()
        return run

    return [
        ("BufferPool(max_bytes=2**63)", lambda: P.BufferPool(max_bytes=2 ** 63), "max_bytes"),
        ("BufferPool(max_bytes=-1)", lambda: P.BufferPool(max_bytes=-1), "max_bytes"),
        ("BufferPool(max_objects_per_class=2**64)", lambda: P.BufferPool(max_objects_per_class=2 ** 64),
         "max_objects_per_class"),
        ("BufferPool(default_size=2**100)", lambda: P.BufferPool(default_size=2 ** 100), "default_size"),
        ("ObjectPool(64, max_objects=2**64)", lambda: P.ObjectPool(64, max_objects=2 ** 64), "max_objects"),
        ("ObjectPool(2**63)", lambda: P.ObjectPool(2 ** 63), "size"),
        ("ObjectPool(0)", lambda: P.ObjectPool(0), "size"),
        ("ObjectPool(64, magazine_size=2**64)", lambda: P.ObjectPool(64, magazine_size=2 ** 64), "magazine_size"),
        ("ObjectPool(64, max_bytes=-2**70)", lambda: P.ObjectPool(64, max_bytes=-2 ** 70), "max_bytes"),
        ("StringBuilderPool(initial_capacity=2**63)", lambda: P.StringBuilderPool(initial_capacity=2 ** 63),
         "initial_capacity"),
        ("StringBuilderPool(max_objects=2**64)", lambda: P.StringBuilderPool(max_objects=2 ** 64), "max_objects"),
        ("WorkerPool(threads=2**63)", lambda: P.WorkerPool(threads=2 ** 63), "threads"),
        ("WorkerPool(2, max_bytes=2**64)", lambda: P.WorkerPool(2, max_bytes=2 ** 64), "max_bytes"),
        ("submit_c('spin', 2**64)", with_pool(lambda w: w.submit_c("spin", 2 ** 64)), "arg"),
        ("submit_c('spin', 1, 2**70)", with_pool(lambda w: w.submit_c("spin", 1, 2 ** 70)), "count"),
        ("submit_c('bogus')", with_pool(lambda w: w.submit_c("bogus")), "bogus"),
        ("wait_all(-1)", with_pool(lambda w: w.wait_all(-1)), "timeout"),
        ("wait_all(nan)", with_pool(lambda w: w.wait_all(math.nan)), "timeout"),
    ]


API = _api_cases.__code__  # the cases are built lazily (the extension loads on first use)
API_IDS = [c[0] for c in _api_cases()]


@pytest.mark.parametrize("case_id", API_IDS)
def test_api_bad_arguments(case_id: str) -> None:
    name, call, frag = next(c for c in _api_cases() if c[0] == case_id)
    with pytest.raises((ValueError, TypeError)) as e:
        call()
    assert frag in str(e.value) and "\n" not in str(e.value)


def test_matrix_size() -> None:
    assert len(C) + len(API_IDS) >= 150

"""Fuzz target for the pprof decoder (csrc/pprof_decode.c via Profile.from_bytes).

    python fuzz/fuzz_pprof_decode.py fuzz/corpus/pprof_decode            # run until stopped
    python fuzz/fuzz_pprof_decode.py -runs=20000 fuzz/corpus/pprof_decode  # a short run (CI)

Properties checked for every input: decoding either succeeds or raises
ProfileFormatError (never another exception, never a crash); a decoded
profile encodes and decodes back to an equal profile.  Atheris instruments the
Python side; for coverage of the C decoder as well build the extension with
``CFLAGS=-fsanitize=fuzzer-no-link,address`` and preload libasan (see
csrc/tests/Makefile).  ``make_seeds()`` writes the seed corpus.
"""
from __future__ import annotations

import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["enginepools"]):
    from enginepools.pprof.profile import Profile, ProfileBuilder, ProfileFormatError


def check(data: bytes) -> None:
    try:
        p = Profile.from_bytes(data, source="fuzz")
    except ProfileFormatError as e:
        assert "fuzz" in str(e)
        return
    q = Profile.from_bytes(p.to_bytes(compress=False), source="again")
    assert q == p, "decode(encode(p)) != p"


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris' name
    check(data)


def make_seeds(out: Path) -> None:
    """Small valid profiles exercising every field (heap with inline frames,
    labels and mappings; CPU), raw and gzip'd."""
    b = ProfileBuilder(time_nanos=1, duration_nanos=2, comments=["seed"], default_sample_type="inuse_space",
                       drop_frames="drop.*", keep_frames="keep")
    b.add_mapping(0x1000, 0x2000, 0, "/bin/app", "b1d")
    b.add_sample([1, 2, 3, 4], [0x1100, ("f", "f.c", 3), [("g", "g.c", 4), ("h", "h.c", 5)]],
                 labels={"pool": "hash"}, num_labels={"bytes": (64, "bytes"), "n": 3})
    b.add_sample([-1, 0, 9, 1 << 40], [("f", "f.c", 3)])
    heap = b.build()
    c = ProfileBuilder(sample_types=[("samples", "count"), ("cpu", "nanoseconds")], period_type=("cpu", "nanoseconds"),
                       period=10_000_000)
    c.add_sample([3, 30_000_000], [("spin", "k.c", 1), ("main", "m.c", 2)], labels={"pool": "tar"})
    cpu = c.build()
    out.mkdir(parents=True, exist_ok=True)
    for name, p in (("heap", heap), ("cpu", cpu)):
        (out / f"{name}.pb").write_bytes(p.to_bytes(compress=False))
        (out / f"{name}.pb.gz").write_bytes(p.to_bytes())


if __name__ == "__main__":
    if sys.argv[1:2] == ["--make-seeds"]:
        make_seeds(Path(sys.argv[2]))
        sys.exit(0)
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()

"""The pprof decoder on hostile input: thousands of random mutations of valid
profiles either decode (and then round-trip) or raise ProfileFormatError —
never another exception, never a crash.  Plus a short run of the atheris
fuzz target when atheris is installed."""
from __future__ import annotations

import importlib.util
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from enginepools.pprof.profile import Profile, ProfileFormatError

ROOT = Path(__file__).resolve().parents[1]
FUZZ = ROOT / "fuzz" / "fuzz_pprof_decode.py"
CORPUS = ROOT / "fuzz" / "corpus" / "pprof_decode"


def _seeds() -> list[bytes]:
    return [f.read_bytes() for f in sorted(CORPUS.iterdir())]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        if not b:
            b.append(rng.randrange(256))
            continue
        i = rng.randrange(len(b))
        if op == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[i] = rng.choice((0x00, 0x7F, 0x80, 0xFF, 0x0A, 0x12, 0x22, 0x32))
        elif op == 2:
            del b[i:i + rng.randint(1, 8)]
        elif op == 3:
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 4:
            del b[i:]
        elif op == 5:  # a runaway varint or a huge length
            b[i:i] = b"\xff" * rng.randint(1, 11)
        else:  # splice a piece of the message elsewhere
            j = rng.randrange(len(b))
            b[i:i] = b[j:j + rng.randint(1, 16)]
    return bytes(b)


def test_random_mutations_decode_or_fail_cleanly() -> None:
    rng = random.Random(20261127)
    seeds = _seeds()
    assert len(seeds) >= 4
    ok = bad = 0
    for n in range(4000):
        data = _mutate(rng, rng.choice(seeds))
        try:
            p = Profile.from_bytes(data, source=f"mutant{n}")
        except ProfileFormatError as e:
            assert f"mutant{n}" in str(e) and "offset" in str(e)
            bad += 1
            continue
        assert Profile.from_bytes(p.to_bytes(compress=False)) == p
        ok += 1
    # the mutations must exercise both outcomes, or the test proves nothing
    assert ok > 50 and bad > 1000


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris not installed")
def test_atheris_short_run(tmp_path) -> None:
    # libFuzzer adds the inputs it finds to the corpus directory: work on a
    # copy so a test run never writes into the source tree
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, str(FUZZ), "-runs=3000", "-max_len=2048", str(corpus)],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)  # crash-* files land there
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Done 3000 runs" in r.stderr

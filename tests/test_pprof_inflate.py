"""gzip'd profiles: every member inflated, zero padding tolerated, garbage,
truncation and a gzip bomb refused with the offset — with ISA-L and with the
zlib fallback alike."""
from __future__ import annotations

import gzip
import os

import pytest

from enginepools.pprof import inflate
from enginepools.pprof.inflate import GzipError, gunzip


@pytest.fixture(params=["isal", "zlib"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "zlib":
        monkeypatch.setattr(inflate, "_igzip", None)
    elif inflate._igzip is None:
        pytest.skip("isal not installed")
    return request.param


def test_round_trip_and_members(backend: str) -> None:
    a, b = os.urandom(1000) + b"x" * 100_000, b"second member"
    assert gunzip(gzip.compress(a)) == a
    assert gunzip(gzip.compress(a) + gzip.compress(b)) == a + b
    assert gunzip(gzip.compress(b) + b"\0" * 7) == b
    assert gunzip(gzip.compress(b""), limit=0) == b""


def test_bad_data(backend: str) -> None:
    data = gzip.compress(b"hello world" * 1000)
    with pytest.raises(GzipError, match="truncated") as ei:
        gunzip(data[: len(data) // 2])
    assert ei.value.offset == len(data) // 2
    with pytest.raises(GzipError, match="trailing garbage") as ei:
        gunzip(data + b"junk")
    assert ei.value.offset == len(data)
    with pytest.raises(GzipError, match="bad gzip data"):
        gunzip(b"\x1f\x8b\x08\x00garbage-garbage")
    corrupt = bytearray(data)
    corrupt[-5] ^= 0xFF  # the CRC/size trailer
    with pytest.raises(GzipError):
        gunzip(bytes(corrupt))


def test_cap_refuses_a_bomb(backend: str) -> None:
    bomb = gzip.compress(b"\0" * (8 << 20))
    assert len(gunzip(bomb, limit=8 << 20)) == 8 << 20
    with pytest.raises(GzipError, match="more than 1048576 bytes"):
        gunzip(bomb, limit=1 << 20)
    with pytest.raises(GzipError, match="more than"):  # the cap counts every member
        gunzip(gzip.compress(b"a" * 600) + gzip.compress(b"b" * 600), limit=1000)

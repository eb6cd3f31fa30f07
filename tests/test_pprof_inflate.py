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


# ---- the ratio check: a bomb is refused after RATIO_FLOOR of output, not at the cap ------

def _bomb_then_random() -> tuple[bytes, int]:
    """96 MiB of zeros (~1000x at gzip -9) then 2 MiB of random bytes (1x):
    over the whole file it inflates ~45x, under the limit; over its first
    member ~1000x."""
    raw = b"\0" * (96 << 20)
    noise = os.urandom(2 << 20)
    first = gzip.compress(raw, compresslevel=9)
    data = first + gzip.compress(noise, compresslevel=1)
    assert len(raw) / len(first) > 800 and (len(raw) + len(noise)) / len(data) < 200
    return data, len(raw) + len(noise)


def test_ratio_refuses_a_bomb_by_what_was_read_so_far(backend: str) -> None:
    data, inflated = _bomb_then_random()
    with pytest.raises(GzipError, match="inflates more than 200 times") as ei:
        gunzip(data, limit=4 << 30, ratio=200)
    assert ei.value.offset < 1 << 20  # inside the first member: a small part of the input was read
    assert len(gunzip(data, limit=4 << 30, ratio=0)) == inflated  # 0: no ratio check, the cap alone
    assert len(gunzip(data, limit=4 << 30, ratio=2000)) == inflated  # deflate never passes ~1032x


def test_ratio_not_checked_below_the_floor(backend: str) -> None:
    small_bomb = gzip.compress(b"\0" * (32 << 20))  # ~1000x, but 32 MiB < RATIO_FLOOR
    assert len(gunzip(small_bomb, ratio=200)) == 32 << 20


def test_profile_read_names_the_ratio_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from enginepools.errors import UsageError
    from enginepools.pprof.profile import Profile, ProfileFormatError

    data, _ = _bomb_then_random()
    with pytest.raises(ProfileFormatError, match="inflates more than 200 times.*ENGINEPOOLS_MAX_INFLATE_RATIO"):
        Profile.from_bytes(data, source="bomb.pb.gz")
    monkeypatch.setenv("ENGINEPOOLS_MAX_INFLATE_RATIO", "0")  # the check off: the decoder sees the zeros
    with pytest.raises(ProfileFormatError) as ei:
        Profile.from_bytes(data, source="bomb.pb.gz")
    assert "inflates" not in str(ei.value)
    monkeypatch.setenv("ENGINEPOOLS_MAX_INFLATE_RATIO", "lots")
    with pytest.raises(UsageError, match="ENGINEPOOLS_MAX_INFLATE_RATIO='lots'"):
        Profile.from_bytes(data, source="bomb.pb.gz")

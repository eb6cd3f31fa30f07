"""A big gzip'd profile is inflated and parsed at once (two threads): the
profile is the one its raw bytes decode to, and every way the stream can go
wrong (truncated, corrupt, several members, padding, past the cap, a bad
message inside) ends as inflate-then-parse ends."""
from __future__ import annotations

import gzip
import threading
import time

import numpy as np
import pytest

from enginepools import _core
from enginepools.pprof import gzstream, inflate
from enginepools.pprof.profile import Profile, ProfileBuilder, ProfileFormatError

pytestmark = pytest.mark.skipif(inflate._igzip is None, reason="isal not installed")


def _big_raw(n: int = 20_000) -> bytes:
    rng = np.random.default_rng(3)
    b = ProfileBuilder(comments=["gzstream"])
    b.add_mapping(0x400000, 0x800000, 0, "/bin/app", "")
    for i in range(n):
        depth = int(rng.integers(3, 12))
        frames = [(f"fn{int(x)}", f"f{int(x) % 7}.c", int(x) % 300 + 1, 0x400000 + int(x))
                  for x in rng.integers(0, 4000, depth)]
        b.add_sample([i % 97 + 1, (i % 97 + 1) * 64, i % 5, i % 5 * 64], frames,
                     labels={"pool": f"p{i % 3}"}, num_labels={"bytes": (64, "bytes")})
    return b.build().to_bytes(compress=False)


@pytest.fixture(scope="module")
def raw_module() -> bytes:
    return _big_raw()


@pytest.fixture
def raw(raw_module: bytes, monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setattr(gzstream, "MIN_SIZE", 1 << 16)
    assert len(gzip.compress(raw_module, 1)) >= gzstream.MIN_SIZE  # big enough for the overlapped path
    return raw_module


def _plain(data: bytes, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Decode with the overlapped path switched off: the result or the error text."""
    with monkeypatch.context() as m:
        m.setattr(gzstream, "MIN_SIZE", 1 << 62)  # undone on leaving: the test's own setting is back
        try:
            return Profile.from_bytes(data, "p.pb.gz")
        except ProfileFormatError as e:
            return str(e)


def _streamed(data: bytes):  # type: ignore[no-untyped-def]
    try:
        return Profile.from_bytes(data, "p.pb.gz")
    except ProfileFormatError as e:
        return str(e)


def test_the_overlapped_path_decodes_what_the_raw_bytes_hold(raw: bytes) -> None:
    gz = gzip.compress(raw, 1)
    assert gzstream.decode(gz, 1 << 40) is not None  # the path was taken
    assert Profile.from_bytes(gz) == Profile.from_bytes(raw)


def test_a_stream_fed_in_small_late_pieces(raw: bytes) -> None:
    """The decoder waits for each field's bytes: pieces of 4099 bytes with pauses."""
    s = _core.pprof_stream_new(len(raw))

    def feed() -> None:
        for i, pos in enumerate(range(0, len(raw), 4099)):
            assert _core.pprof_stream_write(s, raw[pos:pos + 4099])
            if i % 64 == 0:
                time.sleep(0.001)
        _core.pprof_stream_end(s, True)

    t = threading.Thread(target=feed)
    t.start()
    d = _core.pprof_stream_decode(s)
    t.join()
    want = _core.pprof_decode(raw)
    assert d is not None and d.keys() == want.keys()
    for k, v in want.items():
        if isinstance(v, (int, list, tuple)) or v is None:
            assert d[k] == v, k
        else:  # an array: the same bytes
            assert bytes(memoryview(d[k])) == bytes(memoryview(v)), k


def test_a_stream_that_fails_or_overflows_is_given_up() -> None:
    s = _core.pprof_stream_new(10)
    assert _core.pprof_stream_write(s, b"\x00" * 6)
    assert not _core.pprof_stream_write(s, b"\x00" * 6)  # past the announced size
    assert _core.pprof_stream_decode(s) is None
    s = _core.pprof_stream_new(10)
    assert _core.pprof_stream_write(s, b"\x00" * 4)
    _core.pprof_stream_end(s, True)  # ended short
    assert _core.pprof_stream_decode(s) is None


def test_damaged_streams_end_as_inflate_then_parse(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    gz = gzip.compress(raw, 1)
    half = len(gz) // 2
    cases = {
        "truncated": gz[:half] + gz[-8:],  # the trailer still announces the full size
        "corrupt": gz[:half] + bytes(64) + gz[half + 64:],
        "two members": gz + gzip.compress(raw[:1000]),
        "padding": gz + b"\0" * 9,
        "garbage": gz + b"junk",
        "bad message": gzip.compress(raw[:-3] + b"\xff\xff\xff", 1),
    }
    for name, data in cases.items():
        got, want = _streamed(data), _plain(data, monkeypatch)
        if isinstance(want, str):
            assert got == want, name
        else:
            assert isinstance(got, Profile) and got == want, name
    assert isinstance(_streamed(cases["padding"]), Profile)
    assert "truncated" in _streamed(cases["truncated"])


def test_the_cap_holds(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    gz = gzip.compress(raw, 1)
    monkeypatch.setenv("ENGINEPOOLS_MAX_INFLATED", str(len(raw) - 1))
    assert gzstream.decode(gz, len(raw) - 1) is None  # not even started: the trailer says too big
    with pytest.raises(ProfileFormatError, match=f"inflates to more than {len(raw) - 1} bytes"):
        Profile.from_bytes(gz)
    monkeypatch.setenv("ENGINEPOOLS_MAX_INFLATED", str(len(raw)))
    assert Profile.from_bytes(gz) == Profile.from_bytes(raw)
    # a trailer that understates the size: the buffer overflows, the plain way refuses past the cap
    lying = gz[:-4] + (len(raw) // 2).to_bytes(4, "little")
    monkeypatch.setenv("ENGINEPOOLS_MAX_INFLATED", str(len(raw) // 2 + 10))
    with pytest.raises(ProfileFormatError, match="inflates to more than"):
        Profile.from_bytes(lying)


def test_a_trailer_claiming_a_bomb_ratio_is_not_trusted_for_the_buffer(raw: bytes,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """ISIZE is the sender's claim: one that says the input inflates more than
    the ratio limit (past its 64 MiB floor) must not size a buffer and be
    inflated up to; the plain way checks the ratio as it inflates."""
    gz = bytearray(gzip.compress(raw, 1))
    claimed = 250 * len(gz)  # > 200x the input, > 64 MiB, < the 4 GiB cap
    assert inflate.RATIO_FLOOR < claimed < (4 << 30)
    gz[-4:] = claimed.to_bytes(4, "little")
    made: list[int] = []
    real_new = _core.pprof_stream_new
    monkeypatch.setattr(_core, "pprof_stream_new", lambda n: made.append(n) or real_new(n))
    assert gzstream.decode(bytes(gz), 4 << 30, 200) is None
    assert made == []
    # the same claim within the ratio (limit off) does size the buffer
    assert gzstream.decode(bytes(gz), 4 << 30, 0) is None  # the stream ends short of its claim: plain way
    assert made == [claimed]

"""pprof codec: builder -> bytes -> Profile round trips, and bad input gives
ProfileFormatError naming the file and offset (never a crash)."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from enginepools.pprof.profile import Profile, ProfileBuilder, ProfileFormatError


def small_profile() -> Profile:
    b = ProfileBuilder(time_nanos=1_700_000_000_000_000_000, duration_nanos=2_000_000_000,
                       comments=["made by a test"], default_sample_type="inuse_space")
    b.add_mapping(0x400000, 0x500000, 0, "/bin/app", "abc123")
    b.add_sample([1, 1024, 1, 1024], [("malloc", "a.c", 10), [("inl", "a.c", 4), ("main", "a.c", 3)]],
                 labels={"pool": "hash"}, num_labels={"bytes": (1024, "bytes")})
    b.add_sample([2, 2048, 0, 0], [("malloc", "a.c", 10), ("other", "b.c", 3, 0x400123), 0x400200])
    b.add_sample([-3, -4, 5, 6], [0x900000])
    return b.build()


def test_round_trip_bytes_and_file(tmp_path: Path) -> None:
    p = small_profile()
    q = Profile.from_bytes(p.to_bytes())
    assert q == p
    f = tmp_path / "x.prof"
    p.write(f)
    r = Profile.read(f)
    assert r == p and r.source == str(f)
    assert r.values.dtype == np.int64 and r.values.shape == (3, 4)
    assert r.values[2].tolist() == [-3, -4, 5, 6]
    assert r.default_sample_type == "inuse_space" and r.comments == ["made by a test"]
    # the address frame inside the mapping is attached to it; the one outside is not
    addr = dict(zip(r.location_address.tolist(), r.location_mapping.tolist()))
    assert addr[0x400200] == 1 and addr[0x400123] == 1 and addr[0x900000] == 0
    # the inline location has two lines, innermost first
    lo = r.location_line_offsets
    counts = np.diff(lo).tolist()
    assert 2 in counts
    i = counts.index(2)
    names = [r.strings[r.function_name[r.function_id.tolist().index(f)]] for f in r.line_function[lo[i]:lo[i + 1]]]
    assert names == ["inl", "main"]


def test_uncompressed_and_empty_profile() -> None:
    p = ProfileBuilder(sample_types=[("samples", "count"), ("cpu", "nanoseconds")],
                       period_type=("cpu", "nanoseconds"), period=10_000_000).build()
    assert Profile.from_bytes(p.to_bytes(compress=False)) == p
    assert Profile.from_bytes(p.to_bytes()).n_samples == 0


@pytest.mark.parametrize("data, what", [
    (b"", "empty"),
    (b"\x1f\x8b\x08\x00garbage", "gzip"),
    (b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "varint"),
    (b"\x32\x05ab", "past its end"),
])
def test_bad_input_names_file_and_offset(tmp_path: Path, data: bytes, what: str) -> None:
    f = tmp_path / "bad.prof"
    f.write_bytes(data)
    with pytest.raises(ProfileFormatError) as ei:
        Profile.read(f)
    msg = str(ei.value)
    assert str(f) in msg and what in msg and "offset" in msg
    assert isinstance(ei.value, ValueError)


def test_truncated_gzip_is_an_error() -> None:
    data = small_profile().to_bytes()
    with pytest.raises(ProfileFormatError, match="truncated"):
        Profile.from_bytes(data[: len(data) // 2], source="half.prof")


def test_bad_string_index_and_missing_location() -> None:
    raw = small_profile().to_bytes(compress=False)
    # a sample naming location 99 (not defined): field 2 { field 1: 99, values 1 1 1 1 }
    bad = raw + b"\x12\x08\x08\x63\x12\x04\x01\x01\x01\x01"
    with pytest.raises(ProfileFormatError, match="missing location"):
        Profile.from_bytes(bad, source="loc.prof")
    # default_sample_type (field 14) pointing past the string table
    with pytest.raises(ProfileFormatError, match="string index"):
        Profile.from_bytes(raw + b"\x70\x7f", source="str.prof")


def test_error_offsets_point_at_the_bad_sample_or_label() -> None:
    """Offsets of sample and label errors are exact (the decoder finds them by
    re-walking the message, so they are checked here byte for byte)."""
    raw = small_profile().to_bytes(compress=False)
    n = len(raw)
    # field 2 { locations [1], values [1 1 1] }: 3 values where 4 are due
    three = b"\x12\x08\x0a\x01\x01\x12\x03\x01\x01\x01"
    with pytest.raises(ProfileFormatError, match="sample 3 has 3 values") as ei:
        Profile.from_bytes(raw + three)
    assert ei.value.offset == n
    # the same sample first: sample 0 is the one reported
    with pytest.raises(ProfileFormatError, match="sample 0 has 3 values") as ei:
        Profile.from_bytes(three + raw)
    assert ei.value.offset == 0
    # a label whose key (127) is past the string table, after two good labels
    good = b"\x1a\x02\x08\x00"
    lab = b"\x0a\x01\x01\x12\x04\x01\x01\x01\x01" + good + good + b"\x1a\x02\x08\x7f"
    with pytest.raises(ProfileFormatError, match="label: string index") as ei:
        Profile.from_bytes(raw + b"\x12" + bytes([len(lab)]) + lab)
    assert ei.value.offset == n + 2 + 9 + 8
    # a sample naming a missing location, put between good samples
    miss = b"\x12\x09\x0a\x01\x63\x12\x04\x01\x01\x01\x01"
    ok = b"\x12\x09\x0a\x01\x01\x12\x04\x01\x01\x01\x01"
    with pytest.raises(ProfileFormatError, match="sample 3 names missing location 99") as ei:
        Profile.from_bytes(raw + miss + ok)
    assert ei.value.offset == n

"""The C SHA-256 (both implementations) against hashlib."""
from __future__ import annotations

import hashlib
import random

import pytest

from enginepools import _core

IMPLS = _core.sha256_impls()


def _data(n: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(n)


def test_default_impl_is_listed_and_fastest_first():
    assert _core.SHA256_IMPL in ("sha-ni", "portable")
    assert IMPLS[0] == _core.SHA256_IMPL
    assert "portable" in IMPLS


@pytest.mark.parametrize("impl", IMPLS)
def test_every_length_up_to_4096(impl):
    data = _data(4096)
    for n in range(4097):
        assert _core.sha256(data[:n], impl=impl) == hashlib.sha256(data[:n]).digest(), n


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("n", [1 << 16, (1 << 20) + 7, 3 * (1 << 20) + 63])
def test_large_inputs(impl, n):
    data = _data(n, seed=n)
    assert _core.sha256(data, impl=impl) == hashlib.sha256(data).digest()


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("chunk", [1, 3, 63, 64, 65, 1000])
def test_incremental_updates_equal_one_shot(impl, chunk):
    data = _data(5000, seed=chunk)
    assert _core.sha256(data, impl=impl, chunk=chunk) == hashlib.sha256(data).digest()


def test_known_vectors():
    assert _core.sha256(b"").hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert _core.sha256(b"abc").hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_bad_impl_and_chunk():
    with pytest.raises(ValueError, match="unknown implementation"):
        _core.sha256(b"x", impl="md5")
    with pytest.raises(ValueError, match="chunk"):
        _core.sha256(b"x", chunk=-1)
    with pytest.raises(TypeError):
        _core.sha256("text")

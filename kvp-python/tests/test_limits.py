"""Round trips with non-ASCII text exactly at, and just past, the limits."""

from __future__ import annotations

import os

import pytest

from hyperv_kvp import KeyTooLargeError, KvpPool, ValueTooLargeError

# (character, UTF-8 bytes, UTF-16 code units)
CHARACTERS = [("a", 1, 1), ("é", 2, 1), ("€", 3, 1), ("😀", 4, 2)]


@pytest.mark.parametrize("char,nbytes,units", CHARACTERS)
def test_safe_key_limit(pool: KvpPool, char: str, nbytes: int, units: int) -> None:
    # Safe keys: at most 254 UTF-16 units and 511 UTF-8 bytes.
    count = min(254 // units, 511 // nbytes)
    key = char * count
    pool.insert(key, "v")
    assert pool.read(key) == "v" and list(pool) == [key]
    with pytest.raises(KeyTooLargeError) as caught:
        pool.insert(key + char, "v")
    expected_unit = "utf16-code-units" if (count + 1) * units > 254 else "bytes"
    assert caught.value.unit == expected_unit


@pytest.mark.parametrize("char,nbytes,units", CHARACTERS)
def test_safe_value_limit(pool: KvpPool, char: str, nbytes: int, units: int) -> None:
    # Safe values: at most 1022 UTF-16 units and 2047 UTF-8 bytes.
    count = min(1022 // units, 2047 // nbytes)
    value = char * count
    key = "schlüssel-" + char
    pool.insert(key, value)
    assert pool[key] == value
    assert pool.records() == [(key, value)]
    assert os.path.getsize(pool.path) == 2560
    with pytest.raises(ValueTooLargeError):
        pool.insert(key, value + char)
    assert pool[key] == value


def test_full_mode_takes_whole_fields(pool: KvpPool) -> None:
    full = KvpPool(path=pool.path, mode="full")
    key, value = "ключ" * 63 + "abcdefg", "é" * 1023 + "x"  # 511 and 2047 bytes
    full.insert(key, value)
    assert full.read(key) == value and pool.read(key) == value
    with pytest.raises(KeyTooLargeError) as caught:
        full.insert(key + "x", "v")
    assert (caught.value.limit, caught.value.unit) == (511, "bytes")

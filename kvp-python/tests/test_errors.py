"""Every exception, and bad input: each raises a typed error and changes
nothing on disk."""

from __future__ import annotations

import errno
import os
import pickle
from pathlib import Path
from typing import Any, Callable, Dict, Tuple

import pytest

import hyperv_kvp
from hyperv_kvp import (
    InvalidKeyError,
    InvalidValueError,
    KeyTooLargeError,
    KvpError,
    KvpPool,
    NotARegularFileError,
    TooLargeError,
    UniqueKeyLimitError,
    UnknownNameError,
    ValueTooLargeError,
)


def unchanged(pool: KvpPool, action: Callable[[], object], error: Any) -> Any:
    """Runs `action`, expects `error`, and checks the file did not change."""
    before = Path(pool.path).read_bytes() if os.path.exists(pool.path) else None
    with pytest.raises(error) as caught:
        action()
    after = Path(pool.path).read_bytes() if os.path.exists(pool.path) else None
    assert after == before
    return caught.value


def test_hierarchy() -> None:
    for cls in (InvalidKeyError, InvalidValueError, KeyTooLargeError, ValueTooLargeError, UnknownNameError):
        assert issubclass(cls, KvpError) and issubclass(cls, ValueError)
    assert issubclass(hyperv_kvp.LockTimeoutError, TimeoutError)
    assert issubclass(hyperv_kvp.LockTimeoutError, KvpError)
    assert issubclass(NotARegularFileError, OSError) and issubclass(NotARegularFileError, KvpError)
    assert issubclass(UniqueKeyLimitError, KvpError)
    assert issubclass(hyperv_kvp.EventFormatError, ValueError)
    assert issubclass(hyperv_kvp.UnsafePoolError, PermissionError)
    assert issubclass(hyperv_kvp.UnsafePoolError, KvpError)
    for file_error in (hyperv_kvp.PoolReplacedError, hyperv_kvp.PoolTooLargeError):
        assert issubclass(file_error, OSError) and issubclass(file_error, KvpError)
    assert issubclass(hyperv_kvp.InvalidOptionError, ValueError)
    assert issubclass(hyperv_kvp.InvalidOptionError, KvpError)


def test_empty_key_and_nul(pool: KvpPool) -> None:
    pool["keep"] = "me"
    unchanged(pool, lambda: pool.insert("", "v"), InvalidKeyError)
    unchanged(pool, lambda: pool.append("a\0b", "v"), InvalidKeyError)
    unchanged(pool, lambda: pool.insert("k", "v\0w"), InvalidValueError)
    error = unchanged(pool, lambda: pool.__setitem__("", "v"), ValueError)
    assert "empty" in str(error)


def test_size_errors_carry_limit_actual_unit(pool: KvpPool) -> None:
    pool["keep"] = "me"
    key_error = unchanged(pool, lambda: pool.insert("k" * 255, "v"), KeyTooLargeError)
    assert (key_error.limit, key_error.actual, key_error.unit) == (254, 255, "utf16-code-units")
    value_error = unchanged(pool, lambda: pool.append("k", "€" * 1023), ValueTooLargeError)
    assert (value_error.limit, value_error.actual, value_error.unit) == (1022, 1023, "utf16-code-units")
    full = KvpPool(path=pool.path, mode="full")
    byte_error = unchanged(full, lambda: full.insert("k", "v" * 2048), ValueTooLargeError)
    assert (byte_error.limit, byte_error.actual, byte_error.unit) == (2047, 2048, "bytes")
    # pickling keeps the numbers (multiprocessing sends exceptions that way)
    copy = pickle.loads(pickle.dumps(value_error))
    assert isinstance(copy, ValueTooLargeError) and (copy.limit, copy.actual) == (1022, 1023)
    assert str(copy) == str(value_error)


def test_a_bad_batch_writes_nothing(pool: KvpPool) -> None:
    pool["keep"] = "me"
    unchanged(pool, lambda: pool.append_many([("a", "1"), ("", "2")]), InvalidKeyError)
    unchanged(pool, lambda: pool.load([("a", "1"), ("b", "x" * 2000)]), ValueTooLargeError)
    not_text: Any = 2
    unchanged(pool, lambda: pool.append_many([("a", "1"), ("b", not_text)]), TypeError)
    assert pool.records() == [("keep", "me")]


def test_unique_key_limit(pool: KvpPool) -> None:
    pool.load([(f"key{i}", "v") for i in range(1024)])
    error = unchanged(pool, lambda: pool.insert("one-more", "v"), UniqueKeyLimitError)
    assert error.limit == 1024
    assert pickle.loads(pickle.dumps(error)).limit == 1024
    pool.insert("key7", "updated")  # an existing key is still updated
    pool.append("dup", "append has no cap")
    assert pool.record_count() == 1025
    unchanged(pool, lambda: pool.load([(f"k{i}", "v") for i in range(1025)]), UniqueKeyLimitError)


BAD_TEXT: Tuple[object, ...] = (1, None, b"bytes", 1.5, ["k"], object())


@pytest.mark.parametrize("bad", BAD_TEXT)
def test_non_str_is_a_type_error(pool: KvpPool, bad: Any) -> None:
    pool["keep"] = "me"
    for action in (
        lambda: pool.insert(bad, "v"),
        lambda: pool.insert("k", bad),
        lambda: pool.append(bad, "v"),
        lambda: pool.append("k", bad),
        lambda: pool.read(bad),
        lambda: pool.delete(bad),
        lambda: pool[bad],
        lambda: pool.__setitem__("k", bad),
        lambda: pool.__delitem__(bad),
        lambda: pool.append_many([(bad, "v")]),
        lambda: pool.load([("k", bad)]),
    ):
        error = unchanged(pool, action, TypeError)
        assert "must be str" in str(error)


@pytest.mark.parametrize("entries", ["ab", b"ab", 5, [("a",)], [("a", "b", "c")], ["ab"], [["a", "b"]]])
def test_batches_take_pairs(pool: KvpPool, entries: Any) -> None:
    unchanged(pool, lambda: pool.append_many(entries), TypeError)
    unchanged(pool, lambda: pool.load(entries), TypeError)


@pytest.mark.parametrize("text", ["\ud800", "ok\udfffok", "\udc80"])
def test_lone_surrogates_are_unicode_encode_errors(pool: KvpPool, text: str) -> None:
    pool["keep"] = "me"
    for action in (lambda: pool.insert(text, "v"), lambda: pool.insert("k", text), lambda: pool.append_many([("k", text)])):
        error = unchanged(pool, action, UnicodeEncodeError)
        assert isinstance(error, ValueError) and "surrogates not allowed" in str(error)


def test_bad_constructor_arguments(pool_dir: Path) -> None:
    with pytest.raises(UnknownNameError, match="unknown pool"):
        KvpPool(7, directory=pool_dir)
    with pytest.raises(UnknownNameError):
        KvpPool("host", directory=pool_dir)
    with pytest.raises(UnknownNameError, match="pool mode"):
        KvpPool(directory=pool_dir, mode="fast")
    bad_arguments: Tuple[Dict[str, Any], ...] = (
        {"pool": True},
        {"pool": 1.0},
        {"pool": None},
        {"mode": 1},
        {"lock_timeout": "1"},
        {"lock_timeout": True},
        {"sync": "yes"},
        {"create_mode": "0o600"},
        {"create_mode": 384.0},
        {"max_pool_bytes": None},
        {"directory": 3},
        {"path": b"/tmp/x"},
        {"path": "x", "pool": 3},
    )
    for kwargs in bad_arguments:
        with pytest.raises(TypeError):
            KvpPool(**{"directory": pool_dir, **kwargs})
    for timeout in (-1.0, float("nan"), float("inf")):
        with pytest.raises(hyperv_kvp.InvalidOptionError, match="lock_timeout") as caught:
            KvpPool(directory=pool_dir, lock_timeout=timeout)
        assert isinstance(caught.value, ValueError) and caught.value.option == "lock_timeout"
    assert os.listdir(pool_dir) == []


def test_a_directory_as_the_path(pool_dir: Path) -> None:
    error = unchanged(KvpPool(directory=pool_dir), lambda: KvpPool(path=pool_dir), NotARegularFileError)
    assert error.errno == errno.EISDIR and error.filename == str(pool_dir)
    pool = KvpPool(directory=pool_dir)
    os.mkdir(pool_dir / ".kvp_pool_1")  # a directory appears after the pool was opened
    with pytest.raises(NotARegularFileError):
        pool.read("k")
    with pytest.raises(NotARegularFileError):
        pool.insert("k", "v")


def test_an_empty_path_is_refused_at_open() -> None:
    with pytest.raises(FileNotFoundError) as caught:
        KvpPool(path="")
    assert caught.value.errno == errno.ENOENT


def test_os_errors_have_errno_and_filename(pool_dir: Path) -> None:
    (pool_dir / "file").write_text("")
    below_a_file = pool_dir / "file" / "pool"
    with pytest.raises(NotADirectoryError) as caught:
        KvpPool(path=below_a_file)
    assert caught.value.errno == errno.ENOTDIR and caught.value.filename == str(below_a_file)
    # /proc refuses to create anything: the directory cannot be made.
    with pytest.raises(FileNotFoundError) as missing:
        KvpPool(path="/proc/no-such-dir/pool").insert("k", "v")
    assert missing.value.errno == errno.ENOENT and missing.value.filename == "/proc/no-such-dir/pool"
    assert not isinstance(missing.value, KvpError)


def test_too_large_error_is_one_class_for_both_fields(pool: KvpPool) -> None:
    with pytest.raises(TooLargeError):
        pool.insert("k" * 300, "v")
    with pytest.raises(TooLargeError):
        pool.insert("k", "v" * 3000)

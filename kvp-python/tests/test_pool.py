"""The KvpPool API: operations, mapping behaviour, attributes, enums."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, MutableMapping

import pytest

import hyperv_kvp
from hyperv_kvp import KvpPool, Pool, PoolMode, Record


def file_records(path: str) -> int:
    return os.path.getsize(path) // hyperv_kvp.RECORD_SIZE


def test_insert_append_read_delete(pool: KvpPool) -> None:
    pool.insert("a", "1")
    pool.append("b", "2")
    pool.append("a", "3")
    assert pool.read("a") == "3"  # the last record wins
    assert pool.read("missing") is None
    assert pool.record_count() == 3
    assert len(pool) == 2
    pool.insert("a", "4")  # upsert: one record left, in the first one's place
    assert pool.records() == [Record("a", "4"), Record("b", "2")]
    assert pool.delete("a") == 1
    assert pool.delete("a") == 0
    assert pool.records() == [("b", "2")]
    assert file_records(pool.path) == 1


def test_append_many_and_load_keep_order(pool: KvpPool) -> None:
    pool.append_many([("x", "1"), ("y", "2"), ("x", "3")])
    assert [r.key for r in pool.records()] == ["x", "y", "x"]
    pool.append_many({"z": "4"})
    assert pool.record_count() == 4
    pool.load([("k2", "v2"), ("k1", "v1")])
    assert pool.records() == [("k2", "v2"), ("k1", "v1")]
    pool.load({})
    assert pool.record_count() == 0
    assert os.path.exists(pool.path)


def test_clear_entries_dump_json(pool: KvpPool) -> None:
    pool.append_many([("b", "1"), ("a", "2"), ("b", "3")])
    assert pool.entries() == {"a": "2", "b": "3"}
    assert list(pool.entries()) == ["a", "b"]
    assert json.loads(pool.dump_json()) == [
        {"key": "b", "value": "1"},
        {"key": "a", "value": "2"},
        {"key": "b", "value": "3"},
    ]
    pool.clear()
    assert pool.entries() == {}
    assert os.path.getsize(pool.path) == 0


def test_mapping_semantics(pool: KvpPool) -> None:
    mapping: MutableMapping[str, str] = pool
    mapping["k"] = "v"
    assert mapping["k"] == "v"
    assert "k" in mapping and "nope" not in mapping
    with pytest.raises(KeyError):
        mapping["nope"]
    with pytest.raises(KeyError):
        del mapping["nope"]
    pool.append("k", "w")
    assert len(mapping) == 1
    del mapping["k"]  # removes every record of the key
    assert pool.record_count() == 0
    mapping.update({"b": "2", "a": "1"}, c="3")
    assert list(mapping) == ["a", "b", "c"]
    assert list(mapping.keys()) == ["a", "b", "c"]
    assert list(mapping.values()) == ["1", "2", "3"]
    assert list(mapping.items()) == [("a", "1"), ("b", "2"), ("c", "3")]
    assert mapping.get("a") == "1" and mapping.get("zz") is None and mapping.get("zz", "d") == "d"
    assert mapping.setdefault("a", "other") == "1"
    assert mapping.setdefault("d", "4") == "4"
    assert mapping.pop("d") == "4"
    assert mapping == {"a": "1", "b": "2", "c": "3"}
    pool["e"] = ""  # an empty value is a value, not a missing key
    assert "e" in pool and pool["e"] == ""


def test_snapshot_views_do_not_change_under_iteration(pool: KvpPool) -> None:
    pool.update({"a": "1", "b": "2"})
    for key in pool:
        del pool[key]
    assert len(pool) == 0


def test_context_manager_and_close(pool_dir: Path) -> None:
    with KvpPool(directory=pool_dir) as pool:
        pool["k"] = "v"
        assert not pool.closed
    assert pool.closed
    assert "closed" in repr(pool)
    with pytest.raises(ValueError, match="closed"):
        pool.read("k")
    assert KvpPool(directory=pool_dir)["k"] == "v"


def test_attributes_and_repr(pool_dir: Path) -> None:
    pool = KvpPool("auto-external", directory=pool_dir, mode="FULL", lock_timeout=2, sync=True)
    assert pool.path == str(pool_dir / ".kvp_pool_3")
    assert pool.mode is PoolMode.FULL
    assert pool.lock_timeout == 2.0
    assert pool.sync is True
    assert repr(pool) == f"KvpPool(path={str(pool_dir / '.kvp_pool_3')!r}, mode='full')"
    assert not os.path.exists(pool.path)  # nothing is created until a write
    default = KvpPool()
    assert default.path == "/var/lib/hyperv/.kvp_pool_1"
    assert default.mode is PoolMode.SAFE and default.sync is False
    assert default.lock_timeout == hyperv_kvp.DEFAULT_LOCK_TIMEOUT == 30.0  # finite unless asked
    assert KvpPool(lock_timeout=None).lock_timeout is None


def test_pool_by_number_name_enum_or_path(pool_dir: Path) -> None:
    for spec in (0, "0", "external", "EXTERNAL", Pool.EXTERNAL):
        assert KvpPool(spec, directory=pool_dir).path == str(pool_dir / ".kvp_pool_0")
    assert Pool.parse("auto_internal") is Pool.AUTO_INTERNAL
    assert Pool.GUEST.file_name == ".kvp_pool_1"
    assert PoolMode.parse("Safe") is PoolMode.SAFE
    anywhere = pool_dir / "sub" / "my.pool"
    pool = KvpPool(path=anywhere)
    pool["k"] = "v"  # the parent directory is created on the first write
    assert pool.path == str(anywhere) and file_records(str(anywhere)) == 1


def test_symlink_rules(pool_dir: Path) -> None:
    target = pool_dir / "real.pool"
    KvpPool(path=target)["k"] = "v"
    (pool_dir / ".kvp_pool_1").symlink_to(target)
    assert KvpPool(path=pool_dir / ".kvp_pool_1")["k"] == "v"  # an explicit path is followed
    with pytest.raises(OSError):  # a pool in a directory is not followed out of it
        KvpPool(1, directory=pool_dir).read("k")


def test_stale_pool_is_cleared_once(pool: KvpPool) -> None:
    assert not pool.is_stale()  # a missing pool is not stale
    pool["k"] = "v"
    assert not pool.is_stale()
    assert not pool.clear_if_stale()
    os.utime(pool.path, (0, 0))  # written long before this boot
    assert pool.is_stale()
    assert pool.clear_if_stale()
    assert pool.record_count() == 0
    assert not pool.is_stale()


def test_reads_real_daemon_pools(fixture_copy: Callable[[str], Path]) -> None:
    copy = fixture_copy
    pool = KvpPool(path=copy("daemon-modify-stale-tail.pool"), mode="full")
    assert pool.records() == [
        ("VirtualMachineName", "short"),
        ("HostingSystemEditionId", "42"),
        ("Région", "Zürich-Nord"),
    ]
    shifted = KvpPool(path=copy("daemon-delete-shift.pool"))
    assert shifted.entries() == {
        "A-first-key-quite-long-name": "value-number-one-which-is-long-enough",
        "C-key": "three",
        "D": "4",
    }


def test_package_metadata() -> None:
    assert hyperv_kvp.__version__.count(".") == 2
    assert (hyperv_kvp.KEY_SIZE, hyperv_kvp.VALUE_SIZE, hyperv_kvp.RECORD_SIZE) == (512, 2048, 2560)
    assert hyperv_kvp.SAFE_KEY_UTF16_UNITS == 254 and hyperv_kvp.SAFE_VALUE_UTF16_UNITS == 1022
    assert hyperv_kvp.MAX_UNIQUE_KEYS == 1024 and hyperv_kvp.DEFAULT_DIR == "/var/lib/hyperv"
    assert hyperv_kvp.DEFAULT_LOCK_TIMEOUT == 30.0 and hyperv_kvp.DEFAULT_CREATE_MODE == 0o600
    assert hyperv_kvp.DEFAULT_MAX_POOL_BYTES == 64 << 20
    for name in hyperv_kvp.__all__:
        assert hasattr(hyperv_kvp, name), name

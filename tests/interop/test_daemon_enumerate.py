"""Case 1: the daemon enumerates exactly the records we wrote.

We write pools with kvp-core, then play the host: ENUMERATE index 0, 1, ...
until the daemon answers HV_S_CONT, and compare the raw UTF-8 it returns
(up to each NUL; the kernel's UTF-16 conversion is ours to skip here) with
what we wrote, record for record and in order.
"""

from __future__ import annotations

import pytest

from faces import CoreError
from kvp_host import HV_S_CONT, HV_S_OK, build_enumerate, field

GUEST, AUTO = 1, 2


def utf8(pairs):
    return [(k.encode(), v.encode()) for k, v in pairs]


def test_registration_is_the_kernel_protocol(daemon):
    # The daemon's first write is REGISTER1 in a whole struct hv_kvp_msg.
    assert daemon.registration[0] == 100
    assert len(daemon.registration) == 7432
    # An empty pool enumerates nothing: index 0 is already past the end.
    assert daemon.enumerate(GUEST) == []


def test_insert_append_delete(daemon, core):
    path = daemon.pool_path(GUEST)
    core.insert(path, "PROVISIONING_REPORT", "result=success")
    core.append(path, "DIAGNOSTIC", "step 1")
    core.append(path, "DIAGNOSTIC", "step 2")
    core.append(path, "Other", "x")
    assert daemon.enumerate(GUEST) == utf8(
        [
            ("PROVISIONING_REPORT", "result=success"),
            ("DIAGNOSTIC", "step 1"),
            ("DIAGNOSTIC", "step 2"),
            ("Other", "x"),
        ]
    )
    core.insert(path, "PROVISIONING_REPORT", "ok")  # shorter, in place
    assert core.delete(path, "DIAGNOSTIC") == 2
    assert daemon.enumerate(GUEST) == utf8([("PROVISIONING_REPORT", "ok"), ("Other", "x")])
    # What the daemon returns is the whole field; after our NUL it is zero:
    # we never leave garbage for a reader that ignores the NUL.
    reply = daemon.request(build_enumerate(GUEST, 0))
    assert reply.enum_value_field() == b"ok" + bytes(2046)


def test_duplicates_are_all_enumerated(daemon, core):
    path = daemon.pool_path(GUEST)
    pairs = [("dup", "first"), ("dup", "second"), ("solo", "s"), ("dup", "third")]
    for key, value in pairs:
        core.append(path, key, value)
    assert daemon.enumerate(GUEST) == utf8(pairs)
    # Our insert leaves exactly one record, where the first one was.
    core.insert(path, "dup", "only")
    assert daemon.enumerate(GUEST) == utf8([("dup", "only"), ("solo", "s")])


def test_non_ascii(daemon, core):
    path = daemon.pool_path(GUEST)
    pairs = [
        ("Région", "Zürich-Nord"),
        ("ключ", "значение"),
        ("鍵", "値 ✓"),
        ("emoji-😀", "🚀" * 10),
    ]
    core.load(path, pairs)
    assert daemon.enumerate(GUEST) == utf8(pairs)


@pytest.mark.parametrize("pool", [0, 1, 3, 4])
def test_every_file_backed_pool(daemon, core, pool):
    path = daemon.pool_path(pool)
    pairs = [(f"pool-{pool}-key-{i}", f"value {i}") for i in range(60)]
    core.load(path, pairs)  # 60 records: more than the daemon's block of 50
    assert daemon.enumerate(pool) == utf8(pairs)


def test_pool_2_is_not_read_from_the_file(daemon, core):
    # KVP_POOL_AUTO is answered from live system facts; our records there
    # never reach the host. (Documented in the README interop section.)
    core.load(daemon.pool_path(AUTO), [("ours", "never seen")])
    keys = [k for k, _ in daemon.enumerate(AUTO)]
    assert b"ours" not in keys
    assert keys[0] == b"FullyQualifiedDomainName"
    assert b"OSName" in keys


SAFE_CASES = {
    # Safe: 254 / 1022 UTF-16 code units (what reaches the host whole).
    "ascii": ("k" * 254, "v" * 1022),
    "two-byte": ("é" * 254, "é" * 1022),  # 508 / 2044 bytes
    "astral": ("😀" * 127, "🚀" * 511),  # 2 units, 4 bytes each
}
FULL_CASES = {
    # Full: 511 / 2047 UTF-8 bytes, the field minus its NUL.
    "ascii": ("k" * 511, "v" * 2047),
    "three-byte": ("€" * 170 + "k", "€" * 682 + "v"),
}


@pytest.mark.parametrize("case", sorted(SAFE_CASES))
def test_max_sizes_safe(daemon, core, case):
    key, value = SAFE_CASES[case]
    path = daemon.pool_path(GUEST)
    core.insert(path, key, value, mode="safe")
    assert daemon.enumerate(GUEST) == utf8([(key, value)])
    # One unit more is refused and writes nothing.
    with pytest.raises(CoreError) as refused:
        core.insert(path, key + "k", value, mode="safe")
    assert refused.value.kind == "KeyTooLarge"
    assert daemon.enumerate(GUEST) == utf8([(key, value)])


@pytest.mark.parametrize("case", sorted(FULL_CASES))
def test_max_sizes_full(daemon, core, case):
    key, value = FULL_CASES[case]
    assert len(key.encode()) == 511 and len(value.encode()) == 2047
    path = daemon.pool_path(GUEST)
    core.insert(path, key, value, mode="full")
    # The daemon hands the host the whole field; a 511-byte key is followed
    # by its NUL in the last byte.
    reply = daemon.request(build_enumerate(GUEST, 0))
    assert reply.status == HV_S_OK
    assert reply.enum_key_field() == key.encode() + b"\0"
    assert reply.enum_value_field() == value.encode() + b"\0"
    assert daemon.enumerate(GUEST) == utf8([(key, value)])


def test_get_matches_exactly_and_finds_the_first(daemon, core):
    path = daemon.pool_path(GUEST)
    core.append(path, "Key", "first")
    core.append(path, "Key", "second")
    core.append(path, "KeyLonger", "x")
    # As the kernel builds a GET (value_size 0), the status says found or not.
    assert daemon.get(GUEST, "Key").status == HV_S_OK
    assert daemon.get(GUEST, "key").status == HV_S_CONT  # case-sensitive
    assert daemon.get(GUEST, "Ke").status == HV_S_CONT  # no prefix match
    # The kernel leaves value_size 0, so the daemon copies no value at all:
    # a host GET answers an empty value. (README interop: peer behaviour.)
    assert field(daemon.get(GUEST, "Key").get_value_field()) == b""
    # Asked for the bytes, the daemon gives the first duplicate, where our
    # read() gives the last. (README interop.)
    assert field(daemon.get(GUEST, "Key", value_size=2048).get_value_field()) == b"first"
    assert core.run(path, "read", "Key") == "second"


def test_every_face_writes_what_the_daemon_enumerates(daemon, face):
    """Insert, append, delete and non-ASCII through kvp-core, the C ABI and
    Python, each from its own process; the daemon enumerates exactly that."""
    path = daemon.pool_path(GUEST)
    face.insert(path, "PROVISIONING_REPORT", "result=success")
    face.append(path, "Région", "Zürich-Nord ✓")
    face.append(path, "dup", "1")
    face.append(path, "dup", "2")
    face.insert(path, "PROVISIONING_REPORT", "ok")
    assert daemon.enumerate(GUEST) == utf8(
        [("PROVISIONING_REPORT", "ok"), ("Région", "Zürich-Nord ✓"), ("dup", "1"), ("dup", "2")]
    )
    face.delete(path, "dup")
    face.append(path, "max", "é" * 1022)
    assert daemon.enumerate(GUEST) == utf8(
        [("PROVISIONING_REPORT", "ok"), ("Région", "Zürich-Nord ✓"), ("max", "é" * 1022)]
    )


def test_daemon_creates_all_five_pools_0644_where_we_create_0600(daemon, core, tmp_path):
    import stat

    modes = {
        p.name: stat.S_IMODE(p.stat().st_mode) for p in sorted(daemon.pool_dir.iterdir())
    }
    assert modes == {f".kvp_pool_{i}": 0o644 for i in range(5)}
    ours = tmp_path / "ours" / ".kvp_pool_1"
    core.append(ours, "k", "v")
    assert stat.S_IMODE(ours.stat().st_mode) == 0o600 & ~_umask()


def _umask() -> int:
    import os

    current = os.umask(0)
    os.umask(current)
    return current

"""Case 2: we read exactly what the daemon wrote, for each release of
hv_kvp_daemon.

The host SETs records into pools 0 and 3, modifies one to a shorter value
and deletes another. The daemon copies only the new value's bytes over the
old ones and shifts records with strcpy on delete, so the file holds
garbage after the NUL of some fields: the test checks the garbage is really
there, then that every face of our library (kvp-core, the C ABI, Python)
returns exactly the records and nothing of the garbage.
"""

from __future__ import annotations

import pytest

from kvp_host import HV_S_OK, KEY_SIZE, VALUE_SIZE

RECORD = KEY_SIZE + VALUE_SIZE


def slots(path):
    data = path.read_bytes()
    assert len(data) % RECORD == 0, "the daemon writes whole records"
    return [
        (data[i : i + KEY_SIZE], data[i + KEY_SIZE : i + RECORD])
        for i in range(0, len(data), RECORD)
    ]


def after_nul(field: bytes) -> bytes:
    return field[field.index(b"\0") + 1 :].rstrip(b"\0")


def expect_read_by_every_face(readers, path, expected):
    for reader in readers:
        assert reader.read_raw(path) == expected, f"{reader.name} read differs"


@pytest.mark.parametrize("pool", [0, 3])
def test_modify_to_shorter_value_leaves_garbage_we_ignore(daemon, readers, pool, finding):
    long_value = "a-long-original-value-set-by-the-host-0123456789"
    assert daemon.set(pool, "VirtualMachineName", long_value).status == HV_S_OK
    assert daemon.set(pool, "HostingSystemEditionId", "42").status == HV_S_OK
    assert daemon.set(pool, "VirtualMachineName", "short").status == HV_S_OK
    assert daemon.set(pool, "Région", "Zürich-Nord").status == HV_S_OK
    path = daemon.pool_path(pool)

    first_key, first_value = slots(path)[0]
    assert first_value.startswith(b"short\0")
    # The old value's tail is still there after the new NUL.
    assert after_nul(first_value) == long_value.encode()[len("short") + 1 :], (
        f"hv_kvp_daemon {daemon.release.daemon_version} no longer leaves the old value's "
        "tail after a modify: update docs/interop.md and README's interop table"
    )
    finding("garbage after NUL")

    expect_read_by_every_face(
        readers,
        path,
        [
            (b"VirtualMachineName", b"short"),
            (b"HostingSystemEditionId", b"42"),
            ("Région".encode(), "Zürich-Nord".encode()),
        ],
    )


@pytest.mark.parametrize("pool", [0, 3])
def test_delete_shifts_with_strcpy_leaving_garbage_we_ignore(daemon, readers, pool, finding):
    for key, value in [
        ("A-first-key-quite-long-name", "value-number-one-which-is-long-enough"),
        ("B", "2"),
        ("C-key", "three"),
        ("D", "4"),
    ]:
        assert daemon.set(pool, key, value).status == HV_S_OK
    assert daemon.delete(pool, "B").status == HV_S_OK
    path = daemon.pool_path(pool)

    # "D" was copied with strcpy over the slot that held "C-key"/"three":
    # the rest of those strings is still behind the NULs.
    last_key, last_value = slots(path)[2]
    assert last_key.startswith(b"D\0") and last_value.startswith(b"4\0")
    assert (after_nul(last_key), after_nul(last_value)) == (b"key", b"ree"), (
        f"hv_kvp_daemon {daemon.release.daemon_version} no longer shifts with strcpy: "
        "update docs/interop.md and README's interop table"
    )
    finding("garbage after NUL")

    expect_read_by_every_face(
        readers,
        path,
        [
            (b"A-first-key-quite-long-name", b"value-number-one-which-is-long-enough"),
            (b"C-key", b"three"),
            (b"D", b"4"),
        ],
    )


def test_host_max_sizes_arrive_whole(daemon, readers):
    # Host to guest: at most 255 / 1023 UTF-8 bytes plus the NUL fit the
    # message as the kernel builds it; we read them back unchanged.
    key, value = "K" * 255, "é" * 511 + "v"
    assert daemon.set(0, key, value).status == HV_S_OK
    expect_read_by_every_face(readers, daemon.pool_path(0), [(key.encode(), value.encode())])


def test_we_read_the_daemons_pool_while_it_runs_and_it_reads_ours(daemon, core, readers):
    # Both sides on one pool: the host SETs, we append, the host modifies;
    # each side sees the other's records in file order.
    path = daemon.pool_path(0)
    assert daemon.set(0, "host-1", "h1").status == HV_S_OK
    core.append(path, "ours", "o1", mode="full")
    assert daemon.set(0, "host-1", "h").status == HV_S_OK
    assert daemon.enumerate(0) == [(b"host-1", b"h"), (b"ours", b"o1")]
    expect_read_by_every_face(readers, path, [(b"host-1", b"h"), (b"ours", b"o1")])

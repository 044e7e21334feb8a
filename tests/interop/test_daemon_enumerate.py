"""Case 1: the daemon enumerates exactly the records we wrote. Every case
runs against each release of hv_kvp_daemon (the `daemon` fixture).

We write pools with kvp-core, then play the host: ENUMERATE index 0, 1, ...
until the daemon answers HV_S_CONT, and compare the raw UTF-8 it returns
(up to each NUL; the kernel's UTF-16 conversion is ours to skip here) with
what we wrote, record for record and in order.
"""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

from faces import CoreError
from kvp_host import DRIVER_VERSION, HV_S_CONT, HV_S_OK, build_enumerate, field

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


POOL_2_KEYS = [
    b"FullyQualifiedDomainName",
    b"IntegrationServicesVersion",
    b"NetworkAddressIPv4",
    b"NetworkAddressIPv6",
    b"OSBuildNumber",
    b"OSName",
    b"OSMajorVersion",
    b"OSMinorVersion",
    b"OSVersion",
    b"ProcessorArchitecture",
]


def _os_release() -> dict:
    out = {}
    with open("/etc/os-release") as f:
        for line in f:
            name, sep, value = line.strip().partition("=")
            if sep:
                out[name] = value.strip('"')
    return out


def _local_ipv4() -> set:
    """This machine's IPv4 addresses but loopback, from /proc/net/fib_trie."""
    found, previous = set(), ""
    with open("/proc/net/fib_trie") as f:
        for line in f:
            if "/32 host LOCAL" in line and not previous.startswith("127."):
                found.add(previous.encode())
            if "|--" in line:
                previous = line.split("|--")[1].strip()
    return found


def _local_ipv6() -> set:
    """This machine's IPv6 addresses but loopback, from /proc/net/if_inet6."""
    found = set()
    with open("/proc/net/if_inet6") as f:
        for line in f:
            fields = line.split()
            if fields[-1] != "lo":
                found.add(str(ipaddress.IPv6Address(bytes.fromhex(fields[0]))).encode())
    return found


def test_pool_2_is_answered_from_live_facts_not_the_file(daemon, core, finding):
    # KVP_POOL_AUTO is answered from live system facts; our records there
    # never reach the host. (Documented in the README interop section.)
    core.load(daemon.pool_path(AUTO), [("ours", "never seen")])
    answered = daemon.enumerate(AUTO)
    assert [k for k, _ in answered] == POOL_2_KEYS
    facts = dict(answered)
    uname, os_release = os.uname(), _os_release()
    # What the kernel side (the test) told it at registration.
    assert facts[b"IntegrationServicesVersion"] == DRIVER_VERSION
    assert facts[b"OSBuildNumber"] == uname.release.encode()
    assert facts[b"OSVersion"] == uname.release.split("-")[0].encode()
    assert facts[b"ProcessorArchitecture"] == uname.machine.encode()
    assert facts[b"OSName"] == os_release["NAME"].encode()
    major, _, minor = os_release["VERSION_ID"].partition(".")
    assert (facts[b"OSMajorVersion"], facts[b"OSMinorVersion"]) == (major.encode(), minor.encode())
    assert set(facts[b"NetworkAddressIPv4"].split(b";")) == _local_ipv4()
    assert set(facts[b"NetworkAddressIPv6"].split(b";")) == _local_ipv6()
    # It looked this host's name up at start-up; the shim refused (no DNS
    # leaves the machine), so the name is the daemon's failure text.
    assert any(line.endswith(f"denied getaddrinfo({socket.gethostname()})")
               for line in daemon.denied_calls())
    assert facts[b"FullyQualifiedDomainName"].startswith(b"getaddrinfo failed: ")
    # The file still holds our record, untouched: it is never read or written.
    assert core.read_raw(daemon.pool_path(AUTO)) == [(b"ours", b"never seen")]
    finding("live facts")


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


def test_daemon_creates_all_five_pools_0644_where_we_create_0600(daemon, core, tmp_path, finding):
    import stat

    modes = {
        p.name: stat.S_IMODE(p.stat().st_mode) for p in sorted(daemon.pool_dir.iterdir())
    }
    assert modes == {f".kvp_pool_{i}": 0o644 for i in range(5)}
    owners = {(p.stat().st_uid, p.stat().st_gid) for p in daemon.pool_dir.iterdir()}
    assert owners == {(0, 0)}
    # The hardened core writes such a pool: root-owned, only the owner may write.
    core.append(daemon.pool_path(GUEST), "k", "v")
    finding("0644 root")
    ours = tmp_path / "ours" / ".kvp_pool_1"
    core.append(ours, "k", "v")
    assert stat.S_IMODE(ours.stat().st_mode) == 0o600 & ~_umask()


def _umask() -> int:
    import os

    current = os.umask(0)
    os.umask(current)
    return current

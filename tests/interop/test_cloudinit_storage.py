"""hyperv_kvp.cloudinit against each release's stock handler: the
subclass of the release's own HyperVKvpReportingHandler that replaces only
its storage (cloudinit_peer.py builds either, kind "stock" or "subclass",
in the release's own process, and cloud-init's code drives both).

- For the same events (start and finish, chunked, compressed through
  report_compressed_event, write_key) the subclass writes exactly the
  stock records: the same keys apart from the uuid4, byte-identical values.
- Each reads the other's pools.
- write_key: the stock handler cuts at 1023 characters, inside a quote;
  the subclass shortens to what the host receives, as a report.
- install() makes `type: hyperv` the subclass, through cloud-init's own
  update_configuration; uninstall() puts the stock class back.
- Against the real daemon of the same suite: while it holds its lock, the
  subclass's write waits and the stock handler's does not; a pool it wrote
  with garbage after a NUL reads through the subclass, not the stock one.
- Stale pools: the same verdict as the stock handler, under the lock,
  once per process.

Each aspect is noted with `compare` and printed per release after the
table. Waiting is shown by where a process is (the locks /proc/locks says
it holds, the answer it has not sent), never by timing it.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from pathlib import Path

import pytest

from cloudinit_client import PeerError
from kvp_host import HV_S_OK, lock_holders, wait_until
from cloudinit_common import (
    COMPRESSED,
    EVENTS,
    RECORD,
    VM_ID,
    boot_times,
    age_mtimes,
    ci_format,
    file_records,
)

STOCK = "cloudinit.reporting.handlers.HyperVKvpReportingHandler"
OURS = "hyperv_kvp.cloudinit.HyperVKvpReportingHandler"
KINDS = {"stock": STOCK, "subclass": OURS}
# cloud-init's own encoding of a short report (errors.encode_report): it fits.
SHORT_REPORT = (
    "result=error|reason=failure to obtain DHCP lease|agent=Cloud-Init/25.1|"
    "'note=a|b'|vm_id=0e5e179d-5341-478b-8456-fbb90621bdf8|"
    "timestamp=2026-06-17T00:00:00.123456+00:00|documentation_url=https://aka.ms/linuxprovisioningerror"
)


def without_event_id(key: str) -> str:
    """The key with its uuid4 event id (before a chunk index) replaced."""
    parts = key.split("|")
    at = len(parts) - 2 if parts[-1].isdigit() else len(parts) - 1
    assert uuid.UUID(parts[at]).version == 4, key
    parts[at] = "<uuid4>"
    return "|".join(parts)


def write_the_same(cloudinit, tmp_path: Path) -> dict:
    """EVENTS, COMPRESSED and (23.2+) a write_key, published by each kind
    of handler into its own pool with the same incarnation and VM id;
    returns each pool's path."""
    fmt = ci_format(cloudinit)
    incarnation = None
    paths = {}
    for kind, name in KINDS.items():
        path = tmp_path / kind / ".kvp_pool_1"
        path.parent.mkdir()
        path.touch()
        made = cloudinit.handler(
            path, vm_id=VM_ID if fmt.vm_id_in_key else None, incarnation=incarnation, kind=kind
        )
        assert made["class"] == name
        incarnation = made["incarnation"]
        cloudinit.call("publish", events=EVENTS)
        for event, data, ts in COMPRESSED:
            cloudinit.call("compressed", name=event, data_hex=data.hex(), timestamp=ts)
        if fmt.provisioning_report:
            cloudinit.call("write_key", key="PROVISIONING_REPORT", value=SHORT_REPORT)
        paths[kind] = path
    return paths


def test_the_subclass_writes_the_stock_records_for_the_same_events(cloudinit, tmp_path, compare):
    paths = write_the_same(cloudinit, tmp_path)
    stock, ours = (file_records(paths[kind]) for kind in KINDS)
    assert [without_event_id(r["key"]) for r in ours if r["key"].startswith("CLOUD_INIT|")] == [
        without_event_id(r["key"]) for r in stock if r["key"].startswith("CLOUD_INIT|")
    ]
    assert [r["key"] for r in ours if not r["key"].startswith("CLOUD_INIT|")] == [
        r["key"] for r in stock if not r["key"].startswith("CLOUD_INIT|")
    ]
    assert [r["value"] for r in ours] == [r["value"] for r in stock]
    # What the events were: chunked ones, compressed ones, finish events.
    events = [r["key"].split("|") for r in stock if r["key"].startswith("CLOUD_INIT|")]
    chunks = sum(1 for parts in events if parts[-1].isdigit())
    kinds = {parts[2] for parts in events}
    assert chunks > 0 and {"start", "finish", "compressed"} <= kinds
    compare(
        "records for the same events",
        f"{len(stock)} records ({chunks} chunks)",
        "the same: keys apart from the uuid4, values byte for byte",
    )


def test_each_reads_the_others_pools(cloudinit, tmp_path, compare):
    paths = write_the_same(cloudinit, tmp_path)
    for writer, reader in (("stock", "subclass"), ("subclass", "stock")):
        assert cloudinit.handler(paths[writer], kind=reader)["class"] == KINDS[reader]
        assert cloudinit.read() == file_records(paths[writer]), f"{reader} reading {writer}'s pool"
    compare("reads the other's pool", "every record of the subclass's", "every record of the stock's")


def test_write_key_shortens_to_what_the_host_receives(cloudinit, tmp_path, compare):
    """23.2 and later: the stock write_key keeps 1023 characters, cutting a
    long report inside its quoted field; the subclass's keeps a whole
    report that says it was shortened, and cuts plain text at 1022. Both
    append, and cloud-init's sources.azure.kvp finds the subclass as its
    telemetry handler. Before 23.2 neither has write_key."""
    from hyperv_kvp.reporting import ProvisioningReport

    fmt = ci_format(cloudinit)
    written = {}
    for kind, name in KINDS.items():
        path = tmp_path / f"{kind}.pool"
        path.touch()
        made = cloudinit.handler(path, kind=kind)
        assert made["class"] == name and made["write_key"] is fmt.provisioning_report
        if not fmt.provisioning_report:
            continue
        report = cloudinit.call(
            "report_failure", reason="unhandled exception",
            supporting_data={"exception": "x|" * 600}, vm_id=VM_ID,
        )
        cloudinit.call("write_key", key="PROVISIONING_REPORT", value="v" * 1100)
        written[kind] = (report, [r["value"] for r in file_records(path)])
    if not fmt.provisioning_report:
        compare("write_key", "none before 23.2", "none either (not added)")
        return

    report, (cut, plain) = written["stock"]
    assert cut == report[:1023] and plain == "v" * 1023
    with pytest.raises(ValueError):
        ProvisioningReport.decode(cut)
    report, (short, plain) = written["subclass"]
    assert plain == "v" * 1022 and len(short) <= 1022
    decoded = ProvisioningReport.decode(short)
    assert decoded.shortened == len(report)
    assert decoded.reason == "unhandled exception" and decoded.vm_id == VM_ID
    compare(
        "write_key of a 1.2 kB report",
        "cut at 1023 chars, inside a quote: no longer decodes",
        f"a whole report of {len(short)} chars with shortened={len(report)}",
    )


def test_install_makes_type_hyperv_the_subclass(cloudinit, tmp_path, compare):
    pool = tmp_path / ".kvp_pool_1"
    assert cloudinit.call("registered") == STOCK
    assert cloudinit.call("install") == OURS
    assert cloudinit.call("install") == OURS  # idempotent
    # cloud-init's own update_configuration, with `type: hyperv`.
    made = cloudinit.handler(pool, kind="configured")
    assert made["class"] == OURS
    cloudinit.call("publish", events=[{"type": "start", "name": "configured", "description": "d"}])
    assert "|start|configured|" in file_records(pool)[0]["key"]
    assert cloudinit.call("uninstall") == STOCK
    assert cloudinit.call("uninstall") == STOCK  # idempotent
    compare("`reporting: {telemetry: {type: hyperv}}`", "the stock class", "the subclass, after install()")


# --- against the real daemon of the same suite --------------------------------


def test_while_the_daemon_holds_its_lock_the_subclass_waits_and_the_stock_does_not(
    ci_daemon, cloudinit, compare
):
    daemon = ci_daemon
    path = daemon.pool_path(0)
    assert daemon.set(0, "before", "b").status == HV_S_OK
    inode = os.stat(path).st_ino
    locked = ["wait-lock", "locked", "unlocked", "wait-lock", "locked"]

    # The stock handler: its append completes under the daemon's lock.
    cloudinit.handler(path, kind="stock")
    assert daemon.stop_inside_set(0, "host-1", "h1") == locked
    assert lock_holders(inode) == [daemon.process.pid]
    cloudinit.call("publish", events=[{"type": "start", "name": "stock-write", "description": "s"}])
    assert b"|stock-write|" in path.read_bytes()
    assert not daemon.reply_pending() and lock_holders(inode) == [daemon.process.pid]
    daemon.gate.open()
    assert daemon.receive().status == HV_S_OK
    stock_kept = b"|stock-write|" in path.read_bytes()

    # The subclass: it takes flock, then waits for the OFD lock, which the
    # daemon's POSIX lock holds off; it writes once the daemon is done.
    cloudinit.handler(path, kind="subclass")
    assert daemon.stop_inside_set(0, "host-2", "h2") == locked
    cloudinit.send("publish", events=[{"type": "start", "name": "our-write", "description": "o"}])
    wait_until(
        lambda: lock_holders(inode, "FLOCK") == [cloudinit.pid],
        "the subclass to hold flock while it waits for the OFD lock",
    )
    assert lock_holders(inode) == [daemon.process.pid]
    assert not cloudinit.answer_pending()
    assert b"|our-write|" not in path.read_bytes()
    daemon.gate.open()
    assert daemon.receive().status == HV_S_OK
    cloudinit.answer()  # the publish (and its flush) only now returns

    keys = [k for k, _ in daemon.enumerate(0)]
    assert keys[:3] == [b"before", b"host-1", b"host-2"]
    assert len(keys) == 4 and b"|our-write|" in keys[3]
    # The daemon rewrites the pool from the copy it read before the stock
    # handler's append: that record is gone.
    assert not stock_kept, "the daemon kept a record appended during its rewrite"
    compare(
        "writing while hv_kvp_daemon holds its lock",
        "does not wait: the daemon's rewrite loses the record",
        "waits (flock held, OFD pending), writes after: kept",
    )


def test_a_daemon_pool_with_garbage_after_a_nul_reads_through_the_subclass(
    ci_daemon, cloudinit, compare
):
    daemon = ci_daemon
    path = daemon.pool_path(0)
    for key, value in (("Région", "é" * 40), ("other", "o"), ("Région", "xy")):
        assert daemon.set(0, key, value).status == HV_S_OK
    # The daemon copied "xy\0" over the old value: what follows is the old
    # value's tail, starting inside an "é".
    assert path.read_bytes()[512:516] == b"xy\0\xa9"

    cloudinit.handler(path, kind="stock")
    with pytest.raises(PeerError, match="UnicodeDecodeError"):
        cloudinit.read()
    cloudinit.handler(path, kind="subclass")
    assert cloudinit.read() == [{"key": "Région", "value": "xy"}, {"key": "other", "value": "o"}]
    compare(
        "a daemon-written pool, garbage after a NUL",
        "raises UnicodeDecodeError",
        "every record, each field up to its NUL",
    )


# --- stale pools ---------------------------------------------------------------

AGES = {"days before boot": True, "a second before boot": True, "after boot": False, "now": False}


def stale_copy(path: Path, mtime: float) -> Path:
    from hyperv_kvp import KvpPool

    path.parent.mkdir(parents=True, exist_ok=True)
    with KvpPool(path=str(path)) as pool:
        pool.load([("CLOUD_INIT|1|diagnostic|old|u", "{}"), ("other", "x")])
    os.utime(path, (mtime, mtime))
    return path


def test_stale_pool_verdict_is_the_stock_handlers(cloudinit, tmp_path, compare):
    mtimes = age_mtimes()
    for age, stale in AGES.items():
        for kind in KINDS:
            path = stale_copy(tmp_path / age.replace(" ", "-") / kind, mtimes[age])
            cloudinit.handler(path, kind=kind)  # as the first handler of a process
            assert path.stat().st_size == (0 if stale else 2 * RECORD), f"{kind}, {age}"
    compare("stale-pool verdict (4 ages)", "empties those older than boot", "the same")


def test_stale_truncation_waits_for_the_lock_and_happens_once_per_process(
    cloudinit, tmp_path, compare
):
    _, btime = boot_times()
    stale = {kind: stale_copy(tmp_path / kind / ".kvp_pool_1", btime - 86400) for kind in KINDS}
    held = []
    try:
        # A POSIX lock on each pool, as hv_kvp_daemon holds while it reads.
        for path in stale.values():
            fd = os.open(path, os.O_RDWR)
            held.append(fd)
            fcntl.lockf(fd, fcntl.LOCK_EX)
        cloudinit.handler(stale["stock"], kind="stock")
        assert stale["stock"].stat().st_size == 0  # truncated under our lock

        inode = os.stat(stale["subclass"]).st_ino
        cloudinit.send("handler", path=str(stale["subclass"]), vm_id=None, incarnation=None,
                       kind="subclass", reset=True)
        wait_until(
            lambda: lock_holders(inode, "FLOCK") == [cloudinit.pid],
            "the subclass to hold flock while it waits for the OFD lock",
        )
        assert not cloudinit.answer_pending()
        assert stale["subclass"].stat().st_size == 2 * RECORD
    finally:
        for fd in held:
            os.close(fd)  # releases our POSIX locks
    cloudinit.answer()
    assert stale["subclass"].stat().st_size == 0

    # The same process: no second truncation, by the subclass or the stock
    # handler (they share the stock class's flag).
    assert cloudinit.call("truncated") is True
    for kind in KINDS:
        again = stale_copy(tmp_path / "again" / kind, btime - 86400)
        cloudinit.handler(again, kind=kind, reset=False)
        assert again.stat().st_size == 2 * RECORD, kind
    compare(
        "stale truncation, pool locked by another",
        "truncates at once, under no lock",
        "waits for the lock, then clear_if_stale",
    )
    compare("stale truncation, later handlers of the process", "none", "none (the stock flag)")

"""cloud-init cases, continued: PROVISIONING_REPORT through each release's
write_key (23.2 and later) and the VM id of its events, the locks between
each release's handler and ours with concurrent writers on both sides, and
the stale-pool truncation verdict. Shared helpers: cloudinit_common.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from cloudinit_client import PeerError
from faces import CoreError, assert_decoded_alike
from kvp_host import Gate, proc_lock_waiters, wait_until
from cloudinit_common import RECORD, VM_ID, age_mtimes, as_raw, ci_format, file_records, kvp_module


# --- PROVISIONING_REPORT (23.2 and later) --------------------------------------


def test_provisioning_reports_appended_by_write_key_are_read_back(
    cloudinit, pool_file, core, faces, decoders, finding
):
    """23.2 and later append PROVISIONING_REPORT with write_key (cut at
    1023 characters); several pile up in one boot. Every face reads each
    record exactly; `read` and kvp-report's read_report give the last;
    kvp-report decodes each whole one and keeps the cut one raw, and the
    C ABI's kvp_foreach_event and Python's read_entries give the same
    entries. Before 23.2 there is no write_key and no report at all."""
    kvp = kvp_module()
    fmt = ci_format(cloudinit)
    pool_file.touch()
    cloudinit.handler(pool_file)
    if not fmt.provisioning_report:
        with pytest.raises(PeerError, match="has no cloudinit.sources.azure.kvp"):
            cloudinit.call("report_success", vm_id=VM_ID)
        assert pool_file.read_bytes() == b""
        finding("no write_key: writes no report")
        return

    agent = f"Cloud-Init/{cloudinit.version}"
    assert cloudinit.call("report_success", vm_id=VM_ID) is True
    supporting = {"duration": "1.5", "interface": "eth0", "note": "a|b 'c'\nd"}
    error = cloudinit.call("report_failure", reason="failure to obtain DHCP lease",
                           supporting_data=supporting, vm_id=VM_ID)
    long_error = cloudinit.call("report_failure", reason="unhandled exception",
                                supporting_data={"exception": "x|" * 600}, vm_id=VM_ID)
    assert cloudinit.call("report_success", vm_id=VM_ID) is True
    cloudinit.call("write_key", key="PROVISIONING_REPORT", value="v" * 1100)

    records = file_records(pool_file)
    assert [r["key"] for r in records] == ["PROVISIONING_REPORT"] * 5
    values = [r["value"] for r in records]
    assert values[1] == error and values[2] == long_error[:1023] and len(long_error) > 1023
    assert values[4] == "v" * 1023  # cut to 1023 characters, one more than the host gets
    assert cloudinit.read() == records
    for face in faces:
        assert face.read_raw(pool_file) == as_raw(records), f"{face.name} read differs"
    # The last one wins for a reader of one value.
    with kvp.KvpPool(path=str(pool_file)) as pool:
        assert pool.read("PROVISIONING_REPORT") == "v" * 1023
    assert core.run(pool_file, "read", "PROVISIONING_REPORT") == "v" * 1023

    entries = core.entries(pool_file)
    assert [e["entry"] for e in entries] == ["report", "report", "raw", "report", "raw"]
    assert_decoded_alike(entries, pool_file, decoders)  # C and Python: the same reports and raw
    success, failure, cut, success_2, ours = entries
    for report in (success, success_2):
        assert report["result"] == "success" and report["agent"] == agent
        assert report["vm_id"] == VM_ID and report["supporting_data"] == []
        assert datetime.fromisoformat(report["timestamp"]).utcoffset().total_seconds() == 0
    assert failure["result"] == "error" and failure["reason"] == "failure to obtain DHCP lease"
    assert failure["supporting_data"] == [list(kv) for kv in supporting.items()]
    assert failure["documentation_url"] == "https://aka.ms/linuxprovisioningerror"
    assert failure["vm_id"] == VM_ID and failure["agent"] == agent
    assert f"timestamp={failure['timestamp']}" in error
    # write_key cut the long one inside its quoted field: kept raw, with why.
    assert cut["reason"] == "malformed" and "1023" in cut["detail"]
    assert bytes.fromhex(cut["value"]).decode() == long_error[:1023]
    assert ours["reason"] == "malformed"
    # read_report decodes the last record, which is not a report here.
    with pytest.raises(CoreError) as refused:
        core.run(pool_file, "report")
    assert refused.value.kind == "Decode"
    finding("5 appended, 1 cut at 1023")


def test_several_reports_in_one_boot_read_report_takes_the_last(cloudinit, pool_file, core):
    fmt = ci_format(cloudinit)
    if not fmt.provisioning_report:
        # Pinned by the case above: nothing to read before 23.2.
        assert cloudinit.info["write_key"] is False
        return
    pool_file.touch()
    cloudinit.handler(pool_file)
    cloudinit.call("report_failure", reason="first", supporting_data={}, vm_id=VM_ID)
    cloudinit.call("report_success", vm_id=VM_ID)
    report = core.run(pool_file, "report")
    assert report["result"] == "success" and report["vm_id"] == VM_ID
    assert report["agent"] == f"Cloud-Init/{cloudinit.version}"
    assert [r["key"] for r in file_records(pool_file)] == ["PROVISIONING_REPORT"] * 2


def _dmi_vm_id() -> str:
    """What a 26.x handler falls back to before its data source sets the VM
    id: the DMI system uuid lowercased, or the zero GUID without one."""
    try:
        text = Path("/sys/class/dmi/id/product_uuid").read_text().strip()
    except OSError:
        text = ""
    return text.lower() or str(uuid.UUID(int=0))


def test_vm_id_of_events_before_and_after_the_first_report(cloudinit, pool_file, core, finding):
    """26.1 and later put the handler's VM id in every key. Until the Azure
    data source sets it, the handler falls back to DMI (or the zero GUID);
    the first PROVISIONING_REPORT sets it from identity.query_vm_id() (26.2).
    So one boot's events can carry two VM ids: kvp-report and hyperv_kvp
    report each as written. Earlier releases put none in any key."""
    kvp = kvp_module()
    from hyperv_kvp.reporting import read_events

    fmt = ci_format(cloudinit)
    pool_file.touch()
    default = cloudinit.handler(pool_file)["vm_id"]
    cloudinit.call("publish", events=[{"type": "start", "name": "before", "description": "b"}])
    if fmt.provisioning_report:
        cloudinit.call("report_success", vm_id=VM_ID)
    cloudinit.call("publish", events=[{"type": "start", "name": "after", "description": "a"}])

    with kvp.KvpPool(path=str(pool_file)) as pool:
        ours = [(e.name, e.vm_id) for e in read_events(pool, strict=True)]
    core_ids = [(e["name"], e["vm_id"]) for e in core.run(pool_file, "entries") if e["entry"] == "event"]
    assert ours == core_ids
    if not fmt.vm_id_in_key:
        assert default is None
        assert ours == [("before", None), ("after", None)]
        finding("no VM id in keys")
        return
    assert default == _dmi_vm_id()
    # As 26.2 does (the first 26.x this suite ran): the report sets it.
    assert ours == [("before", default), ("after", VM_ID)]
    finding(f"before report: {'zero GUID' if default == str(uuid.UUID(int=0)) else 'DMI uuid'}; after: VM id")


# --- locks and concurrent writers ----------------------------------------------


def test_cloudinit_waits_for_our_lock_and_we_wait_for_its(cloudinit, pool_file, core, tmp_path):
    kvp = kvp_module()
    core.append(pool_file, "seed", "s")
    inode = os.stat(pool_file).st_ino
    cloudinit.handler(pool_file)

    # cloud-init's own reader holds its flock while its generator is open.
    assert cloudinit.call("iter_open")["key"] == "seed"
    with pytest.raises(kvp.LockTimeoutError):
        with kvp.KvpPool(path=str(pool_file), lock_timeout=0.2) as pool:
            pool.append("ours-bounded", "x")
    writer = core.spawn(pool_file, "append", "ours", "o")
    wait_until(lambda: proc_lock_waiters(inode), "our writer to wait for cloud-init's flock")
    assert writer.poll() is None
    cloudinit.call("iter_close")
    core.result(writer)

    # Now we hold ours (stopped by the shim inside the write) and
    # cloud-init's append waits on its flock.
    gate = Gate(tmp_path / "writer.gate")
    gate.close()
    writer = core.spawn(pool_file, "append", "ours-2", "o2", gate=gate)
    try:
        gate.run_to("locked", writer)
        cloudinit.call("publish", events=[
            {"type": "start", "name": "while-locked", "description": "waits"}], flush=False)
        waiters = wait_until(
            lambda: [w for w in proc_lock_waiters(inode) if "FLOCK" in w],
            "cloud-init to wait for our flock",
        )
        assert f" {cloudinit.pid} " in waiters[0]
        assert b"while-locked" not in pool_file.read_bytes()
    finally:
        gate.open()
    core.result(writer)
    cloudinit.call("flush")
    keys = [r["key"] for r in cloudinit.read()]
    assert keys[:3] == ["seed", "ours", "ours-2"]
    assert "|while-locked|" in keys[3]


def test_concurrent_writers_from_both_sides_lose_nothing(cloudinit, pool_file, core):
    kvp = kvp_module()
    from hyperv_kvp.reporting import read_events

    rounds = 40
    ours_py = (
        "import sys\n"
        "from hyperv_kvp import KvpPool\n"
        "from hyperv_kvp.reporting import KvpReporter\n"
        "r = KvpReporter(KvpPool(path=sys.argv[1]))\n"
        "long = 'é' * 1500 + ' \"q\" \\\\ ✓'\n"
        "for i in range(int(sys.argv[2])):\n"
        "    r.diagnostic(long if i % 5 == 0 else f'event {i}', name=f'{sys.argv[3]}-{i}')\n"
    )
    pool_file.touch()
    processes = [
        cloudinit.writer(pool_file, rounds, "ci-a"),
        cloudinit.writer(pool_file, rounds, "ci-b"),
        subprocess.Popen([sys.executable, "-c", ours_py, str(pool_file), str(rounds), "py-a"]),
        subprocess.Popen([sys.executable, "-c", ours_py, str(pool_file), str(rounds), "py-b"]),
    ]
    core_writer = core.spawn(pool_file, "append-loop", "core", rounds)
    for p in processes:
        assert p.wait(timeout=300) == 0
    core.result(core_writer)

    size = pool_file.stat().st_size
    assert size % RECORD == 0
    with kvp.KvpPool(path=str(pool_file)) as pool:
        records = pool.records()
        events = read_events(pool, strict=True)
    names = sorted(e.name for e in events)
    expected = sorted(f"{w}-{i}" for w in ("ci-a", "ci-b", "py-a", "py-b") for i in range(rounds))
    assert names == expected
    assert all(e.complete for e in events)
    assert sum(1 for r in records if r.key.startswith("core-")) == rounds
    # Each event's chunks are adjacent: every writer appends them under one lock.
    keys = [r.key for r in records]
    for event in events:
        if event.chunks > 1:
            first = keys.index(f"{event.key}|0")
            assert keys[first : first + event.chunks] == [
                f"{event.key}|{i}" for i in range(event.chunks)
            ]
    # The release's reader agrees record for record.
    cloudinit.handler(pool_file)
    assert [r["key"] for r in cloudinit.read()] == keys


# --- stale pools ---------------------------------------------------------------


@pytest.mark.parametrize(
    "age, stale",
    [
        ("days before boot", True),
        ("a second before boot", True),
        ("after boot", False),
        ("now", False),
    ],
)
def test_stale_pool_truncation_agrees(cloudinit, tmp_path, core, age, stale):
    kvp = kvp_module()
    mtime = age_mtimes()[age]
    records = [("CLOUD_INIT|1|diagnostic|old|u", "{}"), ("other", "x")]
    copies = {}
    for who in ("cloud-init", "kvp-core", "hyperv_kvp"):
        path = tmp_path / who / ".kvp_pool_1"
        path.parent.mkdir()
        with kvp.KvpPool(path=str(path)) as pool:
            pool.load(records)
        os.utime(path, (mtime, mtime))
        copies[who] = path

    cloudinit.handler(copies["cloud-init"])  # truncates in its constructor
    assert core.run(copies["kvp-core"], "is-stale", "system") is stale
    assert core.run(copies["kvp-core"], "clear-if-stale", "system") is stale
    with kvp.KvpPool(path=str(copies["hyperv_kvp"])) as pool:
        assert pool.is_stale() is stale
        assert pool.clear_if_stale() is stale

    sizes = {who: path.stat().st_size for who, path in copies.items()}
    assert sizes == dict.fromkeys(copies, 0 if stale else 2 * RECORD)

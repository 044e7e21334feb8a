"""cloud-init cases: the real HyperVKvpReportingHandler of each release
(bookworm 22.4, trixie 25.1, sid's current one), each in its own process
(cloudinit_peer.py), against hyperv_kvp, kvp-core (and kvp-report) and the C
ABI, on a temporary pool 1.

What changed between releases is pinned per release by the version the
package says it is (see CiFormat): the `ts` spelling (24.4), the VM id in
every key and `duration` on finish events (26.1), and PROVISIONING_REPORT
through `write_key` (23.2).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cloudinit_client import PeerError
from faces import CoreError, assert_decoded_alike
from kvp_host import Gate, proc_lock_waiters, wait_until
from releases import upstream

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
RECORD, KEY = 2560, 512
VM_ID = "0e5e179d-5341-478b-8456-fbb90621bdf8"
LONG = "é" * 1500 + ' "quoted" \\ back\\slash ✓ 😀'
T0 = 1781654400.123456


def _kvp():
    """hyperv_kvp and its reporting module: missing is a failure, never a skip."""
    try:
        import hyperv_kvp
        import hyperv_kvp.reporting
    except ImportError as e:  # pragma: no cover - reported, not skipped
        pytest.fail(f"FACE MISSING: hyperv_kvp.reporting does not import: {e}", pytrace=False)
    return hyperv_kvp


@dataclass(frozen=True)
class CiFormat:
    """What a cloud-init release writes, by its version (reporting-facts.md)."""

    version: tuple

    @property
    def ts_z(self) -> bool:  # before 24.4: utcfromtimestamp().isoformat() + "Z"
        return self.version < (24, 4)

    @property
    def vm_id_in_key(self) -> bool:  # 26.1: CLOUD_INIT|inc|type|name|vm_id|uuid
        return self.version >= (26, 1)

    @property
    def duration(self) -> bool:  # 26.1: finish events carry duration
        return self.version >= (26, 1)

    @property
    def provisioning_report(self) -> bool:  # 23.2: write_key, sources.azure.kvp
        return self.version >= (23, 2)

    @property
    def variant(self) -> str:
        """kvp-report's name for the variant."""
        if self.vm_id_in_key:
            return "cloud-init-26.1"
        return "cloud-init-22.4" if self.ts_z else "cloud-init-24.4"

    def ts(self, timestamp: float) -> str:
        aware = datetime.fromtimestamp(timestamp, timezone.utc)
        if self.ts_z:
            return aware.replace(tzinfo=None).isoformat() + "Z"
        return aware.isoformat()


def ci_format(cloudinit) -> CiFormat:
    fmt = CiFormat(upstream(cloudinit.version))
    # What the release's code has agrees with what its version says.
    assert cloudinit.info["finish_duration"] is fmt.duration
    assert cloudinit.info["vm_id_in_keys"] is fmt.vm_id_in_key
    assert cloudinit.info["write_key"] is fmt.provisioning_report
    assert cloudinit.info["azure_kvp"] is fmt.provisioning_report
    return fmt


def file_records(path: Path) -> list[dict]:
    """The pool's records read straight from the file: each field up to its
    first NUL, as text (cloud-init writes zero-filled fields)."""
    data = path.read_bytes()
    assert len(data) % RECORD == 0
    out = []
    for at in range(0, len(data), RECORD):
        key, value = data[at : at + KEY], data[at + KEY : at + RECORD]
        out.append({"key": key.split(b"\0")[0].decode(), "value": value.split(b"\0")[0].decode()})
    return out


def as_raw(records: list[dict]) -> list[tuple[bytes, bytes]]:
    return [(r["key"].encode(), r["value"].encode()) for r in records]


@pytest.fixture
def pool_file(tmp_path) -> Path:
    return tmp_path / ".kvp_pool_1"


# --- each release's events, read by every face --------------------------------

EVENTS = [
    {"type": "start", "name": "init-local", "description": "Datasource found: Azure ✓", "timestamp": T0},
    {"type": "diagnostic", "name": "diagnostic message",
     "description": 'é€😀 "quoted" \\ back\nslash\x7f\t', "timestamp": T0 + 1},
    {"type": "diagnostic", "name": "azure-diagnostics", "description": "é" * 2500, "timestamp": T0 + 2.5},
    {"type": "diagnostic", "name": "escapes", "description": LONG, "timestamp": 1781654403.000001},
    {"type": "finish", "name": "init-local", "description": "init-local ran successfully",
     "result": "SUCCESS", "duration": 0.0006448590000012189, "timestamp": T0 + 4},
    {"type": "finish", "name": "modules-final", "description": "failed: " + "z" * 1200,
     "result": "FAIL", "duration": 12.0, "timestamp": 1781654405.0},
]


def _noise(count: int) -> bytes:
    """Incompressible bytes (a fixed LCG), so the event is chunked."""
    state, out = 12345, bytearray()
    for _ in range(count):
        state = (state * 1103515245 + 12345) % 2**31
        out.append(state >> 23)
    return bytes(out)


COMPRESSED = [
    ("dmesg", bytes(range(256)) * 3 + b"dmesg line\n" * 50, 1781654406.25),
    ("cloud-init.log", _noise(2500), 1781654407.0),
]


def _base_key(key: str) -> str:
    """An event key without its chunk index."""
    parts = key.split("|")
    return "|".join(parts[:-1]) if parts[-1].isdigit() and len(parts) > 5 and _is_uuid(parts[-2]) else key


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


def _python_reads_like_kvp_report(pool_file: Path, entries: list[dict]) -> None:
    """hyperv_kvp.reporting's original reader (read_events, cloud-init's
    events as the 22.4 API has them) gives the events kvp-report decoded
    (`entries`, the Rust driver's), each field as it has it: type, name,
    `ts` as written and its instant, result, incarnation, VM id, duration
    (float seconds; kvp-report's in ns), chunk count; the description, or
    for a compressed event cloud-init's envelope, whose data is
    kvp-report's bytes."""
    kvp = _kvp()
    from hyperv_kvp.reporting import read_events

    with kvp.KvpPool(path=str(pool_file)) as pool:
        events = read_events(pool, strict=True)
    decoded = [e for e in entries if e["entry"] == "event"]
    assert len(events) == len(decoded)
    for event, x in zip(events, decoded):
        assert (
            event.event_type, event.name, event.timestamp, event.result,
            event.incarnation, event.vm_id, event.chunks, event.complete,
        ) == (x["type"], x["name"], x["ts"], x["result"], x["incarnation"], x["vm_id"], x["chunks"], True)
        duration = None if event.duration is None else str(round(event.duration * 1e9))
        assert duration == x["duration_ns"], event.name
        if x["bytes"] is None:
            assert event.description == x["text"]
        else:  # cloud-init's envelope, as text: zlib data in wrapped base64
            envelope = json.loads(event.description)
            assert envelope["encoding"] == "gz+b64"
            assert zlib.decompress(base64.b64decode(envelope["data"])).hex() == x["bytes"]
        assert event.time == datetime.fromisoformat(x["ts"].replace("Z", "+00:00"))


def test_each_releases_events_are_read_back_exactly_by_every_face(
    cloudinit, pool_file, core, faces, decoders, finding
):
    """The release publishes start, diagnostic (escapes, astral, chunked),
    finish (with its result, and its duration where it has one) and
    compressed events (one chunked); kvp-core, the C ABI and Python read
    exactly its records; kvp-report (the Rust driver), the C ABI's
    kvp_foreach_event and hyperv_kvp.reporting (read_entries, and the
    original read_events) decode exactly its events, in its own key and
    value format."""
    fmt = ci_format(cloudinit)
    pool_file.touch()
    h = cloudinit.handler(pool_file, vm_id=VM_ID if fmt.vm_id_in_key else None)
    incarnation = h["incarnation"]
    published = cloudinit.call("publish", events=EVENTS)
    for name, data, ts in COMPRESSED:
        cloudinit.call("compressed", name=name, data_hex=data.hex(), timestamp=ts)

    # Records: every face reads exactly what is in the file, which is what
    # the release's own reader reads.
    records = file_records(pool_file)
    assert cloudinit.read() == records
    for face in faces:
        assert face.read_raw(pool_file) == as_raw(records), f"{face.name} read differs"

    # The release's format, pinned: key fields, ts spelling, duration.
    groups: dict[str, list[dict]] = {}
    for record in records:
        groups.setdefault(_base_key(record["key"]), []).append(record)
    assert len(groups) == len(EVENTS) + len(COMPRESSED)
    for base, members in groups.items():
        parts = base.split("|")
        assert parts[:2] == ["CLOUD_INIT", str(incarnation)]
        assert len(parts) == (6 if fmt.vm_id_in_key else 5), base
        if fmt.vm_id_in_key:
            assert parts[4] == VM_ID
        first = json.loads(members[0]["value"]) if len(members) == 1 else None
        if first is not None and first["type"] == "finish":
            assert ("duration" in first) is fmt.duration
    chunked = {b: m for b, m in groups.items() if len(m) > 1}
    assert {b.split("|")[3] for b in chunked} == {
        "azure-diagnostics", "escapes", "modules-final", "cloud-init.log"
    }
    # This release too cuts chunks inside escapes: some are not JSON alone.
    assert any(_not_json(r["value"]) for m in chunked.values() for r in m)

    # kvp-report (through the Rust driver) decodes every event exactly.
    expected = []
    for spec, out in zip(EVENTS, published):
        expected.append({
            "format": fmt.variant,
            "type": spec["type"],
            "name": spec["name"],
            "ts": fmt.ts(spec["timestamp"]),
            "result": spec.get("result"),
            "duration_ns": str(round(spec["duration"] * 1e9)) if fmt.duration and "duration" in spec else None,
            "text": spec["description"],
            "bytes": None,
            "encoding": "none",
            "vm_id": VM_ID if fmt.vm_id_in_key else None,
            "incarnation": incarnation,
        })
        assert out["duration"] == (spec["duration"] if fmt.duration and "duration" in spec else None)
    for name, data, ts in COMPRESSED:
        expected.append({
            "format": fmt.variant, "type": "compressed", "name": name, "ts": fmt.ts(ts),
            "result": None, "duration_ns": None, "text": None, "bytes": data.hex(),
            "encoding": "gz+b64", "vm_id": VM_ID if fmt.vm_id_in_key else None,
            "incarnation": incarnation,
        })
    entries = core.entries(pool_file)
    assert [e["entry"] for e in entries] == ["event"] * len(expected), entries
    assert [{k: e[k] for k in expected[0]} for e in entries] == expected
    position = 0
    for entry, (base, members) in zip(entries, groups.items()):
        assert entry["chunks"] == len(members) and entry["missing"] == []
        assert entry["event_id"] == base.split("|")[-1]
        assert entry["position"] == position  # its first record's
        position += len(members)
        ts = datetime.fromisoformat(entry["ts"].replace("Z", "+00:00"))
        assert int(entry["unix_ns"]) == int(ts.timestamp()) * 10**9 + ts.microsecond * 1000

    # The C ABI and Python decode the same, field for field.
    assert_decoded_alike(entries, pool_file, decoders)
    _python_reads_like_kvp_report(pool_file, entries)
    finding(
        ("ts ...Z" if fmt.ts_z else "ts ...+00:00")
        + (", vm_id in key, duration" if fmt.vm_id_in_key else "")
    )


def test_fixture_written_by_cloudinit_reads_back():
    kvp = _kvp()
    from hyperv_kvp.reporting import read_events

    with kvp.KvpPool(path=str(FIXTURES / "cloudinit-events.pool")) as pool:
        events = read_events(pool, strict=True)
    assert [(e.name, e.chunks) for e in events] == [
        ("init-local", 1),
        ("azure-diagnostics", 17),
        ("modules-final", 1),
    ]
    assert events[1].description == "é" * 2500


def test_hyperv_kvp_events_are_read_by_each_releases_reader(cloudinit, pool_file):
    kvp = _kvp()
    from hyperv_kvp.reporting import KvpReporter

    reporter = KvpReporter(kvp.KvpPool(path=str(pool_file)))
    reporter.start("provision", "provisioning started ✓")
    reporter.diagnostic("é" * 2500, name="long")
    reporter.diagnostic(LONG, name="escapes")
    reporter.finish("provision", "provisioning done", result="SUCCESS")

    cloudinit.handler(pool_file)
    records = cloudinit.read()
    with kvp.KvpPool(path=str(pool_file)) as pool:
        ours = [{"key": r.key, "value": r.value} for r in pool.records()]
    # The release's reader (whole field as UTF-8, NULs stripped) sees
    # exactly our records: we never leave bytes after a NUL.
    assert records == ours
    assert records == file_records(pool_file)
    # Reassembled as a cloud-init-format reader must (join the raw msg
    # texts in msg_i order, unescape once), the descriptions come back.
    assert _reassemble(records) == [
        ("start", "provision", "provisioning started ✓"),
        ("diagnostic", "long", "é" * 2500),
        ("diagnostic", "escapes", LONG),
        ("finish", "provision", "provisioning done"),
    ]
    for record in records:
        assert len(record["value"]) <= 1024
        parts = record["key"].split("|")
        assert parts[0] == "CLOUD_INIT" and int(parts[1]) == reporter.incarnation
        json.loads(record["value"])  # each of our chunks is valid JSON


def _reassemble(records) -> list[tuple[str, str, str]]:
    events, chunks = [], {}
    for record in records:
        data = json.loads(record["value"])
        parts = record["key"].split("|")
        if "msg_i" not in data:
            events.append((data["type"], data["name"], data["msg"]))
            continue
        base = "|".join(parts[:-1])
        if base not in chunks:
            chunks[base] = (data, [])
            events.append(base)
        chunks[base][1].append((data["msg_i"], data["msg"]))
    out = []
    for event in events:
        if isinstance(event, str):
            data, pieces = chunks[event]
            escaped = "".join(json.dumps(m)[1:-1] for _, m in sorted(pieces))
            out.append((data["type"], data["name"], json.loads(f'"{escaped}"')))
        else:
            out.append(event)
    return out


# --- what we write in each release's variant, read by that release -------------

CLOUD_INIT_FIELDS = ("name", "type", "ts", "result", "duration", "msg_i", "msg")


def _our_events(fmt: CiFormat, incarnation: int) -> list[dict]:
    """EVENTS and COMPRESSED as events to write (kvp_event's fields, see
    faces.EVENT_FIELDS) in the release's variant, each with its own event
    id. Durations are whole nanoseconds, as kvp-report keeps them; the
    older variants are given one too and must not write it."""
    vm_id = VM_ID if fmt.vm_id_in_key else None
    out = []
    for spec in EVENTS:
        kind = spec["type"] if spec["type"] in ("start", "finish") else "event"
        duration = spec.get("duration")
        out.append({
            "format": fmt.variant, "vm_id": vm_id, "incarnation": incarnation,
            "kind": kind, "type": spec["type"], "name": spec["name"],
            "result": spec.get("result"),
            "duration_ns": None if duration is None else round(duration * 1e9),
            "text": spec["description"], "ts": fmt.ts(spec["timestamp"]),
            "event_id": str(uuid.uuid4()),
        })
    for name, data, ts in COMPRESSED:
        out.append({
            "format": fmt.variant, "vm_id": vm_id, "incarnation": incarnation,
            "kind": "event", "name": name, "bytes": data.hex(), "compressed": True,
            "ts": fmt.ts(ts), "event_id": str(uuid.uuid4()),
        })
    return out


def _key_of(fmt: CiFormat, incarnation: int, event_type: str, name: str, event_id: str) -> str:
    return "|".join(
        ["CLOUD_INIT", str(incarnation), event_type, name]
        + ([VM_ID] if fmt.vm_id_in_key else [])
        + [event_id]
    )


def test_our_events_in_each_releases_variant_are_read_by_its_reader(
    cloudinit, pool_file, writer, core, decoders, finding
):
    """Events written by kvp-report's CloudInitWriter in the variant of the
    release (22.4 for 22.4, 24.4 for 25.1, 26.1 for 26.x), through the Rust
    driver, the C ABI's kvp_write_event and Python's CloudInitWriter, long
    (chunked) and compressed ones included: the release's reader
    (_iterate_kvps) reads them record
    for record, and parses each value with json.loads, the chunks and the
    compressed data as it parses its own (cloudinit_peer.Peer.parse), into
    exactly the events written, fields in its own order. Our three faces
    decode them alike."""
    fmt = ci_format(cloudinit)
    pool_file.touch()
    incarnation = cloudinit.handler(pool_file, vm_id=VM_ID if fmt.vm_id_in_key else None)["incarnation"]
    ours = _our_events(fmt, incarnation)
    for spec in ours:
        assert writer.write_event(pool_file, spec) == spec["event_id"]

    parsed = cloudinit.call("parse")  # raises if one value is not JSON
    assert parsed["records"] == file_records(pool_file)
    for value in parsed["values"]:
        assert list(value) == [f for f in CLOUD_INIT_FIELDS if f in value]
    expected = []
    for spec in ours:
        event_type = "compressed" if spec.get("compressed") else spec["type"]
        event = {
            "name": spec["name"], "type": event_type, "ts": spec["ts"],
            "key": _key_of(fmt, incarnation, event_type, spec["name"], spec["event_id"]),
        }
        if spec.get("result"):
            event["result"] = spec["result"]
        if fmt.duration and spec.get("duration_ns") is not None:
            event["duration"] = spec["duration_ns"] / 1e9
        if spec.get("compressed"):
            event.update(encoding="gz+b64", data_hex=spec["bytes"])
        else:
            event["msg"] = spec["text"]
        expected.append(event)
    events = parsed["events"]
    assert [{k: v for k, v in e.items() if k != "chunks"} for e in events] == expected
    chunked = sorted(e["name"] for e in events if e["chunks"] > 1)
    assert chunked == ["azure-diagnostics", "cloud-init.log", "escapes", "modules-final"]

    # Our faces decode what we wrote as they decode the release's own.
    entries = core.entries(pool_file)
    assert_decoded_alike(entries, pool_file, decoders)
    _python_reads_like_kvp_report(pool_file, entries)
    assert [
        (e["format"], e["type"], e["name"], e["ts"], e["event_id"], e["incarnation"], e["vm_id"])
        for e in entries
    ] == [
        (fmt.variant, x["type"], x["name"], x["ts"], spec["event_id"], incarnation, spec["vm_id"])
        for x, spec in zip(expected, ours)
    ]
    for entry, spec in zip(entries, ours):
        assert (entry["text"], entry["bytes"]) == (spec.get("text"), spec.get("bytes"))
        assert entry["duration_ns"] == (
            str(spec["duration_ns"]) if fmt.duration and spec.get("duration_ns") is not None else None
        )
    finding(f"{fmt.variant}: {len(parsed['records'])} records, each JSON")


def test_our_records_are_the_releases_own_for_the_same_events(
    cloudinit, tmp_path, writer, finding
):
    """The same events, published by the release's handler into one pool
    and written by us in its variant into another, with the same
    incarnation, VM id, times and durations: every one-record event is the
    release's record byte for byte (the key up to its random event id);
    the chunks of a long event start alike (every field before `msg`,
    `msg_i` included; we cut between escapes, at 1022 characters where the
    release cuts at 1024 and anywhere), and a compressed event carries the
    same envelope and data (the zlib streams differ with the compressor)."""
    fmt = ci_format(cloudinit)
    theirs_file, ours_file = tmp_path / "theirs" / ".kvp_pool_1", tmp_path / "ours" / ".kvp_pool_1"
    for path in (theirs_file, ours_file):
        path.parent.mkdir()
        path.touch()
    vm_id = VM_ID if fmt.vm_id_in_key else None
    incarnation = cloudinit.handler(theirs_file, vm_id=vm_id)["incarnation"]
    # The release writes durations as given; kvp-report keeps whole ns.
    same = [dict(e, duration=round(e["duration"] * 1e9) / 1e9) if "duration" in e else e for e in EVENTS]
    cloudinit.call("publish", events=same)
    for name, data, ts in COMPRESSED:
        cloudinit.call("compressed", name=name, data_hex=data.hex(), timestamp=ts)
    for spec in _our_events(fmt, incarnation):
        writer.write_event(ours_file, spec)
    theirs, ours = file_records(theirs_file), file_records(ours_file)

    def events_of(records):
        groups: dict[str, list[dict]] = {}
        for r in records:
            groups.setdefault(_base_key(r["key"]), []).append(r)
        return list(groups.values())

    def without_id(record):  # the key up to its event id
        return _base_key(record["key"]).rsplit("|", 1)[0]

    def head(record):  # every field before msg
        return record["value"].split(',"msg":"')[0]

    identical = 0
    assert len(events_of(theirs)) == len(events_of(ours)) == len(EVENTS) + len(COMPRESSED)
    for t, o in zip(events_of(theirs), events_of(ours)):
        assert without_id(o[0]) == without_id(t[0])
        if len(t) > 1 or len(o) > 1:
            assert len(t) > 1 and len(o) > 1, f"{without_id(t[0])}: chunked on one side only"
            for i, (their_chunk, our_chunk) in enumerate(zip(t, o)):
                assert head(our_chunk) == head(their_chunk), f"{without_id(t[0])}: chunk {i}"
        elif '"type":"compressed"' in t[0]["value"]:
            assert head(o[0]) == head(t[0])
            their, our = (json.loads(json.loads(r[0]["value"])["msg"]) for r in (t, o))
            assert list(our) == list(their) == ["encoding", "data"]
            assert our["encoding"] == their["encoding"]
            assert zlib.decompress(base64.decodebytes(our["data"].encode())) == zlib.decompress(
                base64.decodebytes(their["data"].encode())
            )
        else:
            assert o[0]["value"] == t[0]["value"]
            identical += 1
    finding(f"{identical} one-record events identical")


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
    kvp = _kvp()
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
    kvp = _kvp()
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
    kvp = _kvp()
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
    kvp = _kvp()
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


def _boot_times():
    with open("/proc/uptime") as f:
        cloudinit_boot = time.time() - float(f.read().split()[0])
    with open("/proc/stat") as f:
        btime = next(int(line.split()[1]) for line in f if line.startswith("btime"))
    return cloudinit_boot, btime


def age_mtimes() -> dict[str, float]:
    """Pool mtimes on each side of boot, far from both boot times (cloud-init's
    now - uptime and the kernel's btime)."""
    cloudinit_boot, btime = _boot_times()
    return {
        "days before boot": btime - 3 * 86400,
        "a second before boot": btime - 1,
        "after boot": cloudinit_boot + 2,
        "now": time.time(),
    }


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
    kvp = _kvp()
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

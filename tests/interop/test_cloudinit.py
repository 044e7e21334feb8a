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
import time
import uuid
import zlib
from datetime import datetime
from pathlib import Path

from faces import assert_decoded_alike
from cloudinit_common import COMPRESSED, CiFormat, EVENTS, FIXTURES, LONG, VM_ID, as_raw, ci_format, file_records, kvp_module


# --- each release's events, read by every face --------------------------------

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
    kvp = kvp_module()
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
    kvp = kvp_module()
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
    kvp = kvp_module()
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

"""Diagnostic events through hyperv_kvp.reporting: the typed reader on the
pools and records the real cloud-init releases wrote (chunks, compressed
artifacts), hostile records coming back raw with their reason, and the
DIAG_V1 and cloud-init writers."""

from __future__ import annotations

import base64
import gzip
import json
import pickle
import uuid
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

import pytest

from conftest import REPORT_FIXTURES, report_fixture
from hyperv_kvp import (
    EventTooLargeError,
    InvalidFieldError,
    KeyTooLargeError,
    KvpError,
    KvpPool,
    UnsupportedByFormatError,
)
from hyperv_kvp import reporting
from hyperv_kvp.reporting import (
    CloudInitWriter,
    DiagnosticEvent,
    DiagWriter,
    Encoding,
    Entry,
    Format,
    Kind,
    Outcome,
    RawEntry,
    Reason,
    ReportEntry,
    decode_entries,
    event_writer,
    read_entries,
)

VM = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
CLOUD_INIT_FIXTURES = {
    "cloud-init-22.4.2.json": Format.CLOUD_INIT_22_4,
    "cloud-init-25.1.4.json": Format.CLOUD_INIT_24_4,
    "cloud-init-26.2.json": Format.CLOUD_INIT_26_1,
}


def events_of(entries: List[Entry]) -> List[DiagnosticEvent]:
    return [e for e in entries if isinstance(e, DiagnosticEvent)]


def raws_of(entries: List[Entry]) -> List[RawEntry]:
    return [e for e in entries if isinstance(e, RawEntry)]


def accounted(entries: List[Entry]) -> int:
    """Records the entries stand for: every record is in exactly one."""
    return sum(e.chunks if isinstance(e, DiagnosticEvent) else 1 for e in entries)


def write_pool_file(path: Path, records: List[Tuple[bytes, bytes]]) -> None:
    """A pool file with any bytes in its records, as another agent could
    leave it: 512-byte key and 2048-byte value fields, NUL-padded."""
    with open(path, "wb") as f:
        for key, value in records:
            f.write(key.ljust(512, b"\0") + value.ljust(2048, b"\0"))
    path.chmod(0o600)


@pytest.mark.parametrize("name", sorted(CLOUD_INIT_FIXTURES))
def test_reads_what_each_cloud_init_release_wrote(tmp_path: Path, name: str) -> None:
    fx = report_fixture(name)
    pool = KvpPool(1, directory=tmp_path, mode="full")  # cloud-init wrote a 1023-character report
    pool.load([(k, v) for k, v in fx["records"]])
    entries = read_entries(pool)
    assert accounted(entries) == len(fx["records"])
    assert decode_entries(pool.records()) == entries  # the same from records in hand
    events = events_of(entries)
    assert len(events) == len(fx["events"])
    for i, (event, given) in enumerate(zip(events, fx["events"])):
        assert event.format is CLOUD_INIT_FIXTURES[name]
        assert (event.agent, event.event_type, event.name) == ("CLOUD_INIT", given["type"], given["name"])
        assert event.kind is {"start": Kind.START, "finish": Kind.FINISH}.get(given["type"], Kind.EVENT)
        assert event.incarnation == fx["incarnation"] and event.vm_id == fx["vm_id"]
        assert event.event_id == f"00000000-0000-0000-0000-{0x1000 + i:012x}"
        assert event.timestamp == datetime.fromtimestamp(given["timestamp"], tz=timezone.utc)
        assert event.ts.endswith("Z" if event.format is Format.CLOUD_INIT_22_4 else "+00:00")
        assert event.complete and event.missing_chunks == ()
        if "bytes_hex" in given:  # report_compressed_event: zlib in line-wrapped base64
            assert (event.payload, event.encoding) == (bytes.fromhex(given["bytes_hex"]), Encoding.GZ_B64)
            assert event.text is None
        else:
            assert (event.text, event.encoding) == (given["description"], Encoding.NONE)
        result = given.get("result")
        assert event.result == (None if result is None else Outcome(result))
        duration = given.get("duration")
        assert event.duration == (None if duration is None else timedelta(seconds=duration))
    chunked = [e.chunks for e in events]
    assert chunked[2] == 6 and chunked[6] == 4  # "xé" * 700 and the compressed cloud-init.log
    keys = [k for k, _ in fx["records"]]
    firsts = [keys.index(next(k for k in keys if e.event_id in k)) for e in events]
    assert [e.position for e in events] == firsts  # where each event's first record is
    reports = [e for e in entries if isinstance(e, ReportEntry)]
    broken = [e for e in raws_of(entries) if e.reason is not None]
    assert len(reports) + len(broken) == sum(1 for k, _ in fx["records"] if k == "PROVISIONING_REPORT")
    for raw in broken:  # the report cloud-init cut inside a quote
        assert raw.key == b"PROVISIONING_REPORT" and raw.reason is Reason.MALFORMED
        assert raw.detail is not None and "1023" in raw.detail


@pytest.mark.parametrize(
    "pool_file",
    [
        "tests/fixtures/cloudinit-events.pool",
        "kvp-report/tests/fixtures/cloud-init-22.4-events.pool",
    ],
)
def test_reads_the_pool_file_cloud_init_22_4_wrote(tmp_path: Path, pool_file: str) -> None:
    source = REPORT_FIXTURES.parents[2] / pool_file
    target = tmp_path / "pool"
    target.write_bytes(source.read_bytes())
    target.chmod(0o600)
    entries = read_entries(KvpPool(path=target))
    assert [type(e) for e in entries] == [DiagnosticEvent] * 3
    events = events_of(entries)
    assert [(e.event_type, e.name, e.chunks) for e in events] == [
        ("modules-config", "init-local", 1),
        ("diagnostic", "azure-diagnostics", 17),  # 12 of them cut inside \u00e9
        ("finish", "modules-final", 1),
    ]
    assert [e.text for e in events] == ["Datasource found: Azure ✓", "é" * 2500, "all done"]
    assert events[2].result is Outcome.SUCCESS and events[2].kind is Kind.FINISH
    assert {e.format for e in events} == {Format.CLOUD_INIT_22_4}


def test_the_peers_examples_of_other_formats() -> None:
    examples = report_fixture("peer-examples.json")
    for case in examples["cloud_init_records"]:
        [event] = decode_entries([(case["key"], case["value"])])
        assert isinstance(event, DiagnosticEvent), case["from"]
        expect = case["expect"]
        assert (event.kind.value, event.name, event.vm_id, event.event_id, event.text) == (
            expect["kind"], expect["name"], expect["vm_id"], expect["event_id"], expect["text"]
        )
        assert event.format is Format("cloud-init-" + expect["variant"])
    finish, lost, report = decode_entries([(r["key"], r["value"]) for r in examples["diag_v1_records"]])
    assert isinstance(finish, DiagnosticEvent) and finish.format is Format.DIAG_V1
    assert (finish.kind, finish.name, finish.result, finish.agent) == (
        Kind.FINISH, "provision:run", Outcome.SUCCESS, "azure-init-0.1.1"
    )
    assert finish.duration == timedelta(microseconds=312) and finish.text == "provisioning succeeded"
    assert finish.ts == "2026-08-31T12:34:57.101Z" and finish.vm_id == VM
    assert isinstance(lost, RawEntry) and lost.reason is Reason.INCOMPLETE_GROUP and lost.position == 1
    assert isinstance(report, ReportEntry) and report.report.agent == "azure-init-0.1.1"


def diag_key(name: str, index: int, *, encoding: str = "none", event_id: str = VM, version: str = "DIAG_V1") -> str:
    return f"{version}|agent|{VM}|event|{name}|{event_id}|2026-08-31T12:34:56Z|{encoding}|||{index}"


def test_hostile_records_come_back_raw_with_their_reason(tmp_path: Path) -> None:
    good = [
        (f"CLOUD_INIT|1|diagnostic|ok|{VM}".encode(), b'{"name":"ok","type":"diagnostic","ts":"2026-06-17T00:00:00Z","msg":"fine"}'),
        (diag_key("fine", 0).encode(), b"still fine"),
    ]
    hostile: List[Tuple[bytes, bytes, Optional[Reason]]] = [
        (diag_key("future", 0, version="DIAG_V2").encode(), b"x", Reason.UNSUPPORTED_VERSION),
        (diag_key("gap", 0, event_id=str(uuid.UUID(int=1))).encode(), b"a", Reason.INCOMPLETE_GROUP),
        (diag_key("gap", 2, event_id=str(uuid.UUID(int=1))).encode(), b"c", Reason.INCOMPLETE_GROUP),
        (diag_key("twice", 0, event_id=str(uuid.UUID(int=2))).encode(), b"a", Reason.DUPLICATE_CHUNK),
        (diag_key("twice", 0, event_id=str(uuid.UUID(int=2))).encode(), b"b", Reason.DUPLICATE_CHUNK),
        (diag_key("b64", 0, encoding="gz+b64").encode(), b"!!! not base64 !!!", Reason.UNDECODABLE),
        (diag_key("utf8", 0, event_id=str(uuid.UUID(int=3))).encode(), b"\xff\xfe", Reason.UNDECODABLE),
        (diag_key("enc", 0, encoding="rot13", event_id=str(uuid.UUID(int=4))).encode(), b"x", Reason.UNDECODABLE),
        (b"DIAG_V1|too|few|fields", b"x", Reason.MALFORMED),
        (b"CLOUD_INIT|x|t|n|" + VM.encode(), b"{}", Reason.MALFORMED),
        (b"CLOUD_INIT|1|t|n|" + VM.encode(), b"not json", Reason.MALFORMED),
        (b"CLOUD_INIT|\xff|t", b"{}", Reason.MALFORMED),
        (b"PROVISIONING_REPORT", b"result=maybe", Reason.MALFORMED),
        (b"SomeOtherAgent", b"\xff any bytes", None),
    ]
    records = [good[0]] + [(k, v) for k, v, _ in hostile] + [good[1]]
    path = tmp_path / ".kvp_pool_1"
    write_pool_file(path, records)
    entries = read_entries(KvpPool(1, directory=tmp_path))
    assert accounted(entries) == len(records)  # nothing dropped
    events = events_of(entries)
    assert [e.text for e in events] == ["fine", "still fine"]  # one bad record fails nothing
    assert [e.position for e in events] == [0, len(records) - 1]
    raws = raws_of(entries)
    assert [(r.key, r.value, r.reason) for r in raws] == [(k, v, reason) for k, v, reason in hostile]
    assert [r.position for r in raws] == list(range(1, len(hostile) + 1))
    assert all(r.detail for r in raws if r.reason is not None)
    assert raws[-1].detail is None and raws[-1].key_text == "SomeOtherAgent"
    # A partial read returns the text group with what is left.
    partial = events_of(read_entries(KvpPool(1, directory=tmp_path), partial=True))
    gap = [e for e in partial if e.name == "gap"]
    assert len(gap) == 1 and gap[0].missing_chunks == (1,) and not gap[0].complete and gap[0].text == "ac"


def test_decompression_is_capped_or_left_out(pool: KvpPool) -> None:
    writer = DiagWriter("agent", VM)
    writer.write(pool, Kind.EVENT, "dmesg", b"\0" * 100_000, compressed=True)
    [event] = read_entries(pool)
    assert isinstance(event, DiagnosticEvent) and event.payload == b"\0" * 100_000
    [raw] = read_entries(pool, max_payload=1000)
    assert isinstance(raw, RawEntry) and raw.reason is Reason.UNDECODABLE
    [carried] = read_entries(pool, decompress=False)  # the base64 of the gzip stream
    assert isinstance(carried, DiagnosticEvent) and carried.encoding is Encoding.GZ_B64
    assert gzip.decompress(base64.b64decode(carried.text or "")) == b"\0" * 100_000


@pytest.mark.parametrize("name", sorted(CLOUD_INIT_FIXTURES))
def test_the_original_reader_reads_every_release_as_cloud_init_does(name: str) -> None:
    # reporting.decode_events, on kvp-report: what cloud-init's own reader
    # returns, the compressed events' envelope and the durations' floats
    # included (tests/interop checks the same on each release's live output).
    fx = report_fixture(name)
    events = reporting.decode_events([(k, v) for k, v in fx["records"]], strict=True)
    assert len(events) == len(fx["events"])
    for event, given in zip(events, fx["events"]):
        assert (event.event_type, event.name, event.incarnation) == (given["type"], given["name"], fx["incarnation"])
        assert event.vm_id == fx["vm_id"] and event.complete
        assert event.duration == given.get("duration")  # the float cloud-init wrote, exactly
        if "bytes_hex" in given:
            envelope = json.loads(event.description)
            assert envelope["encoding"] == "gz+b64"
            assert zlib.decompress(base64.b64decode(envelope["data"])).hex() == given["bytes_hex"]
        else:
            assert event.description == given["description"]
        base = [k for k, _ in fx["records"] if event.uuid in k][0]
        assert event.key == (base if event.chunks == 1 else base.rsplit("|", 1)[0])


def test_diag_v1_writer_round_trip(pool: KvpPool) -> None:
    writer = event_writer(Format.DIAG_V1, agent="my-agent-1.0", vm_id=VM)
    assert isinstance(writer, DiagWriter) and writer.format is Format.DIAG_V1
    span = uuid.uuid4()
    at = datetime(2026, 6, 17, 0, 0, 0, 123456, tzinfo=timezone.utc)
    keys = writer.write(pool, Kind.START, "provision", "starting", event_id=span, timestamp=at)
    assert keys == [f"DIAG_V1|my-agent-1.0|{VM}|start|provision|{span}|2026-06-17T00:00:00.123Z|none|||0"]
    long = "é" * 1500  # 3000 bytes: cut at character boundaries into 1022-byte records
    assert len(writer.write(pool, "event", "imds", long)) == 3
    artifact = bytes(range(256)) * 40
    writer.write(pool, Kind.EVENT, "dmesg", artifact, compressed=True)
    writer.write(
        pool, Kind.FINISH, "provision", "done", result=Outcome.FAIL, duration=timedelta(milliseconds=312),
        event_id=str(span), timestamp=1781654400.5,
    )
    start, imds, dmesg, finish = events_of(read_entries(pool))
    assert (start.kind, start.event_id, start.timestamp) == (Kind.START, str(span), at.replace(microsecond=123000))
    assert (imds.text, imds.chunks) == (long, 3)
    assert (dmesg.payload, dmesg.encoding) == (artifact, Encoding.GZ_B64)
    assert (finish.result, finish.duration, finish.event_id, finish.ts) == (
        Outcome.FAIL, timedelta(milliseconds=312), str(span), "2026-06-17T00:00:00.500Z"
    )
    assert {e.agent for e in (start, imds, dmesg, finish)} == {"my-agent-1.0"}
    records = pool.records()
    assert [r.key.rsplit("|", 1)[1] for r in records[1:4]] == ["0", "1", "2"]  # adjacent, in order


@pytest.mark.parametrize("name", sorted(CLOUD_INIT_FIXTURES))
def test_cloud_init_writer_matches_each_release(name: str) -> None:
    fx = report_fixture(name)
    variant = CLOUD_INIT_FIXTURES[name]
    writer = CloudInitWriter(variant, incarnation=fx["incarnation"], vm_id=fx["vm_id"])
    assert writer.format is variant
    for i, given in enumerate(fx["events"][:2]):  # single records, no duration: byte for byte
        ours = writer.encode(
            Kind.START if given["type"] == "start" else Kind.EVENT,
            given["name"],
            given["description"],
            event_type=given["type"],
            timestamp=given["timestamp"],
            event_id=f"00000000-0000-0000-0000-{0x1000 + i:012x}",
        )
        assert ours == [tuple(fx["records"][i])]
    finish = writer.encode(Kind.FINISH, "init-local", "ok", result="SUCCESS", duration=1.25)
    [event] = events_of(decode_entries(finish))
    assert event.format is variant and event.result is Outcome.SUCCESS
    assert event.duration == (timedelta(seconds=1.25) if variant is Format.CLOUD_INIT_26_1 else None)
    compressed = writer.encode(Kind.EVENT, "dmesg", b"\xff" * 3000, compressed=True)
    [event] = events_of(decode_entries(compressed))
    assert (event.event_type, event.payload) == ("compressed", b"\xff" * 3000)


def test_cloud_init_writer_arguments() -> None:
    assert CloudInitWriter().format is Format.CLOUD_INIT_22_4
    assert CloudInitWriter("cloud-init-24.4", incarnation=1).variant == "24.4"
    assert abs(CloudInitWriter().incarnation - reporting.boot_incarnation()) <= 1
    with pytest.raises(InvalidFieldError) as caught:
        CloudInitWriter("26.1", incarnation=1, vm_id="not-a-uuid")
    assert caught.value.field == "vm_id"
    with pytest.raises(ValueError):
        CloudInitWriter("25.1", incarnation=1)
    with pytest.raises(ValueError):
        event_writer(Format.AZURE_INIT_TRACING)
    with pytest.raises(TypeError):
        event_writer(Format.DIAG_V1, vm_id=VM)  # no agent


def unchanged(pool: KvpPool, action: Callable[[], object], error: Any) -> Any:
    with pytest.raises(error) as caught:
        action()
    assert pool.record_count() == 1
    return caught.value


def test_an_invalid_event_writes_nothing(pool: KvpPool) -> None:
    pool["keep"] = "me"
    diag = DiagWriter("agent", VM)
    e = unchanged(pool, lambda: diag.write(pool, Kind.FINISH, "x", "no result"), InvalidFieldError)
    assert (e.field, e.reason) == ("result", "a finish needs one")
    e = unchanged(pool, lambda: diag.write(pool, Kind.EVENT, "x", "y", result=Outcome.WARN), UnsupportedByFormatError)
    assert (e.format, e.field) == ("DIAG_V1", "result")
    unchanged(pool, lambda: diag.write(pool, Kind.EVENT, "x", b"\xff"), UnsupportedByFormatError)
    e = unchanged(pool, lambda: diag.write(pool, Kind.EVENT, "n" * 49, "y"), EventTooLargeError)
    assert (e.field, e.limit, e.actual, e.unit) == ("name", 48, 49, "bytes")
    e = unchanged(
        pool, lambda: diag.write(pool, Kind.EVENT, "x", "y", duration=timedelta(days=200)), EventTooLargeError
    )
    assert (e.field, e.unit) == ("duration", "microseconds")
    e = unchanged(pool, lambda: diag.write(pool, Kind.EVENT, "x", "y" * (1023 * 1022 + 1)), EventTooLargeError)
    assert (e.field, e.unit, e.limit, e.actual) == ("payload", "records", 1023, 1024)
    unchanged(pool, lambda: diag.write(pool, Kind.EVENT, "a|b", "y"), InvalidFieldError)
    unchanged(pool, lambda: diag.write(pool, Kind.EVENT, "x", "y", event_id="nope"), InvalidFieldError)
    ci = CloudInitWriter(incarnation=1)
    unchanged(pool, lambda: ci.write(pool, Kind.EVENT, "n" * 300, "y"), KeyTooLargeError)
    unchanged(pool, lambda: ci.write(pool, Kind.EVENT, "x", "y", event_type="a|b"), InvalidFieldError)
    for error in (InvalidFieldError, EventTooLargeError, UnsupportedByFormatError):
        assert issubclass(error, KvpError) and issubclass(error, ValueError)
    for caught_error in (
        unchanged(pool, lambda: diag.write(pool, Kind.FINISH, "x", "y"), InvalidFieldError),
        unchanged(pool, lambda: diag.write(pool, Kind.EVENT, "n" * 49, "y"), EventTooLargeError),
        unchanged(pool, lambda: diag.write(pool, Kind.EVENT, "x", b"\xff"), UnsupportedByFormatError),
    ):
        copy = pickle.loads(pickle.dumps(caught_error))  # as multiprocessing sends them
        assert type(copy) is type(caught_error) and copy.__dict__ == caught_error.__dict__
        assert str(copy) == str(caught_error)
    with pytest.raises(EventTooLargeError) as caught:
        DiagWriter("a" * 33, VM)
    assert caught.value.field == "agent"


def test_event_arguments_are_checked(pool: KvpPool) -> None:
    diag = DiagWriter("agent", VM)
    bad: Any = 5
    text: Any = "2026-01-01T00:00:00Z"  # a timestamp is a datetime or seconds
    naive = datetime(2026, 1, 1)
    with pytest.raises(ValueError, match="naive"):
        diag.encode(Kind.EVENT, "x", "y", timestamp=naive)
    with pytest.raises(ValueError):
        diag.encode(Kind.EVENT, "x", "y", duration=-1.0)
    with pytest.raises(ValueError):
        diag.encode(Kind.EVENT, "x", "y", duration=float("nan"))
    with pytest.raises(ValueError):
        diag.encode(bad, "x", "y")
    for call in (
        lambda: diag.encode(Kind.EVENT, bad, "y"),
        lambda: diag.encode(Kind.EVENT, "x", bad),
        lambda: diag.encode(Kind.EVENT, "x", "y", duration=bad, event_type=bad),
        lambda: diag.encode(Kind.EVENT, "x", "y", timestamp=text),
        lambda: diag.encode(Kind.EVENT, "x", "y", result=bad),
        lambda: diag.encode(Kind.EVENT, "x", "y", compressed=bad),
        lambda: decode_entries([bad]),
        lambda: decode_entries([("k", bad)]),
        lambda: read_entries(pool, partial=bad),
    ):
        with pytest.raises(TypeError):
            call()
    with pytest.raises(TypeError):
        read_entries(pool, decompress=bad)
    with pytest.raises(UnicodeEncodeError):
        diag.encode(Kind.EVENT, "x", "lone \ud800 surrogate")
    assert pool.record_count() == 0

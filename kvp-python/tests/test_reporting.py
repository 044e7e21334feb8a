"""hyperv_kvp.reporting against cloud-init 22.4's own handler code and a pool
file that handler wrote."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

import pytest

from hyperv_kvp import EventFormatError, KeyTooLargeError, KvpPool
from hyperv_kvp import reporting
from hyperv_kvp.reporting import Event, KvpReporter

# cloud-init is a Debian package (tests/setup.sh installs it) for the
# system Python; its modules import fine into this interpreter. A missing
# cloud-init fails these tests: it is a peer, not an optional extra.
sys.path.append("/usr/lib/python3/dist-packages")
from cloudinit.reporting import events as ci_events  # type: ignore  # noqa: E402
from cloudinit.reporting.handlers import HyperVKvpReportingHandler  # type: ignore  # noqa: E402

INCARNATION = 1795546756
TS = 1795546877.5861


def cloud_init_encode(event_type: str, name: str, description: str, result: Optional[str] = None) -> List[Tuple[str, str]]:
    """What cloud-init's handler writes for one event, as (key, value)."""
    handler = HyperVKvpReportingHandler.__new__(HyperVKvpReportingHandler)
    handler.event_key_prefix = f"CLOUD_INIT|{INCARNATION}"  # no thread, no truncation
    if result is None:
        event: Any = ci_events.ReportingEvent(event_type, name, description, timestamp=TS)
    else:
        event = ci_events.FinishReportingEvent(name, description, result=result)
        event.timestamp = TS
    records = []
    for data in handler._encode_event(event):
        item = handler._decode_kvp_item(data)
        records.append((item["key"], item["value"]))
    return records


def ours_like(theirs: List[Tuple[str, str]], event_type: str, name: str, description: str, result: Optional[str] = None) -> List[Tuple[str, str]]:
    event_uuid = theirs[0][0].split("|")[4]
    return reporting.encode_event(
        event_type, name, description, result=result, timestamp=TS, incarnation=INCARNATION, event_uuid=event_uuid
    )


@pytest.mark.parametrize(
    "event_type,name,description,result",
    [
        ("start", "init-local", "searching for datasource", None),
        ("finish", "modules-final", "all done", "SUCCESS"),
        ("finish", "init-network/config-ssh", "failed", "FAIL"),
        ("modules-config", "init-local", "Datasource found: Azure ✓ \"quoted\" \\ tab\t", None),
        ("diagnostic", "diagnostic message", "x" * 3000, None),  # split, plain ASCII
        ("finish", "long-ascii", "word " * 900, "WARN"),
    ],
)
def test_same_records_as_cloud_init(event_type: str, name: str, description: str, result: Optional[str]) -> None:
    theirs = cloud_init_encode(event_type, name, description, result)
    assert ours_like(theirs, event_type, name, description, result) == theirs


@pytest.mark.parametrize("description", ["é" * 2500, "😀" * 700, "a\"\\\n\u0001" * 600, "€" * 1000 + "x" * 7])
def test_escapes_are_never_cut(description: str) -> None:
    theirs = cloud_init_encode("diagnostic", "azure-diagnostics", description)
    ours = ours_like(theirs, "diagnostic", "azure-diagnostics", description)
    for index, (key, value) in enumerate(ours):
        assert key == f"{theirs[0][0].rsplit('|', 1)[0]}|{index}"
        chunk = json.loads(value)  # every chunk of ours is valid JSON alone
        assert chunk["msg_i"] == index and chunk["name"] == "azure-diagnostics"
        assert len(value) <= reporting.MAX_VALUE_CHARS and value.isascii()
    # Both decode to the same text; where cloud-init cut an escape, ours
    # differ (and only then).
    assert reporting.decode_events(ours)[0].description == description
    assert reporting.decode_events(theirs)[0].description == description


def test_values_over_the_host_limit_are_split_earlier_than_cloud_init() -> None:
    description = "d" * (1023 - len('{"name":"n","type":"t","ts":"2026-11-24T20:41:17.586100Z","msg":""}'))
    theirs = cloud_init_encode("t", "n", description)
    assert len(theirs) == 1 and len(theirs[0][1]) == 1023  # the host would cut it
    ours = ours_like(theirs, "t", "n", description)
    assert len(ours) == 2
    assert reporting.decode_events(ours)[0].description == description


def test_reads_the_pool_cloud_init_wrote(fixture_copy: Callable[[str], Path]) -> None:
    pool = KvpPool(path=fixture_copy("cloudinit-events.pool"))
    raw_chunks = [r.value for r in pool.records() if r.key.split("|")[2] == "diagnostic"]
    assert len(raw_chunks) == 17

    def invalid(value: str) -> bool:
        try:
            json.loads(value)
            return False
        except ValueError:
            return True

    assert sum(map(invalid, raw_chunks)) == 12  # cloud-init cut inside escapes
    found = reporting.read_events(pool, strict=True)
    assert [(e.name, e.event_type, e.chunks, e.result) for e in found] == [
        ("init-local", "modules-config", 1, None),
        ("azure-diagnostics", "diagnostic", 17, None),
        ("modules-final", "finish", 1, "SUCCESS"),
    ]
    assert found[0].description == "Datasource found: Azure ✓"
    assert found[1].description == "é" * 2500 and found[1].complete
    assert found[2].description == "all done"
    assert {e.incarnation for e in found} == {INCARNATION}
    assert found[1].key.count("|") == 4 and found[1].uuid == found[1].key.split("|")[4]
    assert found[2].time.isoformat() == "2026-11-24T20:41:18.114516+00:00"
    assert reporting.read_events(pool, incarnation=INCARNATION + 1) == []


def test_reporter_round_trip(pool: KvpPool) -> None:
    pool["PROVISIONING_REPORT"] = "other agents' records are left alone"
    reporter = KvpReporter(pool, incarnation=42)
    start_keys = reporter.start("provision", "provisioning started: Zürich")
    reporter.diagnostic("ünïcödé " * 400)
    reporter.finish("provision", "done", result=reporting.FAIL)
    reporter.report("custom", "with|pipe", "name holds a pipe", timestamp=0.0)
    assert start_keys[0].startswith("CLOUD_INIT|42|start|provision|")
    found = reporter.events()
    assert [(e.event_type, e.name) for e in found] == [
        ("start", "provision"),
        ("diagnostic", "diagnostic message"),
        ("finish", "provision"),
        ("custom", "with|pipe"),
    ]
    assert found[1].description == "ünïcödé " * 400 and found[1].chunks == 13  # 3200 chars, 6 escaped
    assert found[2].result == "FAIL"
    assert found[3].timestamp == "1970-01-01T00:00:00Z"
    # the chunks of one event are adjacent, in order
    keys = [r.key for r in pool.records()]
    chunk_keys = [k for k in keys if k.startswith("CLOUD_INIT|42|diagnostic|")]
    first = keys.index(chunk_keys[0])
    assert keys[first : first + 13] == chunk_keys
    assert [k.rsplit("|", 1)[1] for k in chunk_keys] == [str(i) for i in range(13)]
    assert pool["PROVISIONING_REPORT"].startswith("other agents")
    assert KvpReporter(pool, incarnation=43).events() == []
    assert len(reporter.events(this_boot=False)) == 4


def test_reporter_clears_a_stale_pool(pool: KvpPool) -> None:
    import os

    pool["old"] = "from the last boot"
    os.utime(pool.path, (0, 0))
    KvpReporter(pool, incarnation=1, clear_stale=True)
    assert pool.record_count() == 0


def test_incarnation_is_boot_time_in_seconds() -> None:
    assert reporting.boot_incarnation(now=1000.9, uptime=10.5) == 990
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    assert abs(reporting.boot_incarnation() - int(time.time() - uptime)) <= 1


def test_malformed_records(pool: KvpPool) -> None:
    good = reporting.encode_event("t", "n", "é" * 1500, incarnation=1, timestamp=0)
    pool.append_many(good[:1] + good[2:])  # chunk 1 lost
    pool.append("CLOUD_INIT|1|t|n|u", "not json")
    pool.append("CLOUD_INIT|x|t|n|u", '{"name":"n","type":"t","ts":"1970-01-01T00:00:00Z","msg":""}')
    pool.append("UNRELATED", "{}")
    found = reporting.read_events(pool)
    assert len(found) == 1 and not found[0].complete and found[0].chunks == len(good) - 1
    with pytest.raises(EventFormatError):
        reporting.read_events(pool, strict=True)


def test_bad_input(pool: KvpPool) -> None:
    bad: Any = 5
    with pytest.raises(TypeError):
        reporting.encode_event("t", bad, "d")
    with pytest.raises(TypeError):
        reporting.encode_event("t", "n", bad)
    with pytest.raises(ValueError, match="shorten"):
        reporting.encode_event("t", "n" * 1000, "d" * 2000, incarnation=1)
    with pytest.raises(KeyTooLargeError):
        reporting.report_event(pool, "t", "n" * 300, "d", incarnation=1)
    assert pool.record_count() == 0


def test_event_is_a_value() -> None:
    event = Event("CLOUD_INIT|1|t|n|u", 1, "t", "n", "u", "2026-01-01T00:00:00Z", "d")
    assert event.result is None and event.complete and event.chunks == 1
    assert event == Event("CLOUD_INIT|1|t|n|u", 1, "t", "n", "u", "2026-01-01T00:00:00Z", "d")


# Records as cloud-init 25.1 and 26.2 write them (tests/interop runs those
# releases' real handlers; these are copied from such a run).
VM = "0e5e179d-5341-478b-8456-fbb90621bdf8"
NEWER = [
    ("CLOUD_INIT|1781654000|start|init-local|f1290682-a3c4-40a4-bae8-00a2eb960c10",
     '{"name":"init-local","type":"start","ts":"2026-06-17T00:00:00.500000+00:00","msg":"x"}'),
    (f"CLOUD_INIT|1781654000|finish|init-local|{VM}|954bd009-4225-4965-a10a-5f6fbde01f15",
     '{"name":"init-local","type":"finish","ts":"2026-06-17T00:00:01+00:00","result":"SUCCESS","duration":1.25,"msg":"y"}'),
    (f"CLOUD_INIT|1781654000|diagnostic|a|{VM}|b|{VM}|cdad2705-b2b7-4558-94b0-5df83121c101",
     '{"name":"a|' + VM + '|b","type":"diagnostic","ts":"2026-06-17T00:00:03.000001+00:00","msg":"z"}'),
]


def test_reads_the_ts_vm_id_and_duration_of_newer_releases() -> None:
    start, finish, piped = reporting.decode_events(NEWER, strict=True)
    assert (start.timestamp, start.vm_id, start.duration) == ("2026-06-17T00:00:00.500000+00:00", None, None)
    assert start.time == datetime(2026, 6, 17, 0, 0, 0, 500000, tzinfo=timezone.utc)
    assert (finish.vm_id, finish.duration, finish.result) == (VM, 1.25, "SUCCESS")
    assert finish.uuid == "954bd009-4225-4965-a10a-5f6fbde01f15"
    # A name holding '|' and a UUID: the VM id is the field after the name.
    assert (piped.name, piped.vm_id) == (f"a|{VM}|b", VM)


def test_a_duration_that_is_not_a_number_is_malformed() -> None:
    bad = [(NEWER[1][0], NEWER[1][1].replace('"duration":1.25', '"duration":"1.25"'))]
    assert reporting.decode_events(bad) == []
    with pytest.raises(EventFormatError, match="duration"):
        reporting.decode_events(bad, strict=True)

"""cloud-init cases: the real HyperVKvpReportingHandler (Debian cloud-init
22.4) against hyperv_kvp and kvp-core, on a temporary pool 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kvp_host import proc_lock_waiters, wait_until



def _require():
    """cloud-init and hyperv_kvp.reporting must both import: missing is a
    failure, never a skip."""
    try:
        import cloudinit_peer
    except ImportError as e:  # pragma: no cover - reported, not skipped
        pytest.fail(f"PEER CANNOT RUN: cloud-init does not import: {e}", pytrace=False)
    try:
        import hyperv_kvp
        import hyperv_kvp.reporting
    except ImportError as e:  # pragma: no cover
        pytest.fail(f"FACE MISSING: hyperv_kvp.reporting does not import: {e}", pytrace=False)
    return cloudinit_peer, hyperv_kvp


HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"


@pytest.fixture
def peers():
    return _require()


@pytest.fixture
def pool_file(tmp_path) -> Path:
    return tmp_path / ".kvp_pool_1"


def ci_records(ci, path) -> list[dict]:
    """cloud-init's own reader: every record from offset 0."""
    h = ci.handler(path)
    return list(h._iterate_kvps(0))


def test_cloudinit_events_are_read_by_hyperv_kvp(peers, pool_file):
    ci, kvp = peers
    from hyperv_kvp.reporting import read_events

    h = ci.handler(pool_file)
    h.publish_event(ci.start_event("init-local", "Datasource found: Azure ✓"))
    h.publish_event(ci.diagnostic_event("azure-diagnostics", "é" * 2500))
    h.publish_event(ci.diagnostic_event("escapes", ci.LONG))
    h.publish_event(ci.finish_event("modules-final", "all done", "SUCCESS"))
    h.flush()

    with kvp.KvpPool(path=str(pool_file)) as pool:
        events = read_events(pool, strict=True)
        raw = pool.records()
    assert [(e.event_type, e.name, e.description, e.result) for e in events] == [
        ("start", "init-local", "Datasource found: Azure ✓", None),
        ("diagnostic", "azure-diagnostics", "é" * 2500, None),
        ("diagnostic", "escapes", ci.LONG, None),
        ("finish", "modules-final", "all done", "SUCCESS"),
    ]
    assert all(e.complete and e.incarnation == h.incarnation_no for e in events)
    assert events[1].chunks > 1 and events[2].chunks > 1
    # Some of cloud-init's chunks are not JSON by themselves (it cuts inside
    # \\u00e9); reassembly must not care.
    chunk_values = [r.value for r in raw if "|azure-diagnostics|" in r.key]
    assert any(_not_json(v) for v in chunk_values)


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


def test_fixture_written_by_cloudinit_reads_back(peers):
    _ci, kvp = peers
    from hyperv_kvp.reporting import read_events

    with kvp.KvpPool(path=str(FIXTURES / "cloudinit-events.pool")) as pool:
        events = read_events(pool, strict=True)
    assert [(e.name, e.chunks) for e in events] == [
        ("init-local", 1),
        ("azure-diagnostics", 17),
        ("modules-final", 1),
    ]
    assert events[1].description == "é" * 2500


def test_hyperv_kvp_events_are_read_by_cloudinits_reader(peers, pool_file):
    ci, kvp = peers
    from hyperv_kvp.reporting import KvpReporter

    reporter = KvpReporter(kvp.KvpPool(path=str(pool_file)))
    reporter.start("provision", "provisioning started ✓")
    reporter.diagnostic("é" * 2500, name="long")
    reporter.diagnostic(ci.LONG, name="escapes")
    reporter.finish("provision", "provisioning done", result="SUCCESS")

    records = ci_records(ci, pool_file)
    with kvp.KvpPool(path=str(pool_file)) as pool:
        ours = [{"key": r.key, "value": r.value} for r in pool.records()]
    # cloud-init's reader (whole field as UTF-8, NULs stripped) sees exactly
    # our records: we never leave bytes after a NUL.
    assert records == ours
    # Reassembled as a cloud-init-format reader must (join the raw msg
    # texts in msg_i order, unescape once), the descriptions come back.
    events = _reassemble(records)
    assert events == [
        ("start", "provision", "provisioning started ✓"),
        ("diagnostic", "long", "é" * 2500),
        ("diagnostic", "escapes", ci.LONG),
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
        base = "|".join(parts[:5])
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


def test_cloudinit_waits_for_our_lock_and_we_wait_for_its(peers, pool_file, core, tmp_path):
    ci, kvp = peers
    from kvp_host import Gate

    core.append(pool_file, "seed", "s")
    inode = os.stat(pool_file).st_ino

    # cloud-init's own reader holds its flock while its generator is open.
    h = ci.handler(pool_file)
    reading = h._iterate_kvps(0)
    assert next(reading)["key"] == "seed"
    with pytest.raises(kvp.LockTimeoutError):
        with kvp.KvpPool(path=str(pool_file), lock_timeout=0.2) as pool:
            pool.append("ours-bounded", "x")
    writer = core.spawn(pool_file, "append", "ours", "o")
    wait_until(lambda: proc_lock_waiters(inode), "our writer to wait for cloud-init's flock")
    assert writer.poll() is None
    reading.close()  # leaves cloud-init's `with open(...)`: lock released
    core.result(writer)

    # Now we hold ours (stopped by the shim inside the write) and
    # cloud-init's append waits on its flock.
    gate = Gate(tmp_path / "writer.gate")
    gate.close()
    writer = core.spawn(pool_file, "append", "ours-2", "o2", gate=gate)
    try:
        gate.run_to("locked", writer)
        h.publish_event(ci.start_event("while-locked", "waits"))
        waiters = wait_until(
            lambda: [w for w in proc_lock_waiters(inode) if "FLOCK" in w],
            "cloud-init to wait for our flock",
        )
        assert waiters
        assert b"while-locked" not in pool_file.read_bytes()
    finally:
        gate.open()
    core.result(writer)
    h.flush()
    keys = [r["key"] for r in ci_records(ci, pool_file)]
    assert keys[:3] == ["seed", "ours", "ours-2"]
    assert "|while-locked|" in keys[3]


def test_concurrent_writers_from_both_sides_lose_nothing(peers, pool_file, core):
    ci, kvp = peers
    from hyperv_kvp.reporting import read_events

    rounds = 40
    env = dict(os.environ)
    peer = str(Path(ci.__file__))
    ours_py = (
        "import sys\n"
        "from hyperv_kvp import KvpPool\n"
        "from hyperv_kvp.reporting import KvpReporter\n"
        "r = KvpReporter(KvpPool(path=sys.argv[1]))\n"
        "long = 'é' * 1500 + ' \"q\" \\\\ ✓'\n"
        "for i in range(int(sys.argv[2])):\n"
        "    r.diagnostic(long if i % 5 == 0 else f'event {i}', name=f'{sys.argv[3]}-{i}')\n"
    )
    processes = [
        subprocess.Popen([sys.executable, peer, str(pool_file), str(rounds), "ci-a"], env=env),
        subprocess.Popen([sys.executable, peer, str(pool_file), str(rounds), "ci-b"], env=env),
        subprocess.Popen([sys.executable, "-c", ours_py, str(pool_file), str(rounds), "py-a"]),
        subprocess.Popen([sys.executable, "-c", ours_py, str(pool_file), str(rounds), "py-b"]),
    ]
    core_writer = core.spawn(pool_file, "append-loop", "core", rounds)
    for p in processes:
        assert p.wait(timeout=300) == 0
    core.result(core_writer)

    size = pool_file.stat().st_size
    assert size % 2560 == 0
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
    # cloud-init's reader agrees record for record.
    assert [r["key"] for r in ci_records(ci, pool_file)] == keys


def _boot_times():
    with open("/proc/uptime") as f:
        cloudinit_boot = time.time() - float(f.read().split()[0])
    with open("/proc/stat") as f:
        btime = next(int(line.split()[1]) for line in f if line.startswith("btime"))
    return cloudinit_boot, btime


@pytest.mark.parametrize(
    "age, stale",
    [
        ("days before boot", True),
        ("a second before boot", True),
        ("after boot", False),
        ("now", False),
    ],
)
def test_stale_pool_truncation_agrees(peers, tmp_path, core, age, stale):
    ci, kvp = peers
    cloudinit_boot, btime = _boot_times()
    mtime = {
        "days before boot": btime - 3 * 86400,
        "a second before boot": btime - 1,
        "after boot": cloudinit_boot + 2,
        "now": time.time(),
    }[age]
    records = [("CLOUD_INIT|1|diagnostic|old|u", "{}"), ("other", "x")]
    copies = {}
    for who in ("cloud-init", "kvp-core", "hyperv_kvp"):
        path = tmp_path / who / ".kvp_pool_1"
        path.parent.mkdir()
        with kvp.KvpPool(path=str(path)) as pool:
            pool.load(records)
        os.utime(path, (mtime, mtime))
        copies[who] = path

    ci.handler(copies["cloud-init"])  # truncates in its constructor
    assert core.run(copies["kvp-core"], "is-stale", "system") is stale
    assert core.run(copies["kvp-core"], "clear-if-stale", "system") is stale
    with kvp.KvpPool(path=str(copies["hyperv_kvp"])) as pool:
        assert pool.is_stale() is stale
        assert pool.clear_if_stale() is stale

    sizes = {who: path.stat().st_size for who, path in copies.items()}
    assert sizes == dict.fromkeys(copies, 0 if stale else 2 * 2560)

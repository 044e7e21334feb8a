"""Every face of the library that is in the tree takes part in the interop
cases: a face that is there but did not build is a failure, not a skip.
And what each face writes in DIAG_V1, every face decodes alike."""

import uuid
from datetime import datetime

from faces import REPO, assert_decoded_alike


def test_every_face_in_the_tree_is_tested(faces):
    names = {face.name for face in faces}
    assert "kvp-core" in names
    if (REPO / "include" / "kvp.h").exists():
        assert "C ABI" in names, "include/kvp.h is in the tree but the C reader was not built"
    if (REPO / "kvp-python" / "python" / "hyperv_kvp" / "__init__.py").exists():
        assert "Python" in names, "hyperv_kvp is in the tree but was not installed"


# --- DIAG_V1: what each face writes, every face decodes alike -------------------

VM_ID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"


def _diag_events(agent: str) -> list[dict]:
    """A span (start and finish sharing an event id), point events with
    escapes, astral text and a newline, a long one (chunked at 1022 bytes),
    and compressed bytes, one of them chunked; as kvp_event fields."""
    span = str(uuid.uuid4())
    base = {"format": "diag-v1", "agent": agent, "vm_id": VM_ID}
    noise = bytes((i * 7919 + (i >> 3) * 104729) % 251 for i in range(3000))
    return [
        dict(base, kind="start", name="provision", text="provisioning ✓", ts="2026-06-17T00:00:00.125Z",
             event_id=span),
        dict(base, kind="event", name="escapes", text='é€😀 "quoted" \\ back\nslash\x7f\t|x',
             ts="2026-06-17T00:00:01Z", event_id=str(uuid.uuid4())),
        dict(base, kind="event", name="long", text="é" * 2500, ts="2026-06-17T00:00:01.5Z",
             event_id=str(uuid.uuid4())),
        dict(base, kind="event", name="dmesg", bytes=(bytes(range(256)) * 4).hex(), compressed=True,
             ts="2026-06-17T00:00:02Z", event_id=str(uuid.uuid4())),
        dict(base, kind="event", name="cloud-init.log", bytes=noise.hex(), compressed=True,
             ts="2026-06-17T00:00:02.25Z", event_id=str(uuid.uuid4())),
        dict(base, kind="finish", name="provision", text="provisioning failed", result="FAIL",
             duration_ns=2_125_000_000, ts="2026-06-17T00:00:02.25Z", event_id=span),
    ]


def test_diag_v1_written_by_each_face_is_decoded_alike_by_every_face(tmp_path, core, decoders, faces):
    """DIAG_V1 events written by the Rust driver (kvp-report's DiagWriter),
    the C ABI (kvp_write_event) and Python (hyperv_kvp.reporting's
    DiagWriter), into one pool: kvp-report decodes exactly what each
    wrote, and the C ABI's kvp_foreach_event and Python's read_entries
    decode the same entries field for field."""
    pool_file = tmp_path / ".kvp_pool_1"
    writers = [f for f in faces if hasattr(f, "write_event")]
    assert [w.name for w in writers] == [f.name for f in faces] == ["kvp-core", "C ABI", "Python"]
    written = []
    for writer in writers:
        for spec in _diag_events(f"{writer.name.replace(' ', '-')}-0.1"):
            assert writer.write_event(pool_file, spec) == spec["event_id"]
            written.append(spec)

    entries = core.entries(pool_file)
    assert [e["entry"] for e in entries] == ["event"] * len(written)
    got = [
        {k: e[k] for k in ("format", "agent", "vm_id", "kind", "type", "name", "event_id", "result",
                           "duration_ns", "encoding", "text", "bytes")}
        for e in entries
    ]
    assert got == [
        {"format": "diag-v1", "agent": w["agent"], "vm_id": VM_ID, "kind": w["kind"], "type": w["kind"],
         "name": w["name"], "event_id": w["event_id"], "result": w.get("result"),
         "duration_ns": str(w["duration_ns"]) if "duration_ns" in w else None,
         "encoding": "gz+b64" if w.get("compressed") else "none",
         "text": w.get("text"), "bytes": w.get("bytes")}
        for w in written
    ]
    # ts as the writer spells it (milliseconds, Z) and its instant.
    for entry, w in zip(entries, written):
        when = datetime.fromisoformat(w["ts"].replace("Z", "+00:00"))
        assert datetime.fromisoformat(entry["ts"].replace("Z", "+00:00")) == when
        assert entry["ts"].endswith("Z") and len(entry["ts"]) == len("2026-06-17T00:00:00.000Z")
        assert int(entry["unix_ns"]) == int(when.timestamp()) * 10**9 + when.microsecond * 1000
    chunks = {e["name"]: e["chunks"] for e in entries}
    assert chunks["long"] == 5 and chunks["cloud-init.log"] > 1 and chunks["escapes"] == 1
    assert_decoded_alike(entries, pool_file, decoders)

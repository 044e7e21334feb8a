"""Our library as the interop tests drive it: kvp-core (through the small
driver in driver/), the C ABI (libkvp, through c/kvp_tool.c) and the Python
wheel (hyperv_kvp). Each face writes (insert, append, delete) from its own
process and reads raw records, (key bytes, value bytes) up to the first
NUL of each field, in file order.

Every face also decodes a pool with kvp-report (`entries`: the Rust
driver's JSON of kvp-report's entries; the C face's kvp_foreach_event and
Python's hyperv_kvp.reporting.read_entries in the same fields and
spellings, `view` saying what a face keeps of the driver's) and writes one
event (`write_event`: a dict with kvp_event's fields, see EVENT_FIELDS).
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PATIENCE = 60
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# The fields of an event to write (`write_event`), as kvp_event has them:
# format (diag-v1, cloud-init-22.4, cloud-init-24.4, cloud-init-26.1),
# agent, vm_id, incarnation, kind (start, finish, event), name, type,
# result (SUCCESS, WARN, FAIL), duration_ns, text or bytes (hex),
# compressed (bool), event_id, ts (RFC 3339). None means "not given".
EVENT_FIELDS = (
    "format", "agent", "vm_id", "incarnation", "kind", "name", "type", "result",
    "duration_ns", "text", "bytes", "compressed", "event_id", "ts",
)


def _check_event(spec: dict) -> dict:
    unknown = set(spec) - set(EVENT_FIELDS)
    assert not unknown, f"not kvp_event fields: {unknown}"
    return {k: v for k, v in spec.items() if v is not None}


def assert_decoded_alike(expected: list[dict], path, decoders) -> None:
    """Each face of `decoders` decodes the pool at `path` into `expected`,
    the Rust driver's entries, field for field: events and raw records
    with exactly the driver's fields (as the face's `view` keeps them),
    reports with the face's subset of them (C: result, agent, vm_id,
    timestamp, reason and the record's key and value; Python: the whole
    report, without the record)."""
    assert decoders, "no face besides the Rust driver decodes the pool"
    for face in decoders:
        got, want = face.entries(path), [face.view(e) for e in expected]
        assert [g["entry"] for g in got] == [e["entry"] for e in want], face.name
        for i, (e, g) in enumerate(zip(want, got)):
            if g["entry"] != "report":
                assert set(g) == set(e), f"{face.name}: entry {i} has other fields"
            assert g == {k: e.get(k, "MISSING") for k in g}, f"{face.name}: entry {i} differs"


class CoreError(Exception):
    """kvp-core refused an operation; `kind` is its ErrorKind."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind


class CoreDriver:
    """kvp-core, one operation per run of the driver binary."""

    name = "kvp-core"

    def __init__(self, binary: Path, shim: Path):
        self.binary = binary
        self.shim = shim

    def command(self, path, op, *args, mode="safe", timeout_ms=None) -> list[str]:
        timeout = "none" if timeout_ms is None else str(timeout_ms)
        return [str(self.binary), str(path), mode, timeout, op, *map(str, args)]

    def spawn(self, path, op, *args, mode="safe", timeout_ms=None, gate=None, stdin=None):
        """Starts an operation in the background; with `gate`, under the shim
        so that the test can stop it at its lock transitions."""
        env = dict(os.environ)
        if gate is not None:
            env.update(LD_PRELOAD=str(self.shim), KVP_SHIM_GATE=str(gate.path))
        return subprocess.Popen(
            self.command(path, op, *args, mode=mode, timeout_ms=timeout_ms),
            env=env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    @staticmethod
    def result(process, stdin: bytes | None = None):
        out, err = process.communicate(stdin, timeout=PATIENCE)
        if not out.strip():
            raise AssertionError(f"driver printed nothing (rc {process.returncode}): {err!r}")
        data = json.loads(out)
        if process.returncode == 2 and isinstance(data, dict) and "error" in data:
            raise CoreError(data["error"], data["message"])
        if process.returncode != 0:
            raise AssertionError(f"driver rc {process.returncode}: {err!r}")
        return data

    def run(self, path, op, *args, mode="safe", timeout_ms=None):
        return self.result(self.spawn(path, op, *args, mode=mode, timeout_ms=timeout_ms))

    def insert(self, path, key, value, mode="safe"):
        return self.run(path, "insert", key, value, mode=mode)

    def append(self, path, key, value, mode="safe"):
        return self.run(path, "append", key, value, mode=mode)

    def delete(self, path, key) -> int:
        return self.run(path, "delete", key)

    def load(self, path, pairs, mode="safe"):
        process = self.spawn(path, "load", mode=mode, stdin=True)
        return self.result(process, json.dumps(pairs).encode())

    def read_raw(self, path) -> list[tuple[bytes, bytes]]:
        return [
            (bytes.fromhex(r["key"]), bytes.fromhex(r["value"]))
            for r in self.run(path, "records")
        ]

    def entries(self, path) -> list[dict]:
        """kvp-report's decoded pool, every field of every entry."""
        return self.run(path, "entries")

    def write_event(self, path, spec: dict) -> str:
        """kvp-report's write_event; returns the event id."""
        process = self.spawn(path, "write-event", stdin=True)
        return self.result(process, json.dumps(_check_event(spec)).encode())["event_id"]


class ProcessFace:
    """A face of the library run as its own process, so the shim can be
    preloaded into it: `insert`, `append`, `delete` and `read_raw`."""

    def __init__(self, name: str, prefix, shim: Path, env=None):
        self.name = name
        self.prefix = [str(part) for part in prefix]
        self.shim = shim
        self.env = env or {}

    def spawn(self, path, op, *args, mode="safe", gate=None):
        env = dict(os.environ, **self.env)
        if gate is not None:
            env.update(LD_PRELOAD=str(self.shim), KVP_SHIM_GATE=str(gate.path))
        return subprocess.Popen(
            [*self.prefix, str(path), mode, op, *map(str, args)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    @staticmethod
    def result(process) -> bytes:
        out, err = process.communicate(timeout=PATIENCE)
        if process.returncode != 0:
            raise AssertionError(f"rc {process.returncode}: {err!r}")
        return out

    def run(self, path, op, *args, mode="safe") -> bytes:
        return self.result(self.spawn(path, op, *args, mode=mode))

    def insert(self, path, key, value, mode="safe"):
        self.run(path, "insert", key, value, mode=mode)

    def append(self, path, key, value, mode="safe"):
        self.run(path, "append", key, value, mode=mode)

    def delete(self, path, key):
        self.run(path, "delete", key)


class CFace(ProcessFace):
    """libkvp, through c/kvp_tool.c (kvp_foreach, kvp_insert, ...)."""

    def __init__(self, binary: Path, libdir: Path, shim: Path):
        super().__init__("C ABI", [binary], shim, {"LD_LIBRARY_PATH": str(libdir)})

    def read_raw(self, path) -> list[tuple[bytes, bytes]]:
        records = []
        for line in self.run(path, "dump").decode().splitlines():
            key, value = line.split(" ")
            records.append((bytes.fromhex(key), bytes.fromhex(value)))
        return records

    def entries(self, path) -> list[dict]:
        """kvp_foreach_event's entries, one JSON object a line."""
        return [json.loads(line) for line in self.run(path, "events").decode().splitlines()]

    @staticmethod
    def view(entry: dict) -> dict:
        return entry

    def write_event(self, path, spec: dict) -> str:
        """kvp_write_event; returns the event id it gave back."""
        args = []
        for name, value in _check_event(spec).items():
            if name == "compressed":
                value = int(value)
            args.append(f"{name}={value}")
        return self.run(path, "write-event", *args).decode().strip()


class PythonFace(ProcessFace):
    """The hyperv_kvp wheel: writes in a child process (py_writer.py),
    reads in this one."""

    def __init__(self, module, shim: Path):
        import sys

        super().__init__("Python", [sys.executable, Path(__file__).parent / "py_writer.py"], shim)
        self.module = module

    def read_raw(self, path) -> list[tuple[bytes, bytes]]:
        # records() gives text; the interop data is all valid UTF-8, so
        # encoding it again gives back the exact bytes.
        with self.module.KvpPool(path=str(path)) as pool:
            return [(r.key.encode(), r.value.encode()) for r in pool.records()]

    def entries(self, path) -> list[dict]:
        """hyperv_kvp.reporting.read_entries, in the driver's fields."""
        from hyperv_kvp import reporting

        with self.module.KvpPool(path=str(path)) as pool:
            return [_python_entry(e, reporting) for e in reporting.read_entries(pool)]

    @staticmethod
    def view(entry: dict) -> dict:
        """What Python keeps of a driver entry: instants and durations to
        the microsecond (datetime, timedelta; a duration rounded, an
        instant cut, as hyperv_kvp.reporting documents it)."""
        out = dict(entry)
        if out.get("unix_ns") is not None:
            out["unix_ns"] = str(int(out["unix_ns"]) // 1000 * 1000)
        if out.get("duration_ns") is not None:
            out["duration_ns"] = str((int(out["duration_ns"]) + 500) // 1000 * 1000)
        return out

    def write_event(self, path, spec: dict) -> str:
        """An EventWriter of hyperv_kvp.reporting (DiagWriter or
        CloudInitWriter) writes it; returns its event id."""
        from datetime import datetime
        from uuid import uuid4

        from hyperv_kvp import reporting

        spec = _check_event(spec)
        variant = spec.get("format", "diag-v1")
        if variant == "diag-v1":
            writer = reporting.DiagWriter(spec["agent"], spec["vm_id"])
        else:
            writer = reporting.CloudInitWriter(
                variant, incarnation=spec.get("incarnation"), vm_id=spec.get("vm_id")
            )
        event_id = spec.get("event_id") or str(uuid4())
        ts = spec.get("ts")
        with self.module.KvpPool(path=str(path)) as pool:
            writer.write(
                pool,
                spec.get("kind", "event"),
                spec["name"],
                bytes.fromhex(spec["bytes"]) if "bytes" in spec else spec.get("text", ""),
                event_type=spec.get("type"),
                result=spec.get("result"),
                duration=spec["duration_ns"] / 1e9 if "duration_ns" in spec else None,
                timestamp=None if ts is None else datetime.fromisoformat(ts.replace("Z", "+00:00")),
                event_id=event_id,
                compressed=spec.get("compressed", False),
            )
        return event_id


def _python_entry(entry, reporting) -> dict:
    """A hyperv_kvp.reporting entry in the Rust driver's fields."""
    if isinstance(entry, reporting.RawEntry):
        return {
            "entry": "raw", "position": entry.position, "key": entry.key.hex(), "value": entry.value.hex(),
            "reason": None if entry.reason is None else entry.reason.value, "detail": entry.detail,
        }
    if isinstance(entry, reporting.ReportEntry):
        r = entry.report
        return {
            "entry": "report", "position": entry.position, "result": r.result.value, "agent": r.agent,
            "vm_id": r.vm_id, "timestamp": r.timestamp,
            "pps_type": None if r.pps_type is None else r.pps_type.value, "reason": r.reason,
            "documentation_url": r.documentation_url, "supporting_data": [list(kv) for kv in r.supporting_data],
        }
    e = entry
    micros = None if e.timestamp is None else (e.timestamp - _EPOCH) // timedelta(microseconds=1)
    duration = None if e.duration is None else e.duration // timedelta(microseconds=1)
    return {
        "entry": "event", "position": e.position, "format": e.format.value, "agent": e.agent,
        "kind": e.kind.value, "type": e.event_type, "name": e.name, "ts": e.ts,
        "unix_ns": None if micros is None else str(micros * 1000),
        "result": getattr(e.result, "value", e.result),
        "duration_ns": None if duration is None else str(duration * 1000),
        "text": e.text, "bytes": None if e.text is not None else e.payload.hex(),
        "encoding": e.encoding.value, "vm_id": e.vm_id, "event_id": e.event_id,
        "incarnation": e.incarnation, "chunks": e.chunks, "missing": list(e.missing_chunks),
    }


def available_faces(core: CoreDriver) -> list:
    """kvp-core always; the C ABI when the suite built the C reader; Python
    when hyperv_kvp imports. A face whose sources are in the tree but that
    did not build is an error raised by the suite, not a silent absence."""
    faces = [core]
    c_tool = os.environ.get("KVP_INTEROP_C_TOOL")
    if c_tool:
        faces.append(CFace(Path(c_tool), Path(os.environ["KVP_INTEROP_LIBDIR"]), core.shim))
    if os.environ.get("KVP_INTEROP_PYTHON") == "1":
        import hyperv_kvp

        faces.append(PythonFace(hyperv_kvp, core.shim))
    return faces

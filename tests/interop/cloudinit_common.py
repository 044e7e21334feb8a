"""What the cloud-init interop cases share (test_cloudinit.py and
test_cloudinit_reports.py): what each release writes, by its version
(CiFormat), the pool's records read straight from the file, and
hyperv_kvp imported as a failure, never a skip, when it is missing."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from releases import upstream

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
RECORD, KEY = 2560, 512
VM_ID = "0e5e179d-5341-478b-8456-fbb90621bdf8"
LONG = "é" * 1500 + ' "quoted" \\ back\\slash ✓ 😀'
T0 = 1781654400.123456


def kvp_module():
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


# What the cases publish through each release's handler.
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


# Pool ages on each side of boot, for the stale-pool verdict.
def boot_times():
    with open("/proc/uptime") as f:
        cloudinit_boot = time.time() - float(f.read().split()[0])
    with open("/proc/stat") as f:
        btime = next(int(line.split()[1]) for line in f if line.startswith("btime"))
    return cloudinit_boot, btime


def age_mtimes() -> dict[str, float]:
    """Pool mtimes on each side of boot, far from both boot times (cloud-init's
    now - uptime and the kernel's btime)."""
    cloudinit_boot, btime = boot_times()
    return {
        "days before boot": btime - 3 * 86400,
        "a second before boot": btime - 1,
        "after boot": cloudinit_boot + 2,
        "now": time.time(),
    }

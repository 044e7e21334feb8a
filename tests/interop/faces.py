"""Our library as the interop tests drive it: kvp-core (through the small
driver in driver/), the C ABI (libkvp, through c/kvp_dump.c) and the Python
wheel (hyperv_kvp). Each reader returns raw records, (key bytes, value
bytes) up to the first NUL of each field, in file order.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PATIENCE = 60


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


class CReader:
    """libkvp through kvp_foreach, via the small C program c/kvp_dump.c."""

    name = "C ABI"

    def __init__(self, binary: Path, libdir: Path):
        self.binary = binary
        self.libdir = libdir

    def read_raw(self, path) -> list[tuple[bytes, bytes]]:
        env = dict(os.environ, LD_LIBRARY_PATH=str(self.libdir))
        out = subprocess.run(
            [str(self.binary), str(path)], env=env, capture_output=True, timeout=PATIENCE
        )
        if out.returncode != 0:
            raise AssertionError(f"kvp_dump failed: {out.stderr!r}")
        records = []
        for line in out.stdout.decode().splitlines():
            key, value = line.split(" ")
            records.append((bytes.fromhex(key), bytes.fromhex(value)))
        return records


class PythonReader:
    """The hyperv_kvp wheel, in this process."""

    name = "Python"

    def __init__(self, module):
        self.module = module

    def read_raw(self, path) -> list[tuple[bytes, bytes]]:
        # records() gives text; the interop data is all valid UTF-8, so
        # encoding it again gives back the exact bytes.
        with self.module.KvpPool(path=str(path)) as pool:
            return [(r.key.encode(), r.value.encode()) for r in pool.records()]


def available_readers(core: CoreDriver) -> list:
    """kvp-core always; the C ABI when the suite built the C reader; Python
    when hyperv_kvp imports. A face whose sources are in the tree but that
    did not build is an error raised by the suite, not a silent absence."""
    readers = [core]
    c_reader = os.environ.get("KVP_INTEROP_C_READER")
    if c_reader:
        readers.append(CReader(Path(c_reader), Path(os.environ["KVP_INTEROP_LIBDIR"])))
    if os.environ.get("KVP_INTEROP_PYTHON") == "1":
        import hyperv_kvp

        readers.append(PythonReader(hyperv_kvp))
    return readers

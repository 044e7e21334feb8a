"""Shared fixtures: a fresh pool directory, the real peers' pool files, and a
child process that holds a pool's lock the way cloud-init or the daemon do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from hyperv_kvp import KvpPool

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
# What the peers write, byte for byte (kvp-report/tests/fixtures/README.md).
REPORT_FIXTURES = Path(__file__).resolve().parents[2] / "kvp-report" / "tests" / "fixtures"


def report_fixture(name: str) -> Any:
    """A JSON fixture of kvp-report: the real cloud-init releases' records,
    azure-init's examples."""
    return json.loads((REPORT_FIXTURES / name).read_text(encoding="utf-8"))

# Holds the lock until its stdin closes, or for 60 s at most, so that a test
# whose waiter never returns fails instead of hanging forever.
_HOLDER = r"""
import fcntl, select, sys
path, kind = sys.argv[1], sys.argv[2]
f = open(path, "a+b")
if kind == "flock":
    fcntl.flock(f, fcntl.LOCK_EX)        # as cloud-init locks
else:
    fcntl.lockf(f, fcntl.LOCK_EX)        # a POSIX record lock, as hv_kvp_daemon
print("locked", flush=True)
select.select([sys.stdin], [], [], 60)
"""


class LockHolder:
    """A child process holding an exclusive lock on a pool file."""

    def __init__(self, path: str, kind: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, path, kind],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line == "locked\n", f"lock holder failed to start: {line!r}"

    def release(self) -> None:
        """Lets the child exit, which drops its lock."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(timeout=60)


@pytest.fixture
def pool_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def pool(tmp_path: Path) -> KvpPool:
    return KvpPool(1, directory=tmp_path, lock_timeout=30)


@pytest.fixture
def hold_lock() -> Iterator[Callable[[str, str], LockHolder]]:
    holders: list[LockHolder] = []

    def start(path: str, kind: str = "flock") -> LockHolder:
        holder = LockHolder(path, kind)
        holders.append(holder)
        return holder

    yield start
    for holder in holders:
        holder.release()


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Callable[[str], Path]:
    """Copies a pool file written by the real daemon or cloud-init."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        target.write_bytes((FIXTURES / name).read_bytes())
        os.chmod(target, 0o600)  # whatever the umask: writes refuse group-writable pools
        return target

    return copy

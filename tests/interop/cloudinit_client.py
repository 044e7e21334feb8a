"""The test's side of cloudinit_peer.py: one cloud-init release running in
its own interpreter, driven one request at a time."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

from releases import Release

HERE = Path(__file__).resolve().parent
PEER = HERE / "cloudinit_peer.py"
PATIENCE = 120.0


class PeerError(AssertionError):
    """cloud-init raised, or its process did not answer."""


def environment(release: Release) -> dict:
    env = dict(os.environ)
    env["KVP_INTEROP_CLOUDINIT_PATH"] = str(release.cloudinit_site)
    # cloud-init logs its warnings; keep them out of the answers.
    env["PYTHONUNBUFFERED"] = "1"
    return env


class CloudInit:
    """A cloud-init release: `call(op, **args)` runs one of cloudinit_peer's
    Peer methods in the release's process and returns its result."""

    def __init__(self, release: Release, stderr_path: Path):
        self.release = release
        self.stderr_path = stderr_path
        self._stderr = open(stderr_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, str(PEER), "serve"],
            env=environment(release),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self.info = self.call("info")
        self.pid: int = self.info["pid"]
        self.version: str = self.info["version"]

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def send(self, op: str, **args: Any) -> None:
        """Sends a request without waiting for its answer (see `answer`)."""
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps({"op": op, **args}) + "\n").encode())
        self.process.stdin.flush()

    def answer_pending(self) -> bool:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 0)
        return bool(ready)

    def answer(self) -> Any:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], PATIENCE)
        line = self.process.stdout.readline() if ready else b""
        if not line:
            raise PeerError(
                f"cloud-init {self.release.suite} did not answer "
                f"(exit {self.process.poll()}): {self.stderr()}"
            )
        data = json.loads(line)
        if "error" in data:
            raise PeerError(f"cloud-init {self.release.suite} raised:\n{data['error']}")
        return data["ok"]

    def call(self, op: str, **args: Any) -> Any:
        self.send(op, **args)
        return self.answer()

    def handler(
        self,
        path,
        vm_id: str | None = None,
        incarnation: int | None = None,
        kind: str = "stock",
        reset: bool = True,
    ) -> dict:
        """A new telemetry handler on `path`: the release's own ("stock"),
        hyperv_kvp.cloudinit's subclass ("subclass"), or what `type: hyperv`
        gives after install() ("configured")."""
        return self.call(
            "handler", path=str(path), vm_id=vm_id, incarnation=incarnation, kind=kind, reset=reset
        )

    def read(self) -> list[dict]:
        return self.call("read")

    def writer(self, path, count: int, prefix: str) -> subprocess.Popen:
        """A separate process of this release publishing `count` events."""
        return subprocess.Popen(
            [sys.executable, str(PEER), "write", str(path), str(count), prefix],
            env=environment(self.release),
        )

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=PATIENCE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()

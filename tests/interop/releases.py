"""The interop matrix: which release of each peer runs, read from the
manifest tests/interop/fetch_peers.sh writes ($KVP_INTEROP_PEERS).

Every suite of the matrix is always a parameter of the tests, whether its
packages were fetched or not: a release that is missing fails its tests
with the reason (PEER CANNOT RUN), it is never skipped or left out.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

SUITES = ("bookworm", "trixie", "sid")


def upstream(version: Optional[str]) -> Tuple[int, ...]:
    """The upstream part of a Debian version as numbers:
    "6.12.117-1" -> (6, 12, 117); "25.1.4-1+deb13u1" -> (25, 1, 4)."""
    if not version:
        return ()
    text = version.split(":", 1)[-1].split("-", 1)[0]
    return tuple(int(part) for part in re.findall(r"\d+", text.split("~")[0]))


@dataclass(frozen=True)
class Release:
    """One Debian suite's hv_kvp_daemon and cloud-init."""

    suite: str
    daemon: Optional[str] = None
    daemon_version: Optional[str] = None
    loader: Optional[str] = None
    libdir: Optional[str] = None
    libc_version: Optional[str] = None
    cloudinit_site: Optional[str] = None
    cloudinit_version: Optional[str] = None
    daemon_problem: str = ""
    cloudinit_problem: str = ""

    def __str__(self) -> str:
        return self.suite

    @property
    def daemon_upstream(self) -> Tuple[int, ...]:
        return upstream(self.daemon_version)

    @property
    def cloudinit_upstream(self) -> Tuple[int, ...]:
        return upstream(self.cloudinit_version)

    def daemon_command(self) -> List[str]:
        """The daemon in the foreground; through its own libc's loader when
        it was fetched from a newer suite."""
        assert self.daemon is not None
        if self.loader:
            return [self.loader, "--library-path", str(self.libdir), self.daemon, "-n"]
        return [self.daemon, "-n"]

    def describe(self) -> str:
        return (
            f"{self.suite}: hv_kvp_daemon {self.daemon_version or 'MISSING'}, "
            f"cloud-init {self.cloudinit_version or 'MISSING'}, "
            f"libc6 {self.libc_version or 'MISSING'}"
            + ("" if self.loader else " (the system's)")
        )


def load() -> List[Release]:
    """Every suite of the matrix, in order, with what was fetched for it."""
    manifest = os.environ.get("KVP_INTEROP_PEERS")
    data: dict = {"releases": [], "problems": []}
    why = ""
    if not manifest:
        why = "KVP_INTEROP_PEERS is not set; run tests/suites/50-interop.sh"
    elif not Path(manifest).exists():
        why = f"{manifest} does not exist: tests/interop/fetch_peers.sh did not finish"
    else:
        data = json.loads(Path(manifest).read_text())
    found = {r["suite"]: r for r in data.get("releases", [])}
    out = []
    for suite in SUITES:
        fields = found.get(suite)
        if fields is None:
            why = why or f"{suite} is not in the manifest"
            out.append(Release(suite, daemon_problem=why, cloudinit_problem=why))
            continue
        out.append(Release(**fields))
    return out

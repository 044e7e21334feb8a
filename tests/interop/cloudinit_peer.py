"""cloud-init 22.4's real HyperVKvpReportingHandler, imported from the
Debian package, for the interop tests; also runnable as a writer process:

    python3 cloudinit_peer.py <pool-file> <count> <name-prefix>

publishes `count` events, each flushed on its own (so each is its own
flock-protected append), alternating short and chunked ones.
"""

from __future__ import annotations

import os
import sys

_SITE = os.environ.get("KVP_INTEROP_CLOUDINIT_PATH", "/usr/lib/python3/dist-packages")
if _SITE not in sys.path:
    # Last, so that our own interpreter's packages win over Debian's.
    sys.path.append(_SITE)

from cloudinit.reporting import events as ci_events  # noqa: E402
from cloudinit.reporting.handlers import HyperVKvpReportingHandler  # noqa: E402

LONG = "é" * 1500 + ' "quoted" \\ back\\slash ✓ 😀'


def handler(path) -> HyperVKvpReportingHandler:
    """A fresh handler on `path`. Its stale-pool truncation runs once per
    process (a class attribute); reset it so each handler decides anew, as
    a new cloud-init process would."""
    HyperVKvpReportingHandler._already_truncated_pool_file = False
    return HyperVKvpReportingHandler(kvp_file_path=str(path))


def start_event(name: str, description: str):
    return ci_events.ReportingEvent(ci_events.START_EVENT_TYPE, name, description)


def finish_event(name: str, description: str, result: str = "SUCCESS"):
    return ci_events.FinishReportingEvent(name, description, result=result)


def diagnostic_event(name: str, description: str):
    return ci_events.ReportingEvent("diagnostic", name, description)


def main() -> None:
    path, count, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    h = handler(path)
    for i in range(count):
        description = LONG if i % 5 == 0 else f"event {i}"
        h.publish_event(diagnostic_event(f"{prefix}-{i}", description))
        h.flush()


if __name__ == "__main__":
    main()

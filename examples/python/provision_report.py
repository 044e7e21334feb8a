#!/usr/bin/env python3
"""Report provisioning to the Hyper-V host, the way a cloud-init module does.

Reads what the host published about this VM from pool 3 (hv_kvp_daemon
writes VirtualMachineId, PhysicalHostName, ... there), then reports start,
diagnostic and finish events to pool 1 in cloud-init's Hyper-V KVP format,
plus the PROVISIONING_REPORT the host parses (azure-init's dialect, written
with insert so that exactly one remains), and prints the events read back.

    python3 provision_report.py [DIRECTORY]

DIRECTORY defaults to /var/lib/hyperv; give any directory to run it anywhere
(a missing pool 3 there just means no host data).

`handle(name, directory)` has the shape of a cloud-init module's `handle`:
call it from your own module with the module's name.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Dict, List, Optional

from hyperv_kvp import DEFAULT_DIR, KvpError, KvpPool, Pool
from hyperv_kvp.reporting import FAIL, SUCCESS, WARN, KvpReporter, ProvisioningReport, write_report

# Host facts hv_kvp_daemon keeps in pool 3 that a provisioning agent uses.
HOST_KEYS = ("VirtualMachineId", "VirtualMachineName", "PhysicalHostName")
LOCK_TIMEOUT = 5.0  # seconds; never hang boot on a stuck lock holder
AGENT = "provision_report.py/1.0"


def read_host_data(directory: Optional[str]) -> Dict[str, str]:
    """The host's facts from pool 3 (empty when the pool does not exist)."""
    host_pool = KvpPool(Pool.AUTO_EXTERNAL, directory=directory, lock_timeout=LOCK_TIMEOUT)
    return {key: value for key, value in host_pool.items() if key in HOST_KEYS}


def handle(name: str, directory: Optional[str]) -> List[str]:
    """Reports one provisioning run; returns the lines it printed."""
    guest = KvpPool(Pool.GUEST, directory=directory, lock_timeout=LOCK_TIMEOUT)
    # Like cloud-init, drop the reports of a former boot first (but under
    # the pool's lock, which cloud-init does not take).
    reporter = KvpReporter(guest, clear_stale=True)
    reporter.start(name, "provisioning started")
    try:
        host = read_host_data(directory)
        reporter.diagnostic("host data: " + json.dumps(host, sort_keys=True, ensure_ascii=False))
        vm_id = host.get("VirtualMachineId")
        if vm_id is None:
            result, message = WARN, "no VirtualMachineId in pool 3: not on Hyper-V?"
            report = ProvisioningReport.error(AGENT, "unknown", message)
        else:
            result, message = SUCCESS, f"provisioned VM {vm_id}"
            report = ProvisioningReport.success(AGENT, vm_id)
        write_report(guest, report)
    except (KvpError, OSError) as error:
        reporter.finish(name, f"provisioning failed: {error}", result=FAIL)
        raise
    reporter.finish(name, message, result=result)

    lines = [f"pool 1: {guest.path}"]
    for event in reporter.events():
        outcome = f" [{event.result}]" if event.result else ""
        lines.append(f"  {event.event_type:<10} {event.name}{outcome}: {event.description}")
    lines.append(f"  PROVISIONING_REPORT = {guest['PROVISIONING_REPORT']}")
    for line in lines:
        print(line)
    return lines


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("directory", nargs="?", default=DEFAULT_DIR, help="where the pool files are")
    args = parser.parse_args(argv)
    try:
        handle("provision-example", args.directory)
    except (KvpError, OSError) as error:
        print(f"provision_report: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

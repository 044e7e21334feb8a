"""Counts the syscalls and bytes of one call of each benchmark operation.

Runs kvp-core's `bench_op` example under `strace -f` for the core and for
the naive baseline, keeps only the syscalls between its two marker lines
(the one call; the pool setup comes before them), and prints a Markdown
table: syscalls per call by name, bytes read and bytes written.

    python syscalls.py BENCH_OP_BINARY WORKDIR [SIZE] [--core-only]

Each call is counted after one warm-up call of the same operation (see
bench_op.rs). --core-only leaves the naive baseline out.
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
from typing import Counter, List, Tuple

OPERATIONS = ("read", "update", "entries", "delete", "append", "insert-new")
BEGIN = "bench_op: begin"
END = "bench_op: end"
READS = {"read", "pread64", "readv", "preadv", "preadv2"}
WRITES = {"write", "pwrite64", "writev", "pwritev", "pwritev2"}
# "PID name(args) = result ..." as strace -f writes it.
LINE = re.compile(r"^\d+\s+(\w+)\(.*\)\s+=\s+(-?\d+)")


def trace(binary: str, face: str, op: str, size: int, workdir: str) -> Tuple[Counter[str], int, int]:
    pool_dir = os.path.join(workdir, f"{face}-{op}-{size}")
    os.makedirs(pool_dir, exist_ok=True)
    log = os.path.join(workdir, f"{face}-{op}-{size}.strace")
    subprocess.run(
        ["strace", "-f", "-qq", "-o", log, binary, face, op, str(size), pool_dir],
        check=True,
        stderr=subprocess.DEVNULL,
    )
    calls: Counter[str] = collections.Counter()
    read = written = 0
    inside = seen_end = False
    with open(log, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if BEGIN in line:
                inside = True
                continue
            if END in line:
                seen_end = True
                break
            match = LINE.match(line)
            if not inside or not match:
                continue
            name, result = match.group(1), int(match.group(2))
            calls[name] += 1
            if name in READS and result > 0:
                read += result
            if name in WRITES and result > 0:
                written += result
    if not inside or not seen_end:
        raise SystemExit(f"syscalls: no markers in {log}")
    return calls, read, written


def describe(calls: Counter[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(calls.items(), key=lambda c: (-c[1], c[0])))


def main(argv: List[str]) -> int:
    core_only = "--core-only" in argv
    argv = [arg for arg in argv if arg != "--core-only"]
    if len(argv) not in (3, 4):
        print("usage: syscalls.py BENCH_OP_BINARY WORKDIR [SIZE] [--core-only]", file=sys.stderr)
        return 2
    binary, workdir = argv[1], argv[2]
    size = int(argv[3]) if len(argv) > 3 else 1023
    print(f"One call at {size} records (pool file {size * 2560} bytes), from `strace -f` between the markers of")
    print("kvp-core/examples/bench_op.rs, after one warm-up call.")
    print()
    print("| operation | face | syscalls | which | bytes read | bytes written |")
    print("|---|---|--:|---|--:|--:|")
    runs = []
    for op in OPERATIONS:
        runs += [(op, "core")] if core_only else [(op, "core"), (op, "naive")]
        if op == "delete":
            # What a delete writes depends on where the record is: "delete"
            # removes the first one, so every other record moves up.
            runs += [("delete-middle", "core"), ("delete-last", "core")]
    for op, face in runs:
        calls, read, written = trace(binary, face, op, size, workdir)
        label = "kvp-core" if face == "core" else "naive"
        print(f"| {op} | {label} | {sum(calls.values())} | {describe(calls)} | {read:,} | {written:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Builds the table of kvp-core against the C floors (issue 15) from the
lines kvp-core/examples/bench_floor.rs prints, one run per round, prints it,
and with --doc rewrites the section of docs/benchmarks.md between
`<!-- bench-floor:begin -->` and `<!-- bench-floor:end -->`.

    python floor_report.py RESULTS MACHINE SYSCALLS [--doc PATH]

RESULTS holds "NAME SIZE CORE_NS FLOOR_NS RATIO Q1 Q3" lines (each the
medians of one round's paired blocks); the table shows, per comparison,
the median over the rounds of each column and the rounds' lowest and
highest ratio. MACHINE holds "name: value" lines, SYSCALLS the Markdown of
syscalls.py. Exits 1 when a ratio misses its target, 3 when one is missing.
"""

from __future__ import annotations

import statistics
import sys
from typing import Dict, List, Optional, Tuple

from report import publish, show_time

BEGIN, END = "<!-- bench-floor:begin -->", "<!-- bench-floor:end -->"
# (name, size, what the floor is, target ratio or None), in table order.
ROWS: List[Tuple[str, int, str, Optional[float]]] = [
    ("read", 1023, "read floor", 1.10),
    ("update", 1023, "update floor", 1.10),
    ("entries", 1023, "entries floor (hash table of malloc'd copies)", None),
    ("entries-vs-read", 1023, "**read** floor", 2.0),
    ("delete", 1023, "delete floor", None),
    ("append", 1023, "append floor (openat on a directory descriptor)", 1.15),
    ("append-vs-path-open", 1023, "append floor opening the whole path", None),
    ("insert-new", 1023, "insert floor", None),
    ("insert-new", 100, "insert floor", None),
]


def rounds_of(path: str) -> Dict[Tuple[str, int], List[List[float]]]:
    rounds: Dict[Tuple[str, int], List[List[float]]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 7:
                rounds.setdefault((parts[0], int(parts[1])), []).append([float(p) for p in parts[2:]])
    return rounds


def main(argv: List[str]) -> int:
    args = argv[1:]
    doc = None
    if "--doc" in args:
        at = args.index("--doc")
        doc = args[at + 1]
        del args[at : at + 2]
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    results, machine_file, syscalls_file = args
    rounds = rounds_of(results)
    rows = [
        "| operation | records | kvp-core | compared with | floor | ratio (quartiles) | rounds' ratios | target | result |",
        "|---|--:|--:|---|--:|--:|--:|---|---|",
    ]
    failures = missing = 0
    for name, size, floor, target in ROWS:
        seen = rounds.get((name, size))
        if not seen:
            missing += 1
            rows.append(f"| {name} | {size} | missing | {floor} | missing | - | - | - | MISSING |")
            continue
        core, floor_ns, ratio, q1, q3 = (statistics.median(r[i] for r in seen) for i in range(5))
        ratios = [r[2] for r in seen]
        verdict = "-"
        if target is not None:
            ok = ratio <= target
            failures += not ok
            verdict = "PASS" if ok else "FAIL"
        rows.append(
            f"| {name} | {size} | {show_time(core)} | {floor} | {show_time(floor_ns)} "
            f"| **{ratio:.2f}x** ({q1:.2f}-{q3:.2f}) | {min(ratios):.2f}-{max(ratios):.2f}x "
            f"| {f'≤ {target:.2f}x' if target else '-'} | {verdict} |"
        )
    with open(machine_file, encoding="utf-8") as f:
        machine = [line.rstrip("\n") for line in f if line.strip()]
    with open(syscalls_file, encoding="utf-8") as f:
        syscalls = f.read().strip()
    targets = sum(1 for row in ROWS if row[3] is not None)
    text = "\n".join(
        [
            "Machine:",
            "",
            *(f"- {line}" for line in machine),
            "",
            "Each round runs kvp-core/examples/bench_floor.rs once: per comparison, paired blocks",
            "(a block of kvp-core calls and a block of floor calls, alternating which goes first)",
            "in one process; a block's ratio is kvp-core's mean per call over the floor's. The",
            "table gives the median over the rounds of each round's median block (times, ratio",
            "and the ratio's quartiles), and the lowest and highest round's ratio.",
            "",
            *rows,
            "",
            f"{targets - failures} of {targets} targets met, {failures} missed.",
            "",
            "### kvp-core's syscalls per call",
            "",
            syscalls,
        ]
    )
    return publish(text, doc, (BEGIN, END), failures, missing)


if __name__ == "__main__":
    sys.exit(main(sys.argv))

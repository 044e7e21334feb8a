"""Builds the benchmark table from the per-face results, prints it, and with
--doc rewrites the generated section of docs/benchmarks.md (between its
`<!-- bench:begin -->` and `<!-- bench:end -->` lines).

    python report.py RUST NAIVE C PYTHON MACHINE SYSCALLS [--doc PATH]
    python report.py --criterion CRITERION_DIR FUNCTION_ID

RUST, NAIVE, C and PYTHON hold "OPERATION SIZE MEDIAN_NS" lines, one per
benchmark and round; the table shows the median over the rounds. The
second form prints such lines from criterion's results (target/criterion):
each benchmark's median is `new/estimates.json` -> median.point_estimate,
found by the `group_id` and `function_id` of its `new/benchmark.json`.
MACHINE holds "name: value" lines, SYSCALLS the Markdown of syscalls.py.
Exits 1 when a row fails its targets, 3 when a result is missing.
"""

from __future__ import annotations

import glob
import json
import os
import statistics
import sys
from typing import Dict, List, Optional, Tuple

OPERATIONS = ("read", "update", "entries", "delete", "append", "insert-new")
SIZES = (1, 100, 1023)
C_OVERHEAD_LIMIT = 0.10
PYTHON_RATIO_LIMIT = 2.0
# (operation, size or None for every size) -> target in ns, from issue 7.
TARGETS: Dict[Tuple[str, Optional[int]], float] = {
    ("read", 1023): 250_000,
    ("update", 1023): 300_000,
    ("delete", 1023): 1_000_000,
    ("entries", 1023): 1_000_000,
    ("append", None): 20_000,
    ("insert-new", 100): 50_000,
}
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

Key = Tuple[str, int]


def criterion_medians(root: str, function: str) -> List[str]:
    lines = []
    for meta in sorted(glob.glob(os.path.join(root, "*", "*", "new", "benchmark.json"))):
        with open(meta, encoding="utf-8") as f:
            ids = json.load(f)
        op, _, size = ids["group_id"].rpartition("/")
        if op not in OPERATIONS or not size.isdigit() or ids["function_id"] != function:
            continue
        with open(os.path.join(os.path.dirname(meta), "estimates.json"), encoding="utf-8") as f:
            median = json.load(f)["median"]["point_estimate"]
        lines.append(f"{op} {size} {median:.1f}")
    return lines


def medians(path: str) -> Dict[Key, float]:
    rounds: Dict[Key, List[float]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            op, size, ns = line.split()
            rounds.setdefault((op, int(size)), []).append(float(ns))
    return {key: statistics.median(values) for key, values in rounds.items()}


def show_time(ns: Optional[float]) -> str:
    if ns is None:
        return "missing"
    if ns >= 1_000_000:
        return f"{ns / 1_000_000:.2f} ms"
    return f"{ns / 1000:.1f} µs"


def target_of(op: str, size: int) -> Optional[float]:
    return TARGETS.get((op, size), TARGETS.get((op, None)))


def table(
    core: Dict[Key, float], baseline: Dict[Key, float], c: Dict[Key, float], py: Dict[Key, float]
) -> Tuple[List[str], int, int]:
    rows = [
        "| operation | records | kvp-core (Rust) | naive | naive ÷ core | C ABI | C vs Rust | Python | Python ÷ Rust | target | result |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|",
    ]
    failures = missing = 0
    for op in OPERATIONS:
        for size in SIZES:
            rust = core.get((op, size))
            naive = baseline.get((op, size))
            c_ns, py_ns = c.get((op, size)), py.get((op, size))
            target = target_of(op, size)
            problems = []
            if None in (rust, naive, c_ns, py_ns):
                problems.append("missing result")
                missing += 1
            if rust is not None and target is not None and rust > target:
                problems.append("over target")
            c_over = (c_ns / rust - 1) if rust and c_ns is not None else None
            if c_over is not None and c_over > C_OVERHEAD_LIMIT:
                problems.append(f"C > +{C_OVERHEAD_LIMIT:.0%}")
            py_ratio = (py_ns / rust) if rust and py_ns is not None else None
            if py_ratio is not None and py_ratio > PYTHON_RATIO_LIMIT:
                problems.append(f"Python > {PYTHON_RATIO_LIMIT:g}x")
            failures += bool(problems)
            rows.append(
                "| {op} | {size} | {rust} | {naive} | {speedup} | {c} | {c_over} | {py} | {py_ratio} | {target} | {result} |".format(
                    op=op,
                    size=size,
                    rust=show_time(rust),
                    naive=show_time(naive),
                    speedup=f"{naive / rust:.1f}x" if rust and naive else "-",
                    c=show_time(c_ns),
                    c_over=f"{c_over:+.1%}" if c_over is not None else "-",
                    py=show_time(py_ns),
                    py_ratio=f"{py_ratio:.2f}x" if py_ratio is not None else "-",
                    target=f"≤ {show_time(target)}" if target is not None else "-",
                    result="FAIL: " + ", ".join(problems) if problems else "PASS",
                )
            )
    return rows, failures, missing


def main(argv: List[str]) -> int:
    args = argv[1:]
    if len(args) == 3 and args[0] == "--criterion":
        lines = criterion_medians(args[1], args[2])
        if not lines:
            print(f"report: no criterion results for {args[2]} in {args[1]}", file=sys.stderr)
            return 1
        print("\n".join(lines))
        return 0
    doc = None
    if "--doc" in args:
        at = args.index("--doc")
        doc = args[at + 1]
        del args[at : at + 2]
    if len(args) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    rust_file, naive_file, c_file, py_file, machine_file, syscalls_file = args
    rows, failures, missing = table(medians(rust_file), medians(naive_file), medians(c_file), medians(py_file))
    with open(machine_file, encoding="utf-8") as f:
        machine = [line.rstrip("\n") for line in f if line.strip()]
    with open(syscalls_file, encoding="utf-8") as f:
        syscalls = f.read().strip()
    section = [
        "Machine:",
        "",
        *(f"- {line}" for line in machine),
        "",
        "Each figure is the median over the rounds of a median of 30 samples (criterion for",
        "kvp-core and naive; the same sampling in tests/bench/bench_c.c and bench_py.py), page",
        "cache warm. Targets apply to the kvp-core median; every row also needs C within",
        f"+{C_OVERHEAD_LIMIT:.0%} and Python within {PYTHON_RATIO_LIMIT:g}x of Rust.",
        "",
        *rows,
        "",
        f"{len(OPERATIONS) * len(SIZES) - failures} rows pass, {failures} fail.",
        "",
        "### Syscalls and bytes per call",
        "",
        syscalls,
    ]
    text = "\n".join(section)
    print(text)
    if doc is not None:
        with open(doc, encoding="utf-8") as f:
            current = f.read()
        head, begin, rest = current.partition(BEGIN)
        _, end, tail = rest.partition(END)
        if not begin or not end:
            print(f"report: {doc} lacks the {BEGIN} / {END} lines", file=sys.stderr)
            return 1
        with open(doc, "w", encoding="utf-8") as f:
            f.write(f"{head}{BEGIN}\n{text}\n{END}{tail}")
        print(f"report: wrote the table into {doc}", file=sys.stderr)
    return 3 if missing else 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

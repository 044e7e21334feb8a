"""Builds the benchmark table from the per-face results, prints it, and with
--doc rewrites the generated section of docs/benchmarks.md (between its
`<!-- bench:begin -->` and `<!-- bench:end -->` lines).

    python report.py RUST NAIVE C PYTHON MACHINE SYSCALLS [--doc PATH]
    python report.py --criterion CRITERION_DIR FUNCTION_ID
    python report.py --reporting RESULTS PAIRED MACHINE [--doc PATH]
    python report.py --criterion-groups CRITERION_DIR GROUP...

RUST, NAIVE, C and PYTHON hold "OPERATION SIZE MEDIAN_NS" lines, one per
benchmark and round; the table shows the median over the rounds. The
second form prints such lines from criterion's results (target/criterion):
each benchmark's median is `new/estimates.json` -> median.point_estimate,
found by the `group_id` and `function_id` of its `new/benchmark.json`.
MACHINE holds "name: value" lines, SYSCALLS the Markdown of syscalls.py.

The reporting form builds the table of issue 13's figures (kvp-report's
benches/events.rs; kvp-tracing's benches/layer.rs when that crate is in
the tree) into the section between `<!-- bench-reporting:begin -->` and
`<!-- bench-reporting:end -->`. Its RESULTS hold "GROUP FUNCTION MEDIAN_NS"
lines, one per benchmark and round, which the --criterion-groups form
prints from criterion's results for the groups (or top-level benchmark
ids) named; PAIRED the lines benches/events.rs writes with
KVP_BENCH_PAIRED_OUT ("FORMAT APPEND_NS WRITE_NS RATIO Q1 Q3", one per
format and round): the ratio of a one-record write_event to an append
measured in alternating blocks, on which the verdict rests.

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
REPORTING_BEGIN, REPORTING_END = "<!-- bench-reporting:begin -->", "<!-- bench-reporting:end -->"

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


def criterion_group_medians(root: str, groups: List[str]) -> List[str]:
    """ "GROUP FUNCTION MEDIAN_NS" for every benchmark of `groups` (a
    benchmark outside any group has its id as group and `-` as function)."""
    lines = []
    for meta in sorted(glob.glob(os.path.join(root, "**", "new", "benchmark.json"), recursive=True)):
        with open(meta, encoding="utf-8") as f:
            ids = json.load(f)
        if ids["group_id"] not in groups:
            continue
        with open(os.path.join(os.path.dirname(meta), "estimates.json"), encoding="utf-8") as f:
            median = json.load(f)["median"]["point_estimate"]
        lines.append(f"{ids['group_id']} {ids.get('function_id') or '-'} {median:.1f}")
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
    if ns < 1000:
        return f"{ns:.0f} ns"
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


# Issue 13's figures: (label, group, function, reference function or None,
# what the reference is, limit, and whether the limit is a ratio to the
# reference, a cost added to it (ns), or a time (ns)).
WRITE = "write-one-record"
APPEND = "`append` of the same record"
NO_LAYER = "the same call, no layer"
REPORTING_ROWS = [
    ("write a one-record `DIAG_V1` event (`write_event`)", WRITE, "write_event/diag-v1",
     "append/diag-v1", APPEND, 1.5, "ratio"),
    ("write a one-record cloud-init 26.1 event (`write_event`)", WRITE, "write_event/cloud-init-26.1",
     "append/cloud-init-26.1", APPEND, 1.5, "ratio"),
    ("encode that `DIAG_V1` event only (no I/O)", WRITE, "encode/diag-v1", None, "-", None, "info"),
    ("encode that cloud-init 26.1 event only (no I/O)", WRITE, "encode/cloud-init-26.1", None, "-", None,
     "info"),
    ("decode a snapshot of 1023 event records (`decode`)", "decode-1023-event-records", "-",
     None, "-", 10_000_000, "time"),
]
LAYER_ROWS = [
    ("tracing Layer: one event, on the caller's thread", "caller", "event", "event-no-layer", NO_LAYER,
     5_000, "added"),
    ("tracing Layer: one span (new, enter, exit, close)", "caller", "span", "span-no-layer", NO_LAYER,
     5_000, "added"),
    ("tracing Layer: one event dropped, queue full", "caller", "event-queue-full", "event-no-layer",
     NO_LAYER, 5_000, "added"),
]


def group_rounds(path: str) -> Dict[Tuple[str, str], List[float]]:
    rounds: Dict[Tuple[str, str], List[float]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            group, function, ns = line.split()
            rounds.setdefault((group, function), []).append(float(ns))
    return rounds


def paired_medians(path: str) -> Dict[str, List[float]]:
    """Per format, the median over the rounds of each column of PAIRED."""
    rounds: Dict[str, List[List[float]]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            fmt, *numbers = line.split()
            rounds.setdefault(fmt, []).append([float(n) for n in numbers])
    return {fmt: [statistics.median(column) for column in zip(*rows)] for fmt, rows in rounds.items()}


def reporting_table(
    rounds: Dict[Tuple[str, str], List[float]], paired: Dict[str, List[float]], layer: bool
) -> Tuple[List[str], int, int]:
    """The table. A ratio row's verdict is the paired blocks' median ratio
    (with their quartiles); the criterion medians' ratio is shown beside
    it with the lowest and highest of the rounds' own ratios, which says
    how noisy the machine was."""
    results = {key: statistics.median(values) for key, values in rounds.items()}
    rows = [
        "| measurement | median | compared with | median | ratio or cost | target | result |",
        "|---|--:|---|--:|--:|---|---|",
    ]
    failures = missing = 0
    for label, group, function, reference, what, limit, kind in REPORTING_ROWS + (LAYER_ROWS if layer else []):
        ns = results.get((group, function))
        ref = results.get((group, reference)) if reference else None
        if ns is None or (reference and ref is None):
            missing += 1
            rows.append(f"| {label} | missing | | | | | FAIL: missing result |")
            continue
        if kind == "info":
            rows.append(f"| {label} | {show_time(ns)} | - | - | - | - | - |")
            continue
        if kind == "ratio":
            each = [a / b for a, b in zip(rounds[(group, function)], rounds[(group, reference)])]
            shown = f"criterion {ns / ref:.2f}x (rounds {min(each):.2f}-{max(each):.2f}x)"
            blocks = paired.get(function.split("/", 1)[1])
            if blocks is None:
                missing += 1
                rows.append(f"| {label} | {show_time(ns)} | {what} | {show_time(ref)} | {shown} | | "
                            "FAIL: no paired blocks |")
                continue
            _, _, ratio, q1, q3 = blocks
            shown += f"; paired blocks **{ratio:.2f}x** (quartiles {q1:.2f}-{q3:.2f}x)"
            target, ok = f"≤ {limit:g}x", ratio <= limit
        elif kind == "added":
            measure, target, ok = ns - ref, f"adds ≤ {show_time(limit)}", ns - ref <= limit
            shown = f"+{show_time(measure)}" if measure >= 0 else f"-{show_time(-measure)}"
        else:
            target, ok, shown = f"< {show_time(limit)}", ns < limit, "-"
        failures += not ok
        ref_time = show_time(ref) if reference else "-"
        rows.append(
            f"| {label} | {show_time(ns)} | {what} | {ref_time} | {shown} | {target} | "
            f"{'PASS' if ok else 'FAIL'} |"
        )
    return rows, failures, missing


def replace_section(doc: str, begin_mark: str, end_mark: str, text: str) -> bool:
    with open(doc, encoding="utf-8") as f:
        current = f.read()
    head, begin, rest = current.partition(begin_mark)
    _, end, tail = rest.partition(end_mark)
    if not begin or not end:
        print(f"report: {doc} lacks the {begin_mark} / {end_mark} lines", file=sys.stderr)
        return False
    with open(doc, "w", encoding="utf-8") as f:
        f.write(f"{head}{begin_mark}\n{text}\n{end_mark}{tail}")
    print(f"report: wrote the table into {doc}", file=sys.stderr)
    return True


def publish(text: str, doc: Optional[str], marks: Tuple[str, str], failures: int, missing: int) -> int:
    """Prints `text`, writes it between `marks` in `doc` when one is given,
    and returns the exit status: 3 when a result is missing, 1 when a row
    fails (or the doc cannot be written), else 0."""
    print(text)
    if doc is not None and not replace_section(doc, marks[0], marks[1], text):
        return 1
    return 3 if missing else 1 if failures else 0


def reporting(args: List[str], doc: Optional[str]) -> int:
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    rounds, paired = group_rounds(args[0]), paired_medians(args[1])
    with open(args[2], encoding="utf-8") as f:
        machine = [line.rstrip("\n") for line in f if line.strip()]
    layer = any(group == "caller" for group, _ in rounds)
    rows, failures, missing = reporting_table(rounds, paired, layer)
    judged = sum(1 for row in rows[2:] if not row.endswith("| - |"))
    section = [
        "Machine:",
        "",
        *(f"- {line}" for line in machine),
        "",
        "Each figure is the median over the rounds of criterion's median. The write rows",
        "append to a pool file in the page cache that is emptied every 1000 writes; encoding",
        "and decoding work in memory. A write row's verdict is the median ratio of 1000 paired",
        "blocks (20 appends, then 20 `write_event`s, or the other way round), the median over",
        "the rounds.",
        *(["The Layer rows time the caller's thread only and subtract the same `tracing` call",
           "with no layer."] if layer else
          ["The tracing Layer (kvp-tracing) is not in this tree: its rows are not measured."]),
        "",
        *rows,
        "",
        f"{judged - failures} rows pass, {failures} fail.",
    ]
    return publish("\n".join(section), doc, (REPORTING_BEGIN, REPORTING_END), failures, missing)


def main(argv: List[str]) -> int:
    args = argv[1:]
    if len(args) == 3 and args[0] == "--criterion":
        lines = criterion_medians(args[1], args[2])
        if not lines:
            print(f"report: no criterion results for {args[2]} in {args[1]}", file=sys.stderr)
            return 1
        print("\n".join(lines))
        return 0
    if len(args) >= 3 and args[0] == "--criterion-groups":
        lines = criterion_group_medians(args[1], args[2:])
        if not lines:
            print(f"report: no criterion results for {args[2:]} in {args[1]}", file=sys.stderr)
            return 1
        print("\n".join(lines))
        return 0
    doc = None
    if "--doc" in args:
        at = args.index("--doc")
        doc = args[at + 1]
        del args[at : at + 2]
    if args and args[0] == "--reporting":
        return reporting(args[1:], doc)
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
    return publish("\n".join(section), doc, (BEGIN, END), failures, missing)


if __name__ == "__main__":
    sys.exit(main(sys.argv))

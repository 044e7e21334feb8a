#!/usr/bin/env bash
# Benchmarks every face of the library on one workload and prints one table:
# operation x pool size with the kvp-core median (criterion), the naive
# baseline and the ratio, the C ABI (libkvp.so) and its overhead, Python
# (hyperv_kvp) and its ratio, and each row's target with PASS/FAIL; then
# the syscalls and bytes of one call of each operation (strace).
#
#   tests/bench/run.sh [--write-doc] [--quick] [--reporting | --floor]
#
# --write-doc  also rewrites the generated section of docs/benchmarks.md
# --quick      short measurements (a check that it all runs; not for the doc)
# --reporting  instead, issue 13's figures: kvp-report's benches/events.rs
#              (one-record event vs append, also in paired blocks;
#              decoding 1023 event records)
#              and kvp-tracing's benches/layer.rs when that crate is in the
#              tree, three rounds, into the doc's reporting section
# --floor      instead, issue 15's figures: every kvp-core operation as a
#              ratio to its C floor (tests/bench/floor.c), in paired blocks
#              in one process (kvp-core/examples/bench_floor.rs), five
#              rounds, with kvp-core's syscalls per call, into the doc's
#              floor section. With --quick it runs the debug build for a
#              few blocks: a check that it runs, which CI makes.
#
# KVP_BENCH_PYTHON=/path/to/python uses an interpreter that already has
# hyperv_kvp installed instead of building the wheel into a fresh venv.
# Run it on an idle machine: the load is recorded with the table.
# Exit status: 0 when every row passes (with --quick: when every result is
# there), 1 when a row fails, 3 when a result is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

write_doc=0
quick=0
reporting=0
floor=0
for arg in "$@"; do
    case $arg in
    --write-doc) write_doc=1 ;;
    --quick) quick=1 ;;
    --reporting) reporting=1 ;;
    --floor) floor=1 ;;
    *) echo "usage: tests/bench/run.sh [--write-doc] [--quick] [--reporting | --floor]" >&2; exit 2 ;;
    esac
done
if [ "$write_doc" -eq 1 ] && [ "$quick" -eq 1 ]; then
    echo "bench: --quick results do not go into the doc" >&2
    exit 2
fi

for tool in cargo gcc python3 strace; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (tests/setup.sh installs it)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/kvp-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Every face's pools live on the same filesystem: criterion's tempdir too.
export TMPDIR=$work
target=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

if [ "$quick" -eq 1 ]; then
    measure_ms=200 warmup_ms=50 criterion_args=(--warm-up-time 0.05 --measurement-time 0.2) rounds=1
else
    measure_ms=1000 warmup_ms=300 criterion_args=() rounds=3
fi

load() { cut -d' ' -f1-3 /proc/loadavg; }
machine() {
    cpu() { lscpu | sed -n "s/^$1: *//p" | head -1; }
    guest=$(cpu 'Hypervisor vendor')
    guest=${guest:+a $guest guest}
    echo "CPU: $(cpu 'Model name') (family $(cpu 'CPU family'), model $(cpu 'Model')), $(nproc) cores, ${guest:-bare metal}, $(free -g | awk '/^Mem:/ { print $2 }') GiB memory"
    echo "kernel: $(uname -sr); pools on $(df -T "$work" | awk 'NR == 2 { print $2 }') in the page cache"
    echo "toolchain: $(rustc --version)${1:+, $1}"
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "load average (1, 5, 15 min): $load_before before, $load_after after the timings; $rounds round(s)"
    [ "$quick" -eq 0 ] || echo "QUICK RUN (short measurements): not for the doc"
}
load_before=$(load)
if awk -v l="${load_before%% *}" 'BEGIN { exit !(l > 1.0) }'; then
    echo "bench: load average is $load_before: expect noisy numbers" >&2
fi

if [ "$floor" -eq 1 ]; then
    # Issue 15's figures: kvp-core against its C floors, in one process.
    if [ "$quick" -eq 1 ]; then
        profile=debug blocks=4 calls=2 rounds=1
        cargo build --quiet -p kvp-core --example bench_floor --example bench_op
    else
        profile=release blocks=1000 calls=2 rounds=5
        cargo build --quiet --release -p kvp-core --example bench_floor --example bench_op
    fi
    gcc -O2 -std=c11 -Wall -Wextra -Werror -shared -fPIC tests/bench/floor.c -o "$work/floor.so"
    mkdir "$work/pools"
    for round in $(seq "$rounds"); do
        echo "bench: round $round of $rounds: kvp-core against the C floors" >&2
        sync
        "$target/$profile/examples/bench_floor" "$work/floor.so" "$work/pools" "$blocks" "$calls" >>"$work/floor.txt"
    done
    load_after=$(load)
    echo "bench: strace, one call of each operation" >&2
    mkdir "$work/strace"
    python3 tests/bench/syscalls.py "$target/$profile/examples/bench_op" "$work/strace" 1023 --core-only >"$work/syscalls.md"
    machine "$(gcc --version | head -1)" >"$work/machine.txt"
    doc_args=()
    [ "$write_doc" -eq 0 ] || doc_args=(--doc docs/benchmarks.md)
    status=0
    python3 tests/bench/floor_report.py "$work/floor.txt" "$work/machine.txt" "$work/syscalls.md" \
        "${doc_args[@]}" || status=$?
    if [ "$quick" -eq 1 ] && [ "$status" -eq 1 ]; then
        echo "bench: quick run: every result is there; its verdicts mean nothing" >&2
        status=0
    fi
    exit "$status"
fi

if [ "$reporting" -eq 1 ]; then
    # Issue 13's figures. Each round runs every benchmark once; the table
    # takes the median over the rounds of criterion's medians.
    benches=(-p kvp-report --bench events)
    groups=(write-one-record decode-1023-event-records)
    if [ -f kvp-tracing/benches/layer.rs ]; then
        benches+=(-p kvp-tracing --bench layer)
        groups+=(caller)
    else
        echo "bench: kvp-tracing is not in this tree: no tracing Layer rows" >&2
    fi
    for round in $(seq "$rounds"); do
        echo "bench: round $round of $rounds: ${benches[*]}" >&2
        rm -rf "$target"/criterion/{write-one-record,decode-1023-event-records,caller}
        sync
        KVP_BENCH_PAIRED_OUT="$work/paired.txt" \
            cargo bench --quiet "${benches[@]}" -- "${criterion_args[@]}" >>"$work/criterion.log" 2>&1 ||
            { cat "$work/criterion.log" >&2; exit 1; }
        python3 tests/bench/report.py --criterion-groups "$target/criterion" "${groups[@]}" >>"$work/reporting.txt"
    done
    load_after=$(load)
    machine >"$work/machine.txt"
    doc_args=()
    [ "$write_doc" -eq 0 ] || doc_args=(--doc docs/benchmarks.md)
    status=0
    python3 tests/bench/report.py --reporting "$work/reporting.txt" "$work/paired.txt" "$work/machine.txt" \
        "${doc_args[@]}" || status=$?
    if [ "$quick" -eq 1 ] && [ "$status" -eq 1 ]; then
        echo "bench: quick run: every result is there; its PASS/FAIL verdicts mean little" >&2
        status=0
    fi
    exit "$status"
fi

echo "bench: building libkvp and the bench_op example (release)" >&2
cargo build --quiet --release -p kvp-ffi
cargo build --quiet --release -p kvp-core --example bench_op

# The library's SONAME is libkvp.so.0; cargo leaves only libkvp.so.
mkdir -p "$work/lib"
ln -s "$target/release/libkvp.so" "$work/lib/libkvp.so.0"
gcc -O2 -std=c11 -Wall -Wextra -Werror -I include tests/bench/bench_c.c \
    -L "$target/release" -lkvp -Wl,-rpath,"$work/lib" -o "$work/bench_c"

if [ -n "${KVP_BENCH_PYTHON:-}" ]; then
    py=$KVP_BENCH_PYTHON
else
    echo "bench: pip install ./kvp-python into a fresh venv" >&2
    python3 -m venv --system-site-packages "$work/venv"
    py=$work/venv/bin/python
    "$py" -m pip install --quiet --disable-pip-version-check ./kvp-python
fi
(cd "$work" && "$py" -c "import hyperv_kvp") || { echo "bench: $py cannot import hyperv_kvp" >&2; exit 1; }

# criterion FILTER FUNCTION OUT: runs the benchmarks whose id matches
# FILTER and appends the medians of FUNCTION's to OUT.
criterion() {
    # Stale results of a benchmark that no longer runs must not be read.
    rm -rf "$target"/criterion/{read,update,entries,delete,append,insert-new}_*/"$2"
    cargo bench --quiet -p kvp-core --bench ops -- "$1" "${criterion_args[@]}" >>"$work/criterion.log" 2>&1 ||
        { cat "$work/criterion.log" >&2; exit 1; }
    python3 tests/bench/report.py --criterion "$target/criterion" "$2" >>"$3"
}

# The faces run one after the other with nothing else of ours running,
# in rounds, so that a slow spell of the machine hits one round of one
# face rather than a whole face. The naive baseline goes last, because its
# whole-file rewrites leave the filesystem busy (writeback, journal).
mkdir "$work/c" "$work/py"
for round in $(seq "$rounds"); do
    echo "bench: round $round of $rounds: kvp-core (criterion)" >&2
    sync
    criterion /kvp-core kvp-core "$work/rust.txt"
    echo "bench: round $round of $rounds: C ABI" >&2
    sync
    "$work/bench_c" "$work/c" "$measure_ms" "$warmup_ms" >>"$work/c.txt"
    echo "bench: round $round of $rounds: Python" >&2
    sync
    (cd "$work" && "$py" "$root/tests/bench/bench_py.py" "$work/py" "$measure_ms" "$warmup_ms") >>"$work/py.txt"
done
echo "bench: naive baseline (criterion)" >&2
sync
criterion /naive naive "$work/naive.txt"
load_after=$(load)

echo "bench: strace, one call of each operation" >&2
mkdir "$work/strace"
python3 tests/bench/syscalls.py "$target/release/examples/bench_op" "$work/strace" 1023 >"$work/syscalls.md"

machine "$(gcc --version | head -1), $("$py" --version 2>&1)" >"$work/machine.txt"

doc_args=()
[ "$write_doc" -eq 0 ] || doc_args=(--doc docs/benchmarks.md)
status=0
python3 tests/bench/report.py "$work/rust.txt" "$work/naive.txt" "$work/c.txt" "$work/py.txt" \
    "$work/machine.txt" "$work/syscalls.md" "${doc_args[@]}" || status=$?
if [ "$quick" -eq 1 ] && [ "$status" -eq 1 ]; then
    echo "bench: quick run: every result is there; its PASS/FAIL verdicts mean little" >&2
    status=0
fi
exit "$status"

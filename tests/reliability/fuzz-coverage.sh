#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer with AddressSanitizer) of
# every target in fuzz/, SECONDS each, seeded by fuzz/make_seeds.py from the
# repository's pools and examples. Installs nothing: tests/setup.sh installs
# the pinned cargo-fuzz. CI runs a short pass (tests/suites/70-fuzz.sh);
# the long pass is this script with more seconds, its results recorded in
# docs/RELIABILITY.md.
#
#   tests/reliability/fuzz-coverage.sh [SECONDS] [TARGET...]
#
# fuzz/dict/TARGET.dict, where it exists, gives libFuzzer the tokens of the
# formats (field names, separators, quotes). Prints, per target, the runs, the coverage (edges, features), the corpus
# and the findings. A crash, a timeout or an out-of-memory input fails the
# run: the reproducer is saved under fuzz/artifacts/TARGET/ and its path
# printed with the command that replays it.
#
# KVP_FUZZ_CORPUS=DIR keeps the corpus that libFuzzer grows in DIR/TARGET
# (fuzz/corpus is ignored by git), so that long runs build on each other;
# by default each run starts from the seeds alone.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
seconds=${1:-60}
shift $(($# > 0 ? 1 : 0))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(store_ops check_repair load_formats report_reader report_fields)

command -v cargo-fuzz >/dev/null || {
    echo "fuzz: cargo-fuzz is missing (tests/setup.sh installs the pinned version)"
    exit 2
}
work=$(mktemp -d "${TMPDIR:-/tmp}/kvp-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
# cargo-fuzz needs nightly flags (-Zsanitizer); RUSTC_BOOTSTRAP lets the
# stable toolchain take them. Its own target dir keeps the sanitizer builds
# away from the workspace's.
export RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$root/fuzz/target

max_len() {
    case $1 in
        load_formats) echo 16384 ;;
        report_fields) echo 8192 ;;
        *) echo 65536 ;; # a real pool of 19 records is 48640 bytes
    esac
}

echo "fuzz: building the targets"
(cd fuzz && cargo fuzz build) >"$work/build.log" 2>&1 || {
    cat "$work/build.log"
    echo "fuzz: the targets do not build"
    exit 1
}
python3 fuzz/make_seeds.py "$work/seeds" || exit 1
corpus_root=${KVP_FUZZ_CORPUS:-$work/corpus}

start=$(date +%s)
failed=0
total_runs=0
for t in "${targets[@]}"; do
    corpus=$corpus_root/$t
    artifacts=$root/fuzz/artifacts/$t/
    mkdir -p "$corpus" "$artifacts"
    log=$work/$t.log
    dict=()
    [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="$root/fuzz/dict/$t.dict")
    (cd fuzz && cargo fuzz run "$t" "$corpus" "$work/seeds/$t" -- \
        -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=20 -rss_limit_mb=2048 \
        "${dict[@]}" -artifact_prefix="$artifacts" -print_final_stats=1) >"$log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
    rate=$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' <<<"$last")
    total_runs=$((total_runs + ${runs:-0}))
    if [ $status -eq 0 ]; then
        printf 'fuzz: %-14s %9s runs (%s/s), cov %s edges, ft %s features, corpus %s, no finding\n' \
            "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}"
    else
        failed=$((failed + 1))
        reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        printf 'fuzz: %-14s FINDING after %s runs (exit %s)\n' "$t" "${runs:-?}" "$status"
        grep -E -A12 "panicked at|ERROR: (AddressSanitizer|libFuzzer)|==[0-9]+== ?ERROR" "$log" |
            head -n 30 | sed 's/^/      /'
        if [ -n "$reproducer" ]; then
            echo "      reproducer: $reproducer"
            echo "      replay: RUSTC_BOOTSTRAP=1 cargo fuzz run $t $reproducer   (in fuzz/)"
        else
            tail -n 30 "$log" | sed 's/^/      /'
        fi
    fi
done
elapsed=$(($(date +%s) - start))
if [ $failed -eq 0 ]; then
    # One target's line is its own summary.
    [ ${#targets[@]} -eq 1 ] ||
        echo "fuzz: ${#targets[@]} targets, ${seconds}s each, $total_runs runs in ${elapsed}s, no finding"
else
    echo "fuzz: ${#targets[@]} targets, ${seconds}s each, $failed with a finding"
    exit 1
fi

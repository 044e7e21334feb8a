#!/usr/bin/env bash
# Coverage-guided fuzzing, a short time-boxed pass: every cargo-fuzz target
# in fuzz/ (libFuzzer with AddressSanitizer) for KVP_FUZZ_SECONDS (20 s)
# each, from the seeds fuzz/make_seeds.py builds out of the repository's
# pools. A crash, a timeout or an out-of-memory input fails its step, which
# prints the reproducer's path. The long pass is
# tests/reliability/fuzz-coverage.sh with more seconds (docs/RELIABILITY.md
# has its last results); cargo-fuzz comes from tests/setup.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/kvp-fuzz-suite.XXXXXX")
trap 'rm -rf "$work"' EXIT
seconds=${KVP_FUZZ_SECONDS:-20}

# shellcheck source=../steps.sh
. tests/steps.sh

build() {
    (cd fuzz && RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$root/fuzz/target" cargo fuzz build) &&
        echo "targets built: $(cd fuzz && cargo fuzz list | tr '\n' ' ')"
}
# The fuzz crate is its own workspace, so the Rust suite's fmt and clippy
# do not see it.
tidy() {
    cargo fmt --manifest-path fuzz/Cargo.toml -- --check &&
        CARGO_TARGET_DIR="$root/fuzz/target/clippy" cargo clippy -q --manifest-path fuzz/Cargo.toml \
            --all-targets -- -D warnings && echo "fmt and clippy clean"
}
step "fuzz crate: fmt, clippy -D warnings" tidy
step "build the fuzz targets (cargo fuzz build)" build
[ "$failed" -eq 0 ] || finish 70-fuzz

for target in $(cd fuzz && cargo fuzz list); do
    step "fuzz $target (${seconds}s)" tests/reliability/fuzz-coverage.sh "$seconds" "$target"
done

finish 70-fuzz

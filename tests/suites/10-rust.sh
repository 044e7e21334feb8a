#!/usr/bin/env bash
# Rust: formatting, lints, unit, integration and doc tests of every crate.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
# Every public item is documented and every intra-doc link resolves.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
# Benchmarks are not tests: only check that they still build and run once.
cargo bench -p kvp-core --bench ops -- --test
cargo bench -p kvp-report --bench events -- --test
cargo bench -p kvp-tracing --bench layer -- --test
# kvp-core against the C floors: a few blocks of the debug build (needs gcc).
tests/bench/run.sh --floor --quick >/dev/null

#!/usr/bin/env bash
# Long fuzz run over the record decoder and the pool parser (stable Rust,
# proptest): not part of CI. Usage: tests/reliability/fuzz.sh [CASES]
# Any finding is shrunk and saved in kvp-core/tests/fuzz.proptest-regressions,
# which the normal test run replays forever after.
set -euo pipefail
cd "$(dirname "$0")/../.."
cases=${1:-20000}
start=$(date +%s)
PROPTEST_CASES=$cases cargo test -q --release -p kvp-core --test fuzz -- --nocapture
echo "fuzz: $cases cases per target, $(( $(date +%s) - start ))s, no finding"

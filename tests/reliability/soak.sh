#!/usr/bin/env bash
# Long soak of the crash test (SIGKILLed writers) and the multi-process
# tests: not part of CI. Usage: tests/reliability/soak.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-300}
start=$(date +%s)
KVP_CRASH_ROUNDS=$rounds cargo test -q --release -p kvp-core --test crash
for i in $(seq 1 10); do cargo test -q --release -p kvp-core --test multiprocess >/dev/null; done
echo "soak: $rounds crash rounds and 10 multi-process runs, $(( $(date +%s) - start ))s, all held"

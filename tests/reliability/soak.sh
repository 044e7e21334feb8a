#!/usr/bin/env bash
# Long soak of the crash test (SIGKILLed writers) and the multi-process
# tests: not part of CI. Usage: tests/reliability/soak.sh [ROUNDS]
#
# The crash test runs in batches of at most 100 rounds, each with its own
# seed. (Each round cleans up after itself and the test fails if a writer
# ends other than by SIGKILL; the grep for "panicked" below is a second net.)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-300}
batch=100
start=$(date +%s)
done_rounds=0
seeds=()
while [ "$done_rounds" -lt "$rounds" ]; do
    n=$((rounds - done_rounds < batch ? rounds - done_rounds : batch))
    if ! out=$(KVP_CRASH_ROUNDS=$n cargo test -q --release -p kvp-core --test crash 2>&1); then
        echo "$out"
        exit 1
    fi
    if grep -q panicked <<<"$out"; then
        grep -A1 panicked <<<"$out" | head -n 6
        echo "soak: a writer died on its own, not by SIGKILL"
        exit 1
    fi
    seeds+=("$(sed -n 's/^crash: seed \([0-9]*\).*/\1/p' <<<"$out")")
    done_rounds=$((done_rounds + n))
done
for i in $(seq 1 10); do cargo test -q --release -p kvp-core --test multiprocess >/dev/null; done
echo "soak: $rounds crash rounds (seeds ${seeds[*]}) and 10 multi-process runs, $(( $(date +%s) - start ))s, all held"

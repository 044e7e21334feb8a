#!/usr/bin/env bash
# Long soak of the crash test (SIGKILLed writers) and the multi-process
# tests: not part of CI. Usage: tests/reliability/soak.sh [ROUNDS]
#
# The crash test runs in batches of at most 100 rounds, each on a fresh
# pool with its own seed: every round adds 8 unique keys (own- and log- keys
# of four writers), and past 1024 unique keys the writers' inserts fail with
# UniqueKeyLimit, so longer batches would test nothing in their later
# rounds. A writer that dies on its own (a panic) instead of by SIGKILL
# fails the soak.
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

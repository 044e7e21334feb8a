#!/usr/bin/env bash
# Cross-language multi-process stress on ONE pool file: three kvp-core
# workers (kvp-core/examples/stress_worker.rs), three C ABI workers
# (stress_worker.c on libkvp.so) and three hyperv_kvp workers
# (stress_worker.py) run mixed inserts, appends, deletes and reads at once,
# beside a cloud-init-style flock writer, an hv_kvp_daemon-style POSIX-lock
# writer and an observer sampling the file under both locks
# (stress_peers.py). Then the final pool is checked against what every
# writer's operations predict. Deterministic: nothing depends on timing.
#
# Usage: tests/reliability/stress.sh [ROUNDS] [WORKERS_PER_FACE]
# Needs: KVP_RUST_WORKER (the example binary), KVP_C_WORKER (the C program),
# KVP_PYTHON (a python with hyperv_kvp). tests/suites/60-reliability.sh sets them.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rounds=${1:-40}
per_face=${2:-3}
: "${KVP_RUST_WORKER:?path to the stress_worker example}" "${KVP_C_WORKER:?path to the C stress worker}"
: "${KVP_PYTHON:?a python that imports hyperv_kvp}"
work=$(mktemp -d "${TMPDIR:-/tmp}/kvp-stress.XXXXXX")
trap 'rm -rf "$work"' EXIT
pool=$work/.kvp_pool_1
peers=$here/stress_peers.py
limit=600 # seconds any one process may take before it counts as hung

python3 "$peers" seed "$pool" || exit 1
timeout "$limit" python3 "$peers" observe "$pool" "$work/stop" >"$work/observer.log" 2>&1 &
observer=$!

names=()
pids=()
start() {
    local name=$1
    shift
    timeout "$limit" "$@" >"$work/$name.log" 2>&1 &
    names+=("$name")
    pids+=($!)
}
ids=()
for i in $(seq 0 $((per_face - 1))); do
    start "rust-$i" "$KVP_RUST_WORKER" "$pool" "rust-$i" "$rounds"
    start "c-$i" "$KVP_C_WORKER" "$pool" "c-$i" "$rounds"
    start "py-$i" "$KVP_PYTHON" "$here/stress_worker.py" "$pool" "py-$i" "$rounds"
    ids+=("rust-$i" "c-$i" "py-$i")
done
start flock python3 "$peers" flock "$pool" "$rounds"
start posix python3 "$peers" posix "$pool" "$rounds"

failed=0
for n in "${!pids[@]}"; do
    if wait "${pids[$n]}"; then
        echo "ok    ${names[$n]}: $(tail -n 1 "$work/${names[$n]}.log")"
    else
        echo "FAIL  ${names[$n]} (exit $?):"
        sed 's/^/      /' "$work/${names[$n]}.log"
        failed=1
    fi
done
touch "$work/stop"
if wait "$observer"; then
    echo "ok    $(tail -n 1 "$work/observer.log")"
else
    echo "FAIL  observer:"
    sed 's/^/      /' "$work/observer.log"
    failed=1
fi
if python3 "$peers" verify "$pool" "$rounds" "${ids[@]}" >"$work/verify.log" 2>&1; then
    echo "ok    $(tail -n 1 "$work/verify.log")"
else
    echo "FAIL  verify:"
    sed 's/^/      /' "$work/verify.log"
    failed=1
fi
echo "stress: ${#ids[@]} library workers (kvp-core, C ABI, Python) + flock writer + POSIX-lock writer + observer, $rounds rounds: $([ $failed -eq 0 ] && echo all held || echo FAILED)"
exit $failed

#!/usr/bin/env bash
# The README's main job: a short `kvp` session on pool 1 in ./demo-pools (in
# the working tree), with no Hyper-V needed. Each command is echoed before it
# runs, as in a terminal.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build -q --release -p kvp-cli
kvp_bin="${CARGO_TARGET_DIR:-target}/release/kvp"

# Echoes the command (quoting words that need it), then runs it.
kvp() {
    local shown="" word
    for word in "$@"; do
        if [[ $word =~ ^[A-Za-z0-9_./:=,-]+$ ]]; then
            shown+=" $word"
        else
            shown+=" '${word//\'/\'\\\'\'}'"
        fi
    done
    printf '\n$ kvp%s\n' "$shown"
    "$kvp_bin" --dir ./demo-pools "$@" 2>&1
}

mkdir -p demo-pools # kvp clear, like every command that only reads or removes, wants the directory
kvp clear           # start each run from an empty pool
kvp set PROVISIONING_REPORT 'result=success|agent=demo'
kvp append DIAGNOSTIC 'step 1: network up'
kvp append DIAGNOSTIC 'step 2: disks mounted'
kvp list
kvp get DIAGNOSTIC
kvp entries

# Safe mode refuses what the host would receive cut (over 1022 UTF-16 units).
printf '\n$ kvp set TOO_LONG "$(head -c 1100 /dev/zero | tr '"'\\\\0'"' x)"\n'
"$kvp_bin" --dir ./demo-pools set TOO_LONG "$(head -c 1100 /dev/zero | tr '\0' x)" 2>&1 ||
    echo "(refused with exit status $?; nothing was written)"

kvp delete DIAGNOSTIC
kvp info
kvp check
kvp --json get PROVISIONING_REPORT
kvp dump

#!/usr/bin/env bash
# Interop with the real peers: hv_kvp_daemon (Debian hyperv-daemons) driven
# through the project's own kernel-side harness, and cloud-init's
# HyperVKvpReportingHandler, each from Debian bookworm, trixie and sid.
# See docs/interop.md.
#
# Fetches the newer releases' packages (tests/interop/fetch_peers.sh),
# builds the LD_PRELOAD shim, the kvp-core/kvp-report driver and (when the
# C ABI is in the tree) the C reader, then runs tests/interop with pytest
# and prints the release x case table and its counts. A peer that cannot
# run or be fetched is reported and FAILS the suite.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
target=${CARGO_TARGET_DIR:-$root/target}
build="$target/interop"
mkdir -p "$build"

problems=()
note() { problems+=("$1"); echo "interop: $1" >&2; }

# --- the peers ------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || note "PEER CANNOT RUN: not root (the daemon harness needs a mount namespace)"
command -v unshare >/dev/null || note "PEER CANNOT RUN: unshare missing (util-linux)"
unshare --mount true 2>/dev/null || note "PEER CANNOT RUN: unshare --mount fails here"
# Newer cloud-init releases import these from the interpreter (tests/setup.sh).
python3 -c "import yaml, jinja2, requests, jsonschema, configobj, jsonpatch" 2>/dev/null || \
    note "PEER CANNOT RUN: newer cloud-init needs pyyaml jinja2 requests jsonschema configobj jsonpatch (tests/setup.sh)"

# The matrix: bookworm's peers are the system's (tests/setup.sh installs
# them); trixie's and sid's are fetched now, into this run's directory, and
# their versions read from the packages (docs/interop.md).
peers="$build/peers"
fetch_start=$(date +%s)
echo "interop: fetching the peers of every release into $peers"
bash tests/interop/fetch_peers.sh "$peers" || true
fetch_seconds=$(( $(date +%s) - fetch_start ))
export KVP_INTEROP_PEERS="$peers/peers.json"
if [ -f "$KVP_INTEROP_PEERS" ]; then
    while IFS= read -r problem; do
        [ -n "$problem" ] && note "PEER CANNOT RUN: $problem"
    done < <(python3 -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))["problems"]))' "$KVP_INTEROP_PEERS")
else
    note "PEER CANNOT RUN: tests/interop/fetch_peers.sh wrote no manifest"
fi

# --- what we build --------------------------------------------------------
echo "interop: building the LD_PRELOAD shim"
gcc -std=c11 -Wall -Wextra -Werror -pedantic -fPIC -shared \
    -o "$build/kvp_shim.so" tests/interop/shim/kvp_shim.c -ldl \
    || note "BUILD FAILED: shim"
export KVP_INTEROP_SHIM="$build/kvp_shim.so"

echo "interop: building the kvp-core driver"
(cd tests/interop/driver && cargo fmt --check && \
    cargo clippy -q --release --target-dir "$build/driver" -- -D warnings && \
    cargo build -q --release --target-dir "$build/driver") \
    || note "BUILD FAILED: kvp-core driver"
export KVP_INTEROP_DRIVER="$build/driver/release/kvp-interop-driver"

if [ -f include/kvp.h ]; then
    echo "interop: building libkvp and the C tool"
    # cargo leaves libkvp.so, whose SONAME is libkvp.so.0: link that name
    # to it, as `make -C kvp-ffi install` would.
    mkdir -p "$build/lib"
    if cargo build -q --release -p kvp-ffi && \
        ln -sf "$target/release/libkvp.so" "$build/lib/libkvp.so.0" && \
        ln -sf libkvp.so.0 "$build/lib/libkvp.so" && \
        gcc -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude \
            -o "$build/kvp_tool" tests/interop/c/kvp_tool.c -L"$build/lib" -lkvp; then
        export KVP_INTEROP_C_TOOL="$build/kvp_tool" KVP_INTEROP_LIBDIR="$build/lib"
    else
        note "BUILD FAILED: libkvp or the C tool"
    fi
else
    note "FACE MISSING: include/kvp.h is not in the tree; the C ABI cases did not run"
fi

if [ -f kvp-python/python/hyperv_kvp/__init__.py ]; then
    # Always from this tree, so that a stale install is never what we test.
    echo "interop: installing the hyperv_kvp wheel from kvp-python"
    if python3 -m pip install -q --force-reinstall --no-deps ./kvp-python && \
        python3 -c "import hyperv_kvp"; then
        export KVP_INTEROP_PYTHON=1
    else
        note "BUILD FAILED: the hyperv_kvp wheel"
    fi
    [ -f kvp-python/python/hyperv_kvp/reporting.py ] || \
        note "FACE MISSING: hyperv_kvp.reporting is not in the tree; its cloud-init cases fail"
else
    note "FACE MISSING: kvp-python/python/hyperv_kvp is not in the tree; the Python cases did not run"
fi

# --- run ------------------------------------------------------------------
report="$build/pytest-report.txt"
export KVP_INTEROP_MEASUREMENTS="$build/measurements.txt"
export KVP_INTEROP_TABLE="$build/matrix.txt"
rm -f "$KVP_INTEROP_MEASUREMENTS" "$KVP_INTEROP_TABLE"
tests_start=$(date +%s)
python3 -m pytest -p no:cacheprovider -q -rfE tests/interop 2>&1 | tee "$report"
status=${PIPESTATUS[0]}
tests_seconds=$(( $(date +%s) - tests_start ))

echo
echo "=================== interop summary ==================="
if [ -f "$KVP_INTEROP_TABLE" ]; then
    cat "$KVP_INTEROP_TABLE"
else
    note "NO TABLE: pytest wrote no release x case table"
fi
echo
counts=$(grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed|error)' "$report" | tail -1)
echo "pytest: ${counts:-no result line}"
[ -f "$KVP_INTEROP_MEASUREMENTS" ] && sed 's/^/measured: /' "$KVP_INTEROP_MEASUREMENTS"
echo "time: fetching the peers ${fetch_seconds}s, the matrix's tests ${tests_seconds}s"
for p in "${problems[@]}"; do echo "NOT OK: $p"; done
if [ "$status" -ne 0 ] || [ ${#problems[@]} -gt 0 ]; then
    echo "interop: FAIL"
    exit 1
fi
echo "interop: PASS"

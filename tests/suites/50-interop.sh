#!/usr/bin/env bash
# Interop with the real peers: hv_kvp_daemon (Debian hyperv-daemons) driven
# through the project's own kernel-side harness, and cloud-init's
# HyperVKvpReportingHandler. See docs/interop.md.
#
# Builds the LD_PRELOAD shim, the kvp-core driver and (when the C ABI is in
# the tree) the C reader, then runs tests/interop with pytest and prints
# its counts. A peer that cannot run here is reported and FAILS the suite.
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
[ -x /usr/sbin/hv_kvp_daemon ] || note "PEER CANNOT RUN: /usr/sbin/hv_kvp_daemon missing (apt-get install hyperv-daemons)"
cloudinit_dir=$(dpkg -L cloud-init 2>/dev/null | grep -m1 '/cloudinit/reporting/handlers.py$' || true)
if [ -z "$cloudinit_dir" ]; then
    note "PEER CANNOT RUN: cloud-init not installed (apt-get install cloud-init)"
else
    # The Debian package's site directory, so any python3 can import it.
    export KVP_INTEROP_CLOUDINIT_PATH=${cloudinit_dir%/cloudinit/reporting/handlers.py}
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
rm -f "$KVP_INTEROP_MEASUREMENTS"
python3 -m pytest -p no:cacheprovider -q -rfE tests/interop 2>&1 | tee "$report"
status=${PIPESTATUS[0]}

echo
echo "=================== interop summary ==================="
counts=$(grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed|error)' "$report" | tail -1)
echo "pytest: ${counts:-no result line}"
[ -f "$KVP_INTEROP_MEASUREMENTS" ] && sed 's/^/measured: /' "$KVP_INTEROP_MEASUREMENTS"
for p in "${problems[@]}"; do echo "NOT OK: $p"; done
if [ "$status" -ne 0 ] || [ ${#problems[@]} -gt 0 ]; then
    echo "interop: FAIL"
    exit 1
fi
echo "interop: PASS"

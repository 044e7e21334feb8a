#!/usr/bin/env bash
# Installs what the test suites need on a fresh Debian machine with a Rust
# toolchain and CPython. Idempotent: each step is skipped when already done.
set -euo pipefail

CBINDGEN_VERSION=0.29.2
CARGO_FUZZ_VERSION=0.13.2
DEBIAN_PACKAGES=(valgrind clang libclang-rt-14-dev pkg-config gcc g++ make strace util-linux hyperv-daemons cloud-init
    # tests/suites/80-packaging.sh: .debs, lintian, RPMs (find-debuginfo is in debugedit and needs
    # eu-strip and cpio), abidw/abidiff, CMake
    debhelper dh-python lintian rpm debugedit elfutils cpio abigail-tools cmake man-db python3-venv)
# ziglang: maturin --zig links the manylinux2014 wheel; auditwheel reads its tag.
PYTHON_PACKAGES=(maturin pytest mypy ziglang auditwheel)
# What cloud-init 25.1 and 26.x import (the interop suite runs them from
# their unpacked Debian packages, with this interpreter).
PYTHON_PACKAGES+=(pyyaml jinja2 requests jsonschema configobj jsonpatch)

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for package in "${PYTHON_PACKAGES[@]}"; do
    python3 -m pip show -q "$package" >/dev/null 2>&1 || {
        echo "setup: pip installing $package"
        python3 -m pip install -q "$package"
    }
done

if ! cbindgen --version 2>/dev/null | grep -q " $CBINDGEN_VERSION\$"; then
    echo "setup: cargo installing cbindgen $CBINDGEN_VERSION"
    cargo install -q --locked cbindgen --version "$CBINDGEN_VERSION"
fi

# Coverage-guided fuzzing (tests/suites/70-fuzz.sh); it runs on the stable
# toolchain with RUSTC_BOOTSTRAP=1.
if ! cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
    echo "setup: cargo installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install -q --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi

rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
echo "setup: done"

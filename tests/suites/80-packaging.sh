#!/usr/bin/env bash
# Distribution: every artifact built from a copy of the tree's files and
# installed the way its users install it (docs/packaging.md).
#
# - metadata: licenses, SPDX identifiers, no invented URLs, one version
#   everywhere, rust-version is the toolchain tested; cargo publish
#   --dry-run of every publishable crate;
# - one release build (cargo, in TARGET/packaging) that make install, the
#   .debs, the RPMs and cargo install reuse;
# - make install into a PREFIX: stripped binaries with separate debug files,
#   the examples through pkg-config and CMake (find_package(kvp));
# - the ABI of libkvp.so.0 against kvp-ffi/abi/libkvp.so.0.abi (abidiff):
#   an added function passes, a changed kvp_options fails;
# - the abi3 manylinux2014 wheel (maturin + zig, auditwheel), installed
#   with pip --no-index into a venv per CPython >= 3.8 on the machine, each
#   running the Python tests; the sdist alone builds and installs;
# - the .debs (dpkg-buildpackage -b, without network), lintian, installed
#   with apt-get, then the C examples (pkg-config, CMake), the Python
#   example on the system python3, the CLI and its man page; removed again;
# - the RPMs (rpmbuild -bb) and their files (rpm -qlp), installed into a
#   scratch root.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/kvp-packaging.XXXXXX")
# Kept between runs, so that a second run rebuilds only what changed.
outer_target=${CARGO_TARGET_DIR:-$root/target}
area=$outer_target/packaging
version=$(cargo pkgid -p kvp-ffi | sed 's/.*[#@]//')
src=$area/hyperv-kvp-$version
export CARGO_TARGET_DIR=$area/target
export CARGO_TERM_COLOR=never
# Installed .debs are removed again on exit, so that no later suite imports
# the system's hyperv_kvp instead of the one it built.
debs_installed=0
cleanup() {
    if [ "$debs_installed" -eq 1 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq libkvp0 libkvp-dev kvp python3-hyperv-kvp >/dev/null 2>&1
    fi
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$area"

# shellcheck source=../steps.sh
. tests/steps.sh

need_tools() {
    local missing=0 tool
    for tool in cargo maturin auditwheel dpkg-buildpackage lintian rpmbuild abidw abidiff cmake pkg-config \
        objcopy readelf man git; do
        command -v "$tool" >/dev/null || { echo "missing tool: $tool (see tests/setup.sh)"; missing=1; }
    done
    python3 -m ziglang version >/dev/null 2>&1 || { echo "missing: python3 -m ziglang (pip ziglang)"; missing=1; }
    [ $missing -eq 0 ] && echo "all tools present"
}

# --- metadata ---------------------------------------------------------------

metadata() {
    local problems=0 rustc_version declared
    for f in LICENSE-MIT LICENSE-APACHE; do
        [ -s "$f" ] || { echo "$f is missing"; problems=1; }
    done
    grep -q 'Copyright (c) The hyperv-kvp developers' LICENSE-MIT || { echo "LICENSE-MIT: no copyright line"; problems=1; }
    grep -q 'Apache License' LICENSE-APACHE && grep -q 'Version 2.0, January 2004' LICENSE-APACHE ||
        { echo "LICENSE-APACHE is not the Apache License 2.0"; problems=1; }
    # Every workspace crate: SPDX license; publishable ones: what crates.io shows.
    cargo metadata --format-version 1 --no-deps --locked | python3 -c '
import json, sys
bad = 0
for p in json.load(sys.stdin)["packages"]:
    if p["license"] != "MIT OR Apache-2.0":
        print(p["name"], "license is", p["license"]); bad = 1
    if p.get("repository") or p.get("homepage"):
        print(p["name"], "names a URL:", p.get("repository") or p.get("homepage")); bad = 1
    if p["publish"] == []:
        continue
    for field in ("description", "readme", "keywords", "categories", "rust_version"):
        if not p.get(field):
            print(p["name"], "has no", field); bad = 1
sys.exit(bad)' || problems=1
    grep -qx 'license = "MIT OR Apache-2.0"' kvp-python/pyproject.toml || { echo "pyproject.toml: no SPDX license"; problems=1; }
    if grep -rn 'github\.com/hyperv-kvp\|^URL:' kvp-ffi/kvp.pc.in Cargo.toml ./*/Cargo.toml kvp-python/pyproject.toml \
        debian/control rpm/hyperv-kvp.spec; then
        echo "^ a URL that does not exist"; problems=1
    fi
    # rust-version is what CI tests: the machine's one toolchain.
    rustc_version=$(rustc --version | sed -E 's/^rustc ([0-9]+\.[0-9]+).*/\1/')
    declared=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
    [ "$declared" = "$rustc_version" ] || {
        echo "rust-version is $declared but CI builds and tests with rustc $rustc_version:"
        echo "declare $rustc_version in Cargo.toml (or give CI a $declared toolchain)"; problems=1; }
    # One version everywhere.
    [ "$(dpkg-parsechangelog -l debian/changelog -S Version)" = "$version-1" ] ||
        { echo "debian/changelog is not at $version-1"; problems=1; }
    [ "$(sed -n 's/^Version: *//p' rpm/hyperv-kvp.spec)" = "$version" ] ||
        { echo "rpm/hyperv-kvp.spec is not at $version"; problems=1; }
    [ $problems -eq 0 ] && echo "licenses, SPDX, no URLs, version $version everywhere, rust-version $declared = rustc"
}

# The crates.io crates, packaged and verified together (cargo overlays the
# local packages, so kvp-report builds against the packaged kvp-core).
publish_dry_run() {
    local publishable listed
    publishable=$(cargo metadata --format-version 1 --no-deps --locked |
        python3 -c 'import json,sys; print(" ".join(sorted(p["name"] for p in json.load(sys.stdin)["packages"] if p["publish"] != [])))')
    # Nothing of ours from an earlier run: cargo builds its overlay registry
    # from TARGET/package/NAME-VERSION.crate files where they exist (an
    # earlier `cargo package` leaves them), reuses packages it once unpacked
    # into $CARGO_HOME/registry/src/-HASH (the local registry has no host
    # name), and never rebuilds a registry package of the same version it
    # once compiled. Any of them makes kvp-cli verify against an old kvp-core.
    # (So this suite must not run beside 10-rust in the same target
    # directory; run-all.sh runs the suites one after the other.)
    rm -rf "$outer_target/package" "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/kvp-*-"$version" \
        "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/-*/kvp-*-"$version".crate \
        "$outer_target"/debug/.fingerprint/kvp-* "$outer_target"/debug/deps/*kvp*
    (cd "$root" && CARGO_TARGET_DIR=$outer_target cargo publish --dry-run --workspace --locked --allow-dirty) \
        >"$work/publish.log" 2>&1 || { cat "$work/publish.log"; return 1; }
    listed=$(sed -n 's/^ *Packaging \([^ ]*\) v.*/\1/p' "$work/publish.log" | sort | tr '\n' ' ' | sed 's/ $//')
    [ "$listed" = "$publishable" ] || { echo "packaged '$listed', publishable '$publishable'"; return 1; }
    grep -q 'aborting upload due to dry run' "$work/publish.log" || { tail -5 "$work/publish.log"; return 1; }
    echo "cargo publish --dry-run: $publishable packaged and verified"
}

# --- one copy, one release build ---------------------------------------------

# The tree's files (tracked, and new ones not ignored), with their times,
# so that a build there is what a clean clone builds.
copy_tree() {
    rm -rf "$src" "$area"/*.deb "$area"/*.ddeb "$area"/*.changes "$area"/*.buildinfo "$area/rpm" "$area/wheels"
    mkdir -p "$src"
    git ls-files -z --cached --others --exclude-standard | xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' _ |
        tar --null -T - -cf - | tar -xf - -C "$src" || return 1
    # No network from here on: every crate comes from $CARGO_HOME.
    (cd "$src" && cargo fetch --locked -q) || return 1
    echo "copied $(git ls-files | wc -l) files to $src; crates fetched"
}

release_build() {
    (cd "$src" && CARGO_NET_OFFLINE=true make -s -C kvp-ffi build CARGOFLAGS=--locked &&
        CARGO_NET_OFFLINE=true make -s -C kvp-cli build CARGOFLAGS=--locked) || return 1
    echo "release build of libkvp and kvp in $CARGO_TARGET_DIR/release"
}

# --- make install -----------------------------------------------------------

prefix=$work/prefix
make_install() {
    (cd "$src" && make -s -C kvp-ffi install-debug PREFIX="$prefix" && make -s -C kvp-cli install-debug PREFIX="$prefix") ||
        return 1
    local lib=$prefix/lib/libkvp.so.$version kvp=$prefix/bin/kvp size
    for f in "$lib" "$kvp"; do
        # (.debug_gdb_scripts is loaded at run time: strip keeps it.)
        if grep -qE '\.debug_(info|line|str|abbrev)' <<<"$(readelf -SW "$f")"; then echo "$f is not stripped"; return 1; fi
        grep -q "$(basename "$f").debug" <<<"$(readelf --string-dump=.gnu_debuglink "$f")" ||
            { echo "$f has no debuglink"; return 1; }
        grep -q '\.debug_line' <<<"$(readelf -S "$(dirname "$f")/.debug/$(basename "$f").debug")" ||
            { echo "no debug file for $f"; return 1; }
    done
    if grep -qE '\.debug_(info|line)' <<<"$(readelf -SW "$prefix/lib/libkvp.a" 2>/dev/null)"; then
        echo "libkvp.a keeps debug sections"; return 1
    fi
    size=$(stat -c %s "$lib")
    [ "$size" -lt 1000000 ] || { echo "libkvp.so is $size bytes"; return 1; }
    [ -f "$prefix/share/man/man1/kvp.1" ] && [ -f "$prefix/share/bash-completion/completions/kvp" ] &&
        [ -f "$prefix/share/zsh/site-functions/_kvp" ] && [ -f "$prefix/share/fish/vendor_completions.d/kvp.fish" ] &&
        [ -f "$prefix/lib/cmake/kvp/kvpConfig.cmake" ] && [ -f "$prefix/lib/cmake/kvp/kvpConfigVersion.cmake" ] ||
        { echo "missing files:"; find "$prefix" -type f; return 1; }
    [ "$("$kvp" --version)" = "kvp $version" ] || return 1
    echo "libkvp.so.$version $((size / 1024)) KiB stripped (debug in .debug/), kvp $(($(stat -c %s "$kvp") / 1024)) KiB"
}

# run_c_examples DIR: agent, dlopen_demo and events built in DIR, run on a scratch pool.
run_c_examples() {
    local out=$1 pools log
    pools=$(mktemp -d "$work/pools.XXXXXX")
    # Pool 3 as hv_kvp_daemon leaves it: one record, VirtualMachineId.
    printf 'VirtualMachineId' >"$pools/.kvp_pool_3"
    truncate -s 512 "$pools/.kvp_pool_3"
    printf '4b8f1a2c-0d6e-4c1f-9a57-2e3d4c5b6a70' >>"$pools/.kvp_pool_3"
    truncate -s 2560 "$pools/.kvp_pool_3"
    log=$("$out/agent" --dir "$pools") && grep -q '^PROVISIONING_REPORT: result=success|' <<<"$log" &&
        grep -qx 'DLOPEN_DEMO: written through dlopen' <<<"$("$out/dlopen_demo" --dir "$pools")" &&
        [ "$(stat -c %s "$pools/.kvp_pool_1")" -eq 5120 ] &&
        grep -qx "2 entries" <<<"$("$out/events" --dir "$pools")" || { echo "$log"; echo "the C examples in $out failed"; return 1; }
}

# cmake_examples DIR [PREFIX]: examples/c/CMakeLists.txt with find_package(kvp 0.1).
cmake_examples() {
    local out=$1 prefix_arg=()
    [ $# -gt 1 ] && prefix_arg=(-DCMAKE_PREFIX_PATH="$2")
    cmake -S examples/c -B "$out" "${prefix_arg[@]}" >"$out.log" 2>&1 && cmake --build "$out" >>"$out.log" 2>&1 ||
        { cat "$out.log"; return 1; }
    run_c_examples "$out"
}

cmake_prefix() {
    cmake_examples "$work/cmake-prefix" "$prefix" || return 1
    # The version file: 0.x up to the installed version, nothing else.
    local asked result
    mkdir -p "$work/find"
    for asked in 0.1 0 "$version" 0.99 1.0; do
        printf 'cmake_minimum_required(VERSION 3.13)\nproject(f NONE)\nfind_package(kvp %s QUIET)\nmessage(STATUS "found=${kvp_FOUND}")\n' \
            "$asked" >"$work/find/CMakeLists.txt"
        result=$(cmake -S "$work/find" -B "$work/find/build-$asked" -DCMAKE_PREFIX_PATH="$prefix" | sed -n 's/^-- found=//p')
        case $asked in 0.99 | 1.0) [ "$result" != 1 ] ;; *) [ "$result" = 1 ] ;; esac ||
            { echo "find_package(kvp $asked) gave found=$result"; return 1; }
    done
    echo "find_package(kvp 0.1) -> kvp::kvp; examples built and ran; 0.99 and 1.0 refused"
}

pkgconfig_prefix() {
    PKG_CONFIG_PATH=$prefix/lib/pkgconfig make -s -C examples/c OUT="$work" >/dev/null && run_c_examples "$work" &&
        echo "examples built with pkg-config against PREFIX and ran"
}

# --- ABI --------------------------------------------------------------------

baseline=$root/kvp-ffi/abi/libkvp.so.0.abi
suppressions=$root/kvp-ffi/abi/libkvp.abignore

# abi_compatible BASELINE LIBRARY: passes when LIBRARY only adds to BASELINE.
abi_compatible() {
    local report status
    report=$(abidiff --suppressions "$suppressions" "$1" "$2")
    status=$?
    echo "$report"
    # abidiff: bit 1 error, 2 usage, 4 some change, 8 incompatible change.
    [ $((status & 11)) -eq 0 ] || { echo "abidiff exit $status"; return 1; }
    if grep -E '^(Functions|Variables) changes summary' <<<"$report" | grep -vqE ' 0 Removed, 0 Changed(,| \()'; then
        echo "incompatible: something was removed or changed (docs/packaging.md, ABI policy)"
        return 1
    fi
    if grep -E 'symbols changes summary' <<<"$report" | grep -vq ' 0 Removed'; then
        echo "incompatible: a symbol was removed"
        return 1
    fi
}

debug_library=$CARGO_TARGET_DIR/debug/libkvp.so
abi_build() {
    # Full debug information (the release profile keeps line tables only).
    (cd "$src" && CARGO_NET_OFFLINE=true cargo build -q --locked -p kvp-ffi) || return 1
    [ -f "$baseline" ] || { echo "no baseline: abidw --no-corpus-path --no-comp-dir-path --no-show-locs $debug_library > $baseline"; return 1; }
    echo "libkvp.so with debug information, for abidw"
}

abi_baseline() {
    abi_compatible "$baseline" "$debug_library" >"$work/abi.log" || { cat "$work/abi.log"; return 1; }
    echo "libkvp.so.0 is compatible with kvp-ffi/abi/libkvp.so.0.abi: $(grep -m1 'Functions changes summary' "$work/abi.log" || echo 'no change')"
}

# The baseline without kvp_version: to it, today's library adds a function.
abi_added_function_passes() {
    python3 - "$baseline" "$work/without_version.abi" <<'PY' || return 1
import re, sys
text = open(sys.argv[1]).read()
text, n = re.subn(r"\n\s*<elf-symbol name='kvp_version'[^\n]*", "", text)
text, m = re.subn(r"\n\s*<function-decl name='kvp_version'.*?</function-decl>", "", text, flags=re.S)
assert n == 1 and m == 1, (n, m)
open(sys.argv[2], "w").write(text)
PY
    abi_compatible "$work/without_version.abi" "$debug_library" >"$work/abi-added.log" ||
        { cat "$work/abi-added.log"; return 1; }
    grep -q "1 Added function" "$work/abi-added.log" || { cat "$work/abi-added.log"; return 1; }
    echo "a library that adds kvp_version to the baseline is compatible"
}

# A test build with two fields of kvp_options swapped must fail the check.
abi_changed_options_fails() {
    local alt=$work/abi-altered
    mkdir -p "$alt" && cp -rp "$src/kvp-ffi" "$alt/" && cp -p "$src/Cargo.lock" "$alt/kvp-ffi/" || return 1
    python3 - "$alt/kvp-ffi" "$src" <<'PY' || return 1
import re, sys
crate, tree = sys.argv[1], sys.argv[2]
workspace = open(f"{tree}/Cargo.toml").read()
manifest = open(f"{crate}/Cargo.toml").read()
# A workspace of its own: inherited fields written out, the workspace crates by path.
def written_out(match):
    key = match.group(1)
    if key.startswith("kvp-"):
        return f'{key} = {{ path = "{tree}/{key}" }}'
    return f"{key} = " + re.search(rf"^{key} = (.*)$", workspace, re.M).group(1)
manifest = re.sub(r"^([\w-]+)\.workspace = true$", written_out, manifest, flags=re.M)
manifest += "\n[workspace]\n\n[profile.dev.package.kvp-ffi]\ncodegen-units = 1\n"
open(f"{crate}/Cargo.toml", "w").write(manifest)
options = open(f"{crate}/src/options.rs").read()
field = "    pub sync_on_write: bool,\n"
assert options.count(field) == 1 and options.count("    pub create_mode: u32,\n}") == 1
options = options.replace(field, "").replace(
    "    pub create_mode: u32,\n}", "    pub create_mode: u32,\n    /// Moved: an incompatible change.\n" + field + "}")
open(f"{crate}/src/options.rs", "w").write(options)
PY
    # --offline, not --locked: the lock file of this one-crate workspace is
    # the tree's, pruned. The same target directory, so that only kvp-ffi
    # compiles; its library then replaces the one checked above.
    (cd "$alt/kvp-ffi" && cargo build -q --offline) || return 1
    if abi_compatible "$baseline" "$debug_library" >"$work/abi-altered.log"; then
        cat "$work/abi-altered.log"; echo "the check passed a changed kvp_options"; return 1
    fi
    grep -q "kvp_options" "$work/abi-altered.log" || { cat "$work/abi-altered.log"; return 1; }
    echo "swapping two fields of kvp_options fails the check: $(grep -m1 'offset changed' "$work/abi-altered.log" | sed 's/^ *//')"
}

# --- Python -----------------------------------------------------------------

wheels=$area/wheels
# The one wheel: abi3 for CPython >= 3.8, manylinux2014 (= manylinux_2_17).
the_wheel() { ls "$wheels"/hyperv_kvp-"$version"-cp38-abi3-manylinux2014_x86_64*.whl; }
wheel_and_sdist() {
    (cd "$src" && CARGO_NET_OFFLINE=true maturin build -q --release --locked --zig --compatibility manylinux2014 \
        -m kvp-python/Cargo.toml -o "$wheels" && maturin sdist -m kvp-python/Cargo.toml -o "$wheels") \
        >"$work/maturin.log" 2>&1 || { cat "$work/maturin.log"; return 1; }
    local wheel
    wheel=$(the_wheel) && [ -f "$wheels/hyperv_kvp-$version.tar.gz" ] || { ls "$wheels"; return 1; }
    auditwheel show "$wheel" >"$work/auditwheel.log" 2>&1 || { cat "$work/auditwheel.log"; return 1; }
    grep -q '"manylinux_2_17_x86_64"' <<<"$(tr '\n' ' ' <"$work/auditwheel.log")" || { cat "$work/auditwheel.log"; return 1; }
    mkdir -p "$work/wheel" && (cd "$work/wheel" && python3 -m zipfile -e "$wheel" .) || return 1
    if grep -qE '\.debug_(info|line)' <<<"$(readelf -SW "$work/wheel/hyperv_kvp/_native.abi3.so")"; then echo "the extension is not stripped"; return 1; fi
    echo "$(basename "$wheel") ($(($(stat -c %s "$wheel") / 1024)) KiB, auditwheel: manylinux_2_17 = manylinux2014) and the sdist"
}

# Every CPython >= 3.8 on the machine: pyenv's and the one on PATH.
interpreters() {
    local py
    for py in /root/.pyenv/versions/*/bin/python "$(command -v python3)" /usr/bin/python3; do
        [ -x "$py" ] && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 8) or sys.implementation.name != "cpython")' 2>/dev/null &&
            "$py" -c 'import sys; print("%d.%d" % sys.version_info[:2], sys.executable)'
    done | sort -V -u -k1,1
}

# wheel_in_venv PYTHON VERSION: the wheel with pip --no-index, pytest from
# PyPI, the Python tests against the installed copy.
wheel_in_venv() {
    local py=$1 v=$2 venv=$work/venv-$2 wheel
    wheel=$(the_wheel) || return 1
    "$py" -m venv "$venv" || return 1
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-index "$wheel" &&
        "$venv/bin/python" -m pip install -q --disable-pip-version-check pytest || return 1
    (cd "$work" && "$venv/bin/python" -c 'import hyperv_kvp, sys; assert hyperv_kvp.__file__.startswith(sys.prefix), hyperv_kvp.__file__') ||
        return 1
    (cd "$work" && "$venv/bin/python" -m pytest -q -p no:cacheprovider "$root/kvp-python/tests") >"$work/pytest-$v.log" 2>&1 ||
        { tail -30 "$work/pytest-$v.log"; return 1; }
    echo "CPython $v: $(tail -1 "$work/pytest-$v.log")"
}

sdist_alone() {
    local venv=$work/venv-sdist
    python3 -m venv "$venv" || return 1
    # pip unpacks and builds it in a temporary directory: only the sdist's files.
    (cd "$work" && "$venv/bin/python" -m pip install -q --disable-pip-version-check "$wheels/hyperv_kvp-$version.tar.gz") \
        >"$work/sdist.log" 2>&1 || { cat "$work/sdist.log"; return 1; }
    (cd "$work" && "$venv/bin/python" - <<'PY') || return 1
import sys, tempfile
import hyperv_kvp
from hyperv_kvp import KvpPool
assert hyperv_kvp.__file__.startswith(sys.prefix), hyperv_kvp.__file__
with tempfile.TemporaryDirectory() as d, KvpPool(1, directory=d) as pool:
    pool["k"] = "v"
    assert pool.read("k") == "v"
PY
    echo "pip install hyperv_kvp-$version.tar.gz built it from the sdist alone; it reads and writes a pool"
}

# --- Debian -----------------------------------------------------------------

deb_arch=$(dpkg --print-architecture)
debs() { local p; for p in libkvp0 libkvp-dev kvp python3-hyperv-kvp; do echo "$area/${p}_$version-1_$deb_arch.deb"; done; }

deb_build() {
    # -d: the Rust toolchain (rustup) and maturin (PyPI) are not Debian
    # packages, so dpkg cannot see those build dependencies.
    (cd "$src" && CARGO_NET_OFFLINE=true dpkg-buildpackage -b -us -uc -d) >"$work/dpkg-buildpackage.log" 2>&1 ||
        { tail -60 "$work/dpkg-buildpackage.log"; return 1; }
    local deb missing=0
    for deb in $(debs) "$area"/{libkvp0,kvp,python3-hyperv-kvp}-dbgsym_"$version"-1_"$deb_arch".deb; do
        [ -f "$deb" ] || { echo "not built: $deb"; missing=1; }
    done
    [ $missing -eq 0 ] || { ls "$area"; return 1; }
    echo "$(ls "$area"/*.deb | wc -l) packages, dbgsym included, built without network"
}

deb_contents() {
    local ma problems=0 deb
    ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
    expect() {
        local deb=$1 path
        shift
        dpkg-deb -c "$area/${deb}_$version-1_$deb_arch.deb" | awk '{print $6}' | sed 's|^\./|/|' >"$work/$deb.files"
        for path in "$@"; do
            grep -qx "$path" "$work/$deb.files" || { echo "$deb lacks $path"; problems=1; }
        done
    }
    expect libkvp0 "/usr/lib/$ma/libkvp.so.$version" "/usr/lib/$ma/libkvp.so.0"
    expect libkvp-dev /usr/include/kvp.h "/usr/lib/$ma/libkvp.so" "/usr/lib/$ma/libkvp.a" "/usr/lib/$ma/pkgconfig/kvp.pc" \
        "/usr/lib/$ma/cmake/kvp/kvpConfig.cmake" "/usr/lib/$ma/cmake/kvp/kvpConfigVersion.cmake"
    expect kvp /usr/bin/kvp /usr/share/man/man1/kvp.1.gz /usr/share/man/man1/kvp-events.1.gz \
        /usr/share/bash-completion/completions/kvp /usr/share/zsh/vendor-completions/_kvp \
        /usr/share/fish/vendor_completions.d/kvp.fish
    expect python3-hyperv-kvp /usr/lib/python3/dist-packages/hyperv_kvp/__init__.py \
        /usr/lib/python3/dist-packages/hyperv_kvp/_native.abi3.so /usr/lib/python3/dist-packages/hyperv_kvp/py.typed \
        "/usr/lib/python3/dist-packages/hyperv_kvp-$version.dist-info/METADATA"
    # The debug information is in the dbgsym packages, by build id.
    for deb in libkvp0 kvp python3-hyperv-kvp; do
        dpkg-deb -c "$area/${deb}-dbgsym_$version-1_$deb_arch.deb" >"$work/$deb-dbgsym.files"
        grep -q '/usr/lib/debug/.build-id/.*\.debug$' "$work/$deb-dbgsym.files" ||
            { echo "${deb}-dbgsym holds no debug file"; problems=1; }
    done
    [ $problems -eq 0 ] && echo "libkvp0, libkvp-dev, kvp, python3-hyperv-kvp hold what docs/packaging.md says"
}

# Warnings that stay, each with its reason in docs/packaging.md ("lintian").
LINTIAN_ALLOWED=(initial-upload-closes-no-bugs)
deb_lintian() {
    local changes tag unexpected=0
    changes=$(ls "$area"/hyperv-kvp_"$version"-1_"$deb_arch".changes) || return 1
    lintian --fail-on error --tag-display-limit 0 "$changes" >"$work/lintian.log" 2>&1
    local status=$?
    cat "$work/lintian.log"
    [ $status -eq 0 ] || { echo "lintian found errors"; return 1; }
    for tag in $(sed -n 's/^W: [^:]*: \([^ ]*\).*/\1/p' "$work/lintian.log" | sort -u); do
        [[ " ${LINTIAN_ALLOWED[*]} " == *" $tag "* ]] || { echo "new lintian warning: $tag"; unexpected=1; }
    done
    [ $unexpected -eq 0 ] && echo "lintian: no errors; warnings: $(sed -n 's/^W: [^:]*: \([^ ]*\).*/\1/p' "$work/lintian.log" | sort -u | tr '\n' ' ')"
}

deb_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(debs) >"$work/apt.log" 2>&1 ||
        { cat "$work/apt.log"; return 1; }
    debs_installed=1
    dpkg-query -W -f='${Package} ${Version}\n' libkvp0 libkvp-dev kvp python3-hyperv-kvp
}

deb_c_examples() {
    local out=$work/deb-pkgconfig
    mkdir -p "$out"
    # /usr only: no PKG_CONFIG_PATH, no CMAKE_PREFIX_PATH, no rpath needed.
    env -u PKG_CONFIG_PATH make -s -C examples/c OUT="$out" >/dev/null && run_c_examples "$out" || return 1
    grep -q 'NEEDED.*libkvp.so.0' <<<"$(readelf -d "$out/agent")" || return 1
    (unset CMAKE_PREFIX_PATH && cmake_examples "$work/deb-cmake") || return 1
    grep -q "kvp_DIR:PATH=/usr/lib/" "$work/deb-cmake/CMakeCache.txt" || { grep kvp_DIR "$work/deb-cmake/CMakeCache.txt"; return 1; }
    echo "examples/c against /usr: pkg-config and find_package(kvp), built and ran"
}

deb_python_example() {
    local dir=$work/deb-pools
    mkdir -p "$dir"
    (cd "$work" && /usr/bin/python3 - "$dir" <<'PY') || return 1
import sys
import hyperv_kvp
from hyperv_kvp import KvpPool
assert hyperv_kvp.__file__.startswith("/usr/lib/python3/dist-packages/"), hyperv_kvp.__file__
KvpPool(3, directory=sys.argv[1], mode="full").load([("VirtualMachineId", "4f1c7a52-vm")])
PY
    (cd "$work" && /usr/bin/python3 "$root/examples/python/provision_report.py" "$dir") >"$work/deb-example.log" || return 1
    grep -q "provisioned VM 4f1c7a52-vm" "$work/deb-example.log" || { cat "$work/deb-example.log"; return 1; }
    echo "examples/python/provision_report.py ran on $(/usr/bin/python3 --version) with the packaged hyperv_kvp"
}

deb_cli() {
    local dir=$work/deb-cli
    mkdir -p "$dir"
    [ "$(command -v kvp)" = /usr/bin/kvp ] || { echo "kvp is $(command -v kvp)"; return 1; }
    kvp --dir "$dir" set NOTE packaged && [ "$(kvp --dir "$dir" get NOTE)" = packaged ] || return 1
    MANWIDTH=80 man kvp >"$work/man.txt" 2>"$work/man.err" && MANWIDTH=80 man kvp-events >>"$work/man.txt" 2>>"$work/man.err" &&
        grep -q 'kvp - Read, write and check Hyper-V KVP pool files' "$work/man.txt" &&
        grep -q '^kvp-events(1)' "$work/man.txt" && [ ! -s "$work/man.err" ] ||
        { cat "$work/man.err"; echo "man kvp failed"; return 1; }
    grep -q kvp <<<"$(bash -c '. /usr/share/bash-completion/completions/kvp && complete -p kvp')" || return 1
    echo "kvp $(kvp --version | cut -d' ' -f2) from /usr/bin; man kvp and man kvp-events; bash completion loads"
}

# --- RPM --------------------------------------------------------------------

rpm_arch=$(rpm --eval '%{_arch}')
rpm_build() {
    # Debian's brp-compress uses bash's read -d under /bin/sh (dash): run it with bash.
    (cd "$src" && CARGO_NET_OFFLINE=true rpmbuild -bb --build-in-place --nodeps --define "_topdir $area/rpm" \
        --define "__brp_compress /bin/bash /usr/lib/rpm/brp-compress" rpm/hyperv-kvp.spec) >"$work/rpmbuild.log" 2>&1 || { tail -60 "$work/rpmbuild.log"; return 1; }
    ls "$area/rpm/RPMS/$rpm_arch/" | sed 's/^/  /'
    echo "$(ls "$area/rpm/RPMS/$rpm_arch/" | wc -l) RPMs"
}

rpm_contents() {
    local dir=$area/rpm/RPMS/$rpm_arch release=1 problems=0 name
    expect_rpm() {
        local name=$1 path
        shift
        rpm -qlp "$dir/$name-$version-$release.$rpm_arch.rpm" >"$work/$name.rpmfiles" 2>/dev/null ||
            { echo "no $name RPM"; problems=1; return; }
        for path in "$@"; do
            grep -qx "$path" "$work/$name.rpmfiles" || { echo "$name lacks $path"; problems=1; }
        done
    }
    expect_rpm libkvp "/usr/lib64/libkvp.so.$version" /usr/lib64/libkvp.so.0
    expect_rpm libkvp-devel /usr/include/kvp.h /usr/lib64/libkvp.so /usr/lib64/libkvp.a /usr/lib64/pkgconfig/kvp.pc \
        /usr/lib64/cmake/kvp/kvpConfig.cmake /usr/lib64/cmake/kvp/kvpConfigVersion.cmake
    expect_rpm kvp /usr/bin/kvp /usr/share/man/man1/kvp.1.gz /usr/share/bash-completion/completions/kvp \
        /usr/share/zsh/site-functions/_kvp /usr/share/fish/vendor_completions.d/kvp.fish
    expect_rpm python3-hyperv-kvp
    grep -q 'site-packages/hyperv_kvp/_native.abi3.so$' "$work/python3-hyperv-kvp.rpmfiles" ||
        { echo "python3-hyperv-kvp lacks _native.abi3.so"; problems=1; }
    for name in libkvp kvp python3-hyperv-kvp; do
        expect_rpm "$name-debuginfo"
        grep -q '^/usr/lib/debug/.*\.debug$' "$work/$name-debuginfo.rpmfiles" || { echo "$name-debuginfo holds no .debug"; problems=1; }
    done
    # Installed into a scratch root (this machine's rpm database is not the system's).
    rpm --root "$work/rpmroot" --nodeps -i "$dir"/{libkvp,libkvp-devel,kvp,python3-hyperv-kvp}-"$version-$release.$rpm_arch.rpm" ||
        { problems=1; }
    [ -x "$work/rpmroot/usr/bin/kvp" ] && [ -f "$work/rpmroot/usr/lib64/libkvp.so.$version" ] || { echo "rpm -i installed nothing"; problems=1; }
    "$work/rpmroot/usr/bin/kvp" --version >/dev/null || problems=1
    [ $problems -eq 0 ] && echo "rpm -qlp: libkvp, libkvp-devel, kvp, python3-hyperv-kvp and their debuginfo hold the expected files"
}

# --- cargo install ----------------------------------------------------------

cargo_install() {
    (cd "$src" && CARGO_NET_OFFLINE=true cargo install -q --locked --path kvp-cli --root "$work/cargo-root") || return 1
    [ "$("$work/cargo-root/bin/kvp" --version)" = "kvp $version" ] && echo "cargo install --path kvp-cli: $("$work/cargo-root/bin/kvp" --version)"
}

# step, and whether it passed (step itself always returns 0).
passes() { local before=$failed; step "$@"; [ "$failed" -eq "$before" ]; }

step "tools" need_tools
step "metadata (licenses, SPDX, URLs, versions)" metadata
step "cargo publish --dry-run (crates.io crates)" publish_dry_run
if passes "copy of the tree, crates fetched" copy_tree && passes "release build (libkvp, kvp)" release_build; then
    step "make install PREFIX: stripped, .debug files" make_install
    step "PREFIX: examples via pkg-config" pkgconfig_prefix
    step "PREFIX: examples via CMake find_package" cmake_prefix
    step "cargo install --path kvp-cli" cargo_install
    if passes "ABI: debug build for abidw" abi_build; then
        step "ABI: abidiff against the baseline" abi_baseline
        step "ABI: an added function is compatible" abi_added_function_passes
        step "ABI: a changed kvp_options fails" abi_changed_options_fails
    fi
    if passes "wheel (maturin --zig, auditwheel) and sdist" wheel_and_sdist; then
        while read -r v py; do
            step "wheel in a venv, pytest: CPython $v" wheel_in_venv "$py" "$v"
        done < <(interpreters)
        step "sdist alone builds and installs" sdist_alone
    fi
    if passes "dpkg-buildpackage -b (offline)" deb_build; then
        step ".deb contents" deb_contents
        step "lintian" deb_lintian
        if passes "apt-get install the .debs" deb_install; then
            step ".debs: C examples via pkg-config and CMake" deb_c_examples
            step ".debs: Python example on /usr/bin/python3" deb_python_example
            step ".debs: kvp, man page, completion" deb_cli
        fi
    fi
    passes "rpmbuild -bb (offline)" rpm_build && step "rpm -qlp and rpm -i --root" rpm_contents
fi
finish 80-packaging

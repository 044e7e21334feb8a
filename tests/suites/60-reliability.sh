#!/usr/bin/env bash
# Reliability and security across the three faces (the core's own tests run
# in 10-rust): the cross-language multi-process stress, the hostile corpus
# through the C ABI and Python (under `timeout`, RSS measured), C ABI misuse
# with guard pages plain, under valgrind and under clang AddressSanitizer,
# and creation modes and descriptor leaks through C and Python. Needs root
# (mounts in private namespaces, setuid nobody), as CI has. The long fuzz
# and soak runs are tests/reliability/fuzz.sh and soak.sh, not run here;
# coverage-guided fuzzing is suite 70-fuzz.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/kvp-reliability.XXXXXX")
chmod 755 "$work" # the no-permission cases run as nobody below it
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
bin=$work/bin
mkdir -p "$bin"
target=${CARGO_TARGET_DIR:-$root/target}
# Under RUST_BACKTRACE=1 a caught panic caches a backtrace that valgrind
# reports as still reachable.
export RUST_BACKTRACE=0
# No run may hang: every program gets this many seconds at most.
limit=600

# shellcheck source=../steps.sh
. tests/steps.sh

need_tools() {
    local missing=0 tool
    for tool in cargo make gcc clang valgrind python3 unshare mount timeout; do
        command -v "$tool" >/dev/null || { echo "missing tool: $tool (see tests/setup.sh)"; missing=1; }
    done
    [ "$(id -u)" -eq 0 ] || { echo "must run as root (private mounts, setuid nobody)"; missing=1; }
    [ $missing -eq 0 ] && echo "all tools present, running as root"
}
step "tools" need_tools
[ "$failed" -eq 0 ] || finish 60-reliability

build_native() {
    make -C kvp-ffi install PREFIX="$prefix" || return 1
    cargo build --release -p kvp-core --example stress_worker || return 1
    local lib=$prefix/lib strict=(-std=c11 -Wall -Wextra -Werror -pedantic -g -Iinclude -Itests/c) t
    for t in stress_worker hostile ffi_misuse security; do
        gcc "${strict[@]}" -O2 -o "$bin/$t" "tests/reliability/$t.c" -L"$lib" -lkvp -Wl,-rpath,"$lib" -pthread ||
            return 1
    done
    for t in hostile ffi_misuse; do
        clang -std=c11 -g -Iinclude -Itests/c -fsanitize=address,undefined -fno-omit-frame-pointer \
            -o "$bin/$t.asan" "tests/reliability/$t.c" -L"$lib" -lkvp -Wl,-rpath,"$lib" -pthread || return 1
    done
    echo "libkvp installed; C programs built with gcc -Werror -pedantic and clang ASan+UBSan"
}
step "build (libkvp, stress_worker example, C)" build_native

python3 -m venv --system-site-packages "$work/venv"
py=$work/venv/bin/python
install_wheel() { "$py" -m pip install --quiet --disable-pip-version-check ./kvp-python && echo "hyperv_kvp installed"; }
step "pip install ./kvp-python" install_wheel
[ "$failed" -eq 0 ] || finish 60-reliability

# 1. Nine library workers (kvp-core, C, Python), a flock writer, a POSIX-lock
# writer and an observer on one pool.
step "multi-process stress (12 processes)" env KVP_RUST_WORKER="$target/release/examples/stress_worker" \
    KVP_C_WORKER="$bin/stress_worker" KVP_PYTHON="$py" timeout "$limit" tests/reliability/stress.sh 60 3

# 2. The hostile corpus, generated fresh for each run.
corpus() {
    local dir
    dir=$(mktemp -d "$work/corpus.XXXXXX") && chmod 755 "$dir" &&
        python3 tests/reliability/make_corpus.py "$dir/files" >/dev/null && mkdir "$dir/scratch" && echo "$dir"
}
hostile_c() {
    local dir
    dir=$(corpus) || return 1
    timeout "$limit" "$@" "$dir/files" "$dir/scratch"
}
step "hostile corpus, C ABI" hostile_c "$bin/hostile"
asan_env=(env ASAN_OPTIONS=detect_leaks=1:exitcode=98 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1)
step "hostile corpus, C ABI under ASan" hostile_c "${asan_env[@]}" "$bin/hostile.asan"
pytest_files() {
    (cd "$work" && timeout "$limit" "$py" -m pytest -q -p no:cacheprovider "$@" | tee "$work/pytest.log") &&
        tail -n 1 "$work/pytest.log"
}
step "hostile corpus, Python" pytest_files -s "$root/tests/reliability/test_hostile.py"

# 3. C ABI misuse: guard pages, extreme arguments, NULL entries, threads.
scratch() { mktemp -d "$work/scratch.XXXXXX"; }
step "FFI misuse" timeout "$limit" "$bin/ffi_misuse" "$(scratch)"
step "FFI misuse under valgrind" timeout "$limit" valgrind --quiet --error-exitcode=99 --leak-check=full \
    --show-leak-kinds=all --errors-for-leak-kinds=all "$bin/ffi_misuse" "$(scratch)"
step "FFI misuse under ASan+UBSan" timeout "$limit" "${asan_env[@]}" "$bin/ffi_misuse.asan" "$(scratch)"

# 4. Creation modes and descriptor leaks.
step "security, C ABI" timeout "$limit" "$bin/security" "$(scratch)"
step "security, Python" pytest_files "$root/tests/reliability/test_security.py"

finish 60-reliability

#!/usr/bin/env bash
# Python: builds and installs the hyperv_kvp wheel with `pip install
# ./kvp-python` into a fresh venv (which also sees the pytest and mypy that
# tests/setup.sh installed), then runs pytest, mypy --strict on the tests and
# the examples and the package, stubtest on the stubs, and the example against a temp dir.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
step() {
    local name=$1
    shift
    echo "--- python: $name"
    if "$@"; then
        passed=$((passed + 1))
    else
        echo "FAIL python: $name" >&2
        failed=$((failed + 1))
    fi
}
finish() {
    echo "python: $passed steps passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

for tool in pytest mypy; do
    python3 -c "import $tool" 2>/dev/null || { echo "python: $tool is missing (tests/setup.sh installs it)" >&2; exit 1; }
done

python3 -m venv --system-site-packages "$work/venv"
py=$work/venv/bin/python
install() { "$py" -m pip install --quiet --disable-pip-version-check ./kvp-python; }
step "pip install ./kvp-python" install
# Nothing else can run without the package.
"$py" -c "import hyperv_kvp" || finish

run_pytest() {
    # From the temp dir, so the installed package is imported, not the source.
    (cd "$work" && "$py" -m pytest -q -p no:cacheprovider "$root/kvp-python/tests" | tee "$work/pytest.log")
    local status=${PIPESTATUS[0]}
    grep -E "^[0-9]+ (passed|failed)|passed|failed" "$work/pytest.log" | tail -1 | sed 's/^/python: pytest: /'
    return "$status"
}
step "pytest" run_pytest
step "mypy --strict (tests, examples)" "$py" -m mypy --strict --cache-dir "$work/mypy-cache" \
    kvp-python/tests examples/python
step "mypy --strict (the package)" "$py" -m mypy --strict --cache-dir "$work/mypy-cache" \
    kvp-python/python/hyperv_kvp
step "stubtest" bash -c "cd '$work' && '$py' -m mypy.stubtest hyperv_kvp \
    --allowlist '$root/kvp-python/stubtest-allowlist.txt' --ignore-unused-allowlist"

run_example() {
    local dir=$work/pools
    mkdir -p "$dir"
    # The host side of pool 3, as hv_kvp_daemon would have written it.
    "$py" - "$dir" <<'PY' || return 1
import sys
from hyperv_kvp import KvpPool
KvpPool(3, directory=sys.argv[1], mode="full").load(
    [("VirtualMachineId", "4f1c7a52-vm"), ("PhysicalHostName", "HOST-Zürich")]
)
PY
    "$py" examples/python/provision_report.py "$dir" | tee "$work/example.log" || return 1
    grep -q "provisioned VM 4f1c7a52-vm" "$work/example.log" || return 1
    # What it wrote must read back as three cloud-init events of this boot.
    "$py" - "$dir" <<'PY'
import sys
from hyperv_kvp import KvpPool
from hyperv_kvp.reporting import boot_incarnation, read_events
events = read_events(KvpPool(1, directory=sys.argv[1]), strict=True)
assert [e.event_type for e in events] == ["start", "diagnostic", "finish"], events
assert events[2].result == "SUCCESS", events[2]
assert abs(events[0].incarnation - boot_incarnation()) <= 1, events[0]
print("python: example wrote", len(events), "events")
PY
}
step "example against a temp dir" run_example

# The wheel is abi3 for CPython 3.8 and later: run the tests on the oldest
# interpreter too. Debian has no 3.8 package and no registry serves one, so
# this uses the pyenv build that machines of this kind carry, and says so
# loudly when there is none.
run_oldest() {
    local old
    old=$(ls -d /root/.pyenv/versions/3.8*/bin/python 2>/dev/null | head -1)
    if [ -z "$old" ]; then
        echo "python: NOT RUN on CPython 3.8: no interpreter found under /root/.pyenv/versions" >&2
        return 0
    fi
    "$old" -m venv "$work/venv38" || return 1
    "$work/venv38/bin/python" -m pip install --quiet --disable-pip-version-check pytest ./kvp-python || return 1
    (cd "$work" && "$work/venv38/bin/python" -m pytest -q -p no:cacheprovider "$root/kvp-python/tests" | tail -1 | sed 's/^/python: pytest on CPython 3.8: /'
     exit "${PIPESTATUS[0]}")
}
step "pytest on CPython 3.8 (abi3 floor)" run_oldest

finish

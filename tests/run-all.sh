#!/usr/bin/env bash
# The one test command: installs what is missing, then runs every suite in
# tests/suites in order and prints a summary. A suite that cannot run its
# peers says so and fails; nothing is skipped silently.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

bash tests/setup.sh || { echo "run-all: setup failed" >&2; exit 1; }

failed=0
summary=()
for suite in tests/suites/*.sh; do
    name=$(basename "$suite" .sh)
    echo
    echo "=================== suite $name ==================="
    start=$(date +%s)
    if bash "$suite"; then
        summary+=("PASS  $name ($(( $(date +%s) - start ))s)")
    else
        summary+=("FAIL  $name ($(( $(date +%s) - start ))s)")
        failed=1
    fi
done

echo
echo "=================== summary ==================="
printf '%s\n' "${summary[@]}"
exit $failed

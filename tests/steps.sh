# Sourced by the suites in tests/suites. Needs $work, a scratch directory.
#
#   step NAME COMMAND...  runs one check, prints its last output line on
#                         success and its whole output on failure
#   finish SUITE          prints the counts and exits, non-zero on a failure

passed=0
failed=0

step() {
    local name=$1
    shift
    if "$@" >"$work/log" 2>&1; then
        passed=$((passed + 1))
        printf 'ok    %-40s %s\n' "$name" "$(tail -n 1 "$work/log")"
    else
        failed=$((failed + 1))
        printf 'FAIL  %s\n' "$name"
        sed 's/^/      /' "$work/log"
    fi
}

finish() {
    echo "$1: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

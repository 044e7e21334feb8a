# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kvp_global_optspecs
    string join \n pool= dir= file= mode= lock-timeout= json e/escapes h/help V/version
end

function __fish_kvp_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kvp_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kvp_using_subcommand
    set -l cmd (__fish_kvp_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kvp -n "__fish_kvp_needs_command" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_needs_command" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_needs_command" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_needs_command" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_needs_command" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_needs_command" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_needs_command" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_needs_command" -s h -l help -d 'Print help'
complete -c kvp -n "__fish_kvp_needs_command" -s V -l version -d 'Print version'
complete -c kvp -n "__fish_kvp_needs_command" -f -a "list" -d 'Every record in file order, duplicates included'
complete -c kvp -n "__fish_kvp_needs_command" -f -a "entries" -d 'Every key with its value (the last record wins), sorted by key'
complete -c kvp -n "__fish_kvp_needs_command" -f -a "get" -d 'Print the value of KEY (its last record); exit 1 when absent'
complete -c kvp -n "__fish_kvp_needs_command" -f -a "set" -d 'Set KEY to VALUE: the first record keeps its place, later duplicates are removed'
complete -c kvp -n "__fish_kvp_needs_command" -f -a "append" -d 'Add a record at the end, keeping earlier records with the same key'
complete -c kvp -n "__fish_kvp_needs_command" -f -a "delete" -d 'Remove every record of each KEY; exit 1 when nothing was removed'
complete -c kvp -n "__fish_kvp_needs_command" -f -a "clear" -d 'Remove every record'
complete -c kvp -n "__fish_kvp_needs_command" -f -a "load" -d 'Replace the pool with the records of FILE (JSON or KEY=VALUE lines)'
complete -c kvp -n "__fish_kvp_needs_command" -f -a "dump" -d 'Print the records as a JSON array of {"key","value"} (load reads it)'
complete -c kvp -n "__fish_kvp_needs_command" -f -a "info" -d 'Path, size, records, unique keys, staleness and who holds a lock'
complete -c kvp -n "__fish_kvp_needs_command" -f -a "check" -d 'Check the pool file; exit 1 on errors (what breaks a reader or the host), or with --strict on any finding'
complete -c kvp -n "__fish_kvp_needs_command" -f -a "wait" -d 'Wait until KEY appears, then print its value; exit 1 on timeout'
complete -c kvp -n "__fish_kvp_needs_command" -f -a "report" -d 'Write or show PROVISIONING_REPORT, the record the Azure host parses'
complete -c kvp -n "__fish_kvp_needs_command" -f -a "events" -d 'Every agent\'s events in the pool as a timeline sorted by time'
complete -c kvp -n "__fish_kvp_needs_command" -f -a "vm-id" -d 'Print this machine\'s VM id (DMI product UUID, with the Gen1 byte swap); exit 3 when it has none'
complete -c kvp -n "__fish_kvp_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kvp -n "__fish_kvp_using_subcommand list" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_using_subcommand list" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand list" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand list" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_using_subcommand list" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_using_subcommand list" -s w -l wide -d 'Never cut keys or values to fit the terminal (a pipe or a file always gets them whole)'
complete -c kvp -n "__fish_kvp_using_subcommand list" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_using_subcommand list" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_using_subcommand list" -s h -l help -d 'Print help'
complete -c kvp -n "__fish_kvp_using_subcommand entries" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_using_subcommand entries" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand entries" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand entries" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_using_subcommand entries" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_using_subcommand entries" -s w -l wide -d 'Never cut keys or values to fit the terminal (a pipe or a file always gets them whole)'
complete -c kvp -n "__fish_kvp_using_subcommand entries" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_using_subcommand entries" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_using_subcommand entries" -s h -l help -d 'Print help'
complete -c kvp -n "__fish_kvp_using_subcommand get" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_using_subcommand get" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand get" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand get" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_using_subcommand get" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_using_subcommand get" -l raw -d 'Print the exact value bytes even to a terminal, which otherwise gets the escaped form (\\x1b, \\u{202e}, \\n)'
complete -c kvp -n "__fish_kvp_using_subcommand get" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_using_subcommand get" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_using_subcommand get" -s h -l help -d 'Print help'
complete -c kvp -n "__fish_kvp_using_subcommand set" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_using_subcommand set" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand set" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand set" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_using_subcommand set" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_using_subcommand set" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_using_subcommand set" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_using_subcommand set" -s h -l help -d 'Print help'
complete -c kvp -n "__fish_kvp_using_subcommand append" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_using_subcommand append" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand append" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand append" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_using_subcommand append" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_using_subcommand append" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_using_subcommand append" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_using_subcommand append" -s h -l help -d 'Print help'
complete -c kvp -n "__fish_kvp_using_subcommand delete" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_using_subcommand delete" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand delete" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand delete" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_using_subcommand delete" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_using_subcommand delete" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_using_subcommand delete" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_using_subcommand delete" -s h -l help -d 'Print help'
complete -c kvp -n "__fish_kvp_using_subcommand clear" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_using_subcommand clear" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand clear" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand clear" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_using_subcommand clear" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_using_subcommand clear" -l if-stale -d 'Only when the pool was last written before this boot'
complete -c kvp -n "__fish_kvp_using_subcommand clear" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_using_subcommand clear" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_using_subcommand clear" -s h -l help -d 'Print help'
complete -c kvp -n "__fish_kvp_using_subcommand load" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_using_subcommand load" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand load" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand load" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_using_subcommand load" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_using_subcommand load" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_using_subcommand load" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_using_subcommand load" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvp -n "__fish_kvp_using_subcommand dump" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_using_subcommand dump" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand dump" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand dump" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_using_subcommand dump" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_using_subcommand dump" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_using_subcommand dump" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_using_subcommand dump" -s h -l help -d 'Print help'
complete -c kvp -n "__fish_kvp_using_subcommand info" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_using_subcommand info" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand info" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand info" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_using_subcommand info" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_using_subcommand info" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_using_subcommand info" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_using_subcommand info" -s h -l help -d 'Print help'
complete -c kvp -n "__fish_kvp_using_subcommand check" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_using_subcommand check" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand check" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand check" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_using_subcommand check" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_using_subcommand check" -l repair -d 'Cut a partial tail and zero the garbage after NULs (what readers see is unchanged), under the exclusive lock'
complete -c kvp -n "__fish_kvp_using_subcommand check" -l strict -d 'Exit 1 on notes too (duplicates, garbage after a NUL, ...), not only on errors'
complete -c kvp -n "__fish_kvp_using_subcommand check" -s v -l verbose -d 'List every note on its own line instead of grouping repeated ones'
complete -c kvp -n "__fish_kvp_using_subcommand check" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_using_subcommand check" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_using_subcommand check" -s h -l help -d 'Print help'
complete -c kvp -n "__fish_kvp_using_subcommand wait" -l timeout -d 'Give up after this long (500ms, 2s, 1m), however long the pool stays locked; default: wait forever for the key (each look still gives up after --lock-timeout)' -r
complete -c kvp -n "__fish_kvp_using_subcommand wait" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_using_subcommand wait" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand wait" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand wait" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_using_subcommand wait" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_using_subcommand wait" -l raw -d 'Print the exact value bytes even to a terminal, which otherwise gets the escaped form (\\x1b, \\u{202e}, \\n)'
complete -c kvp -n "__fish_kvp_using_subcommand wait" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_using_subcommand wait" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_using_subcommand wait" -s h -l help -d 'Print help'
complete -c kvp -n "__fish_kvp_using_subcommand report; and not __fish_seen_subcommand_from success failure show help" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and not __fish_seen_subcommand_from success failure show help" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand report; and not __fish_seen_subcommand_from success failure show help" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand report; and not __fish_seen_subcommand_from success failure show help" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and not __fish_seen_subcommand_from success failure show help" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and not __fish_seen_subcommand_from success failure show help" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_using_subcommand report; and not __fish_seen_subcommand_from success failure show help" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_using_subcommand report; and not __fish_seen_subcommand_from success failure show help" -s h -l help -d 'Print help'
complete -c kvp -n "__fish_kvp_using_subcommand report; and not __fish_seen_subcommand_from success failure show help" -f -a "success" -d 'Write a success report, replacing every PROVISIONING_REPORT record'
complete -c kvp -n "__fish_kvp_using_subcommand report; and not __fish_seen_subcommand_from success failure show help" -f -a "failure" -d 'Write a failure report (result=error), replacing every PROVISIONING_REPORT record'
complete -c kvp -n "__fish_kvp_using_subcommand report; and not __fish_seen_subcommand_from success failure show help" -f -a "show" -d 'Decode and show the pool\'s current report (either dialect); exit 1 when there is none or it does not decode'
complete -c kvp -n "__fish_kvp_using_subcommand report; and not __fish_seen_subcommand_from success failure show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from success" -l reason -d 'Why, if there is anything to say (written after the other fields)' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from success" -l agent -d 'Who reports, as NAME/VERSION (azure-init writes Azure-Init/0.1.1, cloud-init Cloud-Init/25.1)' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from success" -l vm-id -d 'The VM id; read from this machine\'s DMI when left out' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from success" -l pps-type -d 'The pre-provisioning type: None, PreprovisionedOSDisk, Running, Savable or Unknown (azure-init dialect writes None when left out; cloud-init dialect writes none)' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from success" -l extra -d 'One supporting-data field, NAME=VALUE; repeat for more, kept in order' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from success" -l dialect -d 'Whose spelling to write: azure-init (double quotes, pps_type always written) or cloud-init (single quotes, its field order)' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from success" -l documentation-url -d 'The documentation URL (failure reports carry <https://aka.ms/linuxprovisioningerror> unless told otherwise; an empty URL writes none)' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from success" -l sys-root -d 'Read the machine\'s DMI and EFI files under DIR instead of / (DIR/sys/class/dmi/id/product_uuid, DIR/sys/firmware/efi, DIR/dev/efi): for tests, or a mounted disk image' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from success" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from success" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from success" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from success" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from success" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from success" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from success" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from success" -s h -l help -d 'Print help'
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from failure" -l reason -d 'What went wrong, for whoever reads the host\'s provisioning error' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from failure" -l agent -d 'Who reports, as NAME/VERSION (azure-init writes Azure-Init/0.1.1, cloud-init Cloud-Init/25.1)' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from failure" -l vm-id -d 'The VM id; read from this machine\'s DMI when left out' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from failure" -l pps-type -d 'The pre-provisioning type: None, PreprovisionedOSDisk, Running, Savable or Unknown (azure-init dialect writes None when left out; cloud-init dialect writes none)' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from failure" -l extra -d 'One supporting-data field, NAME=VALUE; repeat for more, kept in order' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from failure" -l dialect -d 'Whose spelling to write: azure-init (double quotes, pps_type always written) or cloud-init (single quotes, its field order)' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from failure" -l documentation-url -d 'The documentation URL (failure reports carry <https://aka.ms/linuxprovisioningerror> unless told otherwise; an empty URL writes none)' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from failure" -l sys-root -d 'Read the machine\'s DMI and EFI files under DIR instead of / (DIR/sys/class/dmi/id/product_uuid, DIR/sys/firmware/efi, DIR/dev/efi): for tests, or a mounted disk image' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from failure" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from failure" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from failure" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from failure" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from failure" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from failure" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from failure" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from failure" -s h -l help -d 'Print help'
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from show" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from show" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from show" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from show" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from show" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from show" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from show" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from help" -f -a "success" -d 'Write a success report, replacing every PROVISIONING_REPORT record'
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from help" -f -a "failure" -d 'Write a failure report (result=error), replacing every PROVISIONING_REPORT record'
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from help" -f -a "show" -d 'Decode and show the pool\'s current report (either dialect); exit 1 when there is none or it does not decode'
complete -c kvp -n "__fish_kvp_using_subcommand report; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kvp -n "__fish_kvp_using_subcommand events" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_using_subcommand events" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand events" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand events" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_using_subcommand events" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_using_subcommand events" -s f -l follow -d 'Keep waiting for new records and print them as they come, as `tail -f` does; Ctrl-C ends it'
complete -c kvp -n "__fish_kvp_using_subcommand events" -l full -d 'Print whole messages instead of cutting them at 80 characters'
complete -c kvp -n "__fish_kvp_using_subcommand events" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_using_subcommand events" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_using_subcommand events" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvp -n "__fish_kvp_using_subcommand vm-id" -l sys-root -d 'Read the machine\'s DMI and EFI files under DIR instead of / (DIR/sys/class/dmi/id/product_uuid, DIR/sys/firmware/efi, DIR/dev/efi): for tests, or a mounted disk image' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand vm-id" -l pool -d 'Pool: 0-4, external, guest, auto, auto-external or auto-internal' -r
complete -c kvp -n "__fish_kvp_using_subcommand vm-id" -l dir -d 'Directory holding the pool files' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand vm-id" -l file -d 'A pool file by path, instead of --pool and --dir' -r -F
complete -c kvp -n "__fish_kvp_using_subcommand vm-id" -l mode -d 'Limits for writes: safe (what the host receives whole) or full (whatever fits the field)' -r
complete -c kvp -n "__fish_kvp_using_subcommand vm-id" -l lock-timeout -d 'Give up waiting for the pool\'s lock after this long (500ms, 2s, 1m; default 30s), or `forever`. Any user who can read a pool can hold its lock, so kvp never waits forever unless told to' -r
complete -c kvp -n "__fish_kvp_using_subcommand vm-id" -l json -d 'Print machine-readable JSON (schemas in docs/cli.md)'
complete -c kvp -n "__fish_kvp_using_subcommand vm-id" -s e -l escapes -d 'KEY arguments are in the escaped form that tables show (\\xff, \\u{202e}, \\n, \\\\), so that any key can be named'
complete -c kvp -n "__fish_kvp_using_subcommand vm-id" -s h -l help -d 'Print help'
complete -c kvp -n "__fish_kvp_using_subcommand help; and not __fish_seen_subcommand_from list entries get set append delete clear load dump info check wait report events vm-id help" -f -a "list" -d 'Every record in file order, duplicates included'
complete -c kvp -n "__fish_kvp_using_subcommand help; and not __fish_seen_subcommand_from list entries get set append delete clear load dump info check wait report events vm-id help" -f -a "entries" -d 'Every key with its value (the last record wins), sorted by key'
complete -c kvp -n "__fish_kvp_using_subcommand help; and not __fish_seen_subcommand_from list entries get set append delete clear load dump info check wait report events vm-id help" -f -a "get" -d 'Print the value of KEY (its last record); exit 1 when absent'
complete -c kvp -n "__fish_kvp_using_subcommand help; and not __fish_seen_subcommand_from list entries get set append delete clear load dump info check wait report events vm-id help" -f -a "set" -d 'Set KEY to VALUE: the first record keeps its place, later duplicates are removed'
complete -c kvp -n "__fish_kvp_using_subcommand help; and not __fish_seen_subcommand_from list entries get set append delete clear load dump info check wait report events vm-id help" -f -a "append" -d 'Add a record at the end, keeping earlier records with the same key'
complete -c kvp -n "__fish_kvp_using_subcommand help; and not __fish_seen_subcommand_from list entries get set append delete clear load dump info check wait report events vm-id help" -f -a "delete" -d 'Remove every record of each KEY; exit 1 when nothing was removed'
complete -c kvp -n "__fish_kvp_using_subcommand help; and not __fish_seen_subcommand_from list entries get set append delete clear load dump info check wait report events vm-id help" -f -a "clear" -d 'Remove every record'
complete -c kvp -n "__fish_kvp_using_subcommand help; and not __fish_seen_subcommand_from list entries get set append delete clear load dump info check wait report events vm-id help" -f -a "load" -d 'Replace the pool with the records of FILE (JSON or KEY=VALUE lines)'
complete -c kvp -n "__fish_kvp_using_subcommand help; and not __fish_seen_subcommand_from list entries get set append delete clear load dump info check wait report events vm-id help" -f -a "dump" -d 'Print the records as a JSON array of {"key","value"} (load reads it)'
complete -c kvp -n "__fish_kvp_using_subcommand help; and not __fish_seen_subcommand_from list entries get set append delete clear load dump info check wait report events vm-id help" -f -a "info" -d 'Path, size, records, unique keys, staleness and who holds a lock'
complete -c kvp -n "__fish_kvp_using_subcommand help; and not __fish_seen_subcommand_from list entries get set append delete clear load dump info check wait report events vm-id help" -f -a "check" -d 'Check the pool file; exit 1 on errors (what breaks a reader or the host), or with --strict on any finding'
complete -c kvp -n "__fish_kvp_using_subcommand help; and not __fish_seen_subcommand_from list entries get set append delete clear load dump info check wait report events vm-id help" -f -a "wait" -d 'Wait until KEY appears, then print its value; exit 1 on timeout'
complete -c kvp -n "__fish_kvp_using_subcommand help; and not __fish_seen_subcommand_from list entries get set append delete clear load dump info check wait report events vm-id help" -f -a "report" -d 'Write or show PROVISIONING_REPORT, the record the Azure host parses'
complete -c kvp -n "__fish_kvp_using_subcommand help; and not __fish_seen_subcommand_from list entries get set append delete clear load dump info check wait report events vm-id help" -f -a "events" -d 'Every agent\'s events in the pool as a timeline sorted by time'
complete -c kvp -n "__fish_kvp_using_subcommand help; and not __fish_seen_subcommand_from list entries get set append delete clear load dump info check wait report events vm-id help" -f -a "vm-id" -d 'Print this machine\'s VM id (DMI product UUID, with the Gen1 byte swap); exit 3 when it has none'
complete -c kvp -n "__fish_kvp_using_subcommand help; and not __fish_seen_subcommand_from list entries get set append delete clear load dump info check wait report events vm-id help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kvp -n "__fish_kvp_using_subcommand help; and __fish_seen_subcommand_from report" -f -a "success" -d 'Write a success report, replacing every PROVISIONING_REPORT record'
complete -c kvp -n "__fish_kvp_using_subcommand help; and __fish_seen_subcommand_from report" -f -a "failure" -d 'Write a failure report (result=error), replacing every PROVISIONING_REPORT record'
complete -c kvp -n "__fish_kvp_using_subcommand help; and __fish_seen_subcommand_from report" -f -a "show" -d 'Decode and show the pool\'s current report (either dialect); exit 1 when there is none or it does not decode'

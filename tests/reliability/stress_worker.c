/* One worker of the cross-language multi-process stress test
 * (tests/reliability/stress.sh): the C ABI face. Same loop as
 * kvp-core/examples/stress_worker.rs (see there); exits 1 on the first
 * read or delete that is not what this worker alone wrote.
 * Usage: stress_worker POOL ID ROUNDS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvp.h"

static int fail(const char *id, const char *what, kvp_status status)
{
    fprintf(stderr, "%s: %s: %s (%s)\n", id, what, kvp_status_str((int)status),
            kvp_last_error_message());
    return 1;
}

int main(int argc, char **argv)
{
    kvp_store *store = NULL;
    char own[64], log[64], tmp[64], value[32], buf[KVP_VALUE_SIZE];
    size_t len = 0, removed = 0, pending = 0;
    long round, rounds;
    const char *id;
    kvp_status status;
    int rc = 0;

    if (argc != 4) {
        fprintf(stderr, "usage: stress_worker POOL ID ROUNDS\n");
        return 2;
    }
    id = argv[2];
    rounds = strtol(argv[3], NULL, 10);
    if ((status = kvp_open(argv[1], NULL, &store)) != KVP_OK) return fail(id, "open", status);
    snprintf(log, sizeof log, "log-%s", id);
    snprintf(tmp, sizeof tmp, "tmp-%s", id);
    for (round = 0; round < rounds && rc == 0; round++) {
        snprintf(value, sizeof value, "%ld", round);
        snprintf(own, sizeof own, "own-%s-%ld", id, round % 4);
        if ((status = kvp_insert(store, own, value)) != KVP_OK) { rc = fail(id, "insert", status); break; }
        if ((status = kvp_read(store, own, buf, sizeof buf, &len)) != KVP_OK) { rc = fail(id, "read", status); break; }
        if (strcmp(buf, value) != 0) {
            fprintf(stderr, "%s: round %ld: %s reads '%s', wrote %s\n", id, round, own, buf, value);
            rc = 1;
            break;
        }
        if ((status = kvp_append(store, log, value)) != KVP_OK) { rc = fail(id, "append", status); break; }
        if ((status = kvp_append(store, tmp, value)) != KVP_OK) { rc = fail(id, "append", status); break; }
        pending++;
        if (round % 5 == 4) {
            if ((status = kvp_delete(store, tmp, &removed)) != KVP_OK) { rc = fail(id, "delete", status); break; }
            if (removed != pending) {
                fprintf(stderr, "%s: round %ld: delete %s removed %zu, expected %zu\n", id, round, tmp,
                        removed, pending);
                rc = 1;
                break;
            }
            pending = 0;
        }
        status = kvp_read(store, "daemon-0", buf, sizeof buf, &len);
        if (status != KVP_OK && status != KVP_ERR_NOT_FOUND) { rc = fail(id, "read daemon-0", status); break; }
        if (round % 10 == 9) {
            char *json = NULL;
            if ((status = kvp_dump_json(store, &json)) != KVP_OK) { rc = fail(id, "dump_json", status); break; }
            kvp_string_free(json);
        }
    }
    kvp_close(store);
    if (rc == 0) printf("%s: %ld rounds, every read and delete as expected\n", id, rounds);
    return rc;
}

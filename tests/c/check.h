/* A tiny check harness shared by the C tests: counts passes and failures
 * (atomically, so threads may check too) and prints each failure with the
 * library's message. */
#ifndef KVP_TEST_CHECK_H
#define KVP_TEST_CHECK_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvp.h"

static atomic_int checks_passed;
static atomic_int checks_failed;

static inline void check_true(int ok, const char *what, const char *file, int line)
{
    if (ok) {
        atomic_fetch_add(&checks_passed, 1);
    } else {
        atomic_fetch_add(&checks_failed, 1);
        fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
    }
}

static inline void check_status(kvp_status got, kvp_status want, const char *what, const char *file,
                         int line)
{
    if (got == want) {
        atomic_fetch_add(&checks_passed, 1);
    } else {
        atomic_fetch_add(&checks_failed, 1);
        fprintf(stderr, "FAIL %s:%d: %s\n  returned %s, expected %s (%s)\n", file, line, what,
                kvp_status_str((int)got), kvp_status_str((int)want), kvp_last_error_message());
    }
}

/* Passes when this thread's last error message contains `needle`, and
 * prints the whole message when it does not. */
static inline void check_message_has(const char *needle, const char *file, int line)
{
    const char *message = kvp_last_error_message();
    if (strstr(message, needle) != NULL) {
        atomic_fetch_add(&checks_passed, 1);
    } else {
        atomic_fetch_add(&checks_failed, 1);
        fprintf(stderr, "FAIL %s:%d: the last error message lacks \"%s\":\n  \"%s\"\n", file, line, needle,
                message);
    }
}

#define CHECK(cond) check_true((cond) ? 1 : 0, #cond, __FILE__, __LINE__)
#define CHECK_MESSAGE_HAS(needle) check_message_has((needle), __FILE__, __LINE__)
#define CHECK_STATUS(call, want) check_status((call), (want), #call, __FILE__, __LINE__)
#define CHECK_OK(call) CHECK_STATUS(call, KVP_OK)
#define CHECK_STR(got, want) check_true(strcmp((got), (want)) == 0, #got " == " #want, __FILE__, __LINE__)

/* The scratch directory every test takes as its only argument. */
static inline const char *scratch_dir(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
        exit(2);
    }
    return argv[1];
}

/* Opens `dir/name` as a pool file, counting the open as a check. */
static inline kvp_store *open_in(const char *dir, const char *name, const kvp_options *options)
{
    char path[4096];
    kvp_store *store = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK_OK(kvp_open(path, options, &store));
    return store;
}

/* The record count, or (size_t)-1 when kvp_len fails. */
static inline size_t pool_len(const kvp_store *store)
{
    size_t len = (size_t)-1;
    CHECK_OK(kvp_len(store, &len));
    return len;
}

/* Prints the counts and gives main's exit status. */
static inline int check_report(const char *name)
{
    int passed = atomic_load(&checks_passed);
    int failed = atomic_load(&checks_failed);
    printf("%s: %d checks passed, %d failed\n", name, passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}

#endif /* KVP_TEST_CHECK_H */

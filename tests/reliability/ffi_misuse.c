/* C ABI misuse beyond tests/c/: every string and buffer the library gets is
 * placed against a PROT_NONE guard page, so reading or writing one byte past
 * it faults (with or without a sanitizer); extreme option and status values;
 * NULL inside kvp_entry arrays; many handles and no descriptor kept; mixed
 * operations from threads on one handle. Run plain, under valgrind and
 * under clang AddressSanitizer by tests/suites/60-reliability.sh.
 * Usage: ffi_misuse SCRATCH_DIR */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

static const char *scratch;
static size_t page;

/* `len` bytes that end exactly where an inaccessible page begins. */
static char *guarded(size_t len)
{
    size_t span = (len + page - 1) / page * page + page;
    char *base = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED || mprotect(base + span - page, page, PROT_NONE) != 0) {
        perror("guarded");
        exit(2);
    }
    return base + span - page - len;
}

static void unguard(char *p, size_t len)
{
    size_t span = (len + page - 1) / page * page + page;
    munmap(p + len + page - span, span);
}

/* A copy of `text` whose NUL is the last byte before the guard page. */
static char *guarded_str(const char *text)
{
    size_t len = strlen(text) + 1;
    return memcpy(guarded(len), text, len);
}

static void free_str(char *s)
{
    unguard(s, strlen(s) + 1);
}

static char *text_of(size_t len, char fill)
{
    char *t = malloc(len + 1);
    if (t == NULL) exit(2);
    memset(t, fill, len);
    t[len] = '\0';
    return t;
}

static void read_into_exact_buffers(void)
{
    static const size_t lengths[] = {0, 1, 7, 254, 1022, 2047};
    kvp_options options;
    kvp_store *store = NULL;
    size_t i, len;
    char path[4200];

    kvp_options_init(&options);
    options.mode = KVP_MODE_FULL;
    snprintf(path, sizeof path, "%s/guarded", scratch);
    CHECK_OK(kvp_open(path, &options, &store));
    for (i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        size_t n = lengths[i];
        char *value = text_of(n, (char)('a' + i));
        char *key = guarded_str("guarded-key");
        char *gvalue = guarded_str(value);
        char *exact = guarded(n + 1);
        char *heap = malloc(n + 1); /* ASan's redzone follows it */
        CHECK_OK(kvp_insert(store, key, gvalue));
        /* Exactly value + NUL: fits, and the NUL is the buffer's last byte. */
        len = 0;
        CHECK_OK(kvp_read(store, key, exact, n + 1, &len));
        CHECK(len == n && memcmp(exact, value, n + 1) == 0);
        len = 0;
        CHECK(heap != NULL);
        CHECK_OK(kvp_read(store, key, heap, n + 1, &len));
        CHECK(len == n && memcmp(heap, value, n + 1) == 0);
        /* One byte short, at the guard: refused, nothing written. */
        if (n > 0) {
            char *shorter = guarded(n);
            memset(shorter, 'X', n);
            len = 0;
            CHECK_STATUS(kvp_read(store, key, shorter, n, &len), KVP_ERR_BUFFER_TOO_SMALL);
            CHECK(len == n && shorter[0] == 'X' && shorter[n - 1] == 'X');
            unguard(shorter, n);
        }
        /* A non-NULL buffer of length 0 is a size query too. */
        CHECK_STATUS(kvp_read(store, key, exact, 0, &len), KVP_ERR_BUFFER_TOO_SMALL);
        CHECK(len == n);
        free(heap);
        unguard(exact, n + 1);
        free_str(gvalue);
        free_str(key);
        free(value);
    }
    kvp_close(store);
}

static void limits_at_the_guard(void)
{
    kvp_store *store = open_in(scratch, "limits", NULL);
    char *key511 = text_of(511, 'k'), *key512 = text_of(512, 'k'), *value2048 = text_of(2048, 'v');
    char *gkey = guarded_str(key512), *gvalue = guarded_str(value2048), *ok = guarded_str("ok");
    kvp_options options;
    kvp_store *full = NULL;
    char path[4200];

    CHECK_STATUS(kvp_insert(store, gkey, ok), KVP_ERR_KEY_TOO_LARGE);
    CHECK_STATUS(kvp_append(store, ok, gvalue), KVP_ERR_VALUE_TOO_LARGE);
    kvp_options_init(&options);
    options.mode = KVP_MODE_FULL;
    snprintf(path, sizeof path, "%s/limits", scratch);
    CHECK_OK(kvp_open(path, &options, &full));
    CHECK_STATUS(kvp_insert(full, gkey, ok), KVP_ERR_KEY_TOO_LARGE);
    CHECK_STATUS(kvp_insert(full, ok, gvalue), KVP_ERR_VALUE_TOO_LARGE);
    free_str(gkey);
    gkey = guarded_str(key511);
    CHECK_OK(kvp_insert(full, gkey, ok));
    CHECK(pool_len(store) == 1);
    kvp_close(full);
    kvp_close(store);
    free_str(gkey);
    free_str(gvalue);
    free_str(ok);
    free(key511);
    free(key512);
    free(value2048);
}

static void entries_arrays(void)
{
    kvp_store *store = open_in(scratch, "entries", NULL);
    kvp_entry *entries = (kvp_entry *)(void *)guarded(3 * sizeof(kvp_entry));
    char *k = guarded_str("k"), *v = guarded_str("v");

    entries[0].key = k;
    entries[0].value = v;
    entries[1].key = k;
    entries[1].value = v;
    entries[2].key = k;
    entries[2].value = v;
    CHECK_OK(kvp_append_many(store, entries, 3)); /* the array ends at the guard */
    CHECK(pool_len(store) == 3);
    CHECK_OK(kvp_append_many(store, NULL, 0));
    CHECK_OK(kvp_append_many(store, entries, 0));
    CHECK_STATUS(kvp_append_many(store, NULL, 2), KVP_ERR_NULL_ARGUMENT);
    entries[1].key = NULL;
    CHECK_STATUS(kvp_append_many(store, entries, 3), KVP_ERR_NULL_ARGUMENT);
    CHECK(strstr(kvp_last_error_message(), "1") != NULL); /* names the entry */
    entries[1].key = k;
    entries[2].value = NULL;
    CHECK_STATUS(kvp_append_many(store, entries, 3), KVP_ERR_NULL_ARGUMENT);
    entries[2].value = "";
    entries[0].key = "";
    CHECK_STATUS(kvp_append_many(store, entries, 3), KVP_ERR_EMPTY_KEY);
    CHECK(pool_len(store) == 3); /* no failed batch wrote anything */
    unguard((char *)(void *)entries, 3 * sizeof(kvp_entry));
    free_str(k);
    free_str(v);
    kvp_close(store);
}

static void extreme_arguments(void)
{
    static const int statuses[] = {INT_MIN, -1, (int)KVP_ERR_NO_VM_ID + 1, 1000, INT_MAX};
    kvp_options options;
    kvp_store *store = NULL;
    char path[4200];
    size_t i;

    for (i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        CHECK_STR(kvp_status_str(statuses[i]), "KVP_ERR_UNKNOWN_STATUS");
    }
    CHECK_STR(kvp_status_str(KVP_ERR_OTHER), "KVP_ERR_OTHER");
    snprintf(path, sizeof path, "%s/extreme", scratch);
    kvp_options_init(&options);
    options.mode = UINT32_MAX;
    CHECK_STATUS(kvp_open(path, &options, &store), KVP_ERR_UNKNOWN_NAME);
    kvp_options_init(&options);
    options.lock_timeout_ms = INT64_MIN;
    CHECK_STATUS(kvp_open(path, &options, &store), KVP_ERR_INVALID_ARGUMENT);
    kvp_options_init(&options);
    options.create_mode = UINT32_MAX;
    CHECK_STATUS(kvp_open(path, &options, &store), KVP_ERR_INVALID_ARGUMENT);
    CHECK(store == NULL);
    /* The longest timeout is accepted and, uncontended, never waited on. */
    kvp_options_init(&options);
    options.lock_timeout_ms = INT64_MAX;
    CHECK_OK(kvp_open(path, &options, &store));
    CHECK_OK(kvp_insert(store, "k", "v"));
    kvp_close(store);
    /* A path at the guard page, and an empty path. */
    {
        char *gpath = guarded_str(path);
        store = NULL;
        CHECK_OK(kvp_open(gpath, NULL, &store));
        CHECK(pool_len(store) == 1);
        kvp_close(store);
        free_str(gpath);
    }
    /* An empty path is refused at open, as open("") is, and the handle
     * is left untouched. */
    store = NULL;
    CHECK_STATUS(kvp_open("", NULL, &store), KVP_ERR_IO);
    CHECK(kvp_last_os_error() == ENOENT);
    CHECK(store == NULL);
}

static int count_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *entry;
    int n = 0;
    if (dir == NULL) return -1;
    while ((entry = readdir(dir)) != NULL) n += entry->d_name[0] != '.';
    closedir(dir);
    return n;
}

static void many_handles(void)
{
    int before = count_fds(), i;
    for (i = 0; i < 500; i++) {
        kvp_store *store = open_in(scratch, "many", NULL);
        if (i % 50 == 0) CHECK_OK(kvp_append(store, "k", "v"));
        kvp_close(store);
    }
    CHECK(count_fds() == before); /* handles hold no descriptor */
}

#define THREADS 8
#define ROUNDS 25

static kvp_store *shared;

static int count_records(void *ctx, const char *key, size_t key_len, const char *value, size_t value_len)
{
    (void)key;
    (void)value;
    CHECK(key[key_len] == '\0' && value[value_len] == '\0');
    (*(int *)ctx)++;
    return KVP_FOREACH_CONTINUE;
}

static void *mixed(void *arg)
{
    int id = (int)(intptr_t)arg, round, walked;
    char key[32], tmp[32], value[32], small[2], *json;
    size_t len, removed;

    snprintf(key, sizeof key, "own-%d", id);
    snprintf(tmp, sizeof tmp, "tmp-%d", id);
    for (round = 0; round < ROUNDS; round++) {
        snprintf(value, sizeof value, "value-%d-%d", id, round);
        CHECK_OK(kvp_insert(shared, key, value));
        CHECK_OK(kvp_append(shared, tmp, value));
        /* A short buffer from many threads: refused, size reported. */
        len = 0;
        CHECK_STATUS(kvp_read(shared, key, small, sizeof small, &len), KVP_ERR_BUFFER_TOO_SMALL);
        CHECK(len == strlen(value));
        walked = 0;
        CHECK_OK(kvp_foreach(shared, count_records, &walked));
        CHECK(walked >= 1);
        json = NULL;
        CHECK_OK(kvp_dump_json(shared, &json));
        CHECK(json != NULL && strstr(json, key) != NULL);
        kvp_string_free(json);
        if (round % 5 == 4) {
            CHECK_OK(kvp_delete(shared, tmp, &removed));
            CHECK(removed == 5);
        }
        /* Each thread's own error, not another's. */
        CHECK_STATUS(kvp_insert(shared, id % 2 ? "" : "\xff", "v"),
                     id % 2 ? KVP_ERR_EMPTY_KEY : KVP_ERR_INVALID_UTF8);
        CHECK(strstr(kvp_last_error_message(), id % 2 ? "empty" : "UTF-8") != NULL);
    }
    return NULL;
}

static void threads_mixed(void)
{
    pthread_t threads[THREADS];
    intptr_t i;
    shared = open_in(scratch, "threads", NULL);
    for (i = 0; i < THREADS; i++) CHECK(pthread_create(&threads[i], NULL, mixed, (void *)i) == 0);
    for (i = 0; i < THREADS; i++) CHECK(pthread_join(threads[i], NULL) == 0);
    CHECK(pool_len(shared) == THREADS); /* one own key each; every tmp deleted */
    kvp_close(shared);
}

int main(int argc, char **argv)
{
    scratch = scratch_dir(argc, argv);
    page = (size_t)sysconf(_SC_PAGESIZE);
    read_into_exact_buffers();
    limits_at_the_guard();
    entries_arrays();
    extreme_arguments();
    many_handles();
    threads_mixed();
    return check_report("ffi_misuse");
}

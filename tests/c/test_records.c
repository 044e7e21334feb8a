/* libkvp on whole pools: kvp_foreach, kvp_dump_json, staleness, the
 * unique-key cap, lock timeouts against a flock holder, and a pool with
 * bytes that are not UTF-8 written by a foreign writer, and a classic POSIX
 * record lock (hv_kvp_daemon's kind) held by another process.
 * Usage: test_records SCRATCH_DIR */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static const char *scratch;

struct walk {
    const kvp_store *store; /* when set, each callback also writes to it */
    int seen;
    int stop_after;
    char keys[8][16];
};

static int collect(void *ctx, const char *key, size_t key_len, const char *value, size_t value_len)
{
    struct walk *walk = ctx;
    CHECK(strlen(key) == key_len && strlen(value) == value_len);
    if (walk->seen < 8) {
        snprintf(walk->keys[walk->seen], sizeof walk->keys[0], "%s=%s", key, value);
    }
    walk->seen++;
    if (walk->store != NULL) {
        /* The lock is not held during callbacks: this must not deadlock. */
        CHECK_OK(kvp_append(walk->store, "added-in-callback", "1"));
    }
    return walk->seen == walk->stop_after ? KVP_FOREACH_STOP : KVP_FOREACH_CONTINUE;
}

static void test_foreach(void)
{
    kvp_store *store = open_in(scratch, "walk", NULL);
    struct walk walk;

    memset(&walk, 0, sizeof walk);
    CHECK_OK(kvp_foreach(store, collect, &walk)); /* the file does not exist yet */
    CHECK(walk.seen == 0);
    CHECK_OK(kvp_append(store, "a", "1"));
    CHECK_OK(kvp_append(store, "b", "2"));
    CHECK_OK(kvp_append(store, "a", "3"));
    CHECK_OK(kvp_foreach(store, collect, &walk));
    CHECK(walk.seen == 3);
    CHECK_STR(walk.keys[0], "a=1");
    CHECK_STR(walk.keys[1], "b=2");
    CHECK_STR(walk.keys[2], "a=3");

    memset(&walk, 0, sizeof walk);
    walk.stop_after = 2;
    CHECK_OK(kvp_foreach(store, collect, &walk));
    CHECK(walk.seen == 2);

    /* Writing from the callback: the walk sees the snapshot only. */
    memset(&walk, 0, sizeof walk);
    walk.store = store;
    CHECK_OK(kvp_foreach(store, collect, &walk));
    CHECK(walk.seen == 3);
    CHECK(pool_len(store) == 6);

    CHECK_STATUS(kvp_foreach(store, NULL, &walk), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_foreach(NULL, collect, &walk), KVP_ERR_NULL_ARGUMENT);
    kvp_close(store);
}

static void test_dump_json(void)
{
    kvp_store *store = open_in(scratch, "json", NULL);
    char *json = NULL;

    CHECK_OK(kvp_dump_json(store, &json));
    CHECK(json != NULL && strcmp(json, "[]") == 0);
    kvp_string_free(json);
    CHECK_OK(kvp_append(store, "k", "say \"hi\"\n"));
    CHECK_OK(kvp_append(store, "k", "2"));
    json = NULL;
    CHECK_OK(kvp_dump_json(store, &json));
    CHECK(json != NULL &&
          strcmp(json, "[{\"key\":\"k\",\"value\":\"say \\\"hi\\\"\\n\"},{\"key\":\"k\",\"value\":\"2\"}]") == 0);
    kvp_string_free(json);
    kvp_string_free(NULL);
    kvp_close(store);
}

/* Writes one raw 2560-byte record: key and value fields copied as given,
 * the value followed by a NUL and garbage, as hv_kvp_daemon leaves it. */
static void write_foreign_pool(const char *path)
{
    char record[KVP_KEY_SIZE + KVP_VALUE_SIZE];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    memset(record, 0, sizeof record);
    memcpy(record, "raw", 3);
    memcpy(record + KVP_KEY_SIZE, "\xff\xfe\0garbage", 10);
    CHECK(fd >= 0 && write(fd, record, sizeof record) == (ssize_t)sizeof record);
    if (fd >= 0) close(fd);
}

static int expect_raw(void *ctx, const char *key, size_t key_len, const char *value, size_t value_len)
{
    (void)ctx;
    CHECK(key_len == 3 && memcmp(key, "raw", 4) == 0);
    CHECK(value_len == 2 && memcmp(value, "\xff\xfe", 3) == 0);
    return KVP_FOREACH_CONTINUE;
}

static void test_foreign_bytes(void)
{
    char path[4096], buf[8];
    size_t len = 0;
    char *json = NULL;
    kvp_store *store;

    snprintf(path, sizeof path, "%s/foreign", scratch);
    write_foreign_pool(path);
    store = open_in(scratch, "foreign", NULL);
    CHECK_OK(kvp_read(store, "raw", buf, sizeof buf, &len));
    CHECK(len == 2 && memcmp(buf, "\xff\xfe", 3) == 0);
    CHECK_OK(kvp_foreach(store, expect_raw, NULL));
    CHECK_OK(kvp_dump_json(store, &json));
    CHECK(json != NULL && strstr(json, "\xef\xbf\xbd\xef\xbf\xbd") != NULL); /* two U+FFFD */
    kvp_string_free(json);
    kvp_close(store);
}

static void test_staleness(void)
{
    kvp_store *store = open_in(scratch, "stale", NULL);
    char path[4096];
    struct timeval long_ago[2] = {{31536000, 0}, {31536000, 0}}; /* 1971 */
    bool stale = true, cleared = true;

    CHECK_OK(kvp_is_stale(store, &stale));
    CHECK(stale == false); /* no file yet */
    CHECK_OK(kvp_append(store, "old", "boot"));
    CHECK_OK(kvp_is_stale(store, &stale));
    CHECK(stale == false);
    CHECK_OK(kvp_clear_if_stale(store, &cleared));
    CHECK(cleared == false && pool_len(store) == 1);

    snprintf(path, sizeof path, "%s/stale", scratch);
    CHECK(utimes(path, long_ago) == 0);
    CHECK_OK(kvp_is_stale(store, &stale));
    CHECK(stale == true);
    CHECK_OK(kvp_clear_if_stale(store, &cleared));
    CHECK(cleared == true && pool_len(store) == 0);
    CHECK(utimes(path, long_ago) == 0);
    CHECK_OK(kvp_clear_if_stale(store, NULL));
    CHECK_OK(kvp_is_stale(store, &stale));
    CHECK(stale == false);
    kvp_close(store);
}

static void test_unique_key_cap(void)
{
    kvp_store *store = open_in(scratch, "cap", NULL);
    static kvp_entry entries[KVP_MAX_UNIQUE_KEYS];
    static char keys[KVP_MAX_UNIQUE_KEYS][16];
    size_t i;

    for (i = 0; i < KVP_MAX_UNIQUE_KEYS; i++) {
        snprintf(keys[i], sizeof keys[i], "key-%04zu", i);
        entries[i].key = keys[i];
        entries[i].value = "v";
    }
    CHECK_OK(kvp_append_many(store, entries, KVP_MAX_UNIQUE_KEYS));
    CHECK(pool_len(store) == KVP_MAX_UNIQUE_KEYS);
    CHECK_STATUS(kvp_insert(store, "one-too-many", "v"), KVP_ERR_UNIQUE_KEY_LIMIT);
    CHECK(strstr(kvp_last_error_message(), "1024") != NULL);
    CHECK(pool_len(store) == KVP_MAX_UNIQUE_KEYS);
    CHECK_OK(kvp_insert(store, "key-0007", "updated")); /* an existing key is fine */
    CHECK_OK(kvp_append(store, "appended", "v"));      /* append has no cap */
    CHECK(pool_len(store) == KVP_MAX_UNIQUE_KEYS + 1);
    kvp_close(store);
}

static void test_lock_timeout(void)
{
    kvp_options options;
    kvp_store *store;
    char path[4096];
    size_t len = 5;
    int fd;

    kvp_options_init(&options);
    options.lock_timeout_ms = 50;
    store = open_in(scratch, "locked", &options);
    CHECK_OK(kvp_insert(store, "k", "v"));
    snprintf(path, sizeof path, "%s/locked", scratch);
    fd = open(path, O_RDWR | O_CLOEXEC);
    /* cloud-init's lock: flock on another open file description. */
    CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
    CHECK_STATUS(kvp_insert(store, "k", "w"), KVP_ERR_LOCK_TIMEOUT);
    CHECK(strstr(kvp_last_error_message(), path) != NULL);
    CHECK_STATUS(kvp_len(store, &len), KVP_ERR_LOCK_TIMEOUT);
    CHECK(len == 5);
    kvp_close(store);

    options.lock_timeout_ms = 0;
    store = open_in(scratch, "locked", &options);
    CHECK_STATUS(kvp_append(store, "k", "w"), KVP_ERR_LOCK_TIMEOUT);
    CHECK(flock(fd, LOCK_UN) == 0);
    CHECK_OK(kvp_append(store, "k", "w"));
    CHECK(pool_len(store) == 2);
    close(fd);
    kvp_close(store);
}

/* Another process holding hv_kvp_daemon's lock: fcntl(F_SETLKW, F_WRLCK)
 * over the whole file. Forked before any kvp call, so that under valgrind
 * the child owns no heap. It locks `path` when told to over `command`,
 * says so over `ack`, and exits (releasing the lock) at the next byte. */
struct daemon_like {
    pid_t pid;
    int command, ack;
};

static struct daemon_like start_daemon_like(const char *path)
{
    struct daemon_like child = {-1, -1, -1};
    int to_child[2], from_child[2];
    char byte = 0;

    if (pipe(to_child) != 0 || pipe(from_child) != 0) return child;
    child.pid = fork();
    if (child.pid == 0) {
        struct flock whole;
        int fd;
        memset(&whole, 0, sizeof whole);
        whole.l_type = F_WRLCK;
        whole.l_whence = SEEK_SET;
        if (read(to_child[0], &byte, 1) != 1) _exit(1);
        fd = open(path, O_RDWR);
        if (fd < 0 || fcntl(fd, F_SETLKW, &whole) != 0) _exit(1);
        if (write(from_child[1], "L", 1) != 1) _exit(1);
        if (read(to_child[0], &byte, 1) != 1) _exit(1);
        _exit(0);
    }
    close(to_child[0]);
    close(from_child[1]);
    child.command = to_child[1];
    child.ack = from_child[0];
    return child;
}

static void test_daemon_lock(struct daemon_like *child)
{
    kvp_options options;
    kvp_store *store;
    size_t len = 9;
    char byte = 0;
    int status = -1;

    kvp_options_init(&options);
    options.lock_timeout_ms = 50;
    store = open_in(scratch, "daemon-locked", &options);
    CHECK_OK(kvp_insert(store, "k", "v"));
    CHECK(child->pid > 0 && write(child->command, "L", 1) == 1 && read(child->ack, &byte, 1) == 1);
    /* Writers and readers both wait for the daemon's lock (OFD vs POSIX). */
    CHECK_STATUS(kvp_insert(store, "k", "w"), KVP_ERR_LOCK_TIMEOUT);
    CHECK_STATUS(kvp_len(store, &len), KVP_ERR_LOCK_TIMEOUT);
    CHECK(len == 9);
    CHECK(write(child->command, "U", 1) == 1 && waitpid(child->pid, &status, 0) == child->pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_OK(kvp_insert(store, "k", "w"));
    CHECK(pool_len(store) == 1);
    close(child->command);
    close(child->ack);
    kvp_close(store);
}

int main(int argc, char **argv)
{
    char daemon_path[4096];
    struct daemon_like child;

    scratch = scratch_dir(argc, argv);
    snprintf(daemon_path, sizeof daemon_path, "%s/daemon-locked", scratch);
    child = start_daemon_like(daemon_path);
    test_foreach();
    test_dump_json();
    test_foreign_bytes();
    test_staleness();
    test_unique_key_cap();
    test_lock_timeout();
    test_daemon_lock(&child);
    return check_report("test_records");
}

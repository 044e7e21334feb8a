/* Issue 11 (hardening) through the C ABI, one function per finding:
 *  1. an unprivileged user (nobody) holding a readable pool's flock and an
 *     OFD read lock: calls time out and name the flock holder, and
 *     kvp_options_init sets a finite default timeout;
 *  2. a store opened by path refuses another file put in place of its own;
 *  4. writes refuse a hardlinked, group/other-writable or foreign pool and
 *     change nothing; a delete that removes nothing writes nothing;
 *  5. whole-pool reads of a 4 GiB sparse pool are refused before memory
 *     grows with the file;
 *  7. kvp_last_error_message() is "" after a kvp_foreach whose callback
 *     made failing calls;
 * 12. lock_timeout_ms = INT64_MAX is a (very long) timeout, not a panic.
 * Needs root, as CI has: the attacker is a child that becomes nobody.
 * Usage: test_hardening SCRATCH_DIR */
#define _GNU_SOURCE /* F_OFD_SETLK, setgroups */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define NOBODY 65534
#define RECORD_SIZE (KVP_KEY_SIZE + KVP_VALUE_SIZE)

static const char *scratch;

static char *in_scratch(const char *name)
{
    static char paths[4][4096];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, sizeof paths[0], "%s/%s", scratch, name);
    return path;
}

/* One record as the format lays it out: NUL-padded key and value fields. */
static void make_record(char *record, const char *key, const char *value)
{
    memset(record, 0, RECORD_SIZE);
    memcpy(record, key, strlen(key));
    memcpy(record + KVP_KEY_SIZE, value, strlen(value));
}

/* Creates `path` with exactly `mode` (no umask) holding `len` bytes. */
static int write_file(const char *path, const char *bytes, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int ok = fd >= 0 && fchmod(fd, mode) == 0 && write(fd, bytes, len) == (ssize_t)len;
    if (fd >= 0) close(fd);
    return ok;
}

/* Whether `path` holds exactly `len` bytes equal to `bytes`. */
static int file_is(const char *path, const char *bytes, size_t len)
{
    static char found[2 * RECORD_SIZE];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got;
    if (fd < 0) return 0;
    got = read(fd, found, sizeof found);
    close(fd);
    return got == (ssize_t)len && memcmp(found, bytes, len) == 0;
}

/* ---- Finding 1: an unprivileged user holds the lock ---------------------- */

/* The attacker: a child that becomes nobody, opens the 0644 pool read-only
 * (all it may do), takes flock(LOCK_EX) and an OFD read lock, says 'R' on
 * `ready` and sleeps until `release` reaches end of file, then exits,
 * releasing both. Forked before any kvp call, so that under valgrind the
 * child owns no heap; it touches no stdio either. */
struct attacker {
    pid_t pid;
    int ready;   /* read end: 'R' once both locks are held */
    int release; /* write end: closing it ends the child */
};

static struct attacker start_attacker(const char *dir)
{
    struct attacker child = {-1, -1, -1};
    int ready[2], release[2];

    if (pipe(ready) != 0) return child;
    if (pipe(release) != 0) {
        close(ready[0]);
        close(ready[1]);
        return child;
    }
    child.pid = fork();
    if (child.pid == 0) {
        struct flock region;
        char byte;
        int dirfd, fd;
        close(ready[0]);
        close(release[1]);
        /* Root opens only the pool's directory (0755, as /var/lib/hyperv
         * is): the scratch directories above it are root's alone. */
        dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0 || setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0) _exit(10);
        if (getuid() != NOBODY || geteuid() != NOBODY || getegid() != NOBODY || setuid(0) == 0) _exit(11);
        /* Unprivileged indeed: the pool is not writable for nobody. */
        if (openat(dirfd, "pool", O_RDWR | O_CLOEXEC) >= 0 || errno != EACCES) _exit(12);
        fd = openat(dirfd, "pool", O_RDONLY | O_CLOEXEC);
        if (fd < 0) _exit(13);
        if (flock(fd, LOCK_EX) != 0) _exit(14);
        memset(&region, 0, sizeof region);
        region.l_type = F_RDLCK;
        region.l_whence = SEEK_SET;
        if (fcntl(fd, F_OFD_SETLK, &region) != 0) _exit(15);
        if (write(ready[1], "R", 1) != 1) _exit(16);
        while (read(release[0], &byte, 1) > 0) {
        }
        _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    child.ready = ready[0];
    child.release = release[1];
    if (child.pid < 0) {
        close(child.ready);
        close(child.release);
        child.ready = child.release = -1;
    }
    return child;
}

/* Ends the attacker and checks that it did all it was meant to. */
static void stop_attacker(struct attacker *child)
{
    int status = -1;
    if (child->release >= 0) close(child->release);
    if (child->ready >= 0) close(child->ready);
    child->release = child->ready = -1;
    if (child->pid <= 0) return;
    CHECK(waitpid(child->pid, &status, 0) == child->pid);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        fprintf(stderr, "FAIL: the attacker child ended with status %d (see start_attacker)\n", status);
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    child->pid = -1;
}

/* The attacker's pool, made before the fork: root's, 0644 as the daemon
 * makes pools, holding k=v, in a 0755 directory. */
static int make_attacked_pool(void)
{
    char record[RECORD_SIZE];
    const char *dir = in_scratch("attacked");
    make_record(record, "k", "v");
    return mkdir(dir, 0755) == 0 && chmod(dir, 0755) == 0 &&
           write_file(in_scratch("attacked/pool"), record, sizeof record, 0644);
}

/* Finding 12, contended: a read with the longest timeout waits for the
 * attacker and then succeeds. Run in a thread while main releases it. */
struct long_wait {
    kvp_store *store;
    int started; /* write end: says the thread is about to call */
    kvp_status status;
    char value[8];
};

static void *wait_long(void *arg)
{
    struct long_wait *wait = arg;
    size_t len = 0;
    CHECK(write(wait->started, "S", 1) == 1);
    wait->status = kvp_read(wait->store, "k", wait->value, sizeof wait->value, &len);
    return NULL;
}

static void test_finding1_unprivileged_lock_holder(struct attacker *child)
{
    kvp_options options;
    kvp_store *store = NULL;
    char record[RECORD_SIZE], buf[16] = "untouched", byte = 0;
    size_t len = 77;

    /* A finite default, at most 60 s; waiting forever only when asked. */
    memset(&options, 0xAB, sizeof options);
    kvp_options_init(&options);
    CHECK(KVP_DEFAULT_LOCK_TIMEOUT_MS == 30000);
    CHECK(options.lock_timeout_ms == KVP_DEFAULT_LOCK_TIMEOUT_MS);
    CHECK(options.lock_timeout_ms > 0 && options.lock_timeout_ms <= 60000);
    CHECK(KVP_LOCK_WAIT_FOREVER == -1);

    CHECK(child->pid > 0 && read(child->ready, &byte, 1) == 1 && byte == 'R');
    options.lock_timeout_ms = 300;
    CHECK_OK(kvp_open(in_scratch("attacked/pool"), &options, &store));
    CHECK_STATUS(kvp_read(store, "k", buf, sizeof buf, &len), KVP_ERR_LOCK_TIMEOUT);
    CHECK_MESSAGE_HAS("holds a flock");
    CHECK_MESSAGE_HAS(in_scratch("attacked/pool"));
    CHECK(len == 77 && strcmp(buf, "untouched") == 0);
    CHECK_STATUS(kvp_insert(store, "k", "w"), KVP_ERR_LOCK_TIMEOUT);
    CHECK_MESSAGE_HAS("holds a flock");
    make_record(record, "k", "v");
    CHECK(file_is(in_scratch("attacked/pool"), record, sizeof record));

    /* Finding 12 under contention: INT64_MAX waits as long as the lock is
     * held, then goes ahead. Whether the release comes before or during
     * the wait, the read must succeed; the pause only makes "during" the
     * likely case. */
    {
        struct long_wait wait;
        struct timespec pause = {0, 100 * 1000 * 1000};
        pthread_t thread;
        int started[2];
        memset(&wait, 0, sizeof wait);
        options.lock_timeout_ms = INT64_MAX;
        CHECK_OK(kvp_open(in_scratch("attacked/pool"), &options, &wait.store));
        CHECK(pipe(started) == 0);
        wait.started = started[1];
        CHECK(pthread_create(&thread, NULL, wait_long, &wait) == 0);
        CHECK(read(started[0], &byte, 1) == 1);
        nanosleep(&pause, NULL);
        stop_attacker(child);
        CHECK(pthread_join(thread, NULL) == 0);
        CHECK_STATUS(wait.status, KVP_OK);
        CHECK_STR(wait.value, "v");
        close(started[0]);
        close(started[1]);
        kvp_close(wait.store);
    }

    /* With the attacker gone, the same store works. */
    CHECK_OK(kvp_insert(store, "k", "w"));
    CHECK_OK(kvp_read(store, "k", buf, sizeof buf, &len));
    CHECK(len == 1 && strcmp(buf, "w") == 0);
    kvp_close(store);
}

/* ---- Finding 2, C side: a store opened by path pins its file --------------- */

static void test_finding2_replaced_pool(void)
{
    char original[RECORD_SIZE], planted[RECORD_SIZE], buf[16] = "untouched";
    kvp_store *store = open_in(scratch, "pinned.pool", NULL);
    size_t len = 5;

    CHECK_OK(kvp_insert(store, "k", "v"));
    /* Someone renames the pool away and puts another file in its place. */
    make_record(original, "k", "v");
    make_record(planted, "k", "planted");
    CHECK(rename(in_scratch("pinned.pool"), in_scratch("pinned.old")) == 0);
    CHECK(write_file(in_scratch("pinned.pool"), planted, sizeof planted, 0600));
    CHECK_STATUS(kvp_read(store, "k", buf, sizeof buf, &len), KVP_ERR_POOL_REPLACED);
    CHECK_MESSAGE_HAS("replaced");
    CHECK(len == 5 && strcmp(buf, "untouched") == 0);
    CHECK_STATUS(kvp_insert(store, "k", "w"), KVP_ERR_POOL_REPLACED);
    CHECK(file_is(in_scratch("pinned.pool"), planted, sizeof planted));
    CHECK(file_is(in_scratch("pinned.old"), original, sizeof original));
    kvp_close(store);
    /* Opened again, the store takes the file that is there now. */
    store = open_in(scratch, "pinned.pool", NULL);
    CHECK_OK(kvp_read(store, "k", buf, sizeof buf, &len));
    CHECK_STR(buf, "planted");
    kvp_close(store);
}

/* ---- Finding 4: writes that would damage other files --------------------- */

static void test_finding4_unsafe_pools(void)
{
    static char victim[RECORD_SIZE + 1540];
    char record[RECORD_SIZE], buf[16];
    kvp_store *store = NULL;
    kvp_options options;
    size_t removed = 42, len = 0;
    struct stat info;

    /* A pool that is a hardlink to another file, 4100 bytes: one record
     * and a torn tail. A delete of nothing used to cut the tail off. */
    make_record(victim, "k", "v");
    memset(victim + RECORD_SIZE, 'T', sizeof victim - RECORD_SIZE);
    CHECK(write_file(in_scratch("victim"), victim, sizeof victim, 0600));
    CHECK(link(in_scratch("victim"), in_scratch("hardlinked.pool")) == 0);
    store = open_in(scratch, "hardlinked.pool", NULL);
    CHECK_STATUS(kvp_delete(store, "no-such-key", &removed), KVP_ERR_UNSAFE_POOL);
    CHECK_MESSAGE_HAS("2 hard links");
    CHECK(removed == 42);
    CHECK(file_is(in_scratch("victim"), victim, sizeof victim));
    CHECK(file_is(in_scratch("hardlinked.pool"), victim, sizeof victim));
    CHECK_STATUS(kvp_insert(store, "k", "planted"), KVP_ERR_UNSAFE_POOL);
    CHECK_STATUS(kvp_append(store, "k2", "planted"), KVP_ERR_UNSAFE_POOL);
    CHECK_STATUS(kvp_delete(store, "k", NULL), KVP_ERR_UNSAFE_POOL);
    CHECK_STATUS(kvp_clear(store), KVP_ERR_UNSAFE_POOL);
    CHECK(file_is(in_scratch("victim"), victim, sizeof victim));
    /* Reads are still allowed. */
    CHECK_OK(kvp_read(store, "k", buf, sizeof buf, &len));
    CHECK_STR(buf, "v");
    kvp_close(store);

    /* A pool opened through a symlink (as kvp --file does) to such a file:
     * followed, since root owns it; a delete of nothing writes nothing. */
    CHECK(write_file(in_scratch("symlink-target"), victim, sizeof victim, 0600));
    CHECK(symlink(in_scratch("symlink-target"), in_scratch("symlinked.pool")) == 0);
    store = open_in(scratch, "symlinked.pool", NULL);
    removed = 42;
    CHECK_OK(kvp_delete(store, "no-such-key", &removed));
    CHECK(removed == 0);
    CHECK(file_is(in_scratch("symlink-target"), victim, sizeof victim));
    kvp_close(store);

    /* A 0666 pool owned by root (an attacker pre-created it, root
     * chowned it, or a umask of 0 made it): refused, nothing written. */
    make_record(record, "k", "v");
    CHECK(write_file(in_scratch("world-writable.pool"), record, sizeof record, 0666));
    store = open_in(scratch, "world-writable.pool", NULL);
    CHECK_STATUS(kvp_insert(store, "secret", "s3cr3t"), KVP_ERR_UNSAFE_POOL);
    CHECK_MESSAGE_HAS("0666");
    CHECK_STATUS(kvp_delete(store, "k", NULL), KVP_ERR_UNSAFE_POOL);
    CHECK(file_is(in_scratch("world-writable.pool"), record, sizeof record));
    CHECK(stat(in_scratch("world-writable.pool"), &info) == 0 && (info.st_mode & 07777) == 0666);
    kvp_close(store);

    /* Group-writable is refused the same way. */
    CHECK(write_file(in_scratch("group-writable.pool"), record, sizeof record, 0620));
    store = open_in(scratch, "group-writable.pool", NULL);
    CHECK_STATUS(kvp_append(store, "secret", "s3cr3t"), KVP_ERR_UNSAFE_POOL);
    CHECK(file_is(in_scratch("group-writable.pool"), record, sizeof record));
    kvp_close(store);

    /* Owned by another user than the caller and root. */
    CHECK(write_file(in_scratch("foreign.pool"), record, sizeof record, 0644));
    CHECK(chown(in_scratch("foreign.pool"), NOBODY, NOBODY) == 0);
    store = open_in(scratch, "foreign.pool", NULL);
    CHECK_STATUS(kvp_insert(store, "secret", "s3cr3t"), KVP_ERR_UNSAFE_POOL);
    CHECK_MESSAGE_HAS("65534");
    CHECK(file_is(in_scratch("foreign.pool"), record, sizeof record));
    kvp_close(store);

    /* Nor can the library itself create such a pool. */
    kvp_options_init(&options);
    options.create_mode = 0666;
    store = NULL;
    CHECK_STATUS(kvp_open(in_scratch("created.pool"), &options, &store), KVP_ERR_INVALID_ARGUMENT);
    options.create_mode = 0620;
    CHECK_STATUS(kvp_open(in_scratch("created.pool"), &options, &store), KVP_ERR_INVALID_ARGUMENT);
    options.create_mode = 01644; /* the sticky bit: over 0777 */
    CHECK_STATUS(kvp_open(in_scratch("created.pool"), &options, &store), KVP_ERR_INVALID_ARGUMENT);
    CHECK(store == NULL);
    options.create_mode = 0644;
    CHECK_OK(kvp_open(in_scratch("created.pool"), &options, &store));
    CHECK_OK(kvp_insert(store, "k", "v"));
    kvp_close(store);
}

/* ---- Finding 5: memory bounded on a huge pool ----------------------------- */

static long max_rss_kb(void)
{
    struct rusage usage;
    return getrusage(RUSAGE_SELF, &usage) == 0 ? usage.ru_maxrss : -1;
}

static int count_records(void *ctx, const char *key, size_t key_len, const char *value, size_t value_len)
{
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    (*(size_t *)ctx)++;
    return KVP_FOREACH_CONTINUE;
}

static void test_finding5_huge_sparse_pool(void)
{
    const off_t size = (off_t)4 << 30;
    const char *path = in_scratch("sparse.pool");
    kvp_store *store = NULL, *small = NULL;
    char *json = (char *)&store, *const sentinel = json;
    size_t seen = 0, len = 0;
    struct stat info;
    long before, grown;
    int fd;

    /* 4 GiB of zeros with no block on disk: 1677721 empty-key records. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    CHECK(fd >= 0 && ftruncate(fd, size) == 0);
    if (fd >= 0) close(fd);
    CHECK(stat(path, &info) == 0 && info.st_size == size && info.st_blocks == 0);

    /* The same entry points once on a small pool first, so that what they
     * cost to load (and valgrind to translate) is not counted below. */
    small = open_in(scratch, "small.pool", NULL);
    CHECK_OK(kvp_append(small, "k", "v"));
    CHECK_OK(kvp_foreach(small, count_records, &seen));
    CHECK_OK(kvp_dump_json(small, &json));
    kvp_string_free(json);
    json = sentinel;
    kvp_close(small);
    seen = 0;
    store = open_in(scratch, "sparse.pool", NULL);
    CHECK_OK(kvp_len(store, &len));
    CHECK(len == (size_t)(size / RECORD_SIZE));

    before = max_rss_kb();
    CHECK_STATUS(kvp_foreach(store, count_records, &seen), KVP_ERR_POOL_TOO_LARGE);
    CHECK_MESSAGE_HAS("4294967296 bytes");
    CHECK(seen == 0);
    CHECK_STATUS(kvp_dump_json(store, &json), KVP_ERR_POOL_TOO_LARGE);
    CHECK(json == sentinel);
    grown = max_rss_kb() - before;
    printf("4 GiB sparse pool: kvp_foreach and kvp_dump_json grew max RSS by %ld KB\n", grown);
    /* Reading it whole took 78 MB (foreach) and 155 MB (dump) before. */
    CHECK(before > 0 && grown >= 0 && grown < 8 * 1024);
    CHECK(stat(path, &info) == 0 && info.st_size == size);
    kvp_close(store);
    CHECK(unlink(path) == 0);
}

/* ---- Finding 7: the last error after a successful kvp_foreach ------------- */

struct failing_walk {
    const kvp_store *store;
    const char *bad_path;
    int calls;
    int nested_failures; /* each nested call failed, with its own message */
};

static int fail_inside(void *ctx, const char *key, size_t key_len, const char *value, size_t value_len)
{
    struct failing_walk *walk = ctx;
    kvp_store *other = NULL;
    char buf[4];
    size_t len = 0;
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    walk->calls++;
    walk->nested_failures += kvp_insert(walk->store, NULL, "v") == KVP_ERR_NULL_ARGUMENT &&
                             strcmp(kvp_last_error_message(), "key is NULL") == 0;
    walk->nested_failures += kvp_read(walk->store, "absent", buf, sizeof buf, &len) == KVP_ERR_NOT_FOUND &&
                             kvp_last_error_message()[0] != '\0';
    /* An I/O failure sets kvp_last_os_error() too. */
    walk->nested_failures += kvp_open(walk->bad_path, NULL, &other) == KVP_ERR_IO &&
                             kvp_last_os_error() == ENOTDIR;
    return KVP_FOREACH_CONTINUE;
}

static void test_finding7_foreach_leaves_no_error(void)
{
    kvp_store *store = open_in(scratch, "walk.pool", NULL);
    struct failing_walk walk;

    CHECK_OK(kvp_append(store, "a", "1"));
    CHECK_OK(kvp_append(store, "b", "2"));
    memset(&walk, 0, sizeof walk);
    walk.store = store;
    walk.bad_path = in_scratch("walk.pool/below-a-file");
    CHECK_OK(kvp_foreach(store, fail_inside, &walk));
    CHECK(walk.calls == 2 && walk.nested_failures == 6);
    /* The header: "" after a success, and no errno either. */
    CHECK(kvp_last_error_message() != NULL);
    CHECK_STR(kvp_last_error_message(), "");
    CHECK(kvp_last_os_error() == 0);
    kvp_close(store);
}

/* ---- Finding 12: the longest timeout ---------------------------------------- */

static void test_finding12_longest_timeout(void)
{
    kvp_options options;
    kvp_store *store = NULL;
    char buf[8];
    size_t len = 0;

    kvp_options_init(&options);
    options.lock_timeout_ms = INT64_MAX;
    CHECK_OK(kvp_open(in_scratch("longest-timeout.pool"), &options, &store));
    CHECK_OK(kvp_insert(store, "k", "v"));
    CHECK_OK(kvp_read(store, "k", buf, sizeof buf, &len));
    CHECK(len == 1 && strcmp(buf, "v") == 0);
    CHECK(pool_len(store) == 1);
    kvp_close(store);
    /* And by pool number. */
    store = NULL;
    CHECK_OK(kvp_open_pool(KVP_POOL_ID_GUEST, in_scratch("longest-timeout"), &options, &store));
    CHECK_OK(kvp_insert(store, "k", "v"));
    kvp_close(store);
}

int main(int argc, char **argv)
{
    struct attacker child;

    scratch = scratch_dir(argc, argv);
    if (geteuid() != 0) {
        /* Never a skip: CI runs as root, and these cases need it. */
        fprintf(stderr, "FAIL: test_hardening must run as root (the attacker becomes nobody)\n");
        return 1;
    }
    if (!make_attacked_pool()) {
        perror("test_hardening: creating the attacked pool");
        return 1;
    }
    child = start_attacker(in_scratch("attacked"));
    test_finding5_huge_sparse_pool(); /* first: max RSS is lowest now */
    test_finding1_unprivileged_lock_holder(&child);
    stop_attacker(&child);
    test_finding2_replaced_pool();
    test_finding4_unsafe_pools();
    test_finding7_foreach_leaves_no_error();
    test_finding12_longest_timeout();
    return check_report("test_hardening");
}

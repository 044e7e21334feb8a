/* The hostile corpus (tests/reliability/make_corpus.py) through the C ABI,
 * each file with the outcome docs/RELIABILITY.md writes down. Also a
 * read-only and a full tmpfs, mounted in a private mount namespace of a
 * child process (needs root, as CI has). Reading the 100 MB file must grow
 * the process by less than 16 MB (getrusage); the suite runs this under
 * `timeout`, so a hang fails too.
 * Usage: hostile CORPUS_DIR SCRATCH_DIR */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static const char *corpus;
static const char *scratch;

static char *in(const char *dir, const char *name)
{
    static char path[4][4096];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    return p;
}

static off_t size_of(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0 ? info.st_size : -1;
}

/* Records as "key=value;" with non-printable bytes as \xNN, for comparison. */
struct listing {
    char text[8192];
    size_t count;
    size_t key_len[8];
    size_t value_len[8];
};

static void put_escaped(char *out, size_t cap, const char *s, size_t len)
{
    size_t used = strlen(out), i;
    for (i = 0; i < len && used + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        used += (size_t)snprintf(out + used, cap - used, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
    }
}

static int collect(void *ctx, const char *key, size_t key_len, const char *value, size_t value_len)
{
    struct listing *l = ctx;
    size_t used;
    CHECK(key[key_len] == '\0' && value[value_len] == '\0');
    if (l->count < 8) {
        l->key_len[l->count] = key_len;
        l->value_len[l->count] = value_len;
    }
    l->count++;
    if (key_len > 64 || value_len > 64) {
        used = strlen(l->text);
        snprintf(l->text + used, sizeof l->text - used, "<%zu bytes>=<%zu bytes>;", key_len, value_len);
        return KVP_FOREACH_CONTINUE;
    }
    put_escaped(l->text, sizeof l->text, key, key_len);
    strncat(l->text, "=", sizeof l->text - strlen(l->text) - 1);
    put_escaped(l->text, sizeof l->text, value, value_len);
    strncat(l->text, ";", sizeof l->text - strlen(l->text) - 1);
    return KVP_FOREACH_CONTINUE;
}

static struct listing list(const kvp_store *store)
{
    struct listing l;
    memset(&l, 0, sizeof l);
    CHECK_OK(kvp_foreach(store, collect, &l));
    return l;
}

static void check_read(const kvp_store *store, const char *key, const char *want)
{
    char buf[KVP_VALUE_SIZE];
    size_t len = 0;
    CHECK_OK(kvp_read(store, key, buf, sizeof buf, &len));
    CHECK(len == strlen(want));
    CHECK_STR(buf, want);
}

static kvp_store *open_path(const char *path, uint32_t mode)
{
    kvp_options options;
    kvp_store *store = NULL;
    kvp_options_init(&options);
    options.mode = mode;
    CHECK_OK(kvp_open(path, &options, &store));
    return store;
}

static void partial_tail(void)
{
    const char *path = in(corpus, "partial-tail.pool");
    kvp_store *store = open_path(path, KVP_MODE_SAFE);
    struct listing l = list(store);
    CHECK(pool_len(store) == 2);
    CHECK_STR(l.text, "first=1;second=2;");
    check_read(store, "second", "2");
    CHECK(size_of(path) == 2 * 2560 + 1000); /* reading changes nothing */
    /* The next write drops the torn tail, as the daemon's next rewrite does. */
    CHECK_OK(kvp_append(store, "third", "3"));
    CHECK(size_of(path) == 3 * 2560);
    l = list(store);
    CHECK_STR(l.text, "first=1;second=2;third=3;");
    kvp_close(store);
}

static void garbage_after_nul(void)
{
    kvp_store *store = open_path(in(corpus, "garbage-after-nul.pool"), KVP_MODE_SAFE);
    struct listing l = list(store);
    char *json = NULL;
    CHECK_STR(l.text, "key=value;k2=v2;");
    check_read(store, "key", "value");
    CHECK_OK(kvp_dump_json(store, &json));
    CHECK(json != NULL && strstr(json, "GARBAGE") == NULL);
    kvp_string_free(json);
    kvp_close(store);
}

static void no_nul(void)
{
    kvp_store *store = open_path(in(corpus, "no-nul.pool"), KVP_MODE_FULL);
    struct listing l = list(store);
    char key[KVP_KEY_SIZE + 1], buf[KVP_VALUE_SIZE + 1];
    size_t len = 0;
    /* A full field is the text: 512 key bytes, 2048 value bytes, never more. */
    CHECK_STR(l.text, "<512 bytes>=<2048 bytes>;after=ok;");
    CHECK(l.key_len[0] == KVP_KEY_SIZE && l.value_len[0] == KVP_VALUE_SIZE);
    memset(key, 'K', KVP_KEY_SIZE);
    key[KVP_KEY_SIZE] = '\0';
    /* Such a value needs KVP_VALUE_SIZE + 1 bytes: the size protocol says so. */
    CHECK_STATUS(kvp_read(store, key, buf, KVP_VALUE_SIZE, &len), KVP_ERR_BUFFER_TOO_SMALL);
    CHECK(len == KVP_VALUE_SIZE);
    CHECK_OK(kvp_read(store, key, buf, sizeof buf, &len));
    CHECK(len == KVP_VALUE_SIZE && buf[0] == 'V' && buf[KVP_VALUE_SIZE - 1] == 'V' && buf[KVP_VALUE_SIZE] == '\0');
    /* Writing such a key is refused (no room for its NUL); others work. */
    CHECK_STATUS(kvp_insert(store, key, "v"), KVP_ERR_KEY_TOO_LARGE);
    CHECK_OK(kvp_insert(store, "after", "new"));
    l = list(store);
    CHECK_STR(l.text, "<512 bytes>=<2048 bytes>;after=new;");
    kvp_close(store);
}

static void invalid_utf8(void)
{
    kvp_store *store = open_path(in(corpus, "invalid-utf8.pool"), KVP_MODE_SAFE);
    struct listing l = list(store);
    char buf[64], *json = NULL;
    size_t len = 0;
    /* The exact bytes reach C, undecoded. */
    CHECK_STR(l.text, "bad-\\xff\\xfe=\\xc3( broken;latin1=caf\\xe9;after=ok;");
    check_read(store, "latin1", "caf\xe9");
    /* Keys a caller passes must be UTF-8, so that key cannot be named. */
    CHECK_STATUS(kvp_read(store, "bad-\xff\xfe", buf, sizeof buf, &len), KVP_ERR_INVALID_UTF8);
    CHECK_STATUS(kvp_delete(store, "bad-\xff\xfe", &len), KVP_ERR_INVALID_UTF8);
    CHECK_OK(kvp_dump_json(store, &json));
    CHECK(json != NULL && strstr(json, "bad-\xef\xbf\xbd\xef\xbf\xbd") != NULL); /* U+FFFD */
    kvp_string_free(json);
    CHECK(pool_len(store) == 3);
    kvp_close(store);
}

static void all_zero(void)
{
    kvp_store *store = open_path(in(corpus, "all-zero.pool"), KVP_MODE_SAFE);
    struct listing l = list(store);
    char buf[8];
    size_t len = 0, removed = 0;
    CHECK(l.count == 3 && l.key_len[0] == 0 && l.value_len[2] == 0);
    CHECK_STATUS(kvp_read(store, "k", buf, sizeof buf, &len), KVP_ERR_NOT_FOUND);
    CHECK_OK(kvp_insert(store, "k", "v"));
    CHECK(pool_len(store) == 4);
    /* A delete accepts any key, the empty one too: it removes them all. */
    CHECK_OK(kvp_delete(store, "", &removed));
    CHECK(removed == 3 && pool_len(store) == 1);
    check_read(store, "k", "v");
    kvp_close(store);
}

static long max_rss_kb(void)
{
    struct rusage usage;
    return getrusage(RUSAGE_SELF, &usage) == 0 ? usage.ru_maxrss : -1;
}

static void huge(void)
{
    const char *path = in(corpus, "huge.pool");
    kvp_store *store = open_path(path, KVP_MODE_SAFE);
    long before = max_rss_kb(), grown;
    size_t removed = 99;
    CHECK(pool_len(store) == 100 * 1024 * 1024 / 2560 + 1);
    check_read(store, "needle", "found");
    CHECK_OK(kvp_delete(store, "absent", &removed));
    CHECK(removed == 0);
    grown = max_rss_kb() - before;
    printf("huge: 100 MiB pool read and scanned; max RSS %ld KB, grown by %ld KB\n", max_rss_kb(), grown);
    CHECK(grown >= 0 && grown < 16 * 1024);
    kvp_close(store);
}

static void not_regular_files(void)
{
    kvp_store *store = NULL;
    CHECK_STATUS(kvp_open(in(corpus, "directory.pool"), NULL, &store), KVP_ERR_NOT_A_REGULAR_FILE);
    /* O_NONBLOCK and the type check: a FIFO neither hangs nor is read. */
    CHECK_STATUS(kvp_open(in(corpus, "fifo.pool"), NULL, &store), KVP_ERR_NOT_A_REGULAR_FILE);
    CHECK(store == NULL);
}

static void symlink_pool(void)
{
    const char *target = in(corpus, "symlink-target.pool");
    kvp_store *store = NULL;
    off_t before = size_of(target);
    /* By pool number: a symlink in place of the pool file is refused at
     * open, before anything is opened through it. */
    CHECK_STATUS(kvp_open_pool(KVP_POOL_ID_GUEST, in(corpus, "symlink-dir"), NULL, &store),
                 KVP_ERR_NOT_A_REGULAR_FILE);
    CHECK(store == NULL && size_of(target) == before);
    /* By explicit path: the caller chose it, so it is followed. */
    store = open_path(in(corpus, "symlink-dir/.kvp_pool_1"), KVP_MODE_SAFE);
    check_read(store, "k", "target");
    kvp_close(store);
}

/* Runs `body` in a child process and checks it exited 0. */
static void in_child(const char *what, void (*body)(void))
{
    pid_t pid;
    int status = 0;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        /* The child reports its own failures through its exit status. */
        atomic_store(&checks_failed, 0);
        body();
        fflush(stdout);
        _exit(atomic_load(&checks_failed) == 0 ? 0 : 1);
    }
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) fprintf(stderr, "FAIL: %s (child)\n", what);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void as_nobody(void)
{
    const char *path = in(corpus, "noperm/pool");
    kvp_store *store;
    char buf[8];
    size_t len = 0;
    if (setgid(65534) != 0 || setuid(65534) != 0) {
        fprintf(stderr, "cannot become nobody (run as root)\n");
        _exit(3);
    }
    store = open_path(path, KVP_MODE_SAFE);
    CHECK_STATUS(kvp_read(store, "k", buf, sizeof buf, &len), KVP_ERR_IO);
    CHECK(kvp_last_os_error() == EACCES && strstr(kvp_last_error_message(), path) != NULL);
    CHECK_STATUS(kvp_insert(store, "k", "v2"), KVP_ERR_IO);
    CHECK(kvp_last_os_error() == EACCES);
    kvp_close(store);
}

static void no_permission(void)
{
    off_t before = size_of(in(corpus, "noperm/pool"));
    in_child("no permission as nobody", as_nobody);
    CHECK(size_of(in(corpus, "noperm/pool")) == before);
}

/* A tmpfs of `options` at `dir`, in a mount namespace of this process only. */
static int private_tmpfs(const char *dir, const char *options)
{
    if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", dir, "tmpfs", 0, options) != 0) {
        fprintf(stderr, "cannot mount a private tmpfs at %s: %s (run as root)\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static void read_only_body(void)
{
    char dir[4096], path[4200];
    kvp_store *store;
    size_t removed = 0;
    snprintf(dir, sizeof dir, "%s/ro", scratch);
    snprintf(path, sizeof path, "%s/pool", dir);
    if (private_tmpfs(dir, "size=1m") != 0) _exit(3);
    store = open_path(path, KVP_MODE_SAFE);
    CHECK_OK(kvp_append(store, "k", "v"));
    CHECK_OK(kvp_append(store, "k2", "v2"));
    CHECK(mount("tmpfs", dir, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL) == 0);
    check_read(store, "k", "v");
    CHECK_STATUS(kvp_insert(store, "k", "new"), KVP_ERR_IO);
    CHECK(kvp_last_os_error() == EROFS);
    CHECK_STATUS(kvp_append(store, "k3", "v3"), KVP_ERR_IO);
    CHECK(kvp_last_os_error() == EROFS);
    CHECK_STATUS(kvp_delete(store, "k", &removed), KVP_ERR_IO);
    CHECK(kvp_last_os_error() == EROFS);
    CHECK_STATUS(kvp_clear(store), KVP_ERR_IO);
    CHECK(pool_len(store) == 2 && size_of(path) == 2 * 2560);
    kvp_close(store);
}

static void full_disk_body(void)
{
    char dir[4096], path[4200];
    kvp_store *store;
    static char value[2001];
    char key[32];
    size_t written = 0, removed = 0;
    kvp_status status = KVP_OK;
    struct listing l;
    snprintf(dir, sizeof dir, "%s/full", scratch);
    snprintf(path, sizeof path, "%s/pool", dir);
    if (private_tmpfs(dir, "size=64k") != 0) _exit(3);
    store = open_path(path, KVP_MODE_FULL);
    memset(value, 'v', 2000);
    while (written < 1000) {
        snprintf(key, sizeof key, "key-%zu", written);
        if ((status = kvp_append(store, key, value)) != KVP_OK) break;
        written++;
    }
    CHECK_STATUS(status, KVP_ERR_IO);
    CHECK(kvp_last_os_error() == ENOSPC);
    CHECK(written > 0 && written < 1000);
    CHECK(size_of(path) == (off_t)(written * 2560)); /* no torn record */
    l = list(store);
    CHECK(l.count == written && l.value_len[0] == 2000);
    /* In-place updates need no new space; a delete frees some. */
    CHECK_OK(kvp_insert(store, "key-0", "small"));
    CHECK_OK(kvp_delete(store, "key-1", &removed));
    CHECK(removed == 1);
    CHECK_OK(kvp_append(store, "after-delete", "fits again"));
    CHECK(pool_len(store) == written);
    printf("full disk: %zu records fitted, then ENOSPC with no torn record\n", written);
    kvp_close(store);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: hostile CORPUS_DIR SCRATCH_DIR\n");
        return 2;
    }
    corpus = argv[1];
    scratch = argv[2];
    if (mkdir(in(scratch, "ro"), 0755) != 0 || mkdir(in(scratch, "full"), 0755) != 0) {
        perror("mkdir");
        return 2;
    }
    partial_tail();
    garbage_after_nul();
    no_nul();
    invalid_utf8();
    all_zero();
    huge();
    not_regular_files();
    symlink_pool();
    no_permission();
    in_child("read-only filesystem", read_only_body);
    in_child("full filesystem", full_disk_body);
    return check_report("hostile (C ABI)");
}

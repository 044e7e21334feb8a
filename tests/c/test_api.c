/* Every entry point and every status code of libkvp, single-threaded:
 * NULL arguments, invalid UTF-8, the read size protocol, size limits in
 * both modes, batches, options and failing opens. Run under valgrind by
 * tests/suites/20-c.sh. Usage: test_api SCRATCH_DIR */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "check.h"

static const char *scratch;

static void test_version_and_status_names(void)
{
    char expected[64];
    static const char *const names[] = {
        "KVP_OK", "KVP_ERR_NULL_ARGUMENT", "KVP_ERR_INVALID_UTF8", "KVP_ERR_INVALID_ARGUMENT",
        "KVP_ERR_BUFFER_TOO_SMALL", "KVP_ERR_NOT_FOUND", "KVP_ERR_PANIC", "KVP_ERR_EMPTY_KEY",
        "KVP_ERR_NUL_BYTE", "KVP_ERR_KEY_TOO_LARGE", "KVP_ERR_VALUE_TOO_LARGE",
        "KVP_ERR_UNIQUE_KEY_LIMIT", "KVP_ERR_LOCK_TIMEOUT", "KVP_ERR_NOT_A_REGULAR_FILE",
        "KVP_ERR_UNKNOWN_NAME", "KVP_ERR_IO", "KVP_ERR_OTHER", "KVP_ERR_UNSAFE_POOL",
        "KVP_ERR_POOL_REPLACED", "KVP_ERR_POOL_TOO_LARGE", "KVP_ERR_INVALID_FIELD",
        "KVP_ERR_FIELD_TOO_LARGE", "KVP_ERR_UNSUPPORTED", "KVP_ERR_NO_VM_ID",
    };
    int code;

    snprintf(expected, sizeof expected, "%d.%d.%d", KVP_VERSION_MAJOR, KVP_VERSION_MINOR,
             KVP_VERSION_PATCH);
    CHECK_STR(kvp_version(), expected);
    CHECK(KVP_OK == 0);
    for (code = 0; code <= (int)KVP_ERR_NO_VM_ID; code++) {
        CHECK_STR(kvp_status_str(code), names[code]);
    }
    CHECK(sizeof names / sizeof names[0] == (size_t)KVP_ERR_NO_VM_ID + 1);
    CHECK_STR(kvp_status_str(-1), "KVP_ERR_UNKNOWN_STATUS");
    CHECK_STR(kvp_status_str((int)KVP_ERR_NO_VM_ID + 1), "KVP_ERR_UNKNOWN_STATUS");
    CHECK_STR(kvp_status_str(INT_MAX), "KVP_ERR_UNKNOWN_STATUS");
    CHECK_STR(kvp_status_str(INT_MIN), "KVP_ERR_UNKNOWN_STATUS");
}

static void test_last_error(void)
{
    kvp_store *store = open_in(scratch, "last-error", NULL);

    CHECK(kvp_last_error_message() != NULL);
    CHECK_STR(kvp_last_error_message(), "");
    CHECK_STATUS(kvp_insert(store, NULL, "v"), KVP_ERR_NULL_ARGUMENT);
    CHECK_STR(kvp_last_error_message(), "key is NULL");
    /* kvp_status_str and kvp_version leave it alone. */
    (void)kvp_status_str(0);
    (void)kvp_version();
    CHECK_STR(kvp_last_error_message(), "key is NULL");
    CHECK(kvp_last_os_error() == 0);
    /* Every call that returns a status clears it first. */
    CHECK_OK(kvp_insert(store, "k", "v"));
    CHECK_STR(kvp_last_error_message(), "");
    kvp_close(store);
}

static void test_options(void)
{
    kvp_options options;
    kvp_store *store = NULL;
    char dir[4096];

    memset(&options, 0xAB, sizeof options);
    kvp_options_init(&options);
    CHECK(options.mode == KVP_MODE_SAFE);
    CHECK(options.lock_timeout_ms == KVP_DEFAULT_LOCK_TIMEOUT_MS);
    CHECK(options.sync_on_write == false);
    CHECK(options.create_mode == 0600 && KVP_DEFAULT_CREATE_MODE == 0600);
    kvp_options_init(NULL);

    snprintf(dir, sizeof dir, "%s/options", scratch);
    options.mode = 7;
    CHECK_STATUS(kvp_open_pool(KVP_POOL_ID_GUEST, dir, &options, &store), KVP_ERR_UNKNOWN_NAME);
    CHECK(store == NULL);
    options.mode = KVP_MODE_FULL;
    options.lock_timeout_ms = -2;
    CHECK_STATUS(kvp_open_pool(KVP_POOL_ID_GUEST, dir, &options, &store), KVP_ERR_INVALID_ARGUMENT);
    options.lock_timeout_ms = 1000;
    options.create_mode = 010000;
    CHECK_STATUS(kvp_open_pool(KVP_POOL_ID_GUEST, dir, &options, &store), KVP_ERR_INVALID_ARGUMENT);
    options.create_mode = 0660; /* writes refuse a group-writable pool */
    CHECK_STATUS(kvp_open_pool(KVP_POOL_ID_GUEST, dir, &options, &store), KVP_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("create_mode");
    CHECK(store == NULL);

    /* A valid set: the file is created with create_mode (umask cleared). */
    options.create_mode = 0640;
    options.sync_on_write = true;
    CHECK_OK(kvp_open_pool(KVP_POOL_ID_GUEST, dir, &options, &store));
    CHECK(store != NULL);
    {
        struct stat info;
        char path[4200];
        mode_t old_mask = umask(0);
        CHECK_OK(kvp_insert(store, "k", "v"));
        umask(old_mask);
        snprintf(path, sizeof path, "%s/.kvp_pool_1", dir);
        CHECK(stat(path, &info) == 0 && (info.st_mode & 07777) == 0640);
    }
    kvp_close(store);
}

static void test_open_failures(void)
{
    kvp_store *store = (kvp_store *)&store; /* a sentinel the library must not overwrite */
    kvp_store *const sentinel = store;
    char path[4096];

    CHECK_STATUS(kvp_open(NULL, NULL, &store), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_open("x", NULL, NULL), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_open_pool(KVP_POOL_ID_GUEST, scratch, NULL, NULL), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_open(scratch, NULL, &store), KVP_ERR_NOT_A_REGULAR_FILE);
    CHECK(strstr(kvp_last_error_message(), scratch) != NULL);
    CHECK_STATUS(kvp_open_pool(5, scratch, NULL, &store), KVP_ERR_UNKNOWN_NAME);
    CHECK_STATUS(kvp_open_pool(UINT32_MAX, NULL, NULL, &store), KVP_ERR_UNKNOWN_NAME);

    /* A path below a regular file: an I/O error with its errno. */
    {
        kvp_store *file = open_in(scratch, "plain", NULL);
        CHECK_OK(kvp_insert(file, "k", "v"));
        kvp_close(file);
    }
    snprintf(path, sizeof path, "%s/plain/pool", scratch);
    CHECK_STATUS(kvp_open(path, NULL, &store), KVP_ERR_IO);
    CHECK(kvp_last_os_error() == ENOTDIR);
    CHECK(store == sentinel);

    /* Paths are bytes, as for open(2): a non-UTF-8 name is fine. */
    snprintf(path, sizeof path, "%s/pool-\xff\xfe", scratch);
    store = NULL;
    CHECK_OK(kvp_open(path, NULL, &store));
    CHECK_OK(kvp_insert(store, "k", "v"));
    {
        struct stat info;
        CHECK(stat(path, &info) == 0 && info.st_size == KVP_KEY_SIZE + KVP_VALUE_SIZE);
    }
    kvp_close(store);
    kvp_close(NULL);
}

static void test_null_store_and_keys(void)
{
    kvp_store *store = open_in(scratch, "nulls", NULL);
    char buf[16];
    size_t len = 99;
    bool flag = true;
    char *json = (char *)buf;

    CHECK_STATUS(kvp_insert(NULL, "k", "v"), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_insert(store, "k", NULL), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_append(NULL, "k", "v"), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_append(store, NULL, "v"), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_append(store, "k", NULL), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_append_many(NULL, NULL, 0), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_read(NULL, "k", buf, sizeof buf, &len), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_read(store, NULL, buf, sizeof buf, &len), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_delete(NULL, "k", &len), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_delete(store, NULL, &len), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_clear(NULL), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_len(NULL, &len), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_len(store, NULL), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_is_stale(NULL, &flag), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_is_stale(store, NULL), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_clear_if_stale(NULL, &flag), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_dump_json(NULL, &json), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_dump_json(store, NULL), KVP_ERR_NULL_ARGUMENT);
    CHECK(len == 99 && flag == true && json == (char *)buf);
    CHECK(pool_len(store) == 0);
    kvp_close(store);
}

static void test_invalid_text(void)
{
    kvp_store *store = open_in(scratch, "utf8", NULL);
    char buf[16];
    size_t len = 42;
    kvp_entry entries[2] = {{"good", "1"}, {"bad", "\xc3\x28"}};

    CHECK_OK(kvp_insert(store, "k\xc3\xa9y", "v\xe2\x82\xac"));
    CHECK_STATUS(kvp_insert(store, "\xff", "v"), KVP_ERR_INVALID_UTF8);
    CHECK(strstr(kvp_last_error_message(), "UTF-8") != NULL);
    CHECK_STATUS(kvp_insert(store, "k", "\xed\xa0\x80"), KVP_ERR_INVALID_UTF8); /* a surrogate */
    CHECK_STATUS(kvp_append(store, "\xc0\xaf", "v"), KVP_ERR_INVALID_UTF8);    /* overlong */
    CHECK_STATUS(kvp_append_many(store, entries, 2), KVP_ERR_INVALID_UTF8);
    CHECK(strstr(kvp_last_error_message(), "entry 1") != NULL);
    CHECK_STATUS(kvp_read(store, "\xfe", buf, sizeof buf, &len), KVP_ERR_INVALID_UTF8);
    CHECK_STATUS(kvp_delete(store, "\x80", &len), KVP_ERR_INVALID_UTF8);
    CHECK(len == 42);
    CHECK(pool_len(store) == 1);
    CHECK_STATUS(kvp_insert(store, "", "v"), KVP_ERR_EMPTY_KEY);
    CHECK_STATUS(kvp_append(store, "", "v"), KVP_ERR_EMPTY_KEY);
    CHECK(pool_len(store) == 1);
    kvp_close(store);
}

static void test_read_protocol(void)
{
    kvp_store *store = open_in(scratch, "read", NULL);
    char buf[32];
    char *big;
    size_t len = 12345;
    size_t i;

    CHECK_OK(kvp_insert(store, "key", "hello"));
    /* Size query. */
    CHECK_STATUS(kvp_read(store, "key", NULL, 0, &len), KVP_ERR_BUFFER_TOO_SMALL);
    CHECK(len == 5);
    /* A short buffer is left untouched: 5 bytes cannot hold "hello\0". */
    memset(buf, 'X', sizeof buf);
    len = 0;
    CHECK_STATUS(kvp_read(store, "key", buf, 5, &len), KVP_ERR_BUFFER_TOO_SMALL);
    CHECK(len == 5);
    for (i = 0; i < sizeof buf; i++) {
        if (buf[i] != 'X') break;
    }
    CHECK(i == sizeof buf);
    /* Exactly enough. */
    CHECK_OK(kvp_read(store, "key", buf, 6, &len));
    CHECK(len == 5 && memcmp(buf, "hello", 6) == 0 && buf[6] == 'X');
    /* Not found is distinct and writes nothing. */
    len = 777;
    CHECK_STATUS(kvp_read(store, "nope", buf, sizeof buf, &len), KVP_ERR_NOT_FOUND);
    CHECK(len == 777);
    CHECK_STATUS(kvp_read(store, "nope", NULL, 0, &len), KVP_ERR_NOT_FOUND);
    /* Bad buffer arguments. */
    CHECK_STATUS(kvp_read(store, "key", NULL, 8, &len), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_read(store, "key", buf, sizeof buf, NULL), KVP_ERR_NULL_ARGUMENT);
    CHECK(len == 777);
    /* An empty value needs one byte. */
    CHECK_OK(kvp_insert(store, "empty", ""));
    CHECK_STATUS(kvp_read(store, "empty", NULL, 0, &len), KVP_ERR_BUFFER_TOO_SMALL);
    CHECK(len == 0);
    CHECK_OK(kvp_read(store, "empty", buf, 1, &len));
    CHECK(len == 0 && buf[0] == '\0');
    /* The two-call protocol with malloc. */
    CHECK_STATUS(kvp_read(store, "key", NULL, 0, &len), KVP_ERR_BUFFER_TOO_SMALL);
    big = malloc(len + 1);
    CHECK(big != NULL);
    if (big != NULL) {
        CHECK_OK(kvp_read(store, "key", big, len + 1, &len));
        CHECK_STR(big, "hello");
        free(big);
    }
    kvp_close(store);
}

/* A string of `count` copies of `unit`, in a static buffer. */
static const char *repeat(const char *unit, size_t count)
{
    static char text[4 * 2048 + 1];
    size_t width = strlen(unit);
    size_t i;
    for (i = 0; i < count && (i + 1) * width < sizeof text; i++) {
        memcpy(text + i * width, unit, width);
    }
    text[i * width] = '\0';
    return text;
}

static void test_size_limits(void)
{
    kvp_options full;
    kvp_store *safe = open_in(scratch, "limits-safe", NULL);
    kvp_store *wide;
    char value[KVP_VALUE_SIZE];
    size_t len = 0;

    kvp_options_init(&full);
    full.mode = KVP_MODE_FULL;
    wide = open_in(scratch, "limits-full", &full);

    /* Safe: 254 / 1022 UTF-16 code units. */
    CHECK_OK(kvp_insert(safe, repeat("k", 254), "v"));
    CHECK_STATUS(kvp_insert(safe, repeat("k", 255), "v"), KVP_ERR_KEY_TOO_LARGE);
    CHECK(strstr(kvp_last_error_message(), "255") != NULL);
    CHECK_OK(kvp_insert(safe, "v", repeat("v", 1022)));
    CHECK_STATUS(kvp_insert(safe, "v", repeat("v", 1023)), KVP_ERR_VALUE_TOO_LARGE);
    CHECK_STATUS(kvp_append(safe, "v", repeat("v", 1023)), KVP_ERR_VALUE_TOO_LARGE);
    /* 254 two-byte characters are 508 bytes but 254 code units: safe. */
    CHECK_OK(kvp_insert(safe, repeat("\xc3\xa9", 254), "e"));
    CHECK(pool_len(safe) == 3);

    /* Full: the field minus its NUL. */
    CHECK_OK(kvp_insert(wide, repeat("k", 511), "v"));
    CHECK_STATUS(kvp_insert(wide, repeat("k", 512), "v"), KVP_ERR_KEY_TOO_LARGE);
    CHECK_OK(kvp_insert(wide, "v", repeat("v", 2047)));
    CHECK_STATUS(kvp_insert(wide, "v", repeat("v", 2048)), KVP_ERR_VALUE_TOO_LARGE);
    CHECK_STATUS(kvp_insert(wide, repeat("k", 5000), "v"), KVP_ERR_KEY_TOO_LARGE);
    /* KVP_VALUE_SIZE always holds the largest value. */
    CHECK_OK(kvp_read(wide, "v", value, sizeof value, &len));
    CHECK(len == 2047 && value[2046] == 'v' && value[2047] == '\0');
    CHECK(pool_len(wide) == 2);
    kvp_close(safe);
    kvp_close(wide);
}

static void test_writes(void)
{
    kvp_store *store = open_in(scratch, "writes", NULL);
    kvp_entry batch[3] = {{"b1", "x"}, {"b2", "y"}, {"dup", "3"}};
    kvp_entry bad[2] = {{"ok", "1"}, {"too-long", NULL}};
    char buf[KVP_VALUE_SIZE];
    size_t len = 0, removed = 99;

    CHECK_OK(kvp_append(store, "dup", "1"));
    CHECK_OK(kvp_append(store, "dup", "2"));
    CHECK(pool_len(store) == 2);
    CHECK_OK(kvp_read(store, "dup", buf, sizeof buf, &len));
    CHECK_STR(buf, "2"); /* the last record wins */
    CHECK_OK(kvp_append_many(store, batch, 3));
    CHECK_OK(kvp_append_many(store, NULL, 0));
    CHECK_STATUS(kvp_append_many(store, NULL, 2), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_append_many(store, bad, 2), KVP_ERR_NULL_ARGUMENT);
    bad[1].value = repeat("v", 1023);
    CHECK_STATUS(kvp_append_many(store, bad, 2), KVP_ERR_VALUE_TOO_LARGE);
    CHECK(strstr(kvp_last_error_message(), "entry 1") != NULL);
    CHECK(pool_len(store) == 5); /* the invalid batch wrote nothing */
    CHECK_OK(kvp_read(store, "dup", buf, sizeof buf, &len));
    CHECK_STR(buf, "3");
    /* insert leaves exactly one record for the key. */
    CHECK_OK(kvp_insert(store, "dup", "4"));
    CHECK(pool_len(store) == 3);
    CHECK_OK(kvp_read(store, "dup", buf, sizeof buf, &len));
    CHECK_STR(buf, "4");
    CHECK_OK(kvp_delete(store, "dup", &removed));
    CHECK(removed == 1);
    CHECK_OK(kvp_delete(store, "missing", &removed));
    CHECK(removed == 0);
    CHECK_OK(kvp_delete(store, "b1", NULL));
    CHECK(pool_len(store) == 1);
    CHECK_OK(kvp_clear(store));
    CHECK(pool_len(store) == 0);
    kvp_close(store);
}

int main(int argc, char **argv)
{
    scratch = scratch_dir(argc, argv);
    test_version_and_status_names();
    test_last_error();
    test_options();
    test_open_failures();
    test_null_store_and_keys();
    test_invalid_text();
    test_read_protocol();
    test_size_limits();
    test_writes();
    return check_report("test_api");
}

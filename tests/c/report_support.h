/* Shared by test_report.c and test_events.c: the scratch directory, the
 * peers' fixtures, fake sysfs roots, and a walker that copies every entry
 * of kvp_foreach_event out of its callback. Header-only (static inline), as
 * check.h is, so each test stays one translation unit. */
#ifndef KVP_TEST_REPORT_SUPPORT_H
#define KVP_TEST_REPORT_SUPPORT_H

#define _DEFAULT_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static const char *scratch;

static const char *const VM = "0e5e179d-5341-478b-8456-fbb90621bdf8";
static const char *const AZ_VM = "00000000-0000-0000-0000-000000000abc";
static const char *const DIAG_VM = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

/* ---- files and fixtures ---- */

/* A path below the repository root, which this file's name leads to. */
static inline void repo_path(char *out, size_t size, const char *relative)
{
    const char *file = __FILE__;
    const char *at = strstr(file, "tests/c/report_support.h");
    snprintf(out, size, "%.*s%s", at ? (int)(at - file) : 0, file, relative);
}

/* The whole file, NUL-terminated, for free(); NULL when unreadable. */
static inline char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long size;

    if (f == NULL) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (data = malloc((size_t)size + 1)) != NULL) {
        if (fread(data, 1, (size_t)size, f) != (size_t)size) {
            free(data);
            data = NULL;
        } else {
            data[size] = '\0';
            if (len) *len = (size_t)size;
        }
    }
    fclose(f);
    return data;
}

static inline void spill(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f == NULL) return;
    CHECK(fwrite(data, 1, len, f) == len);
    CHECK(fclose(f) == 0);
}

/* Passes when the JSON fixture holds `value` as a JSON string (escaped as
 * Python's json.dump escapes ASCII text), so that the strings this test
 * expects are the ones the peers wrote, not copies that could drift. */
static inline void check_fixture_has(const char *fixture, const char *value, int line)
{
    char relative[512], path[4096], *text, *escaped, *out;
    const char *p;

    snprintf(relative, sizeof relative, "kvp-report/tests/fixtures/%s", fixture);
    repo_path(path, sizeof path, relative);
    text = slurp(path, NULL);
    escaped = malloc(strlen(value) * 6 + 1);
    if (text == NULL || escaped == NULL) {
        check_true(0, "fixture readable", __FILE__, line);
        free(text);
        free(escaped);
        return;
    }
    for (p = value, out = escaped; *p; p++) {
        switch (*p) {
        case '"': out += sprintf(out, "\\\""); break;
        case '\\': out += sprintf(out, "\\\\"); break;
        case '\n': out += sprintf(out, "\\n"); break;
        case '\t': out += sprintf(out, "\\t"); break;
        default:
            if ((unsigned char)*p < 0x20) out += sprintf(out, "\\u%04x", (unsigned)*p);
            else *out++ = *p;
        }
    }
    *out = '\0';
    check_true(strstr(text, escaped) != NULL, "the fixture holds the expected string", __FILE__, line);
    free(text);
    free(escaped);
}
#define CHECK_FIXTURE_HAS(fixture, value) check_fixture_has((fixture), (value), __LINE__)

static inline kvp_store *fresh(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", scratch, name);
    unlink(path);
    return open_in(scratch, name, NULL);
}

/* The value of `key`, or "" (with a failed check) when absent. */
static inline const char *value_of(const kvp_store *store, const char *key)
{
    static char buf[KVP_VALUE_SIZE + 1];
    size_t len = 0;
    buf[0] = '\0';
    CHECK_OK(kvp_read(store, key, buf, sizeof buf, &len));
    return buf;
}

/* ---- walking: every entry copied out of its callback ---- */

#define MAX_SEEN 256

struct seen_entry {
    uint32_t entry, format, kind, result, reason;
    size_t position, chunks, payload_len, key_len, missing_count;
    uint64_t incarnation, missing0;
    int64_t duration_ns, unix_seconds;
    uint32_t nanoseconds;
    bool payload_is_text, compressed;
    char format_name[32], agent[64], event_type[32], name[64], timestamp[64], result_text[16];
    char vm_id[40], event_id[40], reason_name[32], detail[256];
    char *payload, *key;
};

struct seen {
    size_t count;
    size_t stop_after; /* 0: never stop */
    struct seen_entry entries[MAX_SEEN];
};

static inline void copy_text(char *out, size_t size, const char *text)
{
    snprintf(out, size, "%s", text);
}

static inline char *copy_bytes(const char *data, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, data, len + 1); /* the NUL after the bytes too */
    }
    return copy;
}

static inline int collect(void *ctx, const kvp_event_entry *e)
{
    struct seen *seen = ctx;
    struct seen_entry *s;

    if (seen->count >= MAX_SEEN) return KVP_FOREACH_STOP;
    s = &seen->entries[seen->count++];
    memset(s, 0, sizeof *s);
    s->entry = e->entry;
    s->format = e->format;
    s->kind = e->kind;
    s->result = e->result;
    s->reason = e->reason;
    s->position = e->position;
    s->chunks = e->chunks;
    s->payload_len = e->payload_len;
    s->key_len = e->key_len;
    s->missing_count = e->missing_count;
    s->missing0 = e->missing_count ? e->missing_chunks[0] : UINT64_MAX;
    s->incarnation = e->incarnation;
    s->duration_ns = e->duration_ns;
    s->unix_seconds = e->unix_seconds;
    s->nanoseconds = e->nanoseconds;
    s->payload_is_text = e->payload_is_text;
    s->compressed = e->compressed;
    copy_text(s->format_name, sizeof s->format_name, e->format_name);
    copy_text(s->agent, sizeof s->agent, e->agent);
    copy_text(s->event_type, sizeof s->event_type, e->event_type);
    copy_text(s->name, sizeof s->name, e->name);
    copy_text(s->timestamp, sizeof s->timestamp, e->timestamp);
    copy_text(s->result_text, sizeof s->result_text, e->result_text);
    copy_text(s->vm_id, sizeof s->vm_id, e->vm_id);
    copy_text(s->event_id, sizeof s->event_id, e->event_id);
    copy_text(s->reason_name, sizeof s->reason_name, e->reason_name);
    copy_text(s->detail, sizeof s->detail, e->detail);
    /* Every string is there, NUL-terminated, even when empty. */
    CHECK(e->payload != NULL && e->payload[e->payload_len] == '\0');
    CHECK(e->key != NULL && e->key[e->key_len] == '\0');
    CHECK(e->value != NULL && e->value[e->value_len] == '\0');
    CHECK((e->missing_count == 0) == (e->missing_chunks == NULL));
    s->payload = copy_bytes(e->payload, e->payload_len);
    s->key = copy_bytes(e->key, e->key_len);
    return seen->stop_after != 0 && seen->count >= seen->stop_after ? KVP_FOREACH_STOP
                                                                     : KVP_FOREACH_CONTINUE;
}

static inline void forget(struct seen *seen)
{
    size_t i;
    for (i = 0; i < seen->count; i++) {
        free(seen->entries[i].payload);
        free(seen->entries[i].key);
    }
    memset(seen, 0, sizeof *seen);
}

static inline struct seen *walk(const kvp_store *store, uint32_t flags)
{
    static struct seen seen;
    forget(&seen);
    CHECK_OK(kvp_foreach_event(store, flags, collect, &seen));
    return &seen;
}

/* ---- reports ---- */

static inline int starts_with(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

static inline int ends_with(const char *text, const char *suffix)
{
    size_t n = strlen(text), m = strlen(suffix);
    return n >= m && strcmp(text + n - m, suffix) == 0;
}


static inline void make_dirs(const char *path)
{
    char buf[4096], *p;
    snprintf(buf, sizeof buf, "%s", path);
    for (p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    }
    mkdir(buf, 0755);
}

/* A fake root: product_uuid holding `uuid` (NULL: no file), and
 * sys/firmware/efi when `gen2`. */
static inline void fake_machine(char *root, size_t size, const char *name, const char *uuid, int gen2)
{
    char path[4200];
    snprintf(root, size, "%s/machines/%s", scratch, name);
    snprintf(path, sizeof path, "%s/sys/class/dmi/id", root);
    make_dirs(path);
    if (uuid) {
        snprintf(path, sizeof path, "%s/sys/class/dmi/id/product_uuid", root);
        spill(path, uuid, strlen(uuid));
    }
    if (gen2) {
        snprintf(path, sizeof path, "%s/sys/firmware/efi", root);
        make_dirs(path);
    }
}

static inline kvp_event diag_event(const char *name)
{
    kvp_event e;
    kvp_event_init(&e);
    e.agent = "my-agent-1.0";
    e.vm_id = DIAG_VM;
    e.name = name;
    return e;
}

static inline int count_calls(void *ctx, const kvp_event_entry *e)
{
    (void)e;
    ++*(int *)ctx;
    return KVP_FOREACH_CONTINUE;
}

/* Every test's first call: the scratch directory from the command line,
 * with the machines/ directory that fake_machine fills. */
static inline void start_in_scratch(int argc, char **argv)
{
    char dir[4200];
    scratch = scratch_dir(argc, argv);
    snprintf(dir, sizeof dir, "%s/machines", scratch);
    make_dirs(dir);
}

#endif

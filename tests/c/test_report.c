/* The report API of libkvp (issue 13): provisioning reports in both
 * dialects byte for byte against the peers' own output
 * (kvp-report/tests/fixtures), the VM id under fake sysfs roots (Gen1 swap,
 * Gen2, errors, the size protocol), events written in every format and
 * walked back (the real cloud-init pool with its chunks, compressed
 * artifacts, raw leftovers with their reasons), invalid arguments with
 * their typed statuses and untouched out-parameters, and threads.
 * Run from the repository root (the fixtures are found from there).
 * Usage: test_report SCRATCH_DIR */
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
static void repo_path(char *out, size_t size, const char *relative)
{
    const char *file = __FILE__;
    const char *at = strstr(file, "tests/c/test_report.c");
    snprintf(out, size, "%.*s%s", at ? (int)(at - file) : 0, file, relative);
}

/* The whole file, NUL-terminated, for free(); NULL when unreadable. */
static char *slurp(const char *path, size_t *len)
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

static void spill(const char *path, const void *data, size_t len)
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
static void check_fixture_has(const char *fixture, const char *value, int line)
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

static kvp_store *fresh(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", scratch, name);
    unlink(path);
    return open_in(scratch, name, NULL);
}

/* The value of `key`, or "" (with a failed check) when absent. */
static const char *value_of(const kvp_store *store, const char *key)
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

static void copy_text(char *out, size_t size, const char *text)
{
    snprintf(out, size, "%s", text);
}

static char *copy_bytes(const char *data, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, data, len + 1); /* the NUL after the bytes too */
    }
    return copy;
}

static int collect(void *ctx, const kvp_event_entry *e)
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

static void forget(struct seen *seen)
{
    size_t i;
    for (i = 0; i < seen->count; i++) {
        free(seen->entries[i].payload);
        free(seen->entries[i].key);
    }
    memset(seen, 0, sizeof *seen);
}

static struct seen *walk(const kvp_store *store, uint32_t flags)
{
    static struct seen seen;
    forget(&seen);
    CHECK_OK(kvp_foreach_event(store, flags, collect, &seen));
    return &seen;
}

/* ---- reports ---- */

static int starts_with(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

static int ends_with(const char *text, const char *suffix)
{
    size_t n = strlen(text), m = strlen(suffix);
    return n >= m && strcmp(text + n - m, suffix) == 0;
}

/* Writes `r` into a fresh pool and checks the one record's value. */
static void check_report_writes(const kvp_report *r, uint32_t dialect, const char *want, int line)
{
    kvp_store *store = fresh("report");
    bool shortened = true;
    kvp_status status = kvp_write_report(store, r, dialect, &shortened);

    check_status(status, KVP_OK, "kvp_write_report", __FILE__, line);
    check_true(!shortened, "not shortened", __FILE__, line);
    check_true(strcmp(value_of(store, "PROVISIONING_REPORT"), want) == 0, "report byte for byte", __FILE__,
               line);
    if (strcmp(value_of(store, "PROVISIONING_REPORT"), want) != 0) {
        fprintf(stderr, "  got:  %s\n  want: %s\n", value_of(store, "PROVISIONING_REPORT"), want);
    }
    check_true(pool_len(store) == 1, "one record", __FILE__, line);
    kvp_close(store);
}
#define CHECK_REPORT(r, dialect, want) check_report_writes((r), (dialect), (want), __LINE__)

/* azure-init's libazureinit-kvp report.rs tests and the proposal's CLI
 * dump (peer-examples.json "reports_azure_init"). */
static void test_azure_init_dialect(void)
{
    static const kvp_entry extras[] = {{"endpoint", "http://example.com"}, {"status", "404"}};
    static const kvp_entry details[] = {{"details", "bad config"}};
    static const kvp_entry build[] = {{"build", "test-123"}};
#define AZ_PREFIX "pps_type=None|vm_id=00000000-0000-0000-0000-000000000abc|timestamp=2026-06-17T00:00:00+00:00"
#define AZ_URL "|documentation_url=https://aka.ms/linuxprovisioningerror"
    static const struct {
        uint32_t result, pps_type;
        const char *reason, *url; /* url NULL: the default */
        const kvp_entry *data;
        size_t count;
        const char *want;
    } cases[] = {
        {KVP_REPORT_SUCCESS, KVP_PPS_TYPE_NONE, NULL, NULL, NULL, 0,
         "result=success|agent=Azure-Init/0.0.0|" AZ_PREFIX},
        /* azure-init writes None when unset */
        {KVP_REPORT_SUCCESS, KVP_PPS_TYPE_UNSET, NULL, NULL, NULL, 0,
         "result=success|agent=Azure-Init/0.0.0|" AZ_PREFIX},
        {KVP_REPORT_SUCCESS, KVP_PPS_TYPE_NONE, NULL, NULL, extras, 2,
         "result=success|agent=Azure-Init/0.0.0|" AZ_PREFIX "|endpoint=http://example.com|status=404"},
        {KVP_REPORT_SUCCESS, KVP_PPS_TYPE_SAVABLE, NULL, NULL, NULL, 0,
         "result=success|agent=Azure-Init/0.0.0|pps_type=Savable|vm_id=00000000-0000-0000-0000-000000000abc|"
         "timestamp=2026-06-17T00:00:00+00:00"},
        /* the URL by default on errors, none with "" */
        {KVP_REPORT_ERROR, KVP_PPS_TYPE_NONE, "failed to load sshd config", NULL, NULL, 0,
         "result=error|reason=failed to load sshd config|agent=Azure-Init/0.0.0|" AZ_PREFIX AZ_URL},
        {KVP_REPORT_ERROR, KVP_PPS_TYPE_NONE, "boom", "", NULL, 0,
         "result=error|reason=boom|agent=Azure-Init/0.0.0|" AZ_PREFIX},
        {KVP_REPORT_ERROR, KVP_PPS_TYPE_NONE, "boom", "https://aka.ms/linuxprovisioningerror", details, 1,
         "result=error|reason=boom|agent=Azure-Init/0.0.0|details=bad config|" AZ_PREFIX AZ_URL},
        {KVP_REPORT_SUCCESS, KVP_PPS_TYPE_NONE, NULL, NULL, build, 1,
         "result=success|agent=Azure-Init/0.0.0|" AZ_PREFIX "|build=test-123"},
    };
#undef AZ_PREFIX
#undef AZ_URL
    const char *want;
    kvp_report r;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kvp_report_init(&r);
        r.agent = "Azure-Init/0.0.0";
        r.vm_id = AZ_VM;
        r.timestamp = "2026-06-17T00:00:00+00:00";
        r.result = cases[i].result;
        r.pps_type = cases[i].pps_type;
        r.reason = cases[i].reason;
        r.documentation_url = cases[i].url;
        r.supporting_data = cases[i].data;
        r.supporting_count = cases[i].count;
        CHECK_FIXTURE_HAS("peer-examples.json", cases[i].want);
        CHECK_REPORT(&r, KVP_DIALECT_AZURE_INIT, cases[i].want);
    }

    /* The proposal's CLI dump: a millisecond timestamp is written as given. */
    kvp_report_init(&r);
    r.agent = "azure-init-0.1.1";
    r.vm_id = DIAG_VM;
    r.timestamp = "2026-08-31T12:34:57.500Z";
    r.pps_type = KVP_PPS_TYPE_NONE;
    want = "result=success|agent=azure-init-0.1.1|pps_type=None|vm_id=3f2504e0-4f89-41d3-9a0c-0305e82c3301|"
           "timestamp=2026-08-31T12:34:57.500Z";
    CHECK_FIXTURE_HAS("peer-examples.json", want);
    CHECK_REPORT(&r, KVP_DIALECT_AZURE_INIT, want);
}

/* What cloud-init 25.1.4 and 26.2 wrote through their own report code
 * (cloud-init-*.json). */
static void test_cloud_init_dialect(void)
{
    static const char *const versions[][2] = {
        {"cloud-init-25.1.4.json", "Cloud-Init/25.1.4"},
        {"cloud-init-26.2.json", "Cloud-Init/26.2"},
    };
    static const kvp_entry data[] = {{"duration", "1.5"}, {"interface", "eth0"}, {"note", "a|b 'c'\nd"}};
    char want[1024];
    size_t i;
    kvp_report r;

    for (i = 0; i < 2; i++) {
        kvp_report_init(&r);
        r.agent = versions[i][1];
        r.vm_id = VM;
        r.timestamp = "2026-06-17T00:00:00.123456+00:00";
        snprintf(want, sizeof want, "result=success|agent=%s|timestamp=2026-06-17T00:00:00.123456+00:00|vm_id=%s",
                 versions[i][1], VM);
        CHECK_FIXTURE_HAS(versions[i][0], want);
        CHECK_REPORT(&r, KVP_DIALECT_CLOUD_INIT, want);

        r.result = KVP_REPORT_ERROR;
        r.reason = "failure to obtain DHCP lease";
        r.supporting_data = data;
        r.supporting_count = 3;
        snprintf(want, sizeof want,
                 "result=error|reason=failure to obtain DHCP lease|agent=%s|duration=1.5|interface=eth0|"
                 "'note=a|b ''c''\nd'|vm_id=%s|timestamp=2026-06-17T00:00:00.123456+00:00|"
                 "documentation_url=https://aka.ms/linuxprovisioningerror",
                 versions[i][1], VM);
        CHECK_FIXTURE_HAS(versions[i][0], want);
        CHECK_REPORT(&r, KVP_DIALECT_CLOUD_INIT, want);
    }

    /* The same error in the other dialect: quote ", pps_type=None. */
    r.agent = "Cloud-Init/26.2";
    snprintf(want, sizeof want,
             "result=error|reason=failure to obtain DHCP lease|agent=Cloud-Init/26.2|duration=1.5|"
             "interface=eth0|\"note=a|b 'c'\nd\"|pps_type=None|vm_id=%s|"
             "timestamp=2026-06-17T00:00:00.123456+00:00|documentation_url=https://aka.ms/linuxprovisioningerror",
             VM);
    CHECK_REPORT(&r, KVP_DIALECT_AZURE_INIT, want);
}

/* cloud-init 26.2's third report: write_key cut it at 1023 characters,
 * inside a quoted field. Ours is shortened whole-field, marked, and says
 * so through the out-parameter; the fixed fields stay. */
static void test_shortened_report(void)
{
    char exception[1201];
    const char *value;
    kvp_entry data[1];
    kvp_report r;
    kvp_store *store = fresh("shortened");
    bool shortened = false;
    size_t i, len = 0;

    for (i = 0; i < 1200; i += 2) memcpy(exception + i, "x|", 2);
    exception[1200] = '\0';
    data[0].key = "exception";
    data[0].value = exception;
    kvp_report_init(&r);
    r.result = KVP_REPORT_ERROR;
    r.agent = "Cloud-Init/26.2";
    r.vm_id = VM;
    r.reason = "unhandled exception";
    r.timestamp = "2026-06-17T00:00:00.123456+00:00";
    r.supporting_data = data;
    r.supporting_count = 1;
    /* cloud-init appended two reports this boot; insert leaves one. */
    CHECK_OK(kvp_append(store, "PROVISIONING_REPORT", "result=success|agent=a|vm_id=b|timestamp=c"));
    CHECK_OK(kvp_append(store, "PROVISIONING_REPORT", "result=success|agent=a|vm_id=b|timestamp=c"));
    CHECK_OK(kvp_write_report(store, &r, KVP_DIALECT_CLOUD_INIT, &shortened));
    CHECK(shortened);
    CHECK(pool_len(store) == 1);
    value = value_of(store, "PROVISIONING_REPORT");
    len = strlen(value);
    CHECK(len <= 1022); /* ASCII: what the host receives whole */
    CHECK(starts_with(value, "result=error|reason=unhandled exception|agent=Cloud-Init/26.2|'exception=x|x|"));
    CHECK(strstr(value, "...'|shortened=") != NULL);
    CHECK(ends_with(value, "|documentation_url=https://aka.ms/linuxprovisioningerror"));
    CHECK(strstr(value, "|vm_id=0e5e179d-5341-478b-8456-fbb90621bdf8|timestamp=2026-06-17T00:00:00.123456+00:00|") !=
          NULL);
    /* NULL: the caller does not ask. */
    CHECK_OK(kvp_write_report(store, &r, KVP_DIALECT_AZURE_INIT, NULL));
    CHECK(strstr(value_of(store, "PROVISIONING_REPORT"), "\"|shortened=") != NULL);
    kvp_close(store);
}

/* Now, in the dialect's spelling, when no timestamp is given; a success
 * report's reason goes last, after its supporting data. */
static void test_report_defaults(void)
{
    static const kvp_entry data[] = {{"k", "v"}};
    kvp_store *store = fresh("defaults");
    const char *value;
    kvp_report r;

    kvp_report_init(&r);
    r.agent = "my-agent/1.0";
    r.vm_id = AZ_VM;
    r.reason = "all good";
    r.supporting_data = data;
    r.supporting_count = 1;
    CHECK_OK(kvp_write_report(store, &r, KVP_DIALECT_CLOUD_INIT, NULL));
    value = value_of(store, "PROVISIONING_REPORT");
    CHECK(starts_with(value, "result=success|agent=my-agent/1.0|timestamp=20"));
    CHECK(strstr(value, "+00:00|vm_id=00000000-0000-0000-0000-000000000abc|k=v|reason=all good") != NULL);
    r.documentation_url = "https://example.com/help";
    CHECK_OK(kvp_write_report(store, &r, KVP_DIALECT_AZURE_INIT, NULL));
    value = value_of(store, "PROVISIONING_REPORT");
    CHECK(strstr(value, "|k=v|reason=all good|documentation_url=https://example.com/help") != NULL);
    CHECK(pool_len(store) == 1);
    kvp_close(store);
}

/* ---- the VM id ---- */

static void make_dirs(const char *path)
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
static void fake_machine(char *root, size_t size, const char *name, const char *uuid, int gen2)
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

static void test_vm_id(void)
{
    /* azure-init vm_id.rs and cloud-init test_identity.py values
     * (peer-examples.json "vm_ids"). */
    static const struct {
        const char *product_uuid;
        int gen2;
        const char *vm_id; /* NULL: KVP_ERR_NO_VM_ID */
    } cases[] = {
        {"550e8400-e29b-41d4-a716-446655440000\n", 0, "00840e55-9be2-d441-a716-446655440000"},
        {"550E8400-E29B-41D4-A716-446655440000\n", 1, "550e8400-e29b-41d4-a716-446655440000"},
        {"527c2691-029f-fe4c-b1f4-a4da7ebac2cf\n", 0, "91267c52-9f02-4cfe-b1f4-a4da7ebac2cf"},
        {"527C2691-029F-FE4C-B1F4-A4DA7EBAC2CD\n", 0, "91267c52-9f02-4cfe-b1f4-a4da7ebac2cd"},
        {"527c2691-029f-fe4c-b1f4-a4da7ebac2cf\n", 1, "527c2691-029f-fe4c-b1f4-a4da7ebac2cf"},
        {"not-a-uuid\n", 0, NULL},
        {"\n", 0, NULL},
        {"\n", 1, NULL},
        {"91267c52-9f02-4cfe-b1f4-a4da7ebac2c", 0, NULL},
        {"00000000-0000-0000-0000-000000000000\n", 1, NULL},
    };
    char root[4096], name[32], buf[KVP_UUID_SIZE], path[4200];
    size_t i, len;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(name, sizeof name, "case-%zu", i);
        fake_machine(root, sizeof root, name, cases[i].product_uuid, cases[i].gen2);
        len = 77;
        memset(buf, 'Z', sizeof buf);
        if (cases[i].vm_id) {
            CHECK_OK(kvp_vm_id(root, buf, sizeof buf, &len));
            CHECK_STR(buf, cases[i].vm_id);
            CHECK(len == 36);
        } else {
            CHECK_STATUS(kvp_vm_id(root, buf, sizeof buf, &len), KVP_ERR_NO_VM_ID);
            CHECK_MESSAGE_HAS("product_uuid");
            CHECK(len == 77 && buf[0] == 'Z');
        }
    }
    /* /dev/efi makes a Gen2 machine too. */
    fake_machine(root, sizeof root, "dev-efi", "527c2691-029f-fe4c-b1f4-a4da7ebac2cf", 0);
    snprintf(path, sizeof path, "%s/dev/efi", root);
    make_dirs(path);
    CHECK_OK(kvp_vm_id(root, buf, sizeof buf, &len));
    CHECK_STR(buf, "527c2691-029f-fe4c-b1f4-a4da7ebac2cf");

    /* The size protocol of kvp_read. */
    fake_machine(root, sizeof root, "sizes", "527c2691-029f-fe4c-b1f4-a4da7ebac2cf", 0);
    len = 0;
    CHECK_STATUS(kvp_vm_id(root, NULL, 0, &len), KVP_ERR_BUFFER_TOO_SMALL);
    CHECK(len == 36);
    len = 0;
    memset(buf, 'Z', sizeof buf);
    CHECK_STATUS(kvp_vm_id(root, buf, 36, &len), KVP_ERR_BUFFER_TOO_SMALL);
    CHECK(len == 36 && buf[0] == 'Z' && buf[35] == 'Z'); /* never partly written */
    CHECK_OK(kvp_vm_id(root, buf, 37, &len));
    CHECK_STR(buf, "91267c52-9f02-4cfe-b1f4-a4da7ebac2cf");
    len = 5;
    CHECK_STATUS(kvp_vm_id(root, NULL, 10, &len), KVP_ERR_NULL_ARGUMENT);
    CHECK(len == 5);
    CHECK_STATUS(kvp_vm_id(root, buf, sizeof buf, NULL), KVP_ERR_NULL_ARGUMENT);
    CHECK_STR(kvp_last_error_message(), "vm_id_len is NULL");

    /* No file: an I/O error with its errno, never a made-up id. */
    fake_machine(root, sizeof root, "empty", NULL, 1);
    len = 5;
    CHECK_STATUS(kvp_vm_id(root, buf, sizeof buf, &len), KVP_ERR_IO);
    CHECK(kvp_last_os_error() == ENOENT);
    CHECK(len == 5);
}

static void test_is_azure(void)
{
    char root[4096], path[4200];
    bool azure = true;

    fake_machine(root, sizeof root, "no-tag", NULL, 0);
    CHECK_OK(kvp_is_azure(root, &azure));
    CHECK(!azure);
    fake_machine(root, sizeof root, "azure", NULL, 0);
    snprintf(path, sizeof path, "%s/sys/class/dmi/id/chassis_asset_tag", root);
    spill(path, "7783-7084-3265-9085-8269-3286-77\n", 33);
    CHECK_OK(kvp_is_azure(root, &azure));
    CHECK(azure);
    fake_machine(root, sizeof root, "other", NULL, 0);
    snprintf(path, sizeof path, "%s/sys/class/dmi/id/chassis_asset_tag", root);
    spill(path, "No Asset Tag\n", 13);
    CHECK_OK(kvp_is_azure(root, &azure));
    CHECK(!azure);
    CHECK_STATUS(kvp_is_azure(root, NULL), KVP_ERR_NULL_ARGUMENT);
    /* The running machine: whatever it is, the call succeeds. */
    CHECK_OK(kvp_is_azure(NULL, &azure));
}

/* vm_id NULL reads the running machine: a report and a DIAG_V1 event then
 * succeed or fail exactly as kvp_vm_id(NULL) does; the older cloud-init
 * variants never read it. */
static void test_vm_id_from_the_machine(void)
{
    char machine_id[KVP_UUID_SIZE], want[128];
    size_t len = 0;
    kvp_status expected = kvp_vm_id(NULL, machine_id, sizeof machine_id, &len);
    kvp_store *store = fresh("machine");
    struct seen *seen;
    kvp_report r;
    kvp_event e;

    CHECK(expected == KVP_OK || expected == KVP_ERR_IO || expected == KVP_ERR_NO_VM_ID);
    kvp_report_init(&r);
    r.agent = "my-agent/1.0";
    CHECK_STATUS(kvp_write_report(store, &r, KVP_DIALECT_AZURE_INIT, NULL), expected);
    if (expected == KVP_OK) {
        snprintf(want, sizeof want, "|vm_id=%s|", machine_id);
        CHECK(strstr(value_of(store, "PROVISIONING_REPORT"), want) != NULL);
    } else {
        CHECK(pool_len(store) == 0);
    }
    kvp_event_init(&e);
    e.agent = "my-agent";
    e.name = "boot";
    CHECK_STATUS(kvp_write_event(store, &e, NULL), expected);
    e.format = KVP_EVENT_FORMAT_CLOUD_INIT_26_1;
    CHECK_STATUS(kvp_write_event(store, &e, NULL), expected);
    e.format = KVP_EVENT_FORMAT_CLOUD_INIT_22_4; /* no VM id in it; incarnation 0: this boot's */
    CHECK_OK(kvp_write_event(store, &e, NULL));
    seen = walk(store, 0);
    CHECK(seen->count >= 1);
    CHECK(seen->entries[seen->count - 1].incarnation > 1000000000u);
    CHECK_STR(seen->entries[seen->count - 1].format_name, "cloud-init-22.4");
    kvp_close(store);
}

/* ---- events ---- */

static void copy_fixture_pool(const char *name, char *path, size_t size)
{
    char fixture[4096], *data;
    size_t len = 0;
    repo_path(fixture, sizeof fixture, "tests/fixtures/cloudinit-events.pool");
    data = slurp(fixture, &len);
    CHECK(data != NULL && len == 19 * 2560);
    snprintf(path, size, "%s/%s", scratch, name);
    if (data) spill(path, data, len);
    free(data);
}

static const char *find_chunk_key(const kvp_store *store, const char *suffix);

/* The pool cloud-init 22.4's own handler wrote (tests/fixtures/README.md):
 * three events, the second in 17 chunks cut inside \u00e9 escapes. */
static void test_walk_cloud_init_pool(void)
{
    char path[4200], *e_acute;
    const char *chunk_key;
    kvp_store *store = NULL;
    struct seen *seen;
    struct seen_entry *s;
    size_t i;

    copy_fixture_pool("cloudinit-events.pool", path, sizeof path);
    CHECK_OK(kvp_open(path, NULL, &store));
    seen = walk(store, 0);
    CHECK(seen->count == 3);
    if (seen->count != 3) {
        kvp_close(store);
        return;
    }
    s = &seen->entries[0];
    CHECK(s->entry == KVP_ENTRY_EVENT && s->position == 0 && s->chunks == 1);
    CHECK(s->format == KVP_EVENT_FORMAT_CLOUD_INIT_22_4);
    CHECK_STR(s->format_name, "cloud-init-22.4");
    CHECK_STR(s->agent, "CLOUD_INIT");
    CHECK_STR(s->name, "init-local");
    CHECK_STR(s->event_type, "modules-config");
    CHECK(s->kind == KVP_EVENT_KIND_EVENT);
    CHECK(s->payload_is_text && !s->compressed);
    CHECK_STR(s->payload, "Datasource found: Azure \xe2\x9c\x93");
    CHECK(s->result == KVP_EVENT_RESULT_NONE && s->result_text[0] == '\0');
    CHECK(s->duration_ns == KVP_DURATION_NONE);
    CHECK(s->unix_seconds > 1600000000 && ends_with(s->timestamp, "Z"));
    CHECK(strlen(s->event_id) == 36 && s->vm_id[0] == '\0' && s->incarnation > 0);
    CHECK(s->key_len == 0 && s->reason == KVP_REASON_NONE);

    s = &seen->entries[1];
    CHECK(s->entry == KVP_ENTRY_EVENT && s->position == 1 && s->chunks == 17);
    CHECK_STR(s->name, "azure-diagnostics");
    CHECK_STR(s->event_type, "diagnostic");
    e_acute = malloc(2 * 2500 + 1);
    if (e_acute) {
        for (i = 0; i < 2500; i++) memcpy(e_acute + 2 * i, "\xc3\xa9", 2);
        e_acute[5000] = '\0';
        CHECK(s->payload_len == 5000 && memcmp(s->payload, e_acute, 5000) == 0);
    }
    free(e_acute);

    s = &seen->entries[2];
    CHECK(s->entry == KVP_ENTRY_EVENT && s->position == 18);
    CHECK_STR(s->name, "modules-final");
    CHECK(s->kind == KVP_EVENT_KIND_FINISH);
    CHECK(s->result == KVP_EVENT_RESULT_SUCCESS);
    CHECK_STR(s->result_text, "SUCCESS");
    CHECK_STR(s->payload, "all done");

    /* The walk stops when the callback says so. */
    forget(seen);
    seen->stop_after = 1;
    CHECK_OK(kvp_foreach_event(store, 0, collect, seen));
    CHECK(seen->count == 1);
    forget(seen);

    /* One lost chunk: the group's 16 records come back raw with their
     * reason; with KVP_EVENTS_PARTIAL, the text event with the gap. */
    chunk_key = find_chunk_key(store, "|5");
    CHECK(chunk_key != NULL);
    if (chunk_key) CHECK_OK(kvp_delete(store, chunk_key, NULL));
    seen = walk(store, 0);
    CHECK(seen->count == 18);
    if (seen->count == 18) {
        s = &seen->entries[1];
        CHECK(s->entry == KVP_ENTRY_RAW && s->reason == KVP_REASON_INCOMPLETE_GROUP);
        CHECK_STR(s->reason_name, "incomplete_group");
        CHECK(strstr(s->detail, "[5]") != NULL);
        CHECK(s->key_len > 0 && starts_with(s->key, "CLOUD_INIT|"));
        CHECK(s->format == KVP_EVENT_FORMAT_NONE && s->format_name[0] == '\0');
        CHECK(seen->entries[17].entry == KVP_ENTRY_EVENT && seen->entries[17].position == 17);
    }
    seen = walk(store, KVP_EVENTS_PARTIAL);
    CHECK(seen->count == 3);
    if (seen->count == 3) {
        s = &seen->entries[1];
        CHECK(s->entry == KVP_ENTRY_EVENT && s->chunks == 16);
        CHECK(s->missing_count == 1 && s->missing0 == 5);
    }
    forget(seen);
    kvp_close(store);
}

static char found_key[KVP_KEY_SIZE];

static int match_suffix(void *ctx, const char *key, size_t key_len, const char *value, size_t value_len)
{
    const char *suffix = ctx;
    size_t n = strlen(suffix);
    (void)value;
    (void)value_len;
    if (key_len > n && strcmp(key + key_len - n, suffix) == 0) {
        snprintf(found_key, sizeof found_key, "%s", key);
        return KVP_FOREACH_STOP;
    }
    return KVP_FOREACH_CONTINUE;
}

static const char *find_chunk_key(const kvp_store *store, const char *suffix)
{
    found_key[0] = '\0';
    CHECK_OK(kvp_foreach(store, match_suffix, (void *)suffix));
    return found_key[0] ? found_key : NULL;
}

static kvp_event diag_event(const char *name)
{
    kvp_event e;
    kvp_event_init(&e);
    e.agent = "my-agent-1.0";
    e.vm_id = DIAG_VM;
    e.name = name;
    return e;
}

/* What we write in the peers' formats, byte for byte where their fixtures
 * pin it. */
static void test_events_byte_for_byte(void)
{
    kvp_store *store = fresh("bytes");
    char id[KVP_UUID_SIZE];
    const char *key, *value;
    kvp_event e;

    /* The proposal's DIAG_V1 finish record. */
    kvp_event_init(&e);
    e.agent = "azure-init-0.1.1";
    e.vm_id = DIAG_VM;
    e.kind = KVP_EVENT_KIND_FINISH;
    e.name = "provision:run";
    e.event_id = "9c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f";
    e.timestamp = "2026-08-31T12:34:57.101Z";
    e.result = KVP_EVENT_RESULT_SUCCESS;
    e.duration_ns = 312000;
    e.text = "provisioning succeeded";
    memset(id, 'Z', sizeof id);
    CHECK_OK(kvp_write_event(store, &e, id));
    CHECK_STR(id, "9c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f");
    key = "DIAG_V1|azure-init-0.1.1|3f2504e0-4f89-41d3-9a0c-0305e82c3301|finish|provision:run|"
          "9c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f|2026-08-31T12:34:57.101Z|none|success|312|0";
    CHECK_FIXTURE_HAS("peer-examples.json", key);
    CHECK_STR(value_of(store, key), "provisioning succeeded");
    CHECK(pool_len(store) == 1);

    /* cloud-init 26.2's start record, and 22.4.2's diagnostic one. */
    kvp_event_init(&e);
    e.format = KVP_EVENT_FORMAT_CLOUD_INIT_26_1;
    e.vm_id = VM;
    e.incarnation = 1781654000;
    e.kind = KVP_EVENT_KIND_START;
    e.name = "init-local";
    e.event_id = "00000000-0000-0000-0000-000000001000";
    e.timestamp = "2026-06-17T00:00:00.123456Z";
    e.text = "running init-local";
    CHECK_OK(kvp_write_event(store, &e, NULL));
    key = "CLOUD_INIT|1781654000|start|init-local|0e5e179d-5341-478b-8456-fbb90621bdf8|"
          "00000000-0000-0000-0000-000000001000";
    value = "{\"name\":\"init-local\",\"type\":\"start\",\"ts\":\"2026-06-17T00:00:00.123456+00:00\","
            "\"msg\":\"running init-local\"}";
    CHECK_FIXTURE_HAS("cloud-init-26.2.json", key);
    CHECK_FIXTURE_HAS("cloud-init-26.2.json", value);
    CHECK_STR(value_of(store, key), value);

    kvp_event_init(&e);
    e.format = KVP_EVENT_FORMAT_CLOUD_INIT_22_4;
    e.incarnation = 1781654000;
    e.name = "diagnostic message";
    e.event_type = "diagnostic";
    e.event_id = "00000000-0000-0000-0000-000000001001";
    e.timestamp = "2026-06-17T00:00:01+00:00";
    e.text = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \"quoted\" \\ back\nslash\x7f\t";
    CHECK_OK(kvp_write_event(store, &e, NULL));
    key = "CLOUD_INIT|1781654000|diagnostic|diagnostic message|00000000-0000-0000-0000-000000001001";
    value = "{\"name\":\"diagnostic message\",\"type\":\"diagnostic\",\"ts\":\"2026-06-17T00:00:01Z\","
            "\"msg\":\"\\u00e9\\u20ac\\ud83d\\ude00 \\\"quoted\\\" \\\\ back\\nslash\\u007f\\t\"}";
    CHECK_FIXTURE_HAS("cloud-init-22.4.2.json", key);
    CHECK_FIXTURE_HAS("cloud-init-22.4.2.json", value);
    CHECK_STR(value_of(store, key), value);
    kvp_close(store);
}

/* A start and its finish paired by the id the start returned; a long text
 * in chunks; compressed bytes (NUL and all) in both formats, chunked too;
 * each read back by the walk. */
static void test_events_round_trip(void)
{
    kvp_store *store = fresh("events");
    unsigned char bytes[6000];
    char id[KVP_UUID_SIZE], *long_text;
    struct seen *seen;
    struct seen_entry *s;
    uint32_t x = 2463534242u;
    kvp_event e;
    size_t i;

    for (i = 0; i < sizeof bytes; i++) { /* xorshift: incompressible */
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes[i] = (unsigned char)x;
    }
    bytes[0] = 0;
    long_text = malloc(3001);
    if (long_text == NULL) return;
    for (i = 0; i < 1500; i++) memcpy(long_text + 2 * i, "\xc3\xa9", 2);
    long_text[3000] = '\0';

    e = diag_event("provision");
    e.kind = KVP_EVENT_KIND_START;
    memset(id, 'Z', sizeof id);
    CHECK_OK(kvp_write_event(store, &e, id)); /* a new id, returned */
    CHECK(strlen(id) == 36 && id[8] == '-');
    e.kind = KVP_EVENT_KIND_FINISH;
    e.event_id = id;
    e.result = KVP_EVENT_RESULT_FAIL;
    e.duration_ns = 1500000123; /* DIAG_V1 keeps microseconds */
    e.text = "no network";
    CHECK_OK(kvp_write_event(store, &e, NULL));

    e = diag_event("long");
    e.text = long_text;
    CHECK_OK(kvp_write_event(store, &e, NULL));

    e = diag_event("dmesg");
    e.bytes = bytes;
    e.bytes_len = sizeof bytes;
    e.flags = KVP_EVENT_COMPRESSED;
    CHECK_OK(kvp_write_event(store, &e, NULL));

    kvp_event_init(&e);
    e.format = KVP_EVENT_FORMAT_CLOUD_INIT_24_4;
    e.incarnation = 1781654000;
    e.name = "cloud-init.log";
    e.bytes = bytes;
    e.bytes_len = sizeof bytes;
    e.flags = KVP_EVENT_COMPRESSED;
    CHECK_OK(kvp_write_event(store, &e, NULL));

    CHECK_OK(kvp_append(store, "SomethingElse", "left alone"));
    CHECK_OK(kvp_append(store, "DIAG_V2|from|the|future", "?"));

    seen = walk(store, 0);
    CHECK(seen->count == 7);
    if (seen->count == 7) {
        s = &seen->entries[0];
        CHECK(s->format == KVP_EVENT_FORMAT_DIAG_V1 && s->kind == KVP_EVENT_KIND_START);
        CHECK_STR(s->event_id, id);
        CHECK_STR(s->agent, "my-agent-1.0");
        CHECK_STR(s->vm_id, DIAG_VM);
        CHECK(s->result == KVP_EVENT_RESULT_NONE && s->duration_ns == KVP_DURATION_NONE);
        CHECK(s->payload_len == 0 && s->payload_is_text);
        s = &seen->entries[1];
        CHECK(s->kind == KVP_EVENT_KIND_FINISH && s->position == 1);
        CHECK_STR(s->event_id, id);
        CHECK(s->result == KVP_EVENT_RESULT_FAIL);
        CHECK_STR(s->result_text, "FAIL");
        CHECK(s->duration_ns == 1500000000);
        CHECK_STR(s->payload, "no network");
        s = &seen->entries[2];
        CHECK(s->chunks == 3 && s->position == 2); /* 3000 bytes in records of 1022 */
        CHECK(s->payload_len == 3000 && memcmp(s->payload, long_text, 3000) == 0);
        s = &seen->entries[3];
        CHECK(s->position == 5 && s->compressed && !s->payload_is_text && s->chunks > 1);
        CHECK(s->payload_len == sizeof bytes && memcmp(s->payload, bytes, sizeof bytes) == 0);
        s = &seen->entries[4];
        CHECK(s->format == KVP_EVENT_FORMAT_CLOUD_INIT_24_4 && s->compressed && s->chunks > 1);
        CHECK_STR(s->event_type, "compressed");
        CHECK(s->payload_len == sizeof bytes && memcmp(s->payload, bytes, sizeof bytes) == 0);
        s = &seen->entries[5];
        CHECK(s->entry == KVP_ENTRY_RAW && s->reason == KVP_REASON_NONE);
        CHECK(s->reason_name[0] == '\0' && s->detail[0] == '\0');
        CHECK_STR(s->key, "SomethingElse");
        s = &seen->entries[6];
        CHECK(s->entry == KVP_ENTRY_RAW && s->reason == KVP_REASON_UNSUPPORTED_VERSION);
        CHECK_STR(s->reason_name, "unsupported_version");
    }
    forget(seen);
    free(long_text);
    kvp_close(store);
}

/* A report is an entry of its own; a callback may call the library on
 * the same pool, and its failures do not outlive the walk. */
struct reentry {
    const kvp_store *store;
    int calls;
};

static int reenter(void *ctx, const kvp_event_entry *e)
{
    struct reentry *r = ctx;
    size_t len = 0;
    if (r->calls++ == 0) {
        CHECK(e->entry == KVP_ENTRY_REPORT);
        CHECK_STR(e->name, "PROVISIONING_REPORT");
        CHECK_STR(e->agent, "my-agent/1.0");
        CHECK_STR(e->vm_id, AZ_VM);
        CHECK(e->result == KVP_EVENT_RESULT_FAIL);
        CHECK_STR(e->result_text, "error");
        CHECK_STR(e->payload, "no network");
        CHECK_STR(e->timestamp, "2026-06-17T00:00:00+00:00");
        CHECK(e->unix_seconds == 1781654400 && e->nanoseconds == 0);
        CHECK(starts_with(e->value, "result=error|reason=no network|"));
        CHECK_OK(kvp_len(r->store, &len)); /* no deadlock: the lock is free */
        CHECK_OK(kvp_insert(r->store, "written-during-walk", "1"));
        CHECK_STATUS(kvp_insert(r->store, NULL, "v"), KVP_ERR_NULL_ARGUMENT);
    }
    return KVP_FOREACH_CONTINUE;
}

static void test_walk_reports_and_reentry(void)
{
    kvp_store *store = fresh("reentry");
    struct reentry r = {NULL, 0};
    kvp_report report;

    kvp_report_init(&report);
    report.result = KVP_REPORT_ERROR;
    report.agent = "my-agent/1.0";
    report.vm_id = AZ_VM;
    report.reason = "no network";
    report.timestamp = "2026-06-17T00:00:00+00:00";
    CHECK_OK(kvp_write_report(store, &report, KVP_DIALECT_AZURE_INIT, NULL));
    r.store = store;
    CHECK_OK(kvp_foreach_event(store, 0, reenter, &r));
    CHECK(r.calls == 1); /* the snapshot was taken before the insert */
    CHECK_STR(kvp_last_error_message(), "");
    CHECK(pool_len(store) == 2);
    kvp_close(store);
}

/* ---- bad arguments: typed statuses, nothing written, out-params kept ---- */

static int count_calls(void *ctx, const kvp_event_entry *e)
{
    (void)e;
    ++*(int *)ctx;
    return KVP_FOREACH_CONTINUE;
}

static void test_bad_report_arguments(void)
{
    static const kvp_entry half[] = {{"k", "v"}, {"k2", NULL}};
    char long_agent[1101];
    kvp_store *store = fresh("bad-report");
    bool shortened = true;
    kvp_report r, base;

    kvp_report_init(&base);
    base.agent = "a";
    base.vm_id = AZ_VM;
#define REFUSED(mutate, want)                                                                      \
    do {                                                                                           \
        r = base;                                                                                  \
        mutate;                                                                                    \
        CHECK_STATUS(kvp_write_report(store, &r, KVP_DIALECT_AZURE_INIT, &shortened), want);       \
        CHECK(shortened);                                                                          \
    } while (0)
    REFUSED(r.agent = NULL, KVP_ERR_NULL_ARGUMENT);
    CHECK_STR(kvp_last_error_message(), "agent is NULL");
    REFUSED(r.result = KVP_REPORT_ERROR, KVP_ERR_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("reason");
    REFUSED(r.result = 2, KVP_ERR_UNKNOWN_NAME);
    REFUSED(r.pps_type = 6, KVP_ERR_UNKNOWN_NAME);
    REFUSED(r.agent = "a\xff", KVP_ERR_INVALID_UTF8);
    REFUSED(r.reason = "\xc3", KVP_ERR_INVALID_UTF8);
    REFUSED((r.supporting_data = half, r.supporting_count = 2), KVP_ERR_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("supporting_data[1]");
    REFUSED((r.supporting_data = NULL, r.supporting_count = 1), KVP_ERR_NULL_ARGUMENT);
    memset(long_agent, 'a', 1100);
    long_agent[1100] = '\0';
    REFUSED(r.agent = long_agent, KVP_ERR_FIELD_TOO_LARGE);
    r = base;
    CHECK_STATUS(kvp_write_report(store, &r, 2, &shortened), KVP_ERR_UNKNOWN_NAME);
    CHECK_MESSAGE_HAS("KVP_DIALECT_CLOUD_INIT");
    CHECK_STATUS(kvp_write_report(store, NULL, KVP_DIALECT_AZURE_INIT, &shortened), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_write_report(NULL, &r, KVP_DIALECT_AZURE_INIT, &shortened), KVP_ERR_NULL_ARGUMENT);
    CHECK(shortened);
    CHECK(pool_len(store) == 0);
#undef REFUSED

    /* init: defaults over garbage; NULL is ignored. */
    memset(&r, 0xAB, sizeof r);
    kvp_report_init(&r);
    CHECK(r.result == KVP_REPORT_SUCCESS && r.pps_type == KVP_PPS_TYPE_UNSET);
    CHECK(r.agent == NULL && r.vm_id == NULL && r.reason == NULL && r.documentation_url == NULL);
    CHECK(r.timestamp == NULL && r.supporting_data == NULL && r.supporting_count == 0);
    kvp_report_init(NULL);
    kvp_close(store);
}

static void test_bad_event_arguments(void)
{
    static const uint8_t not_utf8[] = {0xff, 0xfe};
    char id[KVP_UUID_SIZE], agent33[34];
    kvp_store *store = fresh("bad-event");
    kvp_event e, base = diag_event("x");
    int calls = 0;

    memset(agent33, 'a', 33);
    agent33[33] = '\0';
    memset(id, 'Z', sizeof id);
#define REFUSED(mutate, want)                                                                      \
    do {                                                                                           \
        e = base;                                                                                  \
        mutate;                                                                                    \
        CHECK_STATUS(kvp_write_event(store, &e, id), want);                                        \
        CHECK(id[0] == 'Z' && id[36] == 'Z');                                                      \
    } while (0)
    REFUSED(e.format = KVP_EVENT_FORMAT_NONE, KVP_ERR_UNKNOWN_NAME);
    REFUSED(e.format = KVP_EVENT_FORMAT_AZURE_INIT_TRACING, KVP_ERR_UNKNOWN_NAME); /* read only */
    REFUSED(e.kind = 3, KVP_ERR_UNKNOWN_NAME);
    REFUSED(e.result = KVP_EVENT_RESULT_OTHER, KVP_ERR_UNKNOWN_NAME);
    REFUSED(e.duration_ns = -2, KVP_ERR_INVALID_ARGUMENT);
    REFUSED(e.flags = 2, KVP_ERR_INVALID_ARGUMENT);
    REFUSED((e.text = "t", e.bytes = not_utf8, e.bytes_len = 2), KVP_ERR_INVALID_ARGUMENT);
    REFUSED((e.bytes = NULL, e.bytes_len = 3), KVP_ERR_NULL_ARGUMENT);
    REFUSED(e.name = NULL, KVP_ERR_NULL_ARGUMENT);
    REFUSED(e.agent = NULL, KVP_ERR_NULL_ARGUMENT);
    REFUSED(e.name = "a|b", KVP_ERR_INVALID_FIELD);
    REFUSED(e.name = "", KVP_ERR_INVALID_FIELD);
    REFUSED(e.agent = agent33, KVP_ERR_FIELD_TOO_LARGE);
    REFUSED(e.result = KVP_EVENT_RESULT_WARN, KVP_ERR_UNSUPPORTED); /* DIAG_V1 has no WARN */
    REFUSED((e.bytes = not_utf8, e.bytes_len = 2), KVP_ERR_UNSUPPORTED);
    REFUSED(e.text = "\xff", KVP_ERR_INVALID_UTF8);
    REFUSED((e.kind = KVP_EVENT_KIND_START, e.result = KVP_EVENT_RESULT_SUCCESS), KVP_ERR_INVALID_FIELD);
    REFUSED((e.kind = KVP_EVENT_KIND_FINISH, e.result = KVP_EVENT_RESULT_SUCCESS), KVP_ERR_INVALID_FIELD);
    REFUSED(e.timestamp = "yesterday", KVP_ERR_INVALID_FIELD);
    REFUSED(e.event_id = "not-a-uuid", KVP_ERR_INVALID_FIELD);
    /* A braced id is a UUID, but it does not fit the id buffer. */
    REFUSED(e.event_id = "{9c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f}", KVP_ERR_INVALID_FIELD);
    REFUSED(e.vm_id = "not-a-uuid", KVP_ERR_INVALID_FIELD);
    REFUSED((e.format = KVP_EVENT_FORMAT_CLOUD_INIT_26_1, e.vm_id = "nope"), KVP_ERR_INVALID_FIELD);
    CHECK_STATUS(kvp_write_event(store, NULL, id), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_write_event(NULL, &base, id), KVP_ERR_NULL_ARGUMENT);
    CHECK(id[0] == 'Z');
    CHECK(pool_len(store) == 0);
#undef REFUSED
    /* Without the id buffer, cloud-init's format writes a braced id as
     * given (DIAG_V1 caps ids at 36 bytes). */
    e = base;
    e.event_id = "{9c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f}";
    CHECK_STATUS(kvp_write_event(store, &e, NULL), KVP_ERR_FIELD_TOO_LARGE);
    e.format = KVP_EVENT_FORMAT_CLOUD_INIT_24_4;
    e.incarnation = 1;
    CHECK_OK(kvp_write_event(store, &e, NULL));
    /* The cloud-init formats take WARN, and what DIAG_V1 alone needs. */
    e = base;
    e.format = KVP_EVENT_FORMAT_CLOUD_INIT_24_4;
    e.incarnation = 1;
    e.agent = NULL;
    e.kind = KVP_EVENT_KIND_FINISH;
    e.result = KVP_EVENT_RESULT_WARN;
    CHECK_OK(kvp_write_event(store, &e, NULL));

    CHECK_STATUS(kvp_foreach_event(NULL, 0, count_calls, &calls), KVP_ERR_NULL_ARGUMENT);
    CHECK_STATUS(kvp_foreach_event(store, 0, NULL, &calls), KVP_ERR_NULL_ARGUMENT);
    CHECK_STR(kvp_last_error_message(), "callback is NULL");
    CHECK_STATUS(kvp_foreach_event(store, 2, count_calls, &calls), KVP_ERR_INVALID_ARGUMENT);
    CHECK(calls == 0);
    CHECK_OK(kvp_foreach_event(store, 0, count_calls, &calls));
    CHECK(calls == 2);

    memset(&e, 0xAB, sizeof e);
    kvp_event_init(&e);
    CHECK(e.format == KVP_EVENT_FORMAT_DIAG_V1 && e.kind == KVP_EVENT_KIND_EVENT);
    CHECK(e.result == KVP_EVENT_RESULT_NONE && e.duration_ns == KVP_DURATION_NONE);
    CHECK(e.flags == 0 && e.incarnation == 0 && e.bytes == NULL && e.bytes_len == 0);
    CHECK(e.agent == NULL && e.vm_id == NULL && e.name == NULL && e.event_type == NULL);
    CHECK(e.text == NULL && e.event_id == NULL && e.timestamp == NULL);
    kvp_event_init(NULL);
    kvp_close(store);
}

/* ---- threads ---- */

#define THREADS 4
#define PAIRS 10

struct worker {
    int id;
    const kvp_store *store;
    const char *root;
};

static void *work(void *arg)
{
    const struct worker *w = arg;
    char name[16], id[KVP_UUID_SIZE], vm[KVP_UUID_SIZE];
    size_t len = 0;
    kvp_event e;
    kvp_report r;
    int i, calls = 0;

    snprintf(name, sizeof name, "thread-%d", w->id);
    for (i = 0; i < PAIRS; i++) {
        e = diag_event(name);
        e.kind = KVP_EVENT_KIND_START;
        CHECK_OK(kvp_write_event(w->store, &e, id));
        e.kind = KVP_EVENT_KIND_FINISH;
        e.event_id = id;
        e.result = KVP_EVENT_RESULT_SUCCESS;
        e.duration_ns = i * 1000;
        CHECK_OK(kvp_write_event(w->store, &e, NULL));
        CHECK_OK(kvp_vm_id(w->root, vm, sizeof vm, &len));
        CHECK_STR(vm, "91267c52-9f02-4cfe-b1f4-a4da7ebac2cf");
    }
    kvp_report_init(&r);
    r.agent = name;
    r.vm_id = vm;
    CHECK_OK(kvp_write_report(w->store, &r, KVP_DIALECT_AZURE_INIT, NULL));
    CHECK_STATUS(kvp_write_event(w->store, NULL, NULL), KVP_ERR_NULL_ARGUMENT);
    CHECK_OK(kvp_foreach_event(w->store, 0, count_calls, &calls));
    CHECK(calls > 0);
    CHECK_STATUS(kvp_vm_id(w->root, NULL, 0, &len), KVP_ERR_BUFFER_TOO_SMALL);
    CHECK_MESSAGE_HAS("36 bytes"); /* this thread's own last error */
    return NULL;
}

static void test_threads(void)
{
    kvp_store *store = fresh("threads");
    struct worker workers[THREADS];
    pthread_t threads[THREADS];
    char root[4096];
    struct seen *seen;
    size_t i, j, starts = 0, finishes = 0, reports = 0, paired = 0;

    fake_machine(root, sizeof root, "threads", "527c2691-029f-fe4c-b1f4-a4da7ebac2cf", 0);
    for (i = 0; i < THREADS; i++) {
        workers[i].id = (int)i;
        workers[i].store = store;
        workers[i].root = root;
        CHECK(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    for (i = 0; i < THREADS; i++) CHECK(pthread_join(threads[i], NULL) == 0);
    seen = walk(store, 0);
    for (i = 0; i < seen->count; i++) {
        const struct seen_entry *s = &seen->entries[i];
        if (s->entry == KVP_ENTRY_REPORT) reports++;
        if (s->entry != KVP_ENTRY_EVENT) continue;
        if (s->kind == KVP_EVENT_KIND_START) starts++;
        if (s->kind != KVP_EVENT_KIND_FINISH) continue;
        finishes++;
        for (j = 0; j < i; j++) {
            if (seen->entries[j].kind == KVP_EVENT_KIND_START &&
                strcmp(seen->entries[j].event_id, s->event_id) == 0 &&
                strcmp(seen->entries[j].name, s->name) == 0) {
                paired++;
                break;
            }
        }
    }
    CHECK(starts == THREADS * PAIRS && finishes == THREADS * PAIRS && paired == finishes);
    CHECK(reports == 1); /* insert: one report, whichever thread was last */
    CHECK(seen->count == 2 * THREADS * PAIRS + 1);
    forget(seen);
    kvp_close(store);
}

int main(int argc, char **argv)
{
    char dir[4200];
    scratch = scratch_dir(argc, argv);
    snprintf(dir, sizeof dir, "%s/machines", scratch);
    make_dirs(dir);
    test_azure_init_dialect();
    test_cloud_init_dialect();
    test_shortened_report();
    test_report_defaults();
    test_vm_id();
    test_is_azure();
    test_vm_id_from_the_machine();
    test_walk_cloud_init_pool();
    test_events_byte_for_byte();
    test_events_round_trip();
    test_walk_reports_and_reentry();
    test_bad_report_arguments();
    test_bad_event_arguments();
    test_threads();
    return check_report("test_report");
}

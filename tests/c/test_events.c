/* The event API of libkvp (issue 13): events written in every format and
 * walked back (the real cloud-init pool with its chunks, compressed
 * artifacts, raw leftovers with their reasons), reports among the entries
 * and re-entry from a callback, invalid event arguments with their typed
 * statuses, and threads. Reports and the VM id are test_report.c.
 * Run from the repository root (the fixtures are found from there).
 * Usage: test_events SCRATCH_DIR */
#include "report_support.h"

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
    start_in_scratch(argc, argv);
    test_walk_cloud_init_pool();
    test_events_byte_for_byte();
    test_events_round_trip();
    test_walk_reports_and_reentry();
    test_bad_event_arguments();
    test_threads();
    return check_report("test_events");
}

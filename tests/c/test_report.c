/* The report API of libkvp (issue 13): provisioning reports in both
 * dialects byte for byte against the peers' own output
 * (kvp-report/tests/fixtures), the VM id under fake sysfs roots (Gen1 swap,
 * Gen2, errors, the size protocol), and invalid report arguments with their
 * typed statuses and untouched out-parameters. Events are test_events.c.
 * Run from the repository root (the fixtures are found from there).
 * Usage: test_report SCRATCH_DIR */
#include "report_support.h"

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
    forget(seen);
    kvp_close(store);
}

/* ---- bad arguments: typed statuses, nothing written, out-params kept ---- */
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

int main(int argc, char **argv)
{
    start_in_scratch(argc, argv);
    test_azure_init_dialect();
    test_cloud_init_dialect();
    test_shortened_report();
    test_report_defaults();
    test_vm_id();
    test_is_azure();
    test_vm_id_from_the_machine();
    test_bad_report_arguments();
    return check_report("test_report");
}

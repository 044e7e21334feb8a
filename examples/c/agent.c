/* An agent-style program on libkvp: reads the host's VirtualMachineId from
 * pool 3 and publishes a provisioning report into pool 1, as a guest
 * provisioning agent does at boot (kvp_write_report writes it in
 * azure-init's spelling; without a VirtualMachineId it reads the VM id
 * from the machine's DMI).
 *
 * Usage: agent [--dir DIR]   (DIR defaults to /var/lib/hyperv)
 * Build: see Makefile (pkg-config kvp). */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kvp.h>

static int fail(const char *what, kvp_status status)
{
    fprintf(stderr, "agent: %s: %s: %s\n", what, kvp_status_str((int)status),
            kvp_last_error_message());
    return 1;
}

/* Reads `key` with the two-call size protocol into a string the caller
 * frees. Returns NULL with *status set when the key is absent or on error.
 * The value may grow between the two calls (another agent writing), so a
 * second KVP_ERR_BUFFER_TOO_SMALL just means: ask again. */
static char *read_value(const kvp_store *store, const char *key, kvp_status *status)
{
    size_t len = 0;
    char *value = NULL;

    for (;;) {
        *status = kvp_read(store, key, value, value ? len + 1 : 0, &len);
        if (*status == KVP_OK) return value;
        free(value);
        if (*status != KVP_ERR_BUFFER_TOO_SMALL) return NULL;
        value = malloc(len + 1);
        if (value == NULL) {
            perror("agent: malloc");
            exit(1);
        }
    }
}

int main(int argc, char **argv)
{
    const char *dir = NULL; /* NULL: /var/lib/hyperv */
    kvp_options options;
    kvp_store *host = NULL, *guest = NULL;
    kvp_status status;
    char *vm_id, *written;
    char agent[64], pid[32];
    kvp_entry extra[1];
    kvp_report report;
    bool cleared = false;
    size_t records = 0;

    if (argc == 3 && strcmp(argv[1], "--dir") == 0) {
        dir = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: %s [--dir DIR]\n", argv[0]);
        return 2;
    }
    kvp_options_init(&options);
    options.lock_timeout_ms = 5000; /* never hang a boot on a stuck lock holder */

    /* Host data: pool 3, written by hv_kvp_daemon from the host. */
    status = kvp_open_pool(KVP_POOL_ID_AUTO_EXTERNAL, dir, &options, &host);
    if (status != KVP_OK) return fail("open pool 3", status);
    vm_id = read_value(host, "VirtualMachineId", &status);
    kvp_close(host);
    if (status != KVP_OK && status != KVP_ERR_NOT_FOUND) return fail("read VirtualMachineId", status);
    printf("VirtualMachineId: %s\n", vm_id ? vm_id : "(not set by the host)");

    /* Guest reports: pool 1. Drop a former boot's records first. */
    status = kvp_open_pool(KVP_POOL_ID_GUEST, dir, &options, &guest);
    if (status != KVP_OK) {
        free(vm_id);
        return fail("open pool 1", status);
    }
    status = kvp_clear_if_stale(guest, &cleared);
    if (status != KVP_OK) goto failed;
    if (cleared) printf("pool 1 held a former boot's records: cleared\n");

    snprintf(agent, sizeof agent, "kvp-c-example/%s", kvp_version());
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    extra[0].key = "pid";
    extra[0].value = pid;
    kvp_report_init(&report);
    report.result = KVP_REPORT_SUCCESS;
    report.agent = agent;
    report.vm_id = vm_id; /* NULL: read from the machine */
    report.supporting_data = extra;
    report.supporting_count = 1;
    status = kvp_write_report(guest, &report, KVP_DIALECT_AZURE_INIT, NULL);
    free(vm_id);
    vm_id = NULL;
    if (status != KVP_OK) goto failed;

    written = read_value(guest, "PROVISIONING_REPORT", &status);
    if (written == NULL) goto failed;
    printf("PROVISIONING_REPORT: %s\n", written);
    free(written);
    status = kvp_len(guest, &records);
    if (status != KVP_OK) goto failed;
    printf("pool 1 holds %zu record(s)\n", records);
    kvp_close(guest);
    return 0;

failed:
    fail("pool 1", status);
    kvp_close(guest);
    return 1;
}

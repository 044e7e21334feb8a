/* What the agents wrote into pool 1 during boot, one line per entry in
 * pool order: cloud-init's events (every release's format, chunks joined,
 * compressed artifacts decompressed), azure-init's (tracing records and
 * DIAG_V1), the provisioning report, and the records nobody could decode,
 * with the reason.
 *
 * Usage: events [--dir DIR]   (DIR defaults to /var/lib/hyperv)
 * Build: see Makefile (pkg-config kvp). */
#include <stdio.h>
#include <string.h>

#include <kvp.h>

static const char *kind_name(uint32_t kind)
{
    switch (kind) {
    case KVP_EVENT_KIND_START: return "start";
    case KVP_EVENT_KIND_FINISH: return "finish";
    default: return "event";
    }
}

static int print_entry(void *ctx, const kvp_event_entry *e)
{
    size_t *count = ctx;
    ++*count;
    switch (e->entry) {
    case KVP_ENTRY_EVENT:
        printf("%s %s %s %s", e->timestamp, e->format_name, kind_name(e->kind), e->name);
        if (e->result != KVP_EVENT_RESULT_NONE) printf(" %s", e->result_text);
        if (e->duration_ns != KVP_DURATION_NONE) printf(" %.3f ms", (double)e->duration_ns / 1e6);
        printf(" (%zu record%s)", e->chunks, e->chunks == 1 ? "" : "s");
        if (e->payload_is_text && e->payload_len <= 60 && strchr(e->payload, '\n') == NULL) {
            printf(": %s\n", e->payload);
        } else {
            printf(": <%zu bytes%s>\n", e->payload_len, e->compressed ? ", were compressed" : "");
        }
        break;
    case KVP_ENTRY_REPORT:
        printf("%s PROVISIONING_REPORT %s agent=%s vm_id=%s%s%s\n", e->timestamp, e->result_text, e->agent,
               e->vm_id, e->payload_len ? " reason=" : "", e->payload);
        break;
    default:
        printf("raw record %zu (%s): %s\n", e->position, e->reason ? e->reason_name : "no known format",
               e->key);
    }
    return KVP_FOREACH_CONTINUE;
}

int main(int argc, char **argv)
{
    const char *dir = NULL; /* NULL: /var/lib/hyperv */
    kvp_options options;
    kvp_store *pool = NULL;
    kvp_status status;
    size_t count = 0;

    if (argc == 3 && strcmp(argv[1], "--dir") == 0) {
        dir = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: %s [--dir DIR]\n", argv[0]);
        return 2;
    }
    kvp_options_init(&options);
    options.lock_timeout_ms = 5000;
    status = kvp_open_pool(KVP_POOL_ID_GUEST, dir, &options, &pool);
    if (status == KVP_OK) status = kvp_foreach_event(pool, 0, print_entry, &count);
    kvp_close(pool);
    if (status != KVP_OK) {
        fprintf(stderr, "events: %s: %s\n", kvp_status_str((int)status), kvp_last_error_message());
        return 1;
    }
    printf("%zu entries\n", count);
    return 0;
}

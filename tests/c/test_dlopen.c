/* Loads libkvp with dlopen/dlsym only (the program has no link-time
 * dependency on it), resolves every exported function and does a real
 * round trip through a pool file.
 * Usage: test_dlopen SCRATCH_DIR [LIBRARY]   (LIBRARY defaults to libkvp.so.0) */
#define _DEFAULT_SOURCE
#include <dlfcn.h>

#include "check.h"

static const char *const exported[] = {
    "kvp_version", "kvp_status_str", "kvp_last_error_message", "kvp_last_os_error",
    "kvp_options_init", "kvp_open", "kvp_open_pool", "kvp_close", "kvp_insert", "kvp_append",
    "kvp_append_many", "kvp_read", "kvp_delete", "kvp_clear", "kvp_len", "kvp_is_stale",
    "kvp_clear_if_stale", "kvp_foreach", "kvp_dump_json", "kvp_string_free",
};

/* POSIX's way to store dlsym's object pointer into a function pointer
 * without a cast that ISO C forbids. */
#define RESOLVE(handle, fn, name) (*(void **)(&(fn)) = dlsym((handle), (name)))

int main(int argc, char **argv)
{
    const char *library = argc > 2 ? argv[2] : "libkvp.so.0";
    const char *(*version)(void);
    void (*options_init)(kvp_options *);
    kvp_status (*open_pool)(uint32_t, const char *, const kvp_options *, kvp_store **);
    kvp_status (*insert)(const kvp_store *, const char *, const char *);
    kvp_status (*read)(const kvp_store *, const char *, char *, size_t, size_t *);
    kvp_status (*delete_key)(const kvp_store *, const char *, size_t *);
    void (*close_store)(kvp_store *);
    kvp_options options;
    kvp_store *store = NULL;
    char buf[KVP_VALUE_SIZE], expected[32];
    size_t len = 0, i;
    void *handle;

    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRATCH_DIR [LIBRARY]\n", argv[0]);
        return 2;
    }
    handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        fprintf(stderr, "dlopen %s: %s\n", library, dlerror());
        return 1;
    }
    for (i = 0; i < sizeof exported / sizeof exported[0]; i++) {
        if (dlsym(handle, exported[i]) == NULL) {
            fprintf(stderr, "missing symbol %s\n", exported[i]);
            CHECK(0);
        }
    }
    CHECK(RESOLVE(handle, version, "kvp_version") != NULL);
    CHECK(RESOLVE(handle, options_init, "kvp_options_init") != NULL);
    CHECK(RESOLVE(handle, open_pool, "kvp_open_pool") != NULL);
    CHECK(RESOLVE(handle, insert, "kvp_insert") != NULL);
    CHECK(RESOLVE(handle, read, "kvp_read") != NULL);
    CHECK(RESOLVE(handle, delete_key, "kvp_delete") != NULL);
    CHECK(RESOLVE(handle, close_store, "kvp_close") != NULL);
    if (atomic_load(&checks_failed) != 0) return check_report("test_dlopen");

    snprintf(expected, sizeof expected, "%d.%d.%d", KVP_VERSION_MAJOR, KVP_VERSION_MINOR,
             KVP_VERSION_PATCH);
    CHECK_STR(version(), expected);
    options_init(&options);
    options.lock_timeout_ms = 5000;
    CHECK(open_pool(KVP_POOL_ID_GUEST, argv[1], &options, &store) == KVP_OK && store != NULL);
    CHECK(insert(store, "loaded-with", "dlopen") == KVP_OK);
    CHECK(read(store, "loaded-with", NULL, 0, &len) == KVP_ERR_BUFFER_TOO_SMALL && len == 6);
    CHECK(read(store, "loaded-with", buf, len + 1, &len) == KVP_OK);
    CHECK_STR(buf, "dlopen");
    CHECK(delete_key(store, "loaded-with", &len) == KVP_OK && len == 1);
    CHECK(read(store, "loaded-with", buf, sizeof buf, &len) == KVP_ERR_NOT_FOUND);
    close_store(store);
    CHECK(dlclose(handle) == 0);
    return check_report("test_dlopen");
}

/* Loads libkvp at run time with dlopen, as a plug-in host or a program
 * with an optional KVP feature would, and writes and reads one record.
 * Only the header's types are used: there is no link-time dependency.
 *
 * Usage: dlopen_demo [--dir DIR] [--lib LIBRARY]
 *   DIR defaults to /var/lib/hyperv, LIBRARY to libkvp.so.0 (the SONAME). */
#define _DEFAULT_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <kvp.h>

struct kvp_api {
    const char *(*version)(void);
    const char *(*last_error_message)(void);
    kvp_status (*open_pool)(uint32_t, const char *, const kvp_options *, kvp_store **);
    kvp_status (*insert)(const kvp_store *, const char *, const char *);
    kvp_status (*read)(const kvp_store *, const char *, char *, size_t, size_t *);
    void (*close)(kvp_store *);
};

/* Stores dlsym's result in a function pointer the way POSIX suggests,
 * since ISO C has no cast from void * to a function pointer. */
static int resolve(void *library, void *slot, const char *name)
{
    void *symbol = dlsym(library, name);
    if (symbol == NULL) {
        fprintf(stderr, "dlopen_demo: %s: %s\n", name, dlerror());
        return 0;
    }
    memcpy(slot, &symbol, sizeof symbol);
    return 1;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *name = "libkvp.so.0";
    struct kvp_api kvp;
    kvp_store *store = NULL;
    char value[KVP_VALUE_SIZE + 1];
    size_t len = 0;
    void *library;
    int i, ok;

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
        else if (strcmp(argv[i], "--lib") == 0) name = argv[i + 1];
        else break;
    }
    if (i != argc) {
        fprintf(stderr, "usage: %s [--dir DIR] [--lib LIBRARY]\n", argv[0]);
        return 2;
    }
    library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        fprintf(stderr, "dlopen_demo: %s\n", dlerror());
        return 1;
    }
    ok = resolve(library, &kvp.version, "kvp_version") &&
         resolve(library, &kvp.last_error_message, "kvp_last_error_message") &&
         resolve(library, &kvp.open_pool, "kvp_open_pool") && resolve(library, &kvp.insert, "kvp_insert") &&
         resolve(library, &kvp.read, "kvp_read") && resolve(library, &kvp.close, "kvp_close");
    if (!ok) return 1;
    printf("loaded %s, version %s\n", name, kvp.version());

    ok = kvp.open_pool(KVP_POOL_ID_GUEST, dir, NULL, &store) == KVP_OK &&
         kvp.insert(store, "DLOPEN_DEMO", "written through dlopen") == KVP_OK &&
         kvp.read(store, "DLOPEN_DEMO", value, sizeof value, &len) == KVP_OK;
    if (ok) printf("DLOPEN_DEMO: %s\n", value);
    else fprintf(stderr, "dlopen_demo: %s\n", kvp.last_error_message());
    kvp.close(store);
    dlclose(library);
    return ok ? 0 : 1;
}

/* Security through the C ABI: pool files and directories are created with
 * the documented modes (file 0600 by default or kvp_options.create_mode,
 * directory 0755, both masked by the umask; an existing file's mode is
 * kept), a create_mode that lets group or others write is refused at open
 * (writes would refuse such a file), and no pool descriptor leaks into a
 * child exec'd while other threads are inside the library.
 * Usage: security SCRATCH_DIR */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static const char *scratch;

static int mode_of(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0 ? (int)(info.st_mode & 07777) : -1;
}

/* Creates `name` by a first write with `create_mode` (0 = default) under
 * `mask`, and returns its mode. */
static int created_mode(const char *name, uint32_t create_mode, mode_t mask)
{
    kvp_options options;
    kvp_store *store = NULL;
    char path[4200];
    mode_t old;
    kvp_options_init(&options);
    if (create_mode != 0) options.create_mode = create_mode;
    snprintf(path, sizeof path, "%s/%s", scratch, name);
    CHECK_OK(kvp_open(path, &options, &store));
    old = umask(mask);
    CHECK_OK(kvp_append(store, "k", "v"));
    umask(old);
    kvp_close(store);
    return mode_of(path);
}

static void creation_modes(void)
{
    kvp_store *store = NULL;
    char dir[4200], path[4300];

    CHECK(created_mode("default", 0, 0) == 0600);
    CHECK(created_mode("explicit", 0644, 0) == 0644);
    CHECK(created_mode("masked", 0644, 027) == 0640);
    CHECK(created_mode("group-read", 0640, 0) == 0640);
    CHECK(created_mode("owner-only", 0700, 077) == 0700);
    /* Group or others may read a pool but never write it: refused at open,
     * nothing created. */
    {
        static const uint32_t writable[] = {0666, 0660, 0602, 0620, 0777};
        size_t i;
        for (i = 0; i < sizeof writable / sizeof writable[0]; i++) {
            kvp_options options;
            store = NULL;
            kvp_options_init(&options);
            options.create_mode = writable[i];
            snprintf(path, sizeof path, "%s/writable-%zu", scratch, i);
            CHECK_STATUS(kvp_open(path, &options, &store), KVP_ERR_INVALID_ARGUMENT);
            CHECK(store == NULL && mode_of(path) == -1);
        }
    }
    /* By pool number in a missing directory: directories 0755, file 0600. */
    snprintf(dir, sizeof dir, "%s/var/lib/hyperv", scratch);
    CHECK_OK(kvp_open_pool(KVP_POOL_ID_GUEST, dir, NULL, &store));
    {
        mode_t old = umask(0);
        CHECK_OK(kvp_insert(store, "k", "v"));
        umask(old);
    }
    snprintf(path, sizeof path, "%s/.kvp_pool_1", dir);
    CHECK(mode_of(dir) == 0755 && mode_of(path) == 0600);
    /* An existing file keeps its mode: writes never chmod or replace it. */
    CHECK(chmod(path, 0644) == 0);
    CHECK_OK(kvp_insert(store, "k", "v2"));
    CHECK_OK(kvp_delete(store, "k", NULL));
    CHECK_OK(kvp_clear(store));
    CHECK(mode_of(path) == 0644);
    kvp_close(store);
}

static kvp_store *busy_store;
static atomic_int stop;

static void *hammer(void *arg)
{
    char buf[16];
    size_t len;
    (void)arg;
    while (!atomic_load(&stop)) {
        CHECK_OK(kvp_insert(busy_store, "k", "v"));
        kvp_read(busy_store, "k", buf, sizeof buf, &len);
        CHECK_OK(kvp_len(busy_store, &len));
    }
    return NULL;
}

static void no_descriptor_leaks(void)
{
    pthread_t threads[3];
    char path[4200], line[4400];
    int i, leaks = 0, listed = 0;
    snprintf(path, sizeof path, "%s/busy", scratch);
    CHECK_OK(kvp_open(path, NULL, &busy_store));
    for (i = 0; i < 3; i++) CHECK(pthread_create(&threads[i], NULL, hammer, NULL) == 0);
    /* popen forks and execs sh while the threads hold pool descriptors:
     * only O_CLOEXEC keeps them out of the child. */
    for (i = 0; i < 60; i++) {
        FILE *child = popen("for fd in /proc/self/fd/*; do readlink \"$fd\" || true; done", "r");
        CHECK(child != NULL);
        if (child == NULL) break;
        while (fgets(line, sizeof line, child) != NULL) {
            listed++;
            if (strstr(line, path) != NULL) {
                leaks++;
                fprintf(stderr, "leaked into a child: %s", line);
            }
        }
        CHECK(pclose(child) == 0);
    }
    atomic_store(&stop, 1);
    for (i = 0; i < 3; i++) CHECK(pthread_join(threads[i], NULL) == 0);
    CHECK(leaks == 0);
    CHECK(listed >= 60 * 3); /* each child listed at least its stdio */
    kvp_close(busy_store);
}

int main(int argc, char **argv)
{
    scratch = scratch_dir(argc, argv);
    creation_modes();
    no_descriptor_leaks();
    return check_report("security (C ABI)");
}

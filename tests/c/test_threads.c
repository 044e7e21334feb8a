/* Several pthreads on one kvp_store at once (and one more on a second
 * handle to the same file): no record is lost, each thread's records keep
 * their order, and the last error stays per thread.
 * Usage: test_threads SCRATCH_DIR */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "check.h"

#define THREADS 4
#define APPENDS 20
#define INSERTS 5

static kvp_store *shared;

struct worker {
    int id;
    const kvp_store *store;
};

struct order {
    int last[THREADS + 1];
    int out_of_order;
};

static void *work(void *arg)
{
    const struct worker *worker = arg;
    char key[32], value[32], buf[32];
    size_t len = 0;
    int i;

    snprintf(key, sizeof key, "thread-%d", worker->id);
    for (i = 0; i < APPENDS; i++) {
        snprintf(value, sizeof value, "%d", i);
        CHECK_OK(kvp_append(worker->store, key, value));
    }
    snprintf(key, sizeof key, "last-%d", worker->id);
    for (i = 0; i < INSERTS; i++) {
        snprintf(value, sizeof value, "%d", i);
        CHECK_OK(kvp_insert(worker->store, key, value));
        CHECK_OK(kvp_read(worker->store, key, buf, sizeof buf, &len));
        CHECK_STR(buf, value);
    }
    /* This thread's failure is not cleared by the others' successes. */
    CHECK_STATUS(kvp_append(worker->store, NULL, "v"), KVP_ERR_NULL_ARGUMENT);
    for (i = 0; i < 50; i++) sched_yield();
    CHECK_STR(kvp_last_error_message(), "key is NULL");
    return NULL;
}

static int check_order(void *ctx, const char *key, size_t key_len, const char *value, size_t value_len)
{
    struct order *order = ctx;
    int id, n;
    (void)key_len;
    (void)value_len;
    if (sscanf(key, "thread-%d", &id) == 1 && id >= 0 && id <= THREADS) {
        n = atoi(value);
        if (n != order->last[id] + 1) order->out_of_order++;
        order->last[id] = n;
    }
    return KVP_FOREACH_CONTINUE;
}

int main(int argc, char **argv)
{
    pthread_t threads[THREADS + 1];
    struct worker workers[THREADS + 1];
    struct order order;
    kvp_store *second;
    int i;

    const char *scratch = scratch_dir(argc, argv);

    shared = open_in(scratch, "threads", NULL);
    second = open_in(scratch, "threads", NULL);
    for (i = 0; i <= THREADS; i++) {
        workers[i].id = i;
        workers[i].store = i == THREADS ? second : shared;
        CHECK(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    for (i = 0; i <= THREADS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
    }
    CHECK(pool_len(shared) == (THREADS + 1) * (APPENDS + 1));

    memset(&order, 0, sizeof order);
    for (i = 0; i <= THREADS; i++) order.last[i] = -1;
    CHECK_OK(kvp_foreach(shared, check_order, &order));
    CHECK(order.out_of_order == 0);
    for (i = 0; i <= THREADS; i++) CHECK(order.last[i] == APPENDS - 1);
    kvp_close(second);
    kvp_close(shared);
    return check_report("test_threads");
}

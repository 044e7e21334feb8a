/*
 * Times the benchmark workload through the C ABI (libkvp.so): the same
 * pools, keys and setup as kvp-core/benches/support/workload.rs (C has no
 * map type, so "entries" is a kvp_foreach walk that counts), sampled
 * the way criterion samples: a warm-up, then SAMPLES samples of several
 * calls each, and the median of the samples' mean time per call. Setup
 * (restoring or cutting the pool) runs before each call, outside the
 * timing.
 *
 *   bench_c DIR [MEASURE_MS] [WARMUP_MS]
 *
 * Prints one line per benchmark: "OPERATION SIZE MEDIAN_NS".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvp.h"

#define SAMPLES 30
#define RECORD_SIZE (KVP_KEY_SIZE + KVP_VALUE_SIZE)

static const int sizes[] = {1, 100, 1023};
static const char *const delete_key = "key-0";
static const char *const new_key = "brand-new-key";

struct bench {
    const struct kvp_store *store;
    const char *path;
    int n;
    char read_key[32];
    char update_key[32];
    unsigned char *image; /* the pool of n records, as `load` writes it */
};

static void die(const char *what, int status) {
    fprintf(stderr, "bench_c: %s: %s (%s)\n", what, kvp_status_str(status), kvp_last_error_message());
    exit(1);
}

static void die_errno(const char *what) {
    perror(what);
    exit(1);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The records key-0 .. key-(n-1), each with 100 'v's, NUL-padded. */
static unsigned char *build_image(int n) {
    unsigned char *image = calloc((size_t)n, RECORD_SIZE);
    if (image == NULL) die_errno("calloc");
    for (int i = 0; i < n; i++) {
        unsigned char *slot = image + (size_t)i * RECORD_SIZE;
        snprintf((char *)slot, KVP_KEY_SIZE, "key-%d", i);
        memset(slot + KVP_KEY_SIZE, 'v', 100);
    }
    return image;
}

/* The image written in place and the file cut to it, as workload.rs does. */
static void restore(const struct bench *b) {
    int fd = open(b->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) die_errno("open pool");
    size_t len = (size_t)b->n * RECORD_SIZE;
    if (pwrite(fd, b->image, len, 0) != (ssize_t)len) die_errno("pwrite pool");
    if (ftruncate(fd, (off_t)len) != 0) die_errno("ftruncate pool");
    close(fd);
}

/* Through a descriptor, never truncate(2) by path: see workload.rs. */
static void cut_last(const struct bench *b) {
    int fd = open(b->path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) die_errno("open pool");
    if (ftruncate(fd, (off_t)(b->n - 1) * RECORD_SIZE) != 0) die_errno("ftruncate pool");
    close(fd);
}

static int count_record(void *ctx, const char *key, size_t key_len, const char *value, size_t value_len) {
    (void)key, (void)key_len, (void)value, (void)value_len;
    ++*(size_t *)ctx;
    return KVP_FOREACH_CONTINUE;
}

enum op { READ, UPDATE, ENTRIES, DELETE, APPEND, INSERT_NEW };
static const char *const op_names[] = {"read", "update", "entries", "delete", "append", "insert-new"};

static void setup(const struct bench *b, enum op op) {
    switch (op) {
    case DELETE: restore(b); break;
    case APPEND:
    case INSERT_NEW: cut_last(b); break;
    default: break;
    }
}

static void call(const struct bench *b, enum op op) {
    static char buf[KVP_VALUE_SIZE];
    size_t out = 0;
    enum kvp_status status = KVP_OK;
    switch (op) {
    case READ: status = kvp_read(b->store, b->read_key, buf, sizeof buf, &out); break;
    case UPDATE: status = kvp_insert(b->store, b->update_key, "updated"); break;
    case ENTRIES:
        status = kvp_foreach(b->store, count_record, &out);
        if (status == KVP_OK && out != (size_t)b->n) die("entries: wrong record count", status);
        break;
    case DELETE:
        status = kvp_delete(b->store, delete_key, &out);
        if (status == KVP_OK && out != 1) die("delete: nothing removed", status);
        break;
    case APPEND: status = kvp_append(b->store, b->read_key, "value"); break;
    case INSERT_NEW: status = kvp_insert(b->store, new_key, "value"); break;
    }
    if (status != KVP_OK) die(op_names[op], (int)status);
}

/* Nanoseconds for `iters` calls, each after its setup when it has one. */
static uint64_t run(const struct bench *b, enum op op, uint64_t iters) {
    uint64_t total = 0;
    if (op == READ || op == UPDATE || op == ENTRIES) {
        uint64_t start = now_ns();
        for (uint64_t i = 0; i < iters; i++) call(b, op);
        return now_ns() - start;
    }
    for (uint64_t i = 0; i < iters; i++) {
        setup(b, op);
        uint64_t start = now_ns();
        call(b, op);
        total += now_ns() - start;
    }
    return total;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double measure(const struct bench *b, enum op op, uint64_t measure_ns, uint64_t warmup_ns) {
    /* Warm-up, doubling the batch as criterion does, to estimate a call. */
    uint64_t spent = 0, calls = 0;
    for (uint64_t batch = 1; spent < warmup_ns; batch *= 2) {
        spent += run(b, op, batch);
        calls += batch;
    }
    double per_call = (double)spent / (double)calls;
    uint64_t iters = (uint64_t)((double)measure_ns / SAMPLES / per_call);
    if (iters == 0) iters = 1;
    double means[SAMPLES];
    for (int s = 0; s < SAMPLES; s++) means[s] = (double)run(b, op, iters) / (double)iters;
    qsort(means, SAMPLES, sizeof means[0], by_value);
    return (means[SAMPLES / 2 - 1] + means[SAMPLES / 2]) / 2;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: bench_c DIR [MEASURE_MS] [WARMUP_MS]\n");
        return 2;
    }
    uint64_t measure_ns = (argc > 2 ? strtoull(argv[2], NULL, 10) : 1000) * 1000000u;
    uint64_t warmup_ns = (argc > 3 ? strtoull(argv[3], NULL, 10) : 300) * 1000000u;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char path[4096];
        struct bench b = {.n = sizes[i], .path = path};
        snprintf(path, sizeof path, "%s/pool-%d", argv[1], b.n);
        snprintf(b.read_key, sizeof b.read_key, "key-%d", b.n - 1);
        snprintf(b.update_key, sizeof b.update_key, "key-%d", b.n / 2);
        b.image = build_image(b.n);
        struct kvp_store *store = NULL;
        int status = kvp_open(path, NULL, &store);
        if (status != KVP_OK) die("open", status);
        b.store = store;
        restore(&b);
        for (enum op op = READ; op <= INSERT_NEW; op++) {
            if (op == APPEND) restore(&b); /* after delete's last call */
            sync(); /* as workload.rs settle() */
            printf("%s %d %.1f\n", op_names[op], b.n, measure(&b, op, measure_ns, warmup_ns));
            fflush(stdout);
        }
        kvp_close(store);
        free(b.image);
    }
    return 0;
}

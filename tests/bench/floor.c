/*
 * The C floors: each benchmark operation done with only what it must do,
 * in plain C, so that docs/benchmarks.md can report every kvp-core
 * operation as a ratio to its floor, measured in the same process
 * (kvp-core/examples/bench_floor.rs loads this file as a shared object and
 * alternates blocks of floor calls with blocks of kvp-core calls).
 *
 * Each floor opens the pool relative to a directory descriptor it was
 * given (openat, as kvp-core does: no path walk beyond the last name),
 * takes flock and an OFD lock as kvp-core does (both are needed to
 * exclude cloud-init and hv_kvp_daemon), does its reads and writes,
 * releases both locks and closes. It makes no checks: no identity or
 * permission checks, no free-space check, no partial-tail handling, no
 * validation of keys. So a floor is what no correct implementation can go
 * below, not a competitor.
 *
 *   read     open O_RDONLY, lock shared, pread 64 records at a time until a
 *            short read, keep the value of the last matching key
 *   update   open O_RDWR, lock, the same scan, pwrite the value field of the
 *            first match
 *   entries  the read scan; each record's key and value copied into
 *            malloc'd strings in an open-addressing hash table (the last
 *            record of a key wins); everything freed before returning
 *   delete   lock, the scan, records after a removed one shifted up (only
 *            the chunks that move are written), ftruncate
 *   append   lock, one pwritev2(RWF_APPEND) of the encoded record
 *            (floor_append_path: the same, opening the whole path)
 *   insert   lock, the scan (no match), pwrite of the record at the end
 *
 * gcc -O2 -shared -fPIC tests/bench/floor.c -o floor.so
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/uio.h>
#include <unistd.h>

#define KEY_SIZE 512
#define VALUE_SIZE 2048
#define RECORD_SIZE (KEY_SIZE + VALUE_SIZE)
#define CHUNK_RECORDS 64

/* Page-aligned, as kvp-core's chunk buffer (see CHUNK_ALIGN in its ops.rs). */
static unsigned char chunk[CHUNK_RECORDS * RECORD_SIZE] __attribute__((aligned(4096)));

static int lock_both(int fd, int exclusive) {
    struct flock region = {.l_type = exclusive ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET};
    if (flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0) return -1;
    return fcntl(fd, F_OFD_SETLKW, &region);
}

static void unlock_both(int fd) {
    struct flock region = {.l_type = F_UNLCK, .l_whence = SEEK_SET};
    fcntl(fd, F_OFD_SETLK, &region);
    flock(fd, LOCK_UN);
}

static int open_locked(int dir, const char *name, int exclusive) {
    int fd = openat(dir, name, (exclusive ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return -1;
    if (lock_both(fd, exclusive) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int finish(int fd, int rc) {
    unlock_both(fd);
    close(fd);
    return rc;
}

static int key_matches(const unsigned char *slot, const char *key, size_t key_len) {
    return memcmp(slot, key, key_len) == 0 && slot[key_len] == 0;
}

/* Reads the chunk at record `index`; returns its whole records, -1 on error. */
static long read_chunk(int fd, long index) {
    ssize_t got = pread(fd, chunk, sizeof chunk, (off_t)index * RECORD_SIZE);
    return got < 0 ? -1 : got / RECORD_SIZE;
}

/* The value of the last record holding `key` into `out` (NUL-terminated,
 * at most VALUE_SIZE bytes); returns 1 when found, 0 when not, -1 on error. */
int floor_read(int dir, const char *name, const char *key, char *out) {
    int fd = open_locked(dir, name, 0);
    if (fd < 0) return -1;
    size_t key_len = strlen(key);
    int found = 0;
    for (long index = 0;;) {
        long whole = read_chunk(fd, index);
        if (whole < 0) return finish(fd, -1);
        for (long i = 0; i < whole; i++) {
            const unsigned char *slot = chunk + i * RECORD_SIZE;
            if (key_matches(slot, key, key_len)) {
                memcpy(out, slot + KEY_SIZE, VALUE_SIZE);
                found = 1;
            }
        }
        if (whole < CHUNK_RECORDS) break;
        index += whole;
    }
    return finish(fd, found);
}

/* Scans for the first record holding `key`; returns its index, -1 when
 * absent, -2 on error, and the number of whole records in `*records`. */
static long find_first(int fd, const char *key, long *records) {
    size_t key_len = strlen(key);
    long first = -1;
    for (long index = 0;;) {
        long whole = read_chunk(fd, index);
        if (whole < 0) return -2;
        for (long i = 0; i < whole && first < 0; i++)
            if (key_matches(chunk + i * RECORD_SIZE, key, key_len)) first = index + i;
        index += whole;
        if (whole < CHUNK_RECORDS) {
            *records = index;
            return first;
        }
    }
}

/* Rewrites the value field of the first record holding `key`; 1 when
 * found, 0 when not, -1 on error. */
int floor_update(int dir, const char *name, const char *key, const char *value) {
    int fd = open_locked(dir, name, 1);
    if (fd < 0) return -1;
    long records = 0, first = find_first(fd, key, &records);
    if (first == -2) return finish(fd, -1);
    if (first < 0) return finish(fd, 0);
    char field[VALUE_SIZE] = {0};
    strncpy(field, value, VALUE_SIZE - 1);
    ssize_t n = pwrite(fd, field, VALUE_SIZE, (off_t)first * RECORD_SIZE + KEY_SIZE);
    return finish(fd, n == VALUE_SIZE ? 1 : -1);
}

struct entry {
    char *key, *value;
    uint64_t hash;
};

static uint64_t hash_bytes(const unsigned char *p, size_t n) {
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211u;
    return h;
}

static char *copy_field(const unsigned char *field, size_t cap, size_t *len) {
    *len = strnlen((const char *)field, cap);
    char *s = malloc(*len + 1);
    if (s != NULL) {
        memcpy(s, field, *len);
        s[*len] = 0;
    }
    return s;
}

/* Every distinct key with the value of its last record, in a hash table of
 * malloc'd copies, freed before returning; returns the number of distinct
 * keys, -1 on error. */
long floor_entries(int dir, const char *name) {
    int fd = open_locked(dir, name, 0);
    if (fd < 0) return -1;
    size_t cap = 64, used = 0;
    struct entry *table = calloc(cap, sizeof *table);
    long rc = 0;
    for (long index = 0; table != NULL;) {
        long whole = read_chunk(fd, index);
        if (whole < 0) {
            rc = -1;
            break;
        }
        for (long i = 0; i < whole; i++) {
            const unsigned char *slot = chunk + i * RECORD_SIZE;
            size_t key_len = strnlen((const char *)slot, KEY_SIZE), value_len;
            uint64_t h = hash_bytes(slot, key_len);
            if (2 * (used + 1) > cap) { /* grow to keep the load under 1/2 */
                struct entry *bigger = calloc(cap * 2, sizeof *bigger);
                if (bigger == NULL) break;
                for (size_t j = 0; j < cap; j++) {
                    if (table[j].key == NULL) continue;
                    size_t k = table[j].hash & (cap * 2 - 1);
                    while (bigger[k].key != NULL) k = (k + 1) & (cap * 2 - 1);
                    bigger[k] = table[j];
                }
                free(table);
                table = bigger;
                cap *= 2;
            }
            size_t k = h & (cap - 1);
            while (table[k].key != NULL &&
                   !(table[k].hash == h && strncmp(table[k].key, (const char *)slot, KEY_SIZE) == 0 &&
                     table[k].key[key_len] == 0))
                k = (k + 1) & (cap - 1);
            if (table[k].key == NULL) {
                table[k].key = copy_field(slot, KEY_SIZE, &key_len);
                table[k].hash = h;
                used++;
            } else {
                free(table[k].value);
            }
            table[k].value = copy_field(slot + KEY_SIZE, VALUE_SIZE, &value_len);
        }
        index += whole;
        if (whole < CHUNK_RECORDS) break;
    }
    if (rc == 0) rc = (long)used;
    for (size_t j = 0; table != NULL && j < cap; j++) {
        free(table[j].key);
        free(table[j].value);
    }
    free(table);
    return finish(fd, 0) == 0 ? rc : -1;
}

/* Removes every record holding `key`, shifting the rest up; returns how
 * many were removed, -1 on error. */
long floor_delete(int dir, const char *name, const char *key) {
    int fd = open_locked(dir, name, 1);
    if (fd < 0) return -1;
    size_t key_len = strlen(key);
    long read_index = 0, write_index = 0, removed = 0;
    for (;;) {
        long whole = read_chunk(fd, read_index);
        if (whole < 0) return finish(fd, -1);
        long kept = 0, first_moved = write_index != read_index ? 0 : -1;
        for (long j = 0; j < whole; j++) {
            unsigned char *slot = chunk + j * RECORD_SIZE;
            if (key_matches(slot, key, key_len)) {
                removed++;
                if (first_moved < 0) first_moved = kept;
            } else {
                if (kept != j) memmove(chunk + kept * RECORD_SIZE, slot, RECORD_SIZE);
                kept++;
            }
        }
        if (first_moved >= 0 && first_moved < kept) {
            size_t len = (size_t)(kept - first_moved) * RECORD_SIZE;
            off_t at = (off_t)(write_index + first_moved) * RECORD_SIZE;
            if (pwrite(fd, chunk + first_moved * RECORD_SIZE, len, at) != (ssize_t)len) return finish(fd, -1);
        }
        write_index += kept;
        read_index += whole;
        if (whole < CHUNK_RECORDS) break;
    }
    if (removed > 0 && ftruncate(fd, (off_t)write_index * RECORD_SIZE) != 0) return finish(fd, -1);
    return finish(fd, removed);
}

static void encode(unsigned char *record, const char *key, const char *value) {
    memset(record, 0, RECORD_SIZE);
    strncpy((char *)record, key, KEY_SIZE - 1);
    strncpy((char *)record + KEY_SIZE, value, VALUE_SIZE - 1);
}

/* Appends one record at the end; 0 on success, -1 on error. */
int floor_append(int dir, const char *name, const char *key, const char *value) {
    unsigned char record[RECORD_SIZE];
    encode(record, key, value);
    int fd = open_locked(dir, name, 1);
    if (fd < 0) return -1;
    struct iovec iov = {.iov_base = record, .iov_len = RECORD_SIZE};
    ssize_t n = pwritev2(fd, &iov, 1, -1, RWF_APPEND);
    return finish(fd, n == RECORD_SIZE ? 0 : -1);
}

/* As floor_append, opening the pool by its whole path, as a plain C
 * program does (open(2), a lookup of every component); 0 or -1. */
int floor_append_path(const char *path, const char *key, const char *value) {
    unsigned char record[RECORD_SIZE];
    encode(record, key, value);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return -1;
    if (lock_both(fd, 1) != 0) return finish(fd, -1);
    struct iovec iov = {.iov_base = record, .iov_len = RECORD_SIZE};
    ssize_t n = pwritev2(fd, &iov, 1, -1, RWF_APPEND);
    return finish(fd, n == RECORD_SIZE ? 0 : -1);
}

/* Adds `key` at the end after a scan that finds it absent (1), or rewrites
 * its first record's value (0); -1 on error. */
int floor_insert(int dir, const char *name, const char *key, const char *value) {
    int fd = open_locked(dir, name, 1);
    if (fd < 0) return -1;
    long records = 0, first = find_first(fd, key, &records);
    if (first == -2) return finish(fd, -1);
    unsigned char record[RECORD_SIZE];
    encode(record, key, value);
    if (first >= 0) {
        ssize_t n = pwrite(fd, record + KEY_SIZE, VALUE_SIZE, (off_t)first * RECORD_SIZE + KEY_SIZE);
        return finish(fd, n == VALUE_SIZE ? 0 : -1);
    }
    ssize_t n = pwrite(fd, record, RECORD_SIZE, (off_t)records * RECORD_SIZE);
    return finish(fd, n == RECORD_SIZE ? 1 : -1);
}

/* Seeded random input against libkvp: keys and values of random length
 * made of ASCII, multi-byte UTF-8 and stray bytes that are not UTF-8, in
 * both modes. Every call must return one of the statuses its input allows,
 * a failed write must leave the pool as it was, and a successful insert
 * must read back byte for byte. Under valgrind and ASan this is the "any
 * input a C caller can pass" check.
 * Usage: test_random SCRATCH_DIR */
#define _DEFAULT_SOURCE
#include <stdlib.h>

#include "check.h"

#define ROUNDS 400

/* How often each status came back from kvp_insert. */
static int outcomes[KVP_ERR_OTHER + 1];

static unsigned long long state = 0x2545F4914F6CDD1DULL;

static unsigned next(unsigned bound)
{
    /* xorshift64*: deterministic on every libc, unlike rand(). */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (unsigned)((state * 0x2545F4914F6CDD1DULL) >> 33) % bound;
}

/* Fills `text` with a NUL-terminated string of at most `max` bytes: empty,
 * short or long, and one time in four with bytes that are not UTF-8. */
static void random_text(char *text, size_t max)
{
    static const char *const pieces[] = {"a", "Z", "9", "|", " ", "\xc3\xa9", "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80", "\xff", "\x80", "\xc3", "\xed\xa0\x80"};
    const unsigned valid_pieces = 8, all_pieces = sizeof pieces / sizeof pieces[0];
    unsigned choices = next(4) == 0 ? all_pieces : valid_pieces;
    size_t len = 0, target;

    switch (next(8)) {
    case 0: target = 0; break;
    case 1: case 2: case 3: target = next(40); break;
    default: target = next((unsigned)max); break;
    }
    while (len < target) {
        const char *piece = pieces[next(choices)];
        size_t width = strlen(piece);
        if (len + width > target) break;
        memcpy(text + len, piece, width);
        len += width;
    }
    text[len] = '\0';
}

static int is_write_failure(kvp_status s)
{
    return s == KVP_ERR_INVALID_UTF8 || s == KVP_ERR_EMPTY_KEY || s == KVP_ERR_KEY_TOO_LARGE ||
           s == KVP_ERR_VALUE_TOO_LARGE;
}

static void round_on(const kvp_store *store)
{
    static char key[700], value[2600], back[KVP_VALUE_SIZE];
    size_t before = pool_len(store), len = 0, removed = 0;
    kvp_status s;

    random_text(key, sizeof key - 4);
    random_text(value, sizeof value - 4);
    s = kvp_insert(store, key, value);
    if ((int)s >= 0 && s <= KVP_ERR_OTHER) outcomes[s]++;
    if (s == KVP_OK) {
        CHECK_OK(kvp_read(store, key, back, sizeof back, &len));
        CHECK(len == strlen(value) && memcmp(back, value, len + 1) == 0);
    } else {
        CHECK(is_write_failure(s));
        CHECK(pool_len(store) == before);
    }
    s = kvp_append(store, key, value);
    CHECK(s == KVP_OK || is_write_failure(s));
    s = kvp_read(store, key, back, next(40), &len);
    CHECK(s == KVP_OK || s == KVP_ERR_NOT_FOUND || s == KVP_ERR_BUFFER_TOO_SMALL ||
          s == KVP_ERR_INVALID_UTF8);
    s = kvp_delete(store, key, &removed);
    CHECK(s == KVP_OK || s == KVP_ERR_INVALID_UTF8);
    if (s == KVP_OK) {
        CHECK(kvp_read(store, key, back, sizeof back, &len) == KVP_ERR_NOT_FOUND);
    }
}

int main(int argc, char **argv)
{
    const char *scratch = scratch_dir(argc, argv);
    kvp_options full;
    kvp_store *safe, *wide;
    char *json = NULL;
    int i;

    kvp_options_init(&full);
    full.mode = KVP_MODE_FULL;
    safe = open_in(scratch, "random-safe", NULL);
    wide = open_in(scratch, "random-full", &full);
    for (i = 0; i < ROUNDS; i++) {
        round_on(i % 2 ? wide : safe);
    }
    /* The input reached every outcome a write can have. */
    printf("insert outcomes: ok %d, invalid UTF-8 %d, empty key %d, key too large %d, value too large %d\n",
           outcomes[KVP_OK], outcomes[KVP_ERR_INVALID_UTF8], outcomes[KVP_ERR_EMPTY_KEY],
           outcomes[KVP_ERR_KEY_TOO_LARGE], outcomes[KVP_ERR_VALUE_TOO_LARGE]);
    CHECK(outcomes[KVP_OK] >= ROUNDS / 10);
    CHECK(outcomes[KVP_ERR_INVALID_UTF8] > 0 && outcomes[KVP_ERR_EMPTY_KEY] > 0);
    CHECK(outcomes[KVP_ERR_KEY_TOO_LARGE] > 0 && outcomes[KVP_ERR_VALUE_TOO_LARGE] > 0);
    /* Whatever went in, the pools still walk and dump. */
    CHECK_OK(kvp_dump_json(safe, &json));
    CHECK(json != NULL && json[0] == '[');
    kvp_string_free(json);
    kvp_close(safe);
    kvp_close(wide);
    return check_report("test_random");
}

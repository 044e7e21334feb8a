/*
 * The interop tests' C reader: prints every record of a pool file through
 * libkvp's kvp_foreach, one line per record, "<key hex> <value hex>", so
 * that the Python tests compare exact bytes.
 *
 * usage: kvp_dump <pool-file>
 */
#include <stdio.h>

#include "kvp.h"

static void print_hex(const char *bytes, size_t len)
{
	for (size_t i = 0; i < len; i++)
		printf("%02x", (unsigned)(unsigned char)bytes[i]);
}

static int print_record(void *ctx, const char *key, size_t key_len, const char *value,
			size_t value_len)
{
	(void)ctx;
	print_hex(key, key_len);
	putchar(' ');
	print_hex(value, value_len);
	putchar('\n');
	return KVP_FOREACH_CONTINUE;
}

int main(int argc, char **argv)
{
	kvp_store *store = NULL;
	enum kvp_status status;

	if (argc != 2) {
		fprintf(stderr, "usage: kvp_dump <pool-file>\n");
		return 2;
	}
	status = kvp_open(argv[1], NULL, &store);
	if (status == KVP_OK)
		status = kvp_foreach(store, print_record, NULL);
	kvp_close(store);
	if (status != KVP_OK) {
		fprintf(stderr, "kvp_dump: %s: %s\n", kvp_status_str((int)status),
			kvp_last_error_message());
		return 1;
	}
	return 0;
}

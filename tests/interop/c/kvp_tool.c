/*
 * The interop tests' C face: libkvp, driven from the command line.
 *
 *   kvp_tool <pool-file> <safe|full> dump            one line per record,
 *                                                    "<key hex> <value hex>"
 *   kvp_tool <pool-file> <safe|full> insert KEY VALUE
 *   kvp_tool <pool-file> <safe|full> append KEY VALUE
 *   kvp_tool <pool-file> <safe|full> delete KEY
 *
 * Exit 0 on success; otherwise the status name and message on stderr.
 */
#include <stdio.h>
#include <string.h>

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

static enum kvp_status run(const kvp_store *store, int argc, char **argv)
{
	const char *op = argv[3];

	if (strcmp(op, "dump") == 0 && argc == 4)
		return kvp_foreach(store, print_record, NULL);
	if (strcmp(op, "insert") == 0 && argc == 6)
		return kvp_insert(store, argv[4], argv[5]);
	if (strcmp(op, "append") == 0 && argc == 6)
		return kvp_append(store, argv[4], argv[5]);
	if (strcmp(op, "delete") == 0 && argc == 5)
		return kvp_delete(store, argv[4], NULL);
	fprintf(stderr, "kvp_tool: bad arguments\n");
	return KVP_ERR_INVALID_ARGUMENT;
}

int main(int argc, char **argv)
{
	kvp_store *store = NULL;
	struct kvp_options options;
	enum kvp_status status;

	if (argc < 4) {
		fprintf(stderr, "usage: kvp_tool <pool-file> <safe|full> <op> [args]\n");
		return 2;
	}
	kvp_options_init(&options);
	options.mode = strcmp(argv[2], "full") == 0 ? KVP_MODE_FULL : KVP_MODE_SAFE;
	status = kvp_open(argv[1], &options, &store);
	if (status == KVP_OK)
		status = run(store, argc, argv);
	kvp_close(store);
	if (status != KVP_OK) {
		fprintf(stderr, "kvp_tool: %s: %s\n", kvp_status_str((int)status),
			kvp_last_error_message());
		return 1;
	}
	return 0;
}

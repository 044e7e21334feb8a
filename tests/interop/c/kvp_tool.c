/*
 * The interop tests' C face: libkvp, driven from the command line.
 *
 *   kvp_tool <pool-file> <safe|full> dump            one line per record,
 *                                                    "<key hex> <value hex>"
 *   kvp_tool <pool-file> <safe|full> insert KEY VALUE
 *   kvp_tool <pool-file> <safe|full> append KEY VALUE
 *   kvp_tool <pool-file> <safe|full> delete KEY
 *   kvp_tool <pool-file> <safe|full> events          kvp_foreach_event: one
 *                                                    JSON object per line per
 *                                                    entry, with the fields and
 *                                                    spellings of the Rust
 *                                                    driver's `entries` op
 *   kvp_tool <pool-file> <safe|full> write-event FIELD=VALUE...
 *                                                    kvp_write_event; prints
 *                                                    the event id
 *
 * write-event fields (kvp_event's, every one optional but name):
 *   format=diag-v1|cloud-init-22.4|cloud-init-24.4|cloud-init-26.1
 *   agent= vm_id= incarnation= kind=start|finish|event name= type=
 *   result=SUCCESS|WARN|FAIL duration_ns= text= bytes=<hex> compressed=1
 *   event_id= ts=<RFC 3339>
 *
 * Exit 0 on success; otherwise the status name and message on stderr.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* --- events: one JSON line per entry --------------------------------------- */

/* A JSON string of `len` bytes of UTF-8, which pass through as they are. */
static void json_string(const char *text, size_t len)
{
	putchar('"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void field_string(const char *name, const char *text)
{
	printf(",\"%s\":", name);
	json_string(text, strlen(text));
}

/* `,"name":` followed by the string, or null when it is empty (the library
 * passes "" for a field the entry does not have). */
static void field_or_null(const char *name, const char *text)
{
	printf(",\"%s\":", name);
	if (text[0] == '\0')
		fputs("null", stdout);
	else
		json_string(text, strlen(text));
}

static void field_hex(const char *name, const char *bytes, size_t len)
{
	printf(",\"%s\":\"", name);
	print_hex(bytes, len);
	putchar('"');
}

static const char *kind_name(uint32_t kind)
{
	switch (kind) {
	case KVP_EVENT_KIND_START:
		return "start";
	case KVP_EVENT_KIND_FINISH:
		return "finish";
	default:
		return "event";
	}
}

static void print_event(const struct kvp_event_entry *e)
{
	fputs("\"entry\":\"event\"", stdout);
	field_string("format", e->format_name);
	field_string("agent", e->agent);
	printf(",\"kind\":\"%s\"", kind_name(e->kind));
	field_string("type", e->event_type);
	field_string("name", e->name);
	field_string("ts", e->timestamp);
	/* As text, since nanoseconds since 1970 overflow a double. */
	if (e->unix_seconds == 0 && e->nanoseconds == 0)
		fputs(",\"unix_ns\":null", stdout);
	else if (e->unix_seconds == 0)
		printf(",\"unix_ns\":\"%" PRIu32 "\"", e->nanoseconds);
	else
		printf(",\"unix_ns\":\"%" PRId64 "%09" PRIu32 "\"", e->unix_seconds,
		       e->nanoseconds);
	field_or_null("result", e->result_text);
	if (e->duration_ns == KVP_DURATION_NONE)
		fputs(",\"duration_ns\":null", stdout);
	else
		printf(",\"duration_ns\":\"%" PRId64 "\"", e->duration_ns);
	if (e->payload_is_text) {
		fputs(",\"text\":", stdout);
		json_string(e->payload, e->payload_len);
		fputs(",\"bytes\":null", stdout);
	} else {
		fputs(",\"text\":null", stdout);
		field_hex("bytes", e->payload, e->payload_len);
	}
	printf(",\"encoding\":\"%s\"", e->compressed ? "gz+b64" : "none");
	field_or_null("vm_id", e->vm_id);
	field_or_null("event_id", e->event_id);
	if (e->incarnation == 0)
		fputs(",\"incarnation\":null", stdout);
	else
		printf(",\"incarnation\":%" PRIu64, e->incarnation);
	printf(",\"chunks\":%zu,\"missing\":[", e->chunks);
	for (size_t i = 0; i < e->missing_count; i++)
		printf("%s%" PRIu64, i ? "," : "", e->missing_chunks[i]);
	putchar(']');
}

static int print_entry(void *ctx, const struct kvp_event_entry *e)
{
	(void)ctx;
	printf("{\"position\":%zu,", e->position);
	switch (e->entry) {
	case KVP_ENTRY_EVENT:
		print_event(e);
		break;
	case KVP_ENTRY_REPORT:
		fputs("\"entry\":\"report\"", stdout);
		field_string("result", e->result_text);
		field_string("agent", e->agent);
		field_string("vm_id", e->vm_id);
		field_string("timestamp", e->timestamp);
		fputs(",\"reason\":", stdout);
		if (e->payload_len == 0)
			fputs("null", stdout);
		else
			json_string(e->payload, e->payload_len);
		field_hex("key", e->key, e->key_len);
		field_hex("value", e->value, e->value_len);
		break;
	default:
		fputs("\"entry\":\"raw\"", stdout);
		field_hex("key", e->key, e->key_len);
		field_hex("value", e->value, e->value_len);
		field_or_null("reason", e->reason_name);
		field_or_null("detail", e->detail);
		break;
	}
	puts("}");
	return KVP_FOREACH_CONTINUE;
}

/* --- write-event ------------------------------------------------------------ */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

struct choice {
	const char *name;
	uint32_t value;
};

static const struct choice FORMATS[] = {
	{ "diag-v1", KVP_EVENT_FORMAT_DIAG_V1 },
	{ "cloud-init-22.4", KVP_EVENT_FORMAT_CLOUD_INIT_22_4 },
	{ "cloud-init-24.4", KVP_EVENT_FORMAT_CLOUD_INIT_24_4 },
	{ "cloud-init-26.1", KVP_EVENT_FORMAT_CLOUD_INIT_26_1 },
	{ NULL, 0 },
};

static const struct choice KINDS[] = {
	{ "start", KVP_EVENT_KIND_START },
	{ "finish", KVP_EVENT_KIND_FINISH },
	{ "event", KVP_EVENT_KIND_EVENT },
	{ NULL, 0 },
};

static const struct choice RESULTS[] = {
	{ "SUCCESS", KVP_EVENT_RESULT_SUCCESS },
	{ "WARN", KVP_EVENT_RESULT_WARN },
	{ "FAIL", KVP_EVENT_RESULT_FAIL },
	{ NULL, 0 },
};

static int choose(const struct choice *choices, const char *name, uint32_t *out)
{
	for (; choices->name != NULL; choices++) {
		if (strcmp(choices->name, name) == 0) {
			*out = choices->value;
			return 0;
		}
	}
	return -1;
}

/* Hex into a new buffer in *bytes (freed by the caller); -1 if not hex. */
static int set_bytes(struct kvp_event *ev, const char *hex, uint8_t **bytes)
{
	size_t n = strlen(hex) / 2;

	free(*bytes);
	*bytes = malloc(n ? n : 1);
	if (*bytes == NULL || strlen(hex) % 2)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		(*bytes)[i] = (uint8_t)(hi << 4 | lo);
	}
	ev->bytes = *bytes;
	ev->bytes_len = n;
	return 0;
}

/* Sets the field NAME=VALUE of `arg`; -1 for an unknown name or value. */
static int set_field(struct kvp_event *ev, const char *arg, uint8_t **bytes)
{
	const struct {
		const char *name;
		const char **slot;
	} strings[] = {
		{ "agent", &ev->agent },
		{ "vm_id", &ev->vm_id },
		{ "name", &ev->name },
		{ "type", &ev->event_type },
		{ "text", &ev->text },
		{ "event_id", &ev->event_id },
		{ "ts", &ev->timestamp },
	};
	const char *eq = strchr(arg, '=');
	char name[16];

	if (eq == NULL || (size_t)(eq - arg) >= sizeof(name))
		return -1;
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	arg = eq + 1;
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		if (strcmp(name, strings[i].name) == 0) {
			*strings[i].slot = arg;
			return 0;
		}
	}
	if (strcmp(name, "format") == 0)
		return choose(FORMATS, arg, &ev->format);
	if (strcmp(name, "kind") == 0)
		return choose(KINDS, arg, &ev->kind);
	if (strcmp(name, "result") == 0)
		return choose(RESULTS, arg, &ev->result);
	if (strcmp(name, "incarnation") == 0)
		ev->incarnation = strtoull(arg, NULL, 10);
	else if (strcmp(name, "duration_ns") == 0)
		ev->duration_ns = strtoll(arg, NULL, 10);
	else if (strcmp(name, "compressed") == 0)
		ev->flags = strcmp(arg, "1") == 0 ? KVP_EVENT_COMPRESSED : 0;
	else if (strcmp(name, "bytes") == 0)
		return set_bytes(ev, arg, bytes);
	else
		return -1;
	return 0;
}

static enum kvp_status write_event(const kvp_store *store, int argc, char **argv)
{
	struct kvp_event ev;
	char id[KVP_UUID_SIZE];
	uint8_t *bytes = NULL;
	enum kvp_status status = KVP_OK;

	kvp_event_init(&ev);
	for (int i = 4; i < argc; i++) {
		if (set_field(&ev, argv[i], &bytes) != 0) {
			fprintf(stderr, "kvp_tool: bad field %s\n", argv[i]);
			status = KVP_ERR_INVALID_ARGUMENT;
			break;
		}
	}
	if (status == KVP_OK)
		status = kvp_write_event(store, &ev, id);
	if (status == KVP_OK)
		puts(id);
	free(bytes);
	return status;
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
	if (strcmp(op, "events") == 0 && argc == 4)
		return kvp_foreach_event(store, 0, print_entry, NULL);
	if (strcmp(op, "write-event") == 0)
		return write_event(store, argc, argv);
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
	if (fflush(stdout) != 0 && status == KVP_OK)
		status = KVP_ERR_IO;
	if (status != KVP_OK) {
		fprintf(stderr, "kvp_tool: %s: %s\n", kvp_status_str((int)status),
			kvp_last_error_message());
		return 1;
	}
	return 0;
}

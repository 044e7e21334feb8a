/*
 * LD_PRELOAD shim for the interop tests (see docs/interop.md).
 *
 * In hv_kvp_daemon it stands in for the kernel device and keeps the daemon
 * off the real system:
 *   - open("/dev/vmbus/hv_kvp") returns a SOCK_SEQPACKET socket connected to
 *     $KVP_SHIM_SOCKET, where the test plays the kernel's side; one
 *     7432-byte struct hv_kvp_msg per packet, as the device gives one per
 *     read();
 *   - popen(), system() and daemon() fail (they would run the network
 *     scripts or detach), getaddrinfo() fails fast (no DNS on start-up);
 *     each denied call is appended to $KVP_SHIM_LOG so the test can assert
 *     that none happened.
 *
 * In any process (the daemon, or one of ours through kvp-core, libkvp or
 * hyperv_kvp) it can also stop at lock transitions, so the tests can hold
 * a lock for as long as they need without timing anything:
 *   - when $KVP_SHIM_GATE is set and that file exists, every fcntl write
 *     lock request (POSIX or OFD) and every unlock reports an event in
 *     $KVP_SHIM_GATE.paused ("wait-lock", "locked" or "unlocked", with the
 *     pid) and the process waits until the test removes that file (one
 *     step) or the gate itself (run freely).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define KVP_DEVICE "/dev/vmbus/hv_kvp"

typedef int (*open_fn)(const char *, int, ...);
typedef int (*fcntl_fn)(int, int, ...);

/* dlsym returns an object pointer; POSIX guarantees it converts to a
 * function pointer, ISO C does not, so the copy goes through memcpy. */
static void *next_symbol(const char *name)
{
	void *symbol = dlsym(RTLD_NEXT, name);

	if (!symbol) {
		fprintf(stderr, "kvp_shim: no next %s: %s\n", name, dlerror());
		abort();
	}
	return symbol;
}

static open_fn next_open(const char *name)
{
	open_fn fn;
	void *symbol = next_symbol(name);

	memcpy(&fn, &symbol, sizeof(fn));
	return fn;
}

static fcntl_fn next_fcntl(const char *name)
{
	fcntl_fn fn;
	void *symbol = next_symbol(name);

	memcpy(&fn, &symbol, sizeof(fn));
	return fn;
}

static void log_denied(const char *what, const char *detail)
{
	const char *path = getenv("KVP_SHIM_LOG");
	FILE *log;

	fprintf(stderr, "kvp_shim: denied %s(%s)\n", what, detail ? detail : "");
	if (!path)
		return;
	log = fopen(path, "ae");
	if (!log)
		return;
	fprintf(log, "%d denied %s(%s)\n", (int)getpid(), what, detail ? detail : "");
	fclose(log);
}

static int connect_kernel_socket(int flags)
{
	const char *path = getenv("KVP_SHIM_SOCKET");
	struct sockaddr_un address;
	int fd;

	if (!path || strlen(path) >= sizeof(address.sun_path)) {
		errno = ENOENT;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | ((flags & O_CLOEXEC) ? SOCK_CLOEXEC : 0), 0);
	if (fd < 0)
		return -1;
	memset(&address, 0, sizeof(address));
	address.sun_family = AF_UNIX;
	strcpy(address.sun_path, path);
	if (connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static int open_common(const char *name, const char *path, int flags, va_list ap)
{
	mode_t mode = 0;

	if (path && strcmp(path, KVP_DEVICE) == 0)
		return connect_kernel_socket(flags);
	/* O_TMPFILE contains O_DIRECTORY's bit: test all of it. */
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		mode = (mode_t)va_arg(ap, unsigned int);
	return next_open(name)(path, flags, mode);
}

/* open and open64, fcntl and fcntl64: the same wrapper under both names,
 * each forwarding to the next definition of its own name. */
#define VARIADIC_WRAPPER(ret, name, common, type1, arg1, type2, arg2) \
	ret name(type1 arg1, type2 arg2, ...)                           \
	{                                                               \
		va_list ap;                                             \
		ret rc;                                                 \
		va_start(ap, arg2);                                     \
		rc = common(#name, arg1, arg2, ap);                     \
		va_end(ap);                                             \
		return rc;                                              \
	}

VARIADIC_WRAPPER(int, open, open_common, const char *, path, int, flags)
VARIADIC_WRAPPER(int, open64, open_common, const char *, path, int, flags)

FILE *popen(const char *command, const char *type)
{
	(void)type;
	log_denied("popen", command);
	errno = EPERM;
	return NULL;
}

int system(const char *command)
{
	log_denied("system", command);
	errno = EPERM;
	return -1;
}

int daemon(int nochdir, int noclose)
{
	(void)nochdir;
	(void)noclose;
	log_denied("daemon", NULL);
	errno = EPERM;
	return -1;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **result)
{
	(void)service;
	(void)hints;
	(void)result;
	log_denied("getaddrinfo", node);
	return EAI_NONAME;
}

static void pause_ms(long ms)
{
	struct timespec delay = { 0, ms * 1000000L };

	while (nanosleep(&delay, &delay) != 0 && errno == EINTR)
		;
}

/* Reports `event` and waits while the gate is closed (see the top). */
static void gate(const char *event)
{
	const char *gate_path = getenv("KVP_SHIM_GATE");
	char paused[4096];
	char tmp[4096 + 8];
	FILE *marker;
	int saved = errno;

	if (!gate_path || access(gate_path, F_OK) != 0)
		goto out;
	if (snprintf(paused, sizeof(paused), "%s.paused", gate_path) >= (int)sizeof(paused))
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.tmp", paused);
	/* Wait for the test to consume any earlier event first. */
	while (access(paused, F_OK) == 0 && access(gate_path, F_OK) == 0)
		pause_ms(1);
	if (access(gate_path, F_OK) != 0)
		goto out;
	marker = fopen(tmp, "we");
	if (!marker)
		goto out;
	fprintf(marker, "%s %d\n", event, (int)getpid());
	fclose(marker);
	/* rename makes the marker appear whole. */
	if (rename(tmp, paused) != 0)
		goto out;
	while (access(paused, F_OK) == 0 && access(gate_path, F_OK) == 0)
		pause_ms(1);
	unlink(paused);
out:
	errno = saved;
}

static int is_lock_command(int command)
{
	return command == F_SETLK || command == F_SETLKW || command == F_OFD_SETLK ||
	       command == F_OFD_SETLKW;
}

static int fcntl_common(const char *name, int fd, int command, va_list ap)
{
	/* As glibc does: every fcntl argument is passed as one pointer-sized
	 * word, so reading it as a pointer is safe for any command. */
	void *argument = va_arg(ap, void *);
	struct flock *region = argument;
	int rc;

	if (!is_lock_command(command))
		return next_fcntl(name)(fd, command, argument);
	if (region->l_type == F_WRLCK && (command == F_SETLKW || command == F_OFD_SETLKW))
		gate("wait-lock");
	rc = next_fcntl(name)(fd, command, argument);
	if (rc == 0 && region->l_type != F_RDLCK)
		gate(region->l_type == F_UNLCK ? "unlocked" : "locked");
	return rc;
}

VARIADIC_WRAPPER(int, fcntl, fcntl_common, int, fd, int, command)
VARIADIC_WRAPPER(int, fcntl64, fcntl_common, int, fd, int, command)

"""The kernel's side of the hv_kvp_daemon protocol, and the daemon under test.

`DaemonHarness` starts a real hv_kvp_daemon in the foreground (the
system's /usr/sbin/hv_kvp_daemon, or one of a newer Debian release run
through its own libc's loader: see releases.py), in a private mount
namespace where the test's pool directory is /var/lib/hyperv, with the LD_PRELOAD shim (shim/kvp_shim.c) turning its
open of /dev/vmbus/hv_kvp into a socket to us. We then do what
drivers/hv/hv_kvp.c does: answer the daemon's REGISTER1 with our version
string, and send it SET, GET, DELETE and ENUMERATE messages built as
kvp_send_key() builds them (a zeroed struct hv_kvp_msg, UTF-8 text, sizes
counting the NUL). We never send GET_IP_INFO or SET_IP_INFO.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# include/uapi/linux/hyperv.h
KEY_SIZE = 512
VALUE_SIZE = 2048
MSG_SIZE = 7432  # sizeof(struct hv_kvp_msg) on x86-64, checked by the shim build
OP_GET, OP_SET, OP_DELETE, OP_ENUMERATE = 0, 1, 2, 3
OP_REGISTER1 = 100
REG_SZ = 1
HV_S_OK = 0x00000000
HV_S_CONT = 0x80070103
HV_E_FAIL = 0x80004005
# What the kernel tells the daemon it is (HV_DRV_VERSION).
DRIVER_VERSION = b"3.1"

# Offsets inside struct hv_kvp_msg: a 4-byte header (operation, pool, pad),
# which the daemon overwrites with its error code, then the body union.
BODY = 4
SET_VALUE_TYPE, SET_KEY_SIZE, SET_VALUE_SIZE, SET_KEY, SET_VALUE = 4, 8, 12, 16, 528
DEL_KEY_SIZE, DEL_KEY = 4, 8
ENUM_INDEX, ENUM_KEY, ENUM_VALUE = 4, 20, 532

DAEMON = "/usr/sbin/hv_kvp_daemon"
HERE = Path(__file__).resolve().parent

# Generous bounds on waits that should end at once; reaching one fails the
# test with a message. Nothing asserts on how long anything took.
PATIENCE = 30.0


class HarnessError(AssertionError):
    """The daemon or the protocol did not behave as the kernel expects."""


def field(data: bytes) -> bytes:
    """The text of a field: everything before its first NUL."""
    end = data.find(b"\0")
    return data if end < 0 else data[:end]


@dataclass
class Reply:
    """The daemon's answer to one request."""

    status: int
    raw: bytes

    @property
    def ok(self) -> bool:
        return self.status == HV_S_OK

    def enum_key_field(self) -> bytes:
        return self.raw[ENUM_KEY : ENUM_KEY + KEY_SIZE]

    def enum_value_field(self) -> bytes:
        return self.raw[ENUM_VALUE : ENUM_VALUE + VALUE_SIZE]

    def get_value_field(self) -> bytes:
        return self.raw[SET_VALUE : SET_VALUE + VALUE_SIZE]


def _message(op: int, pool: int) -> bytearray:
    msg = bytearray(MSG_SIZE)
    struct.pack_into("<BBH", msg, 0, op, pool, 0)
    return msg


def _text(data: str | bytes, limit: int) -> bytes:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    # The kernel converts at most limit-1 bytes and always leaves a NUL.
    return raw[: limit - 1]


def build_set(pool: int, key: str | bytes, value: str | bytes) -> bytes:
    msg = _message(OP_SET, pool)
    k, v = _text(key, KEY_SIZE), _text(value, VALUE_SIZE)
    struct.pack_into("<III", msg, SET_VALUE_TYPE, REG_SZ, len(k) + 1, len(v) + 1)
    msg[SET_KEY : SET_KEY + len(k)] = k
    msg[SET_VALUE : SET_VALUE + len(v)] = v
    return bytes(msg)


def build_get(pool: int, key: str | bytes, value_size: int = 0) -> bytes:
    # The kernel sets only key_size for GET; value_size stays 0 from
    # kzalloc. `value_size` lets a test ask what a non-zero one would show.
    msg = _message(OP_GET, pool)
    k = _text(key, KEY_SIZE)
    struct.pack_into("<III", msg, SET_VALUE_TYPE, 0, len(k) + 1, value_size)
    msg[SET_KEY : SET_KEY + len(k)] = k
    return bytes(msg)


def build_delete(pool: int, key: str | bytes) -> bytes:
    msg = _message(OP_DELETE, pool)
    k = _text(key, KEY_SIZE)
    struct.pack_into("<I", msg, DEL_KEY_SIZE, len(k) + 1)
    msg[DEL_KEY : DEL_KEY + len(k)] = k
    return bytes(msg)


def build_enumerate(pool: int, index: int) -> bytes:
    msg = _message(OP_ENUMERATE, pool)
    struct.pack_into("<I", msg, ENUM_INDEX, index)
    return bytes(msg)


def proc_locks() -> list[list[str]]:
    """/proc/locks, split into fields, in as few reads as the kernel allows.
    It lists the locks a page at a time, each page under its lock-list
    locks; when other processes' locks come and go between two pages (many
    lines, a busy machine), a line can be listed twice or not at all."""
    fd = os.open("/proc/locks", os.O_RDONLY)
    chunks = []
    try:
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return [line.split() for line in b"".join(chunks).decode().splitlines()]


def _on(parts: list[str], inode: int) -> bool:
    return any(p.endswith(f":{inode}") for p in parts)


def proc_lock_waiters(inode: int) -> list[str]:
    """Lines of /proc/locks that are blocked waiters on `inode`."""
    return [" ".join(parts) for parts in proc_locks() if "->" in parts and _on(parts, inode)]


def lock_holders(inode: int, family: str = "POSIX") -> list[int]:
    """Pids holding (not waiting for) a lock of `family` (POSIX, FLOCK,
    OFDLCK, as /proc/locks names them) on `inode`, each once (see
    proc_locks for why a line can repeat)."""
    return sorted(
        {int(parts[4]) for parts in proc_locks() if "->" not in parts and family in parts and _on(parts, inode)}
    )


def wait_until(predicate, what: str, timeout: float = PATIENCE, process=None):
    """Polls `predicate` until it is true; fails loudly after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise HarnessError(f"{what}: process exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise HarnessError(f"gave up waiting for {what}")
        time.sleep(0.002)


class Gate:
    """Steps a shim-loaded process through its lock transitions.

    While the gate file exists, the process stops at each write-lock request
    ("wait-lock"), grant ("locked") and release ("unlocked") and reports it;
    `step()` waits for the next report and lets it go on.
    """

    def __init__(self, path: Path):
        self.path = path
        self.paused = Path(str(path) + ".paused")

    def close(self) -> None:
        self.path.touch()

    def open(self) -> None:
        self.path.unlink(missing_ok=True)
        self.paused.unlink(missing_ok=True)

    def next_event(self, process=None) -> tuple[str, int]:
        wait_until(self.paused.exists, f"a lock event in {self.paused}", process=process)
        event, pid = self.paused.read_text().split()
        return event, int(pid)

    def release(self) -> None:
        self.paused.unlink(missing_ok=True)

    def run_to(self, wanted: str, process=None) -> list[str]:
        """Lets events pass until `wanted` is reported; stays paused there."""
        seen = []
        while True:
            event, _pid = self.next_event(process)
            seen.append(event)
            if event == wanted:
                return seen
            self.release()


class DaemonHarness:
    """The real hv_kvp_daemon, talking to us instead of the kernel."""

    def __init__(self, shim: Path, pool_dir: Path, command: list[str] | None = None):
        self.shim = shim
        self.pool_dir = pool_dir
        # The daemon's command line: `hv_kvp_daemon -n`, maybe behind a loader.
        self.command = command or [DAEMON, "-n"]
        self.release = None  # the conftest puts the releases.Release here
        self.workdir = Path(tempfile.mkdtemp(prefix="kvp-d-"))
        self.socket_path = self.workdir / "k.sock"
        self.log = self.workdir / "shim.log"
        self.stderr_path = self.workdir / "daemon.stderr"
        self.gate = Gate(self.workdir / "gate")
        self.process: subprocess.Popen | None = None
        self.conn: socket.socket | None = None
        self.registration: bytes = b""

    def pool_path(self, pool: int) -> Path:
        return self.pool_dir / f".kvp_pool_{pool}"

    def stop_inside_set(self, pool: int, key: str, value: str) -> list[str]:
        """Sends the host's SET and stops the daemon holding the lock of its
        rewrite, just before it writes the file; `gate.open()` lets it go
        on, and `receive()` then gives its reply. The daemon reads the pool
        under one lock and writes it under a second: returns the lock
        events seen on the way."""
        self.gate.close()
        self.send(build_set(pool, key, value))
        seen = self.gate.run_to("locked", self.process)
        self.gate.release()
        return seen + self.gate.run_to("locked", self.process)

    def start(self) -> "DaemonHarness":
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        listener.bind(str(self.socket_path))
        listener.listen(1)
        script = (
            "set -e\n"
            'if [ -d /var/lib/hyperv ]; then\n'
            '  mount --bind "$KVP_POOLS" /var/lib/hyperv\n'
            "else\n"
            # No /var/lib/hyperv on this machine: make one in a tmpfs that
            # only this namespace sees, rather than on the real system.
            "  mount -t tmpfs -o mode=0755 kvp-interop /var/lib\n"
            "  mkdir /var/lib/hyperv\n"
            '  mount --bind "$KVP_POOLS" /var/lib/hyperv\n'
            "fi\n"
            'exec env LD_PRELOAD="$KVP_SHIM" "$@"\n'
        )
        env = dict(os.environ)
        env.update(
            KVP_POOLS=str(self.pool_dir),
            KVP_SHIM=str(self.shim),
            KVP_SHIM_SOCKET=str(self.socket_path),
            KVP_SHIM_LOG=str(self.log),
            KVP_SHIM_GATE=str(self.gate.path),
        )
        with open(self.stderr_path, "wb") as err:
            # unshare execs in place, so this pid is the daemon's.
            self.process = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]
                + self.command,
                env=env,
                stdout=err,
                stderr=err,
            )
        try:
            ready, _, _ = select.select([listener], [], [], PATIENCE)
            if not ready:
                raise HarnessError(f"the daemon never opened the device: {self.stderr()}")
            self.conn, _ = listener.accept()
        finally:
            listener.close()
        # The daemon registers first (KVP_OP_REGISTER1); the kernel answers
        # with a REGISTER1 message carrying its version string.
        first = self._recv()
        if first[0] != OP_REGISTER1:
            raise HarnessError(f"first message op {first[0]}, expected REGISTER1")
        self.registration = first
        answer = _message(OP_REGISTER1, 0)
        answer[BODY : BODY + len(DRIVER_VERSION)] = DRIVER_VERSION
        self.conn.sendall(bytes(answer))
        return self

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def denied_calls(self) -> list[str]:
        try:
            return self.log.read_text().splitlines()
        except FileNotFoundError:
            return []

    def _recv(self, timeout: float = PATIENCE) -> bytes:
        assert self.conn is not None
        ready, _, _ = select.select([self.conn], [], [], timeout)
        if not ready:
            raise HarnessError(f"no message from the daemon: {self.stderr()}")
        data = self.conn.recv(MSG_SIZE + 1)
        if len(data) != MSG_SIZE:
            raise HarnessError(
                f"daemon sent {len(data)} bytes, expected {MSG_SIZE}: {self.stderr()}"
            )
        return data

    def reply_pending(self) -> bool:
        """Whether a reply is waiting, without waiting for one."""
        assert self.conn is not None
        ready, _, _ = select.select([self.conn], [], [], 0)
        return bool(ready)

    def send(self, message: bytes) -> None:
        op = message[0]
        if op not in (OP_GET, OP_SET, OP_DELETE, OP_ENUMERATE):
            raise HarnessError(f"the harness never sends op {op}")
        assert self.conn is not None
        self.conn.sendall(message)

    def receive(self) -> Reply:
        data = self._recv()
        return Reply(struct.unpack_from("<I", data, 0)[0], data)

    def request(self, message: bytes) -> Reply:
        self.send(message)
        return self.receive()

    # The host's operations, as the kernel forwards them.
    def set(self, pool: int, key, value) -> Reply:
        return self.request(build_set(pool, key, value))

    def get(self, pool: int, key, value_size: int = 0) -> Reply:
        return self.request(build_get(pool, key, value_size))

    def delete(self, pool: int, key) -> Reply:
        return self.request(build_delete(pool, key))

    def enumerate(self, pool: int) -> list[tuple[bytes, bytes]]:
        """Every record the host would see, as raw UTF-8 up to each NUL."""
        out = []
        for index in range(100000):
            reply = self.request(build_enumerate(pool, index))
            if reply.status == HV_S_CONT:
                return out
            if not reply.ok:
                raise HarnessError(f"ENUMERATE {pool}/{index}: status {reply.status:#x}")
            out.append((field(reply.enum_key_field()), field(reply.enum_value_field())))
        raise HarnessError("ENUMERATE never ended")

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.process is not None and self.process.poll() is None:
            self.gate.open()
            self.process.kill()
            self.process.wait(timeout=PATIENCE)

"""The peers, the observer and the verifier of the cross-language stress
test (tests/reliability/stress.sh). Plain Python with no project code: it
knows only the pool format and the peers' locking.

  stress_peers.py seed POOL               the daemon's records, before anyone runs
  stress_peers.py flock POOL ROUNDS       cloud-init: open(path, "ab") under
                                          flock(LOCK_EX), one record per open (in
                                          two halves, to widen the race window)
  stress_peers.py posix POOL ROUNDS       hv_kvp_daemon: F_SETLKW whole file, read
                                          every record, change one value the daemon's
                                          way (new bytes and a NUL over the old
                                          ones), rewrite all records in place
  stress_peers.py observe POOL STOPFILE   under flock and a POSIX lock (which
                                          exclude everyone), sample the pool until
                                          STOPFILE exists: the size is a multiple
                                          of 2560 and every record is whole
  stress_peers.py verify POOL ROUNDS ID... the final pool is exactly what each
                                          writer's last operations predict

The peers do not exclude each other (flock and POSIX locks do not see each
other), as in real life; they are arranged so that they cannot clobber one
another: the daemon's keys exist before the run, it never changes the
file's size, and cloud-init only appends. Every conflict left is with the
library's writers, which take both locks.
"""
import fcntl
import json
import os
import re
import sys
import time

KEY_SIZE, VALUE_SIZE = 512, 2048
RECORD_SIZE = KEY_SIZE + VALUE_SIZE
DAEMON_KEYS = 4
DAEMON_SEED = "seed value with a tail the daemon leaves after its NUL"
CLOUD_KEY = "CLOUD_INIT|1700000000|stress|event|{}"
WORKER_KEY = re.compile(r"own-[\w-]+-[0-3]|(log|tmp)-[\w-]+|daemon-[0-3]")
CLOUD_RE = re.compile(r"CLOUD_INIT\|1700000000\|stress\|event\|(\d+)")


def field_text(field: bytes) -> bytes:
    end = field.find(b"\0")
    return field if end < 0 else field[:end]


def encode(key: str, value: str) -> bytes:
    return key.encode().ljust(KEY_SIZE, b"\0") + value.encode().ljust(VALUE_SIZE, b"\0")


def parse(data: bytes) -> list:
    """Whole records as (key, value) str pairs; raises on a torn record."""
    records = []
    for offset in range(0, len(data) - len(data) % RECORD_SIZE, RECORD_SIZE):
        key = field_text(data[offset:offset + KEY_SIZE]).decode()
        value = field_text(data[offset + KEY_SIZE:offset + RECORD_SIZE]).decode()
        check_record(key, value)
        records.append((key, value))
    return records


def check_record(key: str, value: str) -> None:
    """A record some writer of this test wrote whole, or AssertionError."""
    cloud = CLOUD_RE.fullmatch(key)
    if cloud:
        assert json.loads(value) == {"name": "stress", "i": int(cloud.group(1))}, (key, value)
    else:
        assert WORKER_KEY.fullmatch(key), f"torn or foreign key {key!r}"
        assert value.isdigit() or (key.startswith("daemon-") and value == DAEMON_SEED), (key, value)


def lock_both(f, exclusive: bool) -> None:
    fcntl.flock(f, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    fcntl.lockf(f, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)


def seed(path: str) -> None:
    with open(path, "ab") as f:
        lock_both(f, True)
        f.write(b"".join(encode(f"daemon-{k}", DAEMON_SEED) for k in range(DAEMON_KEYS)))


def flock_writer(path: str, rounds: int) -> None:
    for i in range(rounds):
        value = json.dumps({"name": "stress", "i": i}, separators=(",", ":"))
        with open(path, "ab") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            record = encode(CLOUD_KEY.format(i), value)
            # cloud-init writes a record at once; two halves with a pause
            # widen the window in which a writer ignoring flock would see
            # (and cut, or write over) a partial record.
            f.write(record[:KEY_SIZE])
            f.flush()
            time.sleep(0.001)
            f.write(record[KEY_SIZE:])
    print(f"flock writer: {rounds} records appended")


def posix_writer(path: str, rounds: int) -> None:
    for r in range(rounds):
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            image = bytearray(os.pread(fd, size - size % RECORD_SIZE, 0))
            key = f"daemon-{r % DAEMON_KEYS}".encode()
            for offset in range(0, len(image), RECORD_SIZE):
                if field_text(image[offset:offset + KEY_SIZE]) == key:
                    new = str(r).encode() + b"\0"
                    start = offset + KEY_SIZE
                    image[start:start + len(new)] = new
                    break
            else:
                sys.exit(f"posix writer: round {r}: {key.decode()} is gone")
            # Hold the image a moment, as a slower writer would: without the
            # lock, this window would revert the library's writes.
            time.sleep(0.002)
            os.pwrite(fd, bytes(image), 0)
        finally:
            os.close(fd)
    print(f"posix writer: {rounds} read-modify-rewrites in place")


def observe(path: str, stopfile: str) -> None:
    samples = 0
    while True:
        stop = os.path.exists(stopfile)
        with open(path, "rb") as f:
            lock_both(f, False)
            size = os.fstat(f.fileno()).st_size
            assert size % RECORD_SIZE == 0, f"sample {samples}: size {size} under the locks"
            data = os.pread(f.fileno(), size, 0)
            assert len(data) == size
            parse(data)
        samples += 1
        if stop:
            break
    print(f"observer: {samples} samples under flock+POSIX lock, every size a multiple of "
          f"{RECORD_SIZE}, every record whole")


def verify(path: str, rounds: int, workers: list) -> None:
    with open(path, "rb") as f:
        data = f.read()
    assert len(data) % RECORD_SIZE == 0, f"final size {len(data)}"
    records = parse(data)
    expected = {}
    for wid in workers:
        for k in range(4):
            last = [r for r in range(rounds) if r % 4 == k]
            if last:
                expected[f"own-{wid}-{k}"] = [str(last[-1])]
        expected[f"log-{wid}"] = [str(r) for r in range(rounds)]
        tmp = [str(r) for r in range(rounds - rounds % 5, rounds)]
        if tmp:
            expected[f"tmp-{wid}"] = tmp
    for k in range(DAEMON_KEYS):
        last = [r for r in range(rounds) if r % DAEMON_KEYS == k]
        expected[f"daemon-{k}"] = [str(last[-1]) if last else DAEMON_SEED]
    for i in range(rounds):
        expected[CLOUD_KEY.format(i)] = [json.dumps({"name": "stress", "i": i}, separators=(",", ":"))]
    found = {}
    for key, value in records:
        found.setdefault(key, []).append(value)
    problems = [f"{key}: expected {want}, found {found.get(key)}"
                for key, want in expected.items() if found.get(key) != want]
    problems += [f"unexpected key {key}" for key in found if key not in expected]
    if problems:
        sys.exit("verify: " + "\n  ".join(problems[:20]))
    print(f"verify: {len(records)} records, all whole; {len(workers)} workers' own keys hold "
          f"their last values, every append of every writer is there in order, nothing extra")


if __name__ == "__main__":
    command, pool = sys.argv[1], sys.argv[2]
    if command == "seed":
        seed(pool)
    elif command == "flock":
        flock_writer(pool, int(sys.argv[3]))
    elif command == "posix":
        posix_writer(pool, int(sys.argv[3]))
    elif command == "observe":
        observe(pool, sys.argv[3])
    elif command == "verify":
        verify(pool, int(sys.argv[3]), sys.argv[4:])
    else:
        sys.exit(f"unknown command {command}")

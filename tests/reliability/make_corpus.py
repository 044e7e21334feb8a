#!/usr/bin/env python3
"""Writes the hostile pool corpus into DIR (generated at test time: the
100 MB file is sparse and never committed). Plain Python, no project code.

    make_corpus.py DIR

Each file's defined outcome is in docs/RELIABILITY.md ("Hostile files") and
asserted by tests/reliability/hostile.c (C ABI) and
tests/reliability/test_hostile.py (Python). A read-only and a full
filesystem are not files: those tests mount their own small tmpfs in a
private mount namespace.
"""
import os
import sys

KEY_SIZE, VALUE_SIZE = 512, 2048
RECORD_SIZE = KEY_SIZE + VALUE_SIZE
HUGE_BYTES = 100 * 1024 * 1024
NOBODY = 65534


def record(key: bytes, value: bytes, key_tail: bytes = b"", value_tail: bytes = b"") -> bytes:
    """A record whose fields hold `text NUL tail`, zero-filled after."""
    key_field = (key + b"\0" + key_tail if len(key) < KEY_SIZE else key).ljust(KEY_SIZE, b"\0")
    value_field = value + b"\0" + value_tail if len(value) < VALUE_SIZE else value
    return key_field[:KEY_SIZE] + value_field.ljust(VALUE_SIZE, b"\0")[:VALUE_SIZE]


def make(root: str) -> None:
    os.makedirs(root, exist_ok=True)

    def write(name: str, data: bytes) -> None:
        with open(os.path.join(root, name), "wb") as f:
            f.write(data)

    # Two whole records and the first 1000 bytes of a third (a torn write).
    write("partial-tail.pool",
          record(b"first", b"1") + record(b"second", b"2") + record(b"torn", b"3")[:1000])
    # The daemon's stale tails: bytes after each NUL are garbage.
    write("garbage-after-nul.pool",
          record(b"key", b"value", b"GARBAGE-KEY-TAIL", b"GARBAGE 127.0.0.1 localhost")
          + record(b"k2", b"v2", b"\xff\xfe\x00junk", b"\xc3"))
    # Fields filled to the brim, with no NUL at all.
    write("no-nul.pool", b"K" * KEY_SIZE + b"V" * VALUE_SIZE + record(b"after", b"ok"))
    # Bytes that are not UTF-8 in a key and in values.
    write("invalid-utf8.pool",
          record(b"bad-\xff\xfe", b"\xc3\x28 broken") + record(b"latin1", b"caf\xe9")
          + record(b"after", b"ok"))
    write("all-zero.pool", bytes(3 * RECORD_SIZE))
    # 100 MiB of zero records (sparse), then one real record.
    with open(os.path.join(root, "huge.pool"), "wb") as f:
        f.truncate(HUGE_BYTES)
        f.seek(HUGE_BYTES)
        f.write(record(b"needle", b"found"))
    os.mkdir(os.path.join(root, "directory.pool"))
    os.mkfifo(os.path.join(root, "fifo.pool"), 0o600)
    # A pool directory whose .kvp_pool_1 is a symlink to a file outside it.
    write("symlink-target.pool", record(b"k", b"target"))
    os.mkdir(os.path.join(root, "symlink-dir"))
    os.symlink("../symlink-target.pool", os.path.join(root, "symlink-dir", ".kvp_pool_1"))
    # A pool nobody but its owner may touch, in a directory anyone may enter.
    noperm = os.path.join(root, "noperm")
    os.mkdir(noperm)
    os.chmod(root, 0o755)
    os.chmod(noperm, 0o755)
    write("noperm/pool", record(b"k", b"v"))
    os.chmod(os.path.join(noperm, "pool"), 0)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_corpus.py DIR")
    make(sys.argv[1])
    print(f"corpus written to {sys.argv[1]}")

#!/usr/bin/env python3
"""A plain, independent reader and writer of the KVP pool format.

It knows only the format (2560-byte records, 512-byte key, 2048-byte value,
text up to the first NUL) and none of this project's code, so that the
core's files can be checked against it in both directions.

    plain_kvp.py dump POOL           prints the records as a JSON array of
                                     {"key": hex, "value": hex}
    plain_kvp.py write POOL < JSON   writes records given as the same array
"""
import json
import sys

KEY_SIZE, VALUE_SIZE = 512, 2048
RECORD_SIZE = KEY_SIZE + VALUE_SIZE


def field_text(field: bytes) -> bytes:
    end = field.find(b"\0")
    return field if end < 0 else field[:end]


def read_pool(path: str) -> list:
    with open(path, "rb") as f:
        data = f.read()
    records = []
    for offset in range(0, len(data) - len(data) % RECORD_SIZE, RECORD_SIZE):
        key = field_text(data[offset:offset + KEY_SIZE])
        value = field_text(data[offset + KEY_SIZE:offset + RECORD_SIZE])
        records.append({"key": key.hex(), "value": value.hex()})
    return records


def write_pool(path: str, records: list) -> None:
    with open(path, "wb") as f:
        for record in records:
            key, value = bytes.fromhex(record["key"]), bytes.fromhex(record["value"])
            f.write(key.ljust(KEY_SIZE, b"\0") + value.ljust(VALUE_SIZE, b"\0"))


if __name__ == "__main__":
    command, path = sys.argv[1], sys.argv[2]
    if command == "dump":
        json.dump(read_pool(path), sys.stdout)
    elif command == "write":
        write_pool(path, json.load(sys.stdin))
    else:
        sys.exit(f"unknown command {command}")

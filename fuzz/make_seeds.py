#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into OUTDIR/<target>/.

    make_seeds.py OUTDIR

Seeds are built from files the repository already has, so no corpus is
committed: the real pools (tests/fixtures, copies of ../shared/testdata;
kvp-report/tests/fixtures), the records of the cloud-init fixtures and of
the peers' examples, and the hostile corpus (tests/reliability/
make_corpus.py, its regular files only). Each pool goes in twice: raw, as
the file is (libFuzzer mutates real bytes), and in the compact form of
fuzz/src/lib.rs (key=value lines, far smaller, so far more runs a
second), with scripts that reach every store operation. Plain Python, no
project code.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY_SIZE, VALUE_SIZE = 512, 2048
RECORD_SIZE = KEY_SIZE + VALUE_SIZE
MAGIC = b"\xffKVP"
COMPACT, WHOLE, FULL_MODE, SMALL_CAP, PARTIAL = 1, 2, 4, 8, 0x10


def record(key: bytes, value: bytes) -> bytes:
    return key[:KEY_SIZE].ljust(KEY_SIZE, b"\0") + value[:VALUE_SIZE].ljust(VALUE_SIZE, b"\0")


def pool(pairs) -> bytes:
    return b"".join(record(k, v) for k, v in pairs)


def field_text(field: bytes) -> bytes:
    return field.split(b"\0", 1)[0]


def records_of(image: bytes):
    whole = len(image) - len(image) % RECORD_SIZE
    return [(field_text(image[i:i + KEY_SIZE]), field_text(image[i + KEY_SIZE:i + RECORD_SIZE]))
            for i in range(0, whole, RECORD_SIZE)]


def join(body: bytes, flags: int, ops: bytes = b"") -> bytes:
    return body + bytes([flags]) + ops + struct.pack("<H", len(ops) + 1) + MAGIC


def compact(pairs) -> bytes:
    """The compact body of `pairs`, or None when one cannot be written so."""
    lines = []
    for key, value in pairs:
        if b"=" in key or b"\n" in key or b"\n" in value or key.startswith(b"\x7f"):
            return None
        lines.append(key + b"=" + value)
    return b"\n".join(lines)


# Store scripts (opcodes of fuzz_targets/store_ops.rs): 0 insert, 1 append,
# 2 append_many, 3 load, 4 read, 5 read_raw, 6 delete, 7 delete_many,
# 8 delete_raw, 9 survey, 10 clear, 11 clear_if_stale, 12 is_stale,
# 13 repair. Key selector: < 0x80 a pool key, 0x80 | n a literal of n bytes,
# >= 0xc0 a long run; value selector: < 0x80 a literal of n bytes, else a
# long run.
SCRIPTS = [
    bytes([9, 4, 0, 5, 1, 0, 0, 1]) + b"x" + bytes([9]),
    bytes([1, 0x81]) + b"n" + bytes([1]) + b"y" + bytes([1, 0x81]) + b"n" + bytes([0]) + bytes([0, 0x81]) + b"n"
    + bytes([1]) + b"z" + bytes([9]),
    bytes([2, 3, 0x81]) + b"a" + bytes([1]) + b"1" + bytes([0x81]) + b"b" + bytes([0]) + bytes([1, 0]) + bytes([0x83])
    + bytes([9, 3, 2, 0x81]) + b"k" + bytes([0x80, 0x71]) + bytes([0, 0]) + bytes([9]),
    bytes([6, 0, 7, 2, 1, 2, 8, 2, 0x80, 0x82]) + b"\xff\xfe" + bytes([9, 13, 9]),
    bytes([0, 0xc0, 127, 0]) + bytes([0, 0xc0, 128, 0]) + bytes([0, 0x81]) + b"v" + bytes([0x80, 113])
    + bytes([0, 0x81]) + b"v" + bytes([0x84, 113]) + bytes([1, 0x81]) + b"w" + bytes([0xfc, 227]) + bytes([9]),
    bytes([12, 0x80, 1, 11, 0x80, 1, 9, 11, 0x80, 0, 9, 10, 9]),
    bytes([13, 9, 0, 0x82]) + b"\0a" + bytes([0]) + bytes([6, 0x80, 4, 0x82]) + b"a\0" + bytes([9]),
]


def hostile_pools():
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus")
        subprocess.run([sys.executable, os.path.join(ROOT, "tests/reliability/make_corpus.py"), corpus],
                       check=True, stdout=subprocess.DEVNULL)
        out = {}
        for name in sorted(os.listdir(corpus)):
            path = os.path.join(corpus, name)
            if name.endswith(".pool") and os.path.isfile(path) and not os.path.islink(path) \
                    and os.path.getsize(path) < 1 << 20:
                with open(path, "rb") as f:
                    out["hostile-" + name] = f.read()
        return out


def fixture_pools():
    out = {}
    for folder in ("tests/fixtures", "kvp-report/tests/fixtures"):
        for name in sorted(os.listdir(os.path.join(ROOT, folder))):
            if name.endswith(".pool"):
                with open(os.path.join(ROOT, folder, name), "rb") as f:
                    out[name] = f.read()
    fixtures = os.path.join(ROOT, "kvp-report/tests/fixtures")
    for name in sorted(os.listdir(fixtures)):
        if name.startswith("cloud-init-") and name.endswith(".json"):
            with open(os.path.join(fixtures, name)) as f:
                records = json.load(f)["records"]
            out[name[:-5] + ".pool"] = pool((k.encode(), v.encode()) for k, v in records)
    with open(os.path.join(fixtures, "peer-examples.json")) as f:
        peers = json.load(f)
    examples = [(r["key"].encode(), r["value"].encode())
                for r in peers["cloud_init_records"] + peers["diag_v1_records"]]
    examples += [(b"PROVISIONING_REPORT", r["value"].encode()) for r in peers["reports_azure_init"]]
    out["peer-examples.pool"] = pool(examples)
    return out, peers


def tracing_pool() -> bytes:
    """azure-init tracing records, built from its format as tests/peers.rs does."""
    vm = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
    key = f"azure-init-0.1.1|{vm}|INFO|provision:run|9c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f".encode()
    event = f"azure-init-0.1.1|{vm}|DEBUG|imds:query|1c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f".encode()
    long = ("Time: 2026-08-31T12:34:56.789Z | Event: " + "é" * 700).encode()
    return pool([(key, b"Start: 2026-08-31T12:34:56.789Z | End: 2026-08-31T12:34:57.101Z"),
                 (event, long[:1022]), (event, long[1022:])])


def main(out: str) -> None:
    pools, peers = fixture_pools()
    pools.update(hostile_pools())
    pools["azure-init-tracing.pool"] = tracing_pool()
    seeds = {t: {} for t in ("store_ops", "check_repair", "load_formats", "report_reader", "report_fields")}

    for name, image in pools.items():
        base = name[:-5]
        pairs = records_of(image)
        body = compact(pairs)
        for target in ("store_ops", "check_repair", "report_reader"):
            seeds[target][base + ".raw"] = image
            if body is not None:
                seeds[target][base + ".compact"] = join(body, COMPACT)
        for i, script in enumerate(SCRIPTS):
            flags = [0, WHOLE, FULL_MODE, SMALL_CAP][i % 4]
            if len(image) <= 8 * RECORD_SIZE:
                seeds["store_ops"][f"{base}.script{i}"] = join(image, flags, script)
            if body is not None:
                seeds["store_ops"][f"{base}.compact.script{i}"] = join(body, COMPACT | flags, script)
        dump = json.dumps([{"key": k.decode(errors="replace"), "value": v.decode(errors="replace")}
                           for k, v in pairs], ensure_ascii=False)
        seeds["load_formats"][base + ".dump.json"] = dump.encode()
        for k, v in pairs:
            if k == b"PROVISIONING_REPORT":
                seeds["report_fields"][f"{base}.report{len(seeds['report_fields'])}"] = b"\0" + v

    # Reader seeds with the compression macros and the reader's options.
    vm, eid = "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "9c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f"
    diag = f"DIAG_V1|fuzz|{vm}|event|dmesg|{eid}|2026-08-31T12:34:56.789Z|gz+b64||".encode()
    cloud = (f"CLOUD_INIT|1781654000|compressed|cloud-init.log|{eid}").encode()
    cloud_value = (b'{"name":"cloud-init.log","type":"compressed","ts":"2026-06-17T00:00:00Z",'
                   b'"msg":"{\\"encoding\\": \\"gz+b64\\", \\"data\\": \\"\x02\x0bhello world\\"}"}')
    plain = diag.replace(b"|gz+b64|", b"|none|")
    chunked = [(plain + b"|%d" % i, b"part %d " % i) for i in (0, 2)]
    reader = seeds["report_reader"]
    reader["macro-diag-gzip"] = join(diag + b"|0=\x01\x05hello", COMPACT)
    reader["macro-cloud-zlib"] = join(cloud + b"=" + cloud_value, COMPACT)
    reader["macro-bomb-capped"] = join(diag + b"|0=\x04\x40" + b"A" * 64, COMPACT, b"\x10")
    reader["partial-group"] = join(compact(chunked), COMPACT | PARTIAL)
    for i, g in enumerate(peers["gz_b64"]):
        reader[f"peer-gz{i}"] = join(diag + b"|0=" + g["data"].encode(), COMPACT, b"\x01")

    fields = seeds["report_fields"]
    for i, r in enumerate(peers["reports_azure_init"]):
        fields[f"peer-report{i}"] = b"\0" + r["value"].encode()
    fields["report-quoted"] = b"\0result=error|reason='a|b ''c'''|agent=x|vm_id=y|timestamp=t|note=\"q\"\"q\""
    fields["built-report"] = b"\x03\x0bAzure-Init/1.0\x1f00000000-0000-0000-0000-000000000abc\x1fno network" \
        b"\x1f2026-06-17T00:00:00Z\x1fendpoint=http://example.com\x1fnote=a|b 'c\""
    fields["built-report-long"] = b"\x03\x01agent\x1fvm\x1f" + b"r" * 900 + b"\x1fk=" + b"v" * 900
    for i, ts in enumerate(["2026-06-17T00:00:00Z", "2026-06-17T00:00:00.123456+00:00",
                            "2026-06-17T00:00:00.123456789-05:30", "2024-02-29T23:59:59.9",
                            "0000-01-01T00:00:00", "9999-12-31T23:59:59.999999999+23:59"]):
        fields[f"timestamp{i}"] = b"\x01" + ts.encode()
    for i, ev in enumerate([b"\x01\x05hello\x00" + bytes(12) + b"\x02abcdefghijklmnopqrstuvwxyz0123456789",
                            b"\x02\x04name\x1e" + bytes(12) + b"\x10" + b"x" * 300,
                            b"\x00\x03abc\x23" + bytes(12) + b"\x01\xc3\xa9" * 40]):
        fields[f"event{i}"] = b"\x02" + ev

    load = seeds["load_formats"]
    load["object.json"] = b'{"b": "1", "a": "2", "b": "3", "\\u00e9": "\\ud83d\\ude00"}'
    load["array.json"] = b'[{"key":"k","value":"v=1"},{"key":"k","value":""}]'
    load["lines.txt"] = b"# comment\n\nA=1\nB=x=y\r\nC=\nD=\xc3\xa9\xe2\x82\xac\n"
    load["bad-line.txt"] = b"A=1\nsecret line\n"
    load["bad-json.json"] = b'[{"key": "a", "value": "b", "x": 1}]'
    load["escapes.txt"] = b"Status\\xff\\u{202e}\\n\\t\\\\ \\u{1F600}"

    for target, files in seeds.items():
        folder = os.path.join(out, target)
        os.makedirs(folder, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
    print(f"seeds written to {out}: " + ", ".join(f"{t} {len(f)}" for t, f in seeds.items()))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_seeds.py OUTDIR")
    main(sys.argv[1])

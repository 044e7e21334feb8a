"""Times the benchmark workload through the hyperv_kvp package.

The same pools, keys and setup (plain file I/O) as
kvp-core/benches/support/workload.rs and tests/bench/bench_c.c, sampled the way criterion samples: a warm-up, then 30
samples of several calls each, and the median of the samples' mean time per
call. Setup (restoring or cutting the pool) runs before each call, outside
the timing.

    python bench_py.py DIR [MEASURE_MS] [WARMUP_MS]

Prints one line per benchmark: "OPERATION SIZE MEDIAN_NS".
"""

from __future__ import annotations

import os
import statistics
import sys
from time import perf_counter_ns
from typing import Callable, List, Optional

from hyperv_kvp import KEY_SIZE, RECORD_SIZE, VALUE_SIZE, KvpPool

SIZES = (1, 100, 1023)
SAMPLES = 30
DELETE_KEY = "key-0"
NEW_KEY = "brand-new-key"
OPERATIONS = ("read", "update", "entries", "delete", "append", "insert-new")


def image_of(n: int) -> bytes:
    """The records key-0 .. key-(n-1), each with 100 'v's, NUL-padded."""
    return b"".join(
        f"key-{i}".encode().ljust(KEY_SIZE, b"\0") + b"v" * 100 + bytes(VALUE_SIZE - 100) for i in range(n)
    )


def measure(
    call: Callable[[], object],
    setup: Optional[Callable[[], None]],
    measure_ns: int,
    warmup_ns: int,
) -> float:
    def run(iters: int) -> int:
        if setup is None:
            start = perf_counter_ns()
            for _ in range(iters):
                call()
            return perf_counter_ns() - start
        total = 0
        for _ in range(iters):
            setup()
            start = perf_counter_ns()
            call()
            total += perf_counter_ns() - start
        return total

    spent = calls = 0
    batch = 1
    while spent < warmup_ns:
        spent += run(batch)
        calls += batch
        batch *= 2
    iters = max(1, int(measure_ns / SAMPLES / (spent / calls)))
    return statistics.median(run(iters) / iters for _ in range(SAMPLES))


def main(argv: List[str]) -> int:
    if not 2 <= len(argv) <= 4:
        print("usage: bench_py.py DIR [MEASURE_MS] [WARMUP_MS]", file=sys.stderr)
        return 2
    measure_ns = int(argv[2] if len(argv) > 2 else 1000) * 1_000_000
    warmup_ns = int(argv[3] if len(argv) > 3 else 300) * 1_000_000
    for n in SIZES:
        path = os.path.join(argv[1], f"pool-{n}")
        pool = KvpPool(path=path)
        image = image_of(n)
        read_key, update_key = f"key-{n - 1}", f"key-{n // 2}"

        def restore() -> None:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                os.pwrite(fd, image, 0)
                os.ftruncate(fd, len(image))
            finally:
                os.close(fd)

        def cut_last() -> None:
            # Through a descriptor, never os.truncate by path: see workload.rs.
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.ftruncate(fd, (n - 1) * RECORD_SIZE)
            finally:
                os.close(fd)

        def delete() -> None:
            if pool.delete(DELETE_KEY) != 1:
                raise SystemExit("bench_py: delete removed nothing")

        benches = {
            "read": (lambda: pool.read(read_key), None),
            "update": (lambda: pool.insert(update_key, "updated"), None),
            "entries": (pool.entries, None),
            "delete": (delete, restore),
            "append": (lambda: pool.append(read_key, "value"), cut_last),
            "insert-new": (lambda: pool.insert(NEW_KEY, "value"), cut_last),
        }
        restore()
        if pool.read(read_key) != "v" * 100 or len(pool.entries()) != n:
            raise SystemExit("bench_py: the pool does not hold the workload")
        for op in OPERATIONS:
            if op == "append":
                restore()  # after delete's last call
            os.sync()  # as workload.rs settle()
            call, setup = benches[op]
            print(f"{op} {n} {measure(call, setup, measure_ns, warmup_ns):.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""One worker of the cross-language multi-process stress test
(tests/reliability/stress.sh): the hyperv_kvp face. Same loop as
kvp-core/examples/stress_worker.rs (see there); exits 1 on the first read
or delete that is not what this worker alone wrote.

Usage: stress_worker.py POOL ID ROUNDS
"""
import sys

from hyperv_kvp import KvpPool


def main() -> int:
    path, wid, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    pool = KvpPool(path=path)
    log, tmp = f"log-{wid}", f"tmp-{wid}"
    pending = 0
    for r in range(rounds):
        value, own = str(r), f"own-{wid}-{r % 4}"
        pool.insert(own, value)
        back = pool.read(own)
        if back != value:
            print(f"{wid}: round {r}: {own} reads {back!r}, wrote {value}", file=sys.stderr)
            return 1
        pool.append(log, value)
        pool.append(tmp, value)
        pending += 1
        if r % 5 == 4:
            removed = pool.delete(tmp)
            if removed != pending:
                print(f"{wid}: round {r}: delete {tmp} removed {removed}, expected {pending}",
                      file=sys.stderr)
                return 1
            pending = 0
        pool.read("daemon-0")
        if r % 10 == 9:
            pool.records()
    print(f"{wid}: {rounds} rounds, every read and delete as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())

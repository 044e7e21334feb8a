"""The interop tests' Python face as a separate process (so that the shim
can be preloaded into it): hyperv_kvp driven from the command line.

    python3 py_writer.py <pool-file> <safe|full> insert|append KEY VALUE
    python3 py_writer.py <pool-file> <safe|full> delete KEY
"""

import sys

from hyperv_kvp import KvpPool


def main() -> None:
    path, mode, op, *args = sys.argv[1:]
    with KvpPool(path=path, mode=mode) as pool:
        getattr(pool, op)(*args)


if __name__ == "__main__":
    main()

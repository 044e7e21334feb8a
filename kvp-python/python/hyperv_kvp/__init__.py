"""hyperv_kvp: Hyper-V KVP pool files for Python agents.

Reads and writes ``/var/lib/hyperv/.kvp_pool_N`` byte for byte and lock for
lock with hv_kvp_daemon and cloud-init, on the same Rust engine as the C
library and the ``kvp`` tool::

    from hyperv_kvp import KvpPool

    with KvpPool(1, lock_timeout=5) as pool:      # /var/lib/hyperv/.kvp_pool_1
        pool["PROVISIONING_REPORT"] = "result=success"
        pool.append("DIAGNOSTIC", "step 1")
        print(pool.read("DIAGNOSTIC"), len(pool))

``hyperv_kvp.reporting`` writes and reads what agents report in pool 1:
the provisioning report, the VM id and diagnostic events of every format
(cloud-init's and azure-init's); ``hyperv_kvp.logging.KvpHandler`` sends
Python logging there. ``hyperv_kvp.cloudinit`` (imported on its own, with
cloud-init installed) puts cloud-init's own KVP reporting handler on this
storage.
"""

from __future__ import annotations

from . import _native
from ._pool import (
    DEFAULT_CREATE_MODE,
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_MAX_POOL_BYTES,
    KvpPool,
    Pool,
    PoolMode,
    PoolSpec,
    Record,
    StrPath,
)
from .exceptions import (
    CloudInitNotFoundError,
    EventFormatError,
    EventTooLargeError,
    InvalidFieldError,
    InvalidKeyError,
    InvalidOptionError,
    InvalidValueError,
    KeyTooLargeError,
    KvpError,
    LockTimeoutError,
    NotARegularFileError,
    PoolReplacedError,
    PoolTooLargeError,
    ReportFormatError,
    ReportTooLargeError,
    TooLargeError,
    UniqueKeyLimitError,
    UnsupportedCloudInitError,
    UnknownNameError,
    UnsafePoolError,
    UnsupportedByFormatError,
    ValueTooLargeError,
    VmIdError,
)

__version__: str = _native.__version__

_LIMITS = dict(_native.limits())
KEY_SIZE: int = _LIMITS["KEY_SIZE"]
"""Bytes in a record's key field (512)."""
VALUE_SIZE: int = _LIMITS["VALUE_SIZE"]
"""Bytes in a record's value field (2048)."""
RECORD_SIZE: int = _LIMITS["RECORD_SIZE"]
"""Bytes in a record (2560)."""
MAX_UNIQUE_KEYS: int = _LIMITS["MAX_UNIQUE_KEYS"]
"""Unique keys a pool may hold before inserting a new one fails (1024)."""
SAFE_KEY_UTF16_UNITS: int = _LIMITS["SAFE_KEY_UTF16_UNITS"]
"""Safe mode: most UTF-16 code units in a key (254)."""
SAFE_VALUE_UTF16_UNITS: int = _LIMITS["SAFE_VALUE_UTF16_UNITS"]
"""Safe mode: most UTF-16 code units in a value (1022)."""
MAX_KEY_BYTES: int = _LIMITS["MAX_KEY_BYTES"]
"""Full mode: most UTF-8 bytes in a key (511)."""
MAX_VALUE_BYTES: int = _LIMITS["MAX_VALUE_BYTES"]
"""Full mode: most UTF-8 bytes in a value (2047)."""
DEFAULT_DIR: str = _native.DEFAULT_DIR
"""Where hv_kvp_daemon keeps the pools (/var/lib/hyperv)."""
del _LIMITS

__all__ = [
    "KvpPool",
    "Pool",
    "PoolMode",
    "PoolSpec",
    "Record",
    "StrPath",
    "KEY_SIZE",
    "VALUE_SIZE",
    "RECORD_SIZE",
    "MAX_UNIQUE_KEYS",
    "SAFE_KEY_UTF16_UNITS",
    "SAFE_VALUE_UTF16_UNITS",
    "MAX_KEY_BYTES",
    "MAX_VALUE_BYTES",
    "DEFAULT_DIR",
    "DEFAULT_LOCK_TIMEOUT",
    "DEFAULT_CREATE_MODE",
    "DEFAULT_MAX_POOL_BYTES",
    "__version__",
    "KvpError",
    "InvalidKeyError",
    "InvalidValueError",
    "TooLargeError",
    "KeyTooLargeError",
    "ValueTooLargeError",
    "UniqueKeyLimitError",
    "LockTimeoutError",
    "NotARegularFileError",
    "UnknownNameError",
    "UnsafePoolError",
    "PoolReplacedError",
    "PoolTooLargeError",
    "InvalidOptionError",
    "EventFormatError",
    "InvalidFieldError",
    "ReportTooLargeError",
    "EventTooLargeError",
    "UnsupportedByFormatError",
    "ReportFormatError",
    "VmIdError",
    "CloudInitNotFoundError",
    "UnsupportedCloudInitError",
]

"""KvpPool: a pool file as a MutableMapping, around the native handle."""

from __future__ import annotations

import enum
import os
from types import TracebackType
from typing import (
    Dict,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    List,
    Mapping,
    MutableMapping,
    NamedTuple,
    Optional,
    Tuple,
    Type,
    Union,
    ValuesView,
)

from . import _native
from .exceptions import InvalidOptionError

__all__ = [
    "KvpPool",
    "Pool",
    "PoolMode",
    "Record",
    "StrPath",
    "PoolSpec",
    "DEFAULT_LOCK_TIMEOUT",
    "DEFAULT_CREATE_MODE",
    "DEFAULT_MAX_POOL_BYTES",
]

DEFAULT_LOCK_TIMEOUT: float = _native.DEFAULT_LOCK_TIMEOUT
"""Seconds an operation waits for a pool's locks unless told otherwise (30).
Any user who can read a pool can hold its lock, so nothing waits forever
unless ``lock_timeout=None`` asks for it."""
DEFAULT_CREATE_MODE: int = _native.DEFAULT_CREATE_MODE
"""Permission bits of a pool file this library creates (0o600), before the
umask."""
DEFAULT_MAX_POOL_BYTES: int = _native.DEFAULT_MAX_POOL_BYTES
"""The largest pool, in bytes, that a whole-pool read accepts (64 MiB)."""

StrPath = Union[str, "os.PathLike[str]"]


class Pool(enum.IntEnum):
    """The five KVP pools, numbered as in the kernel (``KVP_POOL_*``)."""

    EXTERNAL = 0
    """Data the host sets for the guest."""
    GUEST = 1
    """Data guest agents publish to the host (cloud-init's reports)."""
    AUTO = 2
    """Answered by the daemon from live system facts; the file is unused."""
    AUTO_EXTERNAL = 3
    """Host facts such as VirtualMachineId and PhysicalHostName."""
    AUTO_INTERNAL = 4
    """Undocumented."""

    @classmethod
    def parse(cls, pool: PoolSpec) -> Pool:
        """A pool from a Pool, a number 0-4, or a name such as ``"guest"``,
        ``"auto_external"`` or ``"3"`` (case and ``-``/``_`` do not matter).

        Raises UnknownNameError for anything else, TypeError for a non-str,
        non-int argument.
        """
        if isinstance(pool, bool) or not isinstance(pool, (int, str)):
            raise TypeError(f"pool must be a Pool, an int or a str, not {type(pool).__name__}")
        if isinstance(pool, Pool):
            return pool
        return cls(_native.parse_pool(str(pool)))

    @property
    def file_name(self) -> str:
        """The pool's file name, ``.kvp_pool_N``."""
        return f".kvp_pool_{int(self)}"


class PoolMode(enum.Enum):
    """Which limits writes must meet; ``.value`` is the name (``"safe"``)."""

    SAFE = "safe"
    """The record reaches the host intact: key 1-254, value 0-1022 UTF-16
    code units (each also within its field with a NUL)."""
    FULL = "full"
    """Anything that fits the field with a NUL: key 1-511, value 0-2047
    UTF-8 bytes. The host may receive such records cut."""

    @classmethod
    def parse(cls, mode: Union[PoolMode, str]) -> PoolMode:
        """A mode from a PoolMode or ``"safe"``/``"full"`` in any case."""
        if isinstance(mode, PoolMode):
            return mode
        if not isinstance(mode, str):
            raise TypeError(f"mode must be a PoolMode or a str, not {type(mode).__name__}")
        return cls(_native.parse_mode(mode))


PoolSpec = Union[Pool, int, str]


class Record(NamedTuple):
    """One record of a pool file, in file order, duplicates kept. A key
    that is not UTF-8 holds its undecodable bytes as surrogate escapes, as
    ``os.listdir`` does; invalid UTF-8 in a value is replaced with U+FFFD."""

    key: str
    value: str


def _check_str(name: str, text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be str, not {type(text).__name__}")
    return text


def _key_bytes(key: object) -> bytes:
    """The exact bytes a key names: UTF-8, with surrogate escapes
    (``"\\udcff"``) standing for the undecodable bytes they came from."""
    return _check_str("key", key).encode("utf-8", "surrogateescape")


def _check_int(name: str, number: object) -> int:
    if isinstance(number, bool) or not isinstance(number, int):
        raise TypeError(f"{name} must be an int, not {type(number).__name__}")
    return number


def _pairs(entries: object, what: str) -> List[Tuple[str, str]]:
    if isinstance(entries, Mapping):
        items: Iterable[object] = entries.items()
    elif isinstance(entries, (str, bytes)) or not isinstance(entries, Iterable):
        raise TypeError(
            f"{what} takes a mapping or an iterable of (key, value) pairs, "
            f"not {type(entries).__name__}"
        )
    else:
        items = entries
    pairs = []
    for index, item in enumerate(items):
        if not isinstance(item, tuple) or len(item) != 2:
            raise TypeError(f"{what}: entry {index} must be a (key, value) tuple, not {item!r}")
        pairs.append((_check_str(f"key of entry {index}", item[0]),
                      _check_str(f"value of entry {index}", item[1])))
    return pairs


class KvpPool(MutableMapping[str, str]):
    """A Hyper-V KVP pool file, read and written under its locks.

    ``KvpPool(pool=1, *, directory=None, path=None, mode="safe",
    lock_timeout=DEFAULT_LOCK_TIMEOUT, sync=False, create_mode=0o600,
    max_pool_bytes=DEFAULT_MAX_POOL_BYTES)`` opens pool ``pool`` (a
    :class:`Pool`, a number or a name) in ``directory`` (default
    ``/var/lib/hyperv``), or the file at ``path``. Nothing is created until
    the first write. A symlink in place of a pool file in ``directory`` is
    refused; an explicit ``path`` is followed (when root or the caller owns
    the symlink), and the file found there is pinned: if another file
    takes its place later, operations raise
    :class:`~hyperv_kvp.PoolReplacedError`.

    ``mode`` sets the write limits (see :class:`PoolMode`). ``lock_timeout``
    is the most seconds an operation waits for the pool's locks before it
    raises :class:`~hyperv_kvp.LockTimeoutError` (default 30, because any
    user who can read a pool can hold its lock); None waits as long as it
    takes, as hv_kvp_daemon and cloud-init do. ``sync`` flushes each write
    to disk before its lock is released. ``create_mode`` is the permission
    bits of a pool file this object creates (never group- or
    other-writable). ``max_pool_bytes`` caps the pool size that whole-pool
    reads accept (:class:`~hyperv_kvp.PoolTooLargeError`).

    Writes refuse a pool file that has more than one hard link, belongs to
    another user than the caller and root, or that group or others may
    write (:class:`~hyperv_kvp.UnsafePoolError`), and change nothing.

    Every operation opens the file, takes flock (which cloud-init uses) and
    an OFD lock (which excludes hv_kvp_daemon), works, and closes it. The
    object holds no descriptor in between: share it between threads, keep
    using it in a child after ``os.fork()``. The GIL is released while an
    operation waits and does I/O.

    As a mapping, keys are the pool's unique keys and each one maps to the
    value of its last record ("last wins", as libazureinit-kvp reads). A
    key that is not UTF-8 comes back with its undecodable bytes as surrogate
    escapes (``"Status\\udcff"`` for the bytes ``Status\\xff``), Python's
    convention for undecodable OS data: every key the mapping yields can be
    read and deleted through it, and two keys never merge. Writes take only
    text that UTF-8 can encode. A key holding NUL matches nothing.
    ``pool[k] = v`` is :meth:`insert`, ``del pool[k]`` removes every record
    of ``k`` and raises KeyError when there was none. ``keys()``,
    ``values()``, ``items()`` and iteration are snapshots taken with one
    locked read, in key order. ``update`` inserts key by key and
    ``setdefault`` reads then inserts: neither is atomic across processes.
    """

    def __init__(
        self,
        pool: PoolSpec = 1,
        *,
        directory: Optional[StrPath] = None,
        path: Optional[StrPath] = None,
        mode: Union[PoolMode, str] = "safe",
        lock_timeout: Optional[float] = DEFAULT_LOCK_TIMEOUT,
        sync: bool = False,
        create_mode: int = DEFAULT_CREATE_MODE,
        max_pool_bytes: int = DEFAULT_MAX_POOL_BYTES,
    ) -> None:
        number = Pool.parse(pool)
        if path is not None and (directory is not None or number != Pool.GUEST):
            raise TypeError("give either path, or pool and directory, not both")
        for name, where in (("directory", directory), ("path", path)):
            if where is not None and not isinstance(where, (str, os.PathLike)):
                raise TypeError(f"{name} must be a str or os.PathLike, not {type(where).__name__}")
        if lock_timeout is not None:
            if isinstance(lock_timeout, bool) or not isinstance(lock_timeout, (int, float)):
                raise TypeError(
                    f"lock_timeout must be a number of seconds or None, "
                    f"not {type(lock_timeout).__name__}"
                )
            lock_timeout = float(lock_timeout)
        if not isinstance(sync, bool):
            raise TypeError(f"sync must be a bool, not {type(sync).__name__}")
        if not 0 <= _check_int("create_mode", create_mode) <= 0xFFFF_FFFF:
            raise InvalidOptionError(
                f"invalid create_mode: {create_mode:#o} is not a set of permission bits",
                option="create_mode",
            )
        if not 0 <= _check_int("max_pool_bytes", max_pool_bytes) < 1 << 64:
            raise InvalidOptionError(
                f"invalid max_pool_bytes: {max_pool_bytes}: give a number of bytes >= 0",
                option="max_pool_bytes",
            )
        self._mode = PoolMode.parse(mode)
        self._closed = False
        self._where = (number, directory, path)
        self._native = _native.NativePool(
            pool=int(number),
            directory=None if directory is None else os.fspath(directory),
            path=None if path is None else os.fspath(path),
            mode=self._mode.value,
            lock_timeout=lock_timeout,
            sync=sync,
            create_mode=create_mode,
            max_pool_bytes=max_pool_bytes,
        )

    @property
    def _n(self) -> _native.NativePool:
        if self._closed:
            raise ValueError("operation on a closed KvpPool")
        return self._native

    # -- attributes ---------------------------------------------------------

    @property
    def path(self) -> str:
        """The pool file's path."""
        return self._native.path

    @property
    def mode(self) -> PoolMode:
        """The write limits in force."""
        return self._mode

    @property
    def lock_timeout(self) -> Optional[float]:
        """Seconds an operation waits for the locks, or None (forever)."""
        return self._native.lock_timeout

    @property
    def sync(self) -> bool:
        """Whether writes are flushed to disk before the lock is released."""
        return self._native.sync

    @property
    def create_mode(self) -> int:
        """Permission bits of a pool file this object creates."""
        return self._native.create_mode

    @property
    def max_pool_bytes(self) -> int:
        """The largest pool, in bytes, that whole-pool reads accept."""
        return self._native.max_pool_bytes

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def _reopened(self, *, lock_timeout: Optional[float]) -> KvpPool:
        """Another KvpPool on the same pool (as this one was named: by
        number and directory, or by path), with the same options but
        ``lock_timeout``."""
        number, directory, path = self._where
        return KvpPool(
            number,
            directory=directory,
            path=path,
            mode=self._mode,
            lock_timeout=lock_timeout,
            sync=self.sync,
            create_mode=self.create_mode,
            max_pool_bytes=self.max_pool_bytes,
        )

    def __repr__(self) -> str:
        state = ", closed" if self._closed else ""
        return f"KvpPool(path={self.path!r}, mode={self._mode.value!r}{state})"

    # -- operations ---------------------------------------------------------

    def insert(self, key: str, value: str) -> None:
        """Upsert: afterwards exactly one record holds ``key``, in the place
        of its first former record. A new key past 1024 unique keys raises
        UniqueKeyLimitError."""
        self._n.insert(_check_str("key", key), _check_str("value", value))

    def append(self, key: str, value: str) -> None:
        """Add one record at the end; duplicates are kept."""
        self._n.append(_check_str("key", key), _check_str("value", value))

    def append_many(self, entries: Union[Mapping[str, str], Iterable[Tuple[str, str]]]) -> None:
        """Add records at the end under one lock, so they stay adjacent. If
        any entry is invalid, none is written."""
        self._n.append_many(_pairs(entries, "append_many"))

    def load(self, entries: Union[Mapping[str, str], Iterable[Tuple[str, str]]]) -> None:
        """Replace the whole pool with ``entries``, in order. If any entry is
        invalid, nothing is written."""
        self._n.load(_pairs(entries, "load"))

    def read(self, key: str) -> Optional[str]:
        """The value of the last record holding ``key``, or None. Surrogate
        escapes in ``key`` stand for the bytes they came from (see the
        class); a key holding NUL matches nothing."""
        return self._n.read_raw(_key_bytes(key))

    def delete(self, key: str) -> int:
        """Remove every record holding ``key``; returns how many there were.
        ``key`` is matched as :meth:`read` matches it. A delete that removes
        nothing changes nothing in the file."""
        return self._n.delete_raw(_key_bytes(key))

    def clear(self) -> None:
        """Remove every record, keeping the file."""
        self._n.clear()

    def entries(self) -> Dict[str, str]:
        """Every key with the value of its last record, in the order of the
        keys' bytes (for UTF-8 keys, code point order). Raises
        PoolTooLargeError for a pool over ``max_pool_bytes``."""
        return self._n.entries()

    def records(self) -> List[Record]:
        """Every record in file order, duplicates kept. Raises
        PoolTooLargeError for a pool over ``max_pool_bytes``."""
        return [Record(key, value) for key, value in self._n.records()]

    def record_count(self) -> int:
        """Whole records in the file, duplicates included (``len()`` counts
        unique keys)."""
        return self._n.record_count()

    def is_stale(self) -> bool:
        """Whether the file was last written no later than this boot began,
        so it holds a former boot's data. A missing file is not stale."""
        return self._n.is_stale()

    def clear_if_stale(self) -> bool:
        """Empty the pool if it is stale, check and truncation under one
        lock. Returns whether it was cleared."""
        return self._n.clear_if_stale()

    def dump_json(self) -> str:
        """The records in file order as a JSON array of {"key", "value"},
        the same text as the other faces give: bytes that are not UTF-8, in
        keys too, show as U+FFFD. Capped as :meth:`records` is."""
        return self._n.dump_json()

    # -- mapping protocol ---------------------------------------------------

    def __getitem__(self, key: str) -> str:
        value = self.read(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: str) -> None:
        self.insert(key, value)

    def __delitem__(self, key: str) -> None:
        if self.delete(key) == 0:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        native = self._n
        if not isinstance(key, str):
            return False  # no key of a pool is anything but a str
        try:
            raw = key.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return False  # a lone surrogate that stands for no byte
        return native.read_raw(raw) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries())

    def __len__(self) -> int:
        # Distinct raw keys: the same keys iteration yields.
        return self._n.unique_keys()

    def keys(self) -> KeysView[str]:
        """A snapshot of the unique keys, in key order."""
        return self.entries().keys()

    def values(self) -> ValuesView[str]:
        """A snapshot of the values (last record of each key), in key order."""
        return self.entries().values()

    def items(self) -> ItemsView[str, str]:
        """A snapshot of (key, value) pairs, in key order."""
        return self.entries().items()

    # -- context manager ----------------------------------------------------

    def close(self) -> None:
        """Mark the pool closed: later operations raise ValueError. No
        descriptor is held between operations, so there is nothing else to
        release."""
        self._closed = True

    def __enter__(self) -> KvpPool:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

"""The exceptions of hyperv_kvp.

Every error about input, limits, pool names and locks is a :class:`KvpError`.
Errors about text are also :class:`ValueError`, a lock timeout is also a
:class:`TimeoutError`, and a path that is not a regular file is also an
:class:`OSError`. Failures of the operating system (a missing directory, no
permission) are plain :class:`OSError` subclasses such as
:class:`PermissionError`, with ``errno``, ``strerror`` and ``filename`` set.

Text that cannot be encoded as UTF-8 (a str holding a lone surrogate such as
``"\\ud800"``) raises :class:`UnicodeEncodeError`, itself a ValueError, as
``str.encode("utf-8")`` would. In every case nothing is written.

These classes are defined in Python and raised by the native module, because
an exception class defined in Rust under the stable ABI cannot also subclass
ValueError or TimeoutError.
"""

from __future__ import annotations

import functools
from typing import Any, Optional, Tuple

__all__ = [
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
    "EventFormatError",
]


class KvpError(Exception):
    """Base class of the errors this package raises (OS failures aside)."""


class InvalidKeyError(KvpError, ValueError):
    """The key is empty or holds a NUL character."""


class InvalidValueError(KvpError, ValueError):
    """The value holds a NUL character, which would end it early on disk."""


class TooLargeError(KvpError, ValueError):
    """A key or value exceeds the pool mode's limit.

    ``limit`` is the largest size accepted, ``actual`` the size given, and
    ``unit`` what they count: ``"utf16-code-units"`` (Safe mode: what the
    host receives intact) or ``"bytes"`` (UTF-8 bytes, the field width).
    """

    limit: int
    actual: int
    unit: str

    def __init__(self, message: str, *, limit: int, actual: int, unit: str) -> None:
        super().__init__(message)
        self.limit = limit
        self.actual = actual
        self.unit = unit

    def __reduce__(self) -> Tuple[Any, Tuple[str]]:
        rebuild = functools.partial(
            type(self), limit=self.limit, actual=self.actual, unit=self.unit
        )
        return (rebuild, (str(self),))


class KeyTooLargeError(TooLargeError):
    """The key is over the limit (254 UTF-16 code units in Safe mode)."""


class ValueTooLargeError(TooLargeError):
    """The value is over the limit (1022 UTF-16 code units in Safe mode)."""


class UniqueKeyLimitError(KvpError):
    """A new key would take the pool past ``limit`` unique keys (1024)."""

    limit: int

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit

    def __reduce__(self) -> Tuple[Any, Tuple[str]]:
        return (functools.partial(type(self), limit=self.limit), (str(self),))


class LockTimeoutError(KvpError, TimeoutError):
    """Another process held the pool's lock for longer than ``timeout`` seconds.

    ``errno`` is ETIMEDOUT and ``filename`` the pool file.
    """

    timeout: Optional[float]

    def __init__(self, *args: Any, timeout: Optional[float] = None) -> None:
        super().__init__(*args)
        self.timeout = timeout


class NotARegularFileError(KvpError, OSError):
    """The path names a directory, FIFO, device or socket, not a pool file.

    ``errno`` is EISDIR for a directory and EINVAL otherwise.
    """


class UnknownNameError(KvpError, ValueError):
    """A pool or pool mode name (or number) that does not exist."""


class EventFormatError(KvpError, ValueError):
    """A ``CLOUD_INIT|...`` record that is not a well-formed event (strict reads)."""

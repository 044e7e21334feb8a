"""The exceptions of hyperv_kvp.

Every error about input, limits, pool names, options, locks and unsafe pool
files is a :class:`KvpError`. Errors about text and options are also
:class:`ValueError`, a lock timeout is also a :class:`TimeoutError`, a pool
that writes refuse is also a :class:`PermissionError`, and the other errors
about the file (not a regular file, replaced, too large to read whole) are
also :class:`OSError`, each with ``errno`` and ``filename``. Failures of the operating system (a missing directory, no
permission) are plain :class:`OSError` subclasses such as
:class:`PermissionError`, with ``errno``, ``strerror`` and ``filename`` set.

The reporting errors (:mod:`hyperv_kvp.reporting`) follow the same rules:
a field an event or report format cannot hold is a ValueError
(:class:`InvalidFieldError`, :class:`EventTooLargeError`,
:class:`ReportTooLargeError`, :class:`UnsupportedByFormatError`), a report
that does not decode is :class:`ReportFormatError`, and a machine without a
usable VM id raises :class:`VmIdError`, an OSError.

Importing :mod:`hyperv_kvp.cloudinit` without cloud-init raises
:class:`CloudInitNotFoundError` (a ModuleNotFoundError), and with a
cloud-init whose handler it does not know :class:`UnsupportedCloudInitError`
(an ImportError).

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


def _os_args(error: OSError) -> Tuple[Any, ...]:
    """The arguments that rebuild an OSError, filename included (``args``
    leaves it out)."""
    if error.filename is None:
        return tuple(error.args)
    return (error.errno, error.strerror, error.filename)


class LockTimeoutError(KvpError, TimeoutError):
    """The pool's locks were held for longer than ``timeout`` seconds.

    ``holder`` says what held them, as far as the library could tell, as a
    sentence: a flock (which any user who can read the pool can take), a
    POSIX lock with its owner's pid (as hv_kvp_daemon takes), an OFD lock,
    or other threads of this process ahead in the queue. The message says
    it too. ``errno`` is ETIMEDOUT and ``filename`` the pool file.
    """

    timeout: Optional[float]
    holder: Optional[str]

    def __init__(
        self, *args: Any, timeout: Optional[float] = None, holder: Optional[str] = None
    ) -> None:
        super().__init__(*args)
        self.timeout = timeout
        self.holder = holder


class NotARegularFileError(KvpError, OSError):
    """The path names a directory, FIFO, device or socket, not a pool file.

    ``errno`` is EISDIR for a directory and EINVAL otherwise.
    """


class UnknownNameError(KvpError, ValueError):
    """A pool or pool mode name (or number) that does not exist."""


class UnsafePoolError(KvpError, PermissionError):
    """Writes refuse this pool file, and nothing was written: it has more
    than one hard link (a write would change another file too), belongs to
    a user other than the caller and root, or group or others may write it.

    ``reason`` says which, as a sentence. ``errno`` is EPERM and
    ``filename`` the pool file. Reads still work.
    """

    reason: str

    def __init__(self, *args: Any, reason: str) -> None:
        super().__init__(*args)
        self.reason = reason

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:
        return (functools.partial(type(self), reason=self.reason), _os_args(self))


class PoolReplacedError(KvpError, OSError):
    """A pool opened by ``path`` finds another file at that path than the one
    it opened (the file was replaced, or removed and created again). Open a
    new :class:`~hyperv_kvp.KvpPool` to use the new file.

    ``errno`` is ESTALE and ``filename`` the path.
    """


class PoolTooLargeError(KvpError, OSError):
    """A whole-pool read (``records``, ``entries``, ``len``, iteration,
    ``dump_json``) met a pool of ``size`` bytes, over the cap of ``limit``
    bytes (``max_pool_bytes``, default 64 MiB). Those reads hold the whole
    pool in memory, so the cap bounds their memory; reads and writes of one
    key are not capped.

    ``errno`` is EFBIG and ``filename`` the pool file.
    """

    size: int
    limit: int

    def __init__(self, *args: Any, size: int, limit: int) -> None:
        super().__init__(*args)
        self.size = size
        self.limit = limit

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:
        rebuild = functools.partial(type(self), size=self.size, limit=self.limit)
        return (rebuild, _os_args(self))


class InvalidOptionError(KvpError, ValueError):
    """An option of :class:`~hyperv_kvp.KvpPool` has a value that cannot be
    used (a negative ``lock_timeout``, a ``create_mode`` that lets group or
    others write); ``option`` names it."""

    option: str

    def __init__(self, message: str, *, option: str) -> None:
        super().__init__(message)
        self.option = option

    def __reduce__(self) -> Tuple[Any, Tuple[str]]:
        return (functools.partial(type(self), option=self.option), (str(self),))


class EventFormatError(KvpError, ValueError):
    """A ``CLOUD_INIT|...`` record that is not a well-formed event (strict reads)."""


class InvalidFieldError(KvpError, ValueError):
    """A field of an event or report that its format cannot carry: empty,
    holding ``|`` where the key separates fields, not a UUID where one is
    needed, or against the format's rules (a ``finish`` without a result in
    ``DIAG_V1``). ``field`` names it as the format does, ``reason`` says
    why. Nothing was written."""

    field: str
    reason: str

    def __init__(self, message: str, *, field: str, reason: str) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason

    def __reduce__(self) -> Tuple[Any, Tuple[str]]:
        rebuild = functools.partial(type(self), field=self.field, reason=self.reason)
        return (rebuild, (str(self),))


class ReportTooLargeError(TooLargeError):
    """Even with its reason and supporting data emptied, a provisioning
    report's fixed fields (result, agent, VM id, timestamp, pps_type,
    documentation URL) take ``actual`` UTF-16 code units, more than the
    ``limit`` (1022) the host receives. Nothing was written."""


class EventTooLargeError(TooLargeError):
    """An event field over its format's cap: ``field`` is ``"agent"`` or
    ``"name"`` (``unit`` ``"bytes"``), ``"duration"`` (``"microseconds"``)
    or ``"payload"`` (``"records"``: more chunks than a value may take).
    Nothing was written."""

    field: str

    def __init__(self, message: str, *, limit: int, actual: int, unit: str, field: str) -> None:
        super().__init__(message, limit=limit, actual=actual, unit=unit)
        self.field = field

    def __reduce__(self) -> Tuple[Any, Tuple[str]]:
        rebuild = functools.partial(
            type(self), limit=self.limit, actual=self.actual, unit=self.unit, field=self.field
        )
        return (rebuild, (str(self),))


class UnsupportedByFormatError(KvpError, ValueError):
    """The event format has no way to carry this value: a ``WARN`` result
    in ``DIAG_V1`` (only success and fail exist), or bytes that are not
    UTF-8 sent without compression. ``format``, ``field`` and ``reason`` say
    which. Nothing was written."""

    format: str
    field: str
    reason: str

    def __init__(self, message: str, *, format: str, field: str, reason: str) -> None:
        super().__init__(message)
        self.format = format
        self.field = field
        self.reason = reason

    def __reduce__(self) -> Tuple[Any, Tuple[str]]:
        rebuild = functools.partial(
            type(self), format=self.format, field=self.field, reason=self.reason
        )
        return (rebuild, (str(self),))


class ReportFormatError(KvpError, ValueError):
    """A ``PROVISIONING_REPORT`` value that does not decode. ``reason`` is
    ``"malformed"`` (the reasons of :class:`hyperv_kvp.reporting.Reason`),
    ``detail`` says what was wrong, for people (a missing field, broken
    quoting, a value cloud-init cut at 1023 characters inside a quote)."""

    reason: str
    detail: str

    def __init__(self, message: str, *, reason: str, detail: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail

    def __reduce__(self) -> Tuple[Any, Tuple[str]]:
        rebuild = functools.partial(type(self), reason=self.reason, detail=self.detail)
        return (rebuild, (str(self),))


class VmIdError(KvpError, OSError):
    """The machine's DMI product UUID holds no VM id: it is empty, all
    zeros or all ones (unset DMI; ``errno`` ENODATA), or not a UUID
    (``errno`` EINVAL). ``value`` is what the file held, trimmed;
    ``filename`` the file. Never a silent zero GUID. A file that cannot be
    read at all raises the OS's error instead (FileNotFoundError,
    PermissionError), so ``except OSError`` catches every failure to find
    the id."""

    value: str

    def __init__(self, *args: Any, value: str) -> None:
        super().__init__(*args)
        self.value = value

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:
        return (functools.partial(type(self), value=self.value), _os_args(self))


class CloudInitNotFoundError(KvpError, ModuleNotFoundError):
    """:mod:`hyperv_kvp.cloudinit` was imported where cloud-init is not
    installed (``name`` is ``"cloudinit"``). The rest of hyperv_kvp works
    without it."""


class UnsupportedCloudInitError(KvpError, ImportError):
    """The installed cloud-init's ``HyperVKvpReportingHandler`` lacks what
    :mod:`hyperv_kvp.cloudinit` replaces or relies on (a storage method, its
    record layout, its constructor's ``kvp_file_path``), so a subclass could
    not keep its behaviour. The message names the release and what differs."""

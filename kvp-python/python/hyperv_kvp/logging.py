"""Python logging to the Hyper-V host: :class:`KvpHandler` writes log
records as KVP events into pool 1.

::

    import logging
    from hyperv_kvp.logging import KvpHandler

    logging.getLogger().addHandler(KvpHandler(agent="my-agent-1.0", level=logging.INFO))
    logging.getLogger("my_agent.network").warning("no DHCP lease yet")

Each record becomes one point event (``kind`` ``event``), chunked when
long, in ``DIAG_V1`` (azure-init's next format) by default, or in a
cloud-init variant (``event_format="cloud-init-26.1"``, ...). Its name is
the logger's name, its time the record's creation time, and its text what
the handler's formatter makes of the record (by default
``"%(levelname)s: %(message)s"``, since ``DIAG_V1`` has no level field).

**Synchronous, with a short lock timeout.** :meth:`KvpHandler.emit`
writes the record before it returns: an uncontended pool write takes
about 20 µs, records keep their order, nothing is lost at exit or in a
crash, and no thread is started (so ``fork`` is safe). The handler's own
pool waits at most ``lock_timeout`` (50 ms by default) for the pool's
locks, which another process (cloud-init, hv_kvp_daemon, or any user who
can read the pool) may hold. A record that cannot be written goes to
:meth:`logging.Handler.handleError`, never raises into the caller, and is
counted in :attr:`KvpHandler.dropped`; after a lock timeout the handler
drops records at once, without waiting, for ``backoff`` seconds (1 s by
default), so a pool held for long costs the caller one wait a second, not
one a record. A caller that must never wait at all puts the handler behind
a :class:`logging.handlers.QueueHandler` and
:class:`logging.handlers.QueueListener`, which run it in their own thread.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Optional, Union

from ._events import DIAG_MAX_NAME_BYTES, EventWriter, Format, Kind, event_writer
from ._pool import KvpPool, Pool, PoolSpec, StrPath
from .exceptions import LockTimeoutError

__all__ = [
    "KvpHandler",
    "DEFAULT_HANDLER_LOCK_TIMEOUT",
    "DEFAULT_BACKOFF",
    "DEFAULT_FORMAT",
    "DEFAULT_AGENT",
]

DEFAULT_HANDLER_LOCK_TIMEOUT = 0.05
"""Seconds a record waits for the pool's locks before it is dropped."""
DEFAULT_BACKOFF = 1.0
"""Seconds records are dropped without waiting after a lock timeout."""
DEFAULT_FORMAT = "%(levelname)s: %(message)s"
"""The handler's formatter unless another is set."""
DEFAULT_AGENT = "python"
"""The ``DIAG_V1`` agent unless another is given."""


def _encodable(text: str) -> str:
    """``text`` as a pool value can hold it: lone surrogates (from
    surrogateescape'd OS data) and NUL, which would end the value on disk,
    spelled as escapes rather than refused."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("\0", "\\x00")


class KvpHandler(logging.Handler):
    """A :class:`logging.Handler` that writes each record as a KVP event.

    ``pool`` is where (default pool 1 in ``/var/lib/hyperv``): a
    :class:`~hyperv_kvp.KvpPool`, which the handler reopens with its own
    ``lock_timeout`` (the object given is left as it is), or a pool
    number or name with ``directory``, or ``path``.

    ``event_format`` is a :class:`~hyperv_kvp.reporting.Format` or its
    value: ``DIAG_V1`` (default) writes as ``agent`` (at most 32 bytes);
    the cloud-init variants write type ``diagnostic`` with ``incarnation``
    (default: this boot's). ``vm_id`` defaults to
    :meth:`~hyperv_kvp.reporting.Machine.vm_id` where the format carries
    one; the constructor raises when it cannot be found (DMI is readable by
    root only on most systems), so give it where that may fail.

    Levels, filters and formatters work as for any handler. Thread-safe:
    :meth:`handle` holds the handler's lock around :meth:`emit`, and the
    pool serves its threads in turn. See the module for why writes are
    synchronous, and what happens when the pool is locked.
    """

    pool: KvpPool
    """The handler's own pool object, with the short lock timeout."""
    writer: EventWriter
    """The event encoder."""
    backoff: float
    """Seconds records are dropped without waiting after a lock timeout (0:
    every record waits)."""
    dropped: int
    """Records not written: failed writes (each also went to
    :meth:`handleError`), records dropped during a back-off, and records
    after :meth:`close`."""

    def __init__(
        self,
        pool: Union[KvpPool, PoolSpec] = Pool.GUEST,
        *,
        directory: Optional[StrPath] = None,
        path: Optional[StrPath] = None,
        event_format: Union[Format, str] = Format.DIAG_V1,
        agent: str = DEFAULT_AGENT,
        vm_id: Optional[str] = None,
        incarnation: Optional[int] = None,
        lock_timeout: float = DEFAULT_HANDLER_LOCK_TIMEOUT,
        backoff: float = DEFAULT_BACKOFF,
        level: int = logging.NOTSET,
    ) -> None:
        for name, seconds in (("lock_timeout", lock_timeout), ("backoff", backoff)):
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                raise TypeError(f"{name} must be a number of seconds, not {type(seconds).__name__}")
            if not 0 <= seconds < float("inf"):
                raise ValueError(f"{name} must be a finite number of seconds >= 0, not {seconds}")
        if isinstance(pool, KvpPool):
            if directory is not None or path is not None:
                raise TypeError("give a KvpPool, or pool and directory, or path: not several")
            own = pool._reopened(lock_timeout=float(lock_timeout))
        else:
            own = KvpPool(pool, directory=directory, path=path, lock_timeout=float(lock_timeout))
        writer = event_writer(
            event_format,
            agent=agent,
            vm_id=vm_id,
            incarnation=incarnation,
        )
        super().__init__(level)
        self.pool = own
        self.writer = writer
        self.backoff = float(backoff)
        self.dropped = 0
        self._closed = False
        self._resume_at = 0.0
        self._clock: Callable[[], float] = time.monotonic
        self.setFormatter(logging.Formatter(DEFAULT_FORMAT))

    def __repr__(self) -> str:
        level = logging.getLevelName(self.level)
        return f"<KvpHandler {self.pool.path} {self.writer.format.value} ({level})>"

    def event_name(self, record: logging.LogRecord) -> str:
        """The event's name: the logger's name, ``|`` (the key's separator)
        as ``/``, cut to the ``DIAG_V1`` cap of 48 bytes at a character
        boundary; ``root`` if nothing is left. Override to name events
        otherwise."""
        name = _encodable(record.name).replace("|", "/")
        name = name.encode("utf-8")[:DIAG_MAX_NAME_BYTES].decode("utf-8", "ignore")
        return name or "root"

    def emit(self, record: logging.LogRecord) -> None:
        """Writes ``record`` as one event (see the class). Never raises:
        failures go to :meth:`handleError`."""
        if self._closed or self._clock() < self._resume_at:
            self.dropped += 1
            return
        try:
            self.writer.write(
                self.pool,
                Kind.EVENT,
                self.event_name(record),
                _encodable(self.format(record)),
                event_type="diagnostic",
                timestamp=record.created,
            )
        except RecursionError:  # as logging.StreamHandler does: the stack is gone
            raise
        except Exception as error:
            self.dropped += 1
            if isinstance(error, LockTimeoutError) and self.backoff > 0:
                self._resume_at = self._clock() + self.backoff
            self.handleError(record)

    def close(self) -> None:
        """Stops writing: later records are dropped (and counted), as at
        interpreter exit, when :func:`logging.shutdown` closes handlers.
        The pool object given to the constructor stays open."""
        self.acquire()
        try:
            self._closed = True
            self.pool.close()
        finally:
            self.release()
        super().close()

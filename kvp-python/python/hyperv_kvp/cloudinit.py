"""cloud-init's own Hyper-V KVP reporting handler, on this library's storage.

:class:`HyperVKvpReportingHandler` subclasses the installed cloud-init's
``cloudinit.reporting.handlers.HyperVKvpReportingHandler`` and replaces
only how it stores records:

- a batch of records is appended with one ``append_many`` under both lock
  families (flock, which cloud-init takes, and an OFD lock, which excludes
  hv_kvp_daemon's POSIX lock), so the batch stays adjacent;
- records are read each field up to its first NUL, and a bad record never
  raises (``_iterate_kvps``);
- the once-per-process truncation of a pool older than this boot is
  ``clear_if_stale``: the check and the truncation under the exclusive lock;
- ``write_key`` (cloud-init 23.2 and later) shortens its value to what the
  host receives whole, never inside a quoted field, instead of cutting it at
  1023 characters.

Event encoding, keys, chunking, the queue and the publishing thread are
cloud-init's own, whichever release is installed (22.4 to 26.x are
known). :func:`install` makes it the ``hyperv`` handler type, so
``reporting: {telemetry: {type: hyperv}}`` uses it::

    import hyperv_kvp.cloudinit

    hyperv_kvp.cloudinit.install()   # before cloud-init reads its configuration

Importing this module imports cloud-init; without cloud-init it raises
:class:`~hyperv_kvp.CloudInitNotFoundError`, and with a handler it does not
know, :class:`~hyperv_kvp.UnsupportedCloudInitError`. docs/cloudinit.md lists
every difference from the stock handler.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import logging
import os
import threading
from typing import TYPE_CHECKING, Any, ContextManager, Dict, Iterator, List, Optional, Tuple

from . import _native
from ._pool import DEFAULT_LOCK_TIMEOUT, KvpPool
from .exceptions import CloudInitNotFoundError, KvpError, UnsupportedCloudInitError

__all__ = ["HyperVKvpReportingHandler", "install", "uninstall", "HANDLER_TYPE"]

LOG = logging.getLogger(__name__)

HANDLER_TYPE = "hyperv"
"""The name cloud-init's configuration gives the handler (``type: hyperv``)."""

_LIMITS = dict(_native.limits())
_KEY_SIZE = _LIMITS["KEY_SIZE"]
_RECORD_SIZE = _LIMITS["RECORD_SIZE"]
_CLOUDINIT_MODULES = ("cloudinit", "cloudinit.reporting", "cloudinit.reporting.handlers")


def _import_handlers() -> Any:
    """cloud-init's ``cloudinit.reporting.handlers``, or a clear ImportError."""
    try:
        return importlib.import_module("cloudinit.reporting.handlers")
    except ModuleNotFoundError as e:
        if e.name not in _CLOUDINIT_MODULES:
            raise  # cloud-init is there but one of its own imports is not
        raise CloudInitNotFoundError(
            "hyperv_kvp.cloudinit needs cloud-init, and no module named 'cloudinit' "
            "is importable here: install cloud-init (or run where it is installed). "
            "The rest of hyperv_kvp works without it.",
            name="cloudinit",
        ) from e


def _release(handlers: Any) -> str:
    try:
        version = importlib.import_module("cloudinit.version").version_string()
    except Exception:  # only for the message
        version = "of unknown version"
    return f"cloud-init {version} ({handlers.__file__})"


def _positional(function: Any) -> int:
    """Parameters a method takes besides self (or cls)."""
    parameters = list(inspect.signature(function).parameters.values())
    return len([p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)])


def _check_shape(handlers: Any) -> Any:
    """The stock handler class, once it is known to have what the subclass
    replaces and relies on; otherwise UnsupportedCloudInitError naming what
    differs."""
    stock = getattr(handlers, "HyperVKvpReportingHandler", None)
    problems: List[str] = []
    if not isinstance(stock, type):
        problems.append("there is no HyperVKvpReportingHandler class")
    else:
        # method -> parameters besides self/cls, as 22.4 to 26.x have them
        methods = {"_append_kvp_item": 2, "_iterate_kvps": 2, "publish_event": 2, "flush": 1}
        if hasattr(stock, "write_key"):  # 23.2 and later
            methods["write_key"] = 3
        for name, count in methods.items():
            method = getattr(stock, name, None)
            if not callable(method):
                problems.append(f"it has no {name}()")
            elif _positional(method) != count:
                problems.append(f"its {name}() takes {_positional(method) - 1} arguments, not {count - 1}")
        truncate = inspect.getattr_static(stock, "_truncate_guest_pool_file", None)
        if not isinstance(truncate, classmethod):
            problems.append("it has no classmethod _truncate_guest_pool_file(kvp_file)")
        if not isinstance(getattr(stock, "_already_truncated_pool_file", None), bool):
            problems.append("it has no _already_truncated_pool_file flag")
        layout = (getattr(stock, "HV_KVP_EXCHANGE_MAX_KEY_SIZE", None), getattr(stock, "HV_KVP_RECORD_SIZE", None))
        if layout != (_KEY_SIZE, _RECORD_SIZE):
            problems.append(f"its record layout (key field, record) is {layout}, not {(_KEY_SIZE, _RECORD_SIZE)}")
        if "kvp_file_path" not in inspect.signature(stock).parameters:
            problems.append("its constructor takes no kvp_file_path")
    if not callable(getattr(getattr(handlers, "available_handlers", None), "register_item", None)):
        problems.append("its module has no available_handlers registry")
    if problems:
        raise UnsupportedCloudInitError(
            f"hyperv_kvp.cloudinit does not know the HyperVKvpReportingHandler of "
            f"{_release(handlers)}: " + "; ".join(problems) + ". It knows the handlers of "
            "cloud-init 22.4 to 26.x; the stock handler is unchanged.",
            name=__name__,
        )
    return stock


_handlers = _import_handlers()

if TYPE_CHECKING:

    class _StockHandler:
        """What this module replaces and relies on of cloud-init's handler
        (checked by _check_shape when the module is imported)."""

        _already_truncated_pool_file: bool
        _kvp_file_path: str

        def __init__(self, *args: Any, **kwargs: Any) -> None: ...
        @classmethod
        def _truncate_guest_pool_file(cls, kvp_file: str) -> None: ...
        def _append_kvp_item(self, record_data: List[bytes]) -> None: ...
        def _iterate_kvps(self, offset: int) -> Iterator[Dict[str, str]]: ...
        def write_key(self, key: str, value: str) -> None: ...

else:
    _StockHandler = _check_shape(_handlers)

_HAS_WRITE_KEY: bool = hasattr(_StockHandler, "write_key")
_STOCK_INIT = inspect.signature(_StockHandler)  # its constructor, without self
# cloud-init 24.x and later time each append with cloudinit.performance.
_TIMED: Any = getattr(getattr(_handlers, "performance", None), "Timed", None)
# The once-per-process truncation, among the threads of this process.
_TRUNCATION = threading.Lock()


def _fields(record: bytes) -> Tuple[str, str]:
    """A record as cloud-init's _encode_kvp_item packed it: each field up to
    its first NUL (ValueError when it is not a whole record of UTF-8 text,
    as when cloud-init's packing cut a key over 512 bytes)."""
    return _native.decode_slot(record)


class HyperVKvpReportingHandler(_StockHandler):
    """cloud-init's own ``HyperVKvpReportingHandler`` (a subclass of the
    installed release's), storing its records with hyperv_kvp.

    It takes the stock constructor's arguments (``kvp_file_path``,
    ``event_types``). ``lock_timeout`` bounds each wait for the pool's
    locks (None waits as long as it takes, as the stock handler does); a
    write that times out fails like any I/O error of the stock handler (a
    warning, the batch dropped). ``create_mode`` is the permission bits of
    a pool this handler creates (0o644, what the stock handler's
    ``open(path, "ab")`` gives under the usual umask, and what
    hv_kvp_daemon creates).
    """

    lock_timeout: Optional[float] = DEFAULT_LOCK_TIMEOUT
    create_mode: int = 0o644

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        bound = _STOCK_INIT.bind(*args, **kwargs)
        bound.apply_defaults()
        # Before the stock constructor, so that its unlocked truncation
        # finds the process's truncation done.
        type(self)._truncate_guest_pool_file(bound.arguments["kvp_file_path"])
        super().__init__(*args, **kwargs)

    @classmethod
    def _pool(cls, path: str) -> KvpPool:
        # One per operation, as the stock handler opens the path each time.
        return KvpPool(path=path, mode="full", lock_timeout=cls.lock_timeout, create_mode=cls.create_mode)

    @classmethod
    def _truncate_guest_pool_file(cls, kvp_file: str) -> None:
        """Once per process (the stock handler's flag, which the stock
        constructor also reads): empties the pool if it was last written
        before this boot, with the check and the truncation under the
        exclusive lock."""
        with _TRUNCATION:
            if _StockHandler._already_truncated_pool_file:
                return
            try:
                if os.path.exists(kvp_file):  # no pool yet: nothing stale, nothing created
                    cls._pool(kvp_file).clear_if_stale()
            except OSError as e:
                LOG.warning("failed to truncate kvp pool file, %s", e)
            finally:
                _StockHandler._already_truncated_pool_file = True

    def _appending(self) -> ContextManager[Any]:
        if _TIMED is None:
            return contextlib.nullcontext()
        return _TIMED(f"Appending {self._kvp_file_path}")  # type: ignore[no-any-return]

    def _append_kvp_item(self, record_data: List[bytes]) -> None:
        """Appends cloud-init's packed records with one append_many, so the
        batch stays adjacent. If the pool refuses one (a key over 511 UTF-8
        bytes, a NUL), each record is appended on its own and only the
        refused ones are dropped, with a warning: this runs in cloud-init's
        publishing thread, which only OSError may leave."""
        pool = self._pool(self._kvp_file_path)
        with self._appending():
            try:
                pool.append_many([_fields(record) for record in record_data])
                return
            except OSError:
                raise
            except (ValueError, KvpError):
                pass
            for record in record_data:
                try:
                    pool.append(*_fields(record))
                except OSError:
                    raise
                except (ValueError, KvpError) as e:
                    LOG.warning("dropped a kvp record the pool refuses: %s", e)

    def _iterate_kvps(self, offset: int) -> Iterator[Dict[str, str]]:
        """The records from byte ``offset`` (a multiple of 2560), each
        ``{"key", "value"}`` up to its field's first NUL, read under the
        shared locks as one snapshot. Invalid UTF-8 never raises (values get
        U+FFFD, keys surrogate escapes), a partial record at the end is
        left out."""
        first, misaligned = divmod(offset, _RECORD_SIZE)
        if misaligned:
            raise ValueError(f"offset {offset} is not a multiple of {_RECORD_SIZE}")
        for record in self._pool(self._kvp_file_path).records()[first:]:
            yield {"key": record.key, "value": record.value}

    if _HAS_WRITE_KEY:

        def write_key(self, key: str, value: str) -> None:
            """Appends one record, as the stock ``write_key`` does, with
            ``value`` shortened to what the host receives whole (1022 UTF-16
            code units): a provisioning report keeps every field and says
            ``shortened=<length>``, other text is cut before any quoted
            field the cut would break. An I/O failure is a warning."""
            value = _native.shorten_for_host(value)
            try:
                with self._appending():
                    self._pool(self._kvp_file_path).append(key, value)
            except OSError:
                LOG.warning("failed posting kvp=%s value=%s", key, value)


_INSTALL = threading.Lock()
_replaced: List[Any] = []  # what install() replaced, for uninstall()


def install() -> None:
    """Registers :class:`HyperVKvpReportingHandler` as cloud-init's
    ``hyperv`` handler type (``cloudinit.reporting.handlers.available_handlers``),
    so that a configuration with ``type: hyperv`` creates it. Call it in
    cloud-init's process before cloud-init applies its ``reporting``
    configuration. Calling it again changes nothing."""
    with _INSTALL:
        registry = _handlers.available_handlers
        current = registry.registered_items.get(HANDLER_TYPE)
        if current is HyperVKvpReportingHandler:
            return
        _replaced[:] = [] if current is None else [current]
        registry.unregister_item(HANDLER_TYPE)
        registry.register_item(HANDLER_TYPE, HyperVKvpReportingHandler)


def uninstall() -> None:
    """Puts back what :func:`install` replaced (the stock handler). Handlers
    created meanwhile stay as they are. Without install, or called again,
    it changes nothing."""
    with _INSTALL:
        registry = _handlers.available_handlers
        if registry.registered_items.get(HANDLER_TYPE) is not HyperVKvpReportingHandler:
            return
        registry.unregister_item(HANDLER_TYPE)
        for original in _replaced:
            registry.register_item(HANDLER_TYPE, original)
        _replaced.clear()

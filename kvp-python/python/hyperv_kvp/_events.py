"""Diagnostic events of every format, written and read through kvp-report
(public through :mod:`hyperv_kvp.reporting`)."""

from __future__ import annotations

import enum
import time
import uuid as uuid_module
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

from . import _native
from ._pool import KvpPool, Record
from ._report import Machine, ProvisioningReport

__all__ = [
    "DEFAULT_MAX_PAYLOAD",
    "DIAG_MAX_AGENT_BYTES",
    "DIAG_MAX_NAME_BYTES",
    "Kind",
    "Outcome",
    "Format",
    "Encoding",
    "Reason",
    "Instant",
    "DiagnosticEvent",
    "ReportEntry",
    "RawEntry",
    "Entry",
    "EventWriter",
    "DiagWriter",
    "CloudInitWriter",
    "event_writer",
    "decode_entries",
    "read_entries",
    "boot_incarnation",
]

DEFAULT_MAX_PAYLOAD: int = _native.DEFAULT_MAX_PAYLOAD
"""The most bytes one compressed payload may decompress to when read (64 MiB);
more comes back raw as ``undecodable``."""
DIAG_MAX_AGENT_BYTES: int = _native.DIAG_MAX_AGENT_BYTES
"""``DIAG_V1`` cap on the agent, in UTF-8 bytes (32)."""
DIAG_MAX_NAME_BYTES: int = _native.DIAG_MAX_NAME_BYTES
"""``DIAG_V1`` cap on an event's name, in UTF-8 bytes (48)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Kind(enum.Enum):
    """An event's place on a timeline."""

    START = "start"
    """Opens an operation."""
    FINISH = "finish"
    """Closes an operation, with its result and (when known) duration."""
    EVENT = "event"
    """A point observation."""


class Outcome(enum.Enum):
    """An event's verdict; ``.value`` is cloud-init's spelling (the
    ``SUCCESS``, ``WARN`` and ``FAIL`` of :mod:`hyperv_kvp.reporting`).
    ``DIAG_V1`` has success and fail only; a cloud-init record may carry
    any other token, which reads back as that str."""

    SUCCESS = "SUCCESS"
    WARN = "WARN"
    FAIL = "FAIL"


class Format(enum.Enum):
    """The wire format of an event; ``.value`` is the name the other faces
    print. Every format is read; all but ``AZURE_INIT_TRACING`` are written."""

    CLOUD_INIT_22_4 = "cloud-init-22.4"
    """cloud-init 22.4 - 24.3: no VM id in the key, ``ts`` ending in ``Z``."""
    CLOUD_INIT_24_4 = "cloud-init-24.4"
    """cloud-init 24.4 - 25.x: as 22.4, ``ts`` ending in ``+00:00``."""
    CLOUD_INIT_26_1 = "cloud-init-26.1"
    """cloud-init 26.1+: the VM id in the key, ``duration`` on finishes."""
    AZURE_INIT_TRACING = "azure-init-tracing"
    """azure-init's tracing layer today (read only)."""
    DIAG_V1 = "diag-v1"
    """``DIAG_V1``, azure-init's versioned diagnostics format."""


class Encoding(enum.Enum):
    """How a payload travelled."""

    NONE = "none"
    """As text."""
    GZ_B64 = "gz+b64"
    """Compressed, then base64 (gzip in ``DIAG_V1``, zlib in cloud-init)."""


class Reason(enum.Enum):
    """Why a recognised record (or group) came back raw."""

    UNSUPPORTED_VERSION = "unsupported_version"
    """A ``DIAG_V*`` schema this reader does not know."""
    INCOMPLETE_GROUP = "incomplete_group"
    """Chunks are missing."""
    DUPLICATE_CHUNK = "duplicate_chunk"
    """A chunk index appears twice."""
    UNDECODABLE = "undecodable"
    """Bad base64, zlib, gzip or UTF-8, an unknown encoding, or a payload
    over ``max_payload``."""
    MALFORMED = "malformed"
    """The key or value lacks the format's shape."""


Instant = Union[datetime, float, int]
"""A point in time: an aware datetime, or POSIX seconds (``time.time()``)."""

_CLOUD_INIT_VARIANTS = {
    "22.4": Format.CLOUD_INIT_22_4,
    "24.4": Format.CLOUD_INIT_24_4,
    "26.1": Format.CLOUD_INIT_26_1,
}


def boot_incarnation(now: Optional[float] = None, uptime: Optional[float] = None) -> int:
    """The incarnation number cloud-init puts in keys: the boot time in whole
    seconds, ``int(now - uptime)``, uptime read from /proc/uptime."""
    if uptime is None:
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
    return int((time.time() if now is None else now) - uptime)


def _instant(name: str, when: object) -> Tuple[int, int]:
    """``(unix_seconds, nanoseconds)`` of an aware datetime or of POSIX
    seconds, rounded to microseconds as ``datetime.fromtimestamp`` rounds
    (so cloud-init's ``ts`` comes out as cloud-init writes it)."""
    if isinstance(when, datetime):
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError(f"{name} is a naive datetime: give an aware one (tzinfo=timezone.utc)")
        moment = when
    elif isinstance(when, (int, float)) and not isinstance(when, bool):
        moment = datetime.fromtimestamp(when, tz=timezone.utc)
    else:
        raise TypeError(f"{name} must be a datetime or POSIX seconds, not {type(when).__name__}")
    delta = moment - _EPOCH
    return delta.days * 86400 + delta.seconds, delta.microseconds * 1000


def _nanoseconds(duration: object) -> int:
    if isinstance(duration, timedelta):
        ns = ((duration.days * 86400 + duration.seconds) * 1_000_000 + duration.microseconds) * 1000
    elif isinstance(duration, (int, float)) and not isinstance(duration, bool):
        if duration != duration or duration in (float("inf"), float("-inf")):
            raise ValueError(f"duration must be finite, not {duration}")
        ns = round(duration * 1e9)
    else:
        raise TypeError(f"duration must be a timedelta or seconds, not {type(duration).__name__}")
    if not 0 <= ns < 1 << 64:
        raise ValueError(f"duration must be between 0 and 2**64 ns, not {duration!r}")
    return ns


def _event_args(
    kind: Union[Kind, str],
    name: str,
    payload: Union[str, bytes, bytearray, memoryview],
    event_type: Optional[str],
    result: Optional[Union[Outcome, str]],
    duration: Optional[Union[timedelta, float]],
    timestamp: Optional[Instant],
    event_id: Optional[Union[str, uuid_module.UUID]],
    compressed: bool,
) -> _native._EventArgs:
    if not isinstance(name, str):
        raise TypeError(f"name must be str, not {type(name).__name__}")
    if isinstance(payload, str):
        text: Optional[str] = payload
        data: Optional[bytes] = None
    elif isinstance(payload, (bytes, bytearray, memoryview)):
        text, data = None, bytes(payload)
    else:
        raise TypeError(f"payload must be str or bytes, not {type(payload).__name__}")
    if event_type is not None and not isinstance(event_type, str):
        raise TypeError(f"event_type must be str, not {type(event_type).__name__}")
    if isinstance(result, Outcome):
        token: Optional[str] = result.value
    elif result is None or isinstance(result, str):
        token = result
    else:
        raise TypeError(f"result must be an Outcome or str, not {type(result).__name__}")
    if isinstance(event_id, uuid_module.UUID):
        event_id = str(event_id)
    elif event_id is not None and not isinstance(event_id, str):
        raise TypeError(f"event_id must be str or uuid.UUID, not {type(event_id).__name__}")
    if not isinstance(compressed, bool):
        raise TypeError(f"compressed must be a bool, not {type(compressed).__name__}")
    return (
        Kind(kind).value,
        name,
        text,
        data,
        event_type,
        token,
        None if duration is None else _nanoseconds(duration),
        None if timestamp is None else _instant("timestamp", timestamp),
        event_id,
        compressed,
    )


class EventWriter:
    """Encodes events in one format and writes them to a pool.

    Build one with :class:`DiagWriter`, :class:`CloudInitWriter` or
    :func:`event_writer`. ``encode`` and ``write`` take the same event:

    - ``kind`` (:class:`Kind` or its value), ``name`` and ``payload``
      (text, or bytes, which must be UTF-8 unless ``compressed``);
    - ``event_type``: cloud-init's type (``diagnostic``, ...; default the
      kind, or ``compressed`` for a compressed event); ``DIAG_V1`` has none;
    - ``result`` (:class:`Outcome`, or a cloud-init token) and ``duration``
      (timedelta or seconds): a ``DIAG_V1`` finish needs both and a start
      neither; cloud-init before 26.1 writes no duration;
    - ``timestamp`` (aware datetime or POSIX seconds; default now);
    - ``event_id`` (a UUID, to pair a finish with its start; default a new
      one); ``compressed`` sends the payload as ``gz+b64``.

    An event the format cannot carry raises (InvalidFieldError,
    EventTooLargeError, UnsupportedByFormatError, KeyTooLargeError) and
    writes nothing. Writers are immutable and may be shared by threads.
    """

    _encoder: _native.NativeEventWriter

    def __init__(self, encoder: _native.NativeEventWriter) -> None:
        self._encoder = encoder

    @property
    def format(self) -> Format:
        """The format this writer writes."""
        return Format(self._encoder.format)

    def encode(
        self,
        kind: Union[Kind, str],
        name: str,
        payload: Union[str, bytes, bytearray, memoryview],
        *,
        event_type: Optional[str] = None,
        result: Optional[Union[Outcome, str]] = None,
        duration: Optional[Union[timedelta, float]] = None,
        timestamp: Optional[Instant] = None,
        event_id: Optional[Union[str, uuid_module.UUID]] = None,
        compressed: bool = False,
    ) -> List[Tuple[str, str]]:
        """The ``(key, value)`` records of one event, in order, without
        writing them: one, or the chunks of a long one."""
        args = _event_args(kind, name, payload, event_type, result, duration, timestamp, event_id, compressed)
        return self._encoder.encode(args)

    def write(
        self,
        pool: KvpPool,
        kind: Union[Kind, str],
        name: str,
        payload: Union[str, bytes, bytearray, memoryview],
        *,
        event_type: Optional[str] = None,
        result: Optional[Union[Outcome, str]] = None,
        duration: Optional[Union[timedelta, float]] = None,
        timestamp: Optional[Instant] = None,
        event_id: Optional[Union[str, uuid_module.UUID]] = None,
        compressed: bool = False,
    ) -> List[str]:
        """Appends one event's records to ``pool`` with one ``append_many``,
        so they stay adjacent; an invalid event writes nothing. Returns the
        keys written."""
        args = _event_args(kind, name, payload, event_type, result, duration, timestamp, event_id, compressed)
        return self._encoder.write(pool._n, args)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(format={self.format.value!r})"


class DiagWriter(EventWriter):
    """Writes ``DIAG_V1`` records for ``agent`` (at most 32 UTF-8 bytes, no
    ``|``, such as ``my-agent-1.0``) on the VM ``vm_id`` (a UUID; see
    :meth:`Machine.vm_id`), with timestamps of ``precision``: ``"millis"``
    (the format's default), ``"seconds"``, ``"micros"`` or ``"nanos"``."""

    def __init__(self, agent: str, vm_id: str, *, precision: str = "millis") -> None:
        for name, value in (("agent", agent), ("vm_id", vm_id), ("precision", precision)):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be str, not {type(value).__name__}")
        super().__init__(_native.NativeEventWriter.diag_v1(agent, vm_id, precision))
        self.agent: str = agent
        self.vm_id: str = vm_id
        self.precision: str = precision


class CloudInitWriter(EventWriter):
    """Writes cloud-init's records in one release's variant: ``"22.4"``
    (the default, as :class:`KvpReporter` writes), ``"24.4"`` or ``"26.1"``
    (or the matching :class:`Format`). ``incarnation`` defaults to
    :func:`boot_incarnation`; ``vm_id`` goes into 26.1 keys, which need one
    (default: :meth:`Machine.vm_id`).

    Same records as cloud-init's handler, except that long values are
    split above 1022 characters (what the host receives whole) and only
    between JSON escapes, so each chunk is valid JSON.
    """

    def __init__(
        self,
        variant: Union[Format, str] = "22.4",
        *,
        incarnation: Optional[int] = None,
        vm_id: Optional[str] = None,
    ) -> None:
        names = {f.value: v for v, f in _CLOUD_INIT_VARIANTS.items()}
        key = variant.value if isinstance(variant, Format) else variant
        if not isinstance(key, str):
            raise TypeError(f"variant must be a str or Format, not {type(variant).__name__}")
        key = names.get(key, key)
        if key not in _CLOUD_INIT_VARIANTS:
            raise ValueError(f"unknown cloud-init variant {variant!r}: expected 22.4, 24.4 or 26.1")
        if incarnation is None:
            incarnation = boot_incarnation()
        if isinstance(incarnation, bool) or not isinstance(incarnation, int):
            raise TypeError(f"incarnation must be an int, not {type(incarnation).__name__}")
        if vm_id is None and key == "26.1":
            vm_id = Machine().vm_id()
        if vm_id is not None and not isinstance(vm_id, str):
            raise TypeError(f"vm_id must be str, not {type(vm_id).__name__}")
        super().__init__(_native.NativeEventWriter.cloud_init(key, incarnation, vm_id))
        self.variant: str = key
        self.incarnation: int = incarnation
        self.vm_id: Optional[str] = vm_id


def event_writer(
    event_format: Union[Format, str] = Format.DIAG_V1,
    *,
    agent: Optional[str] = None,
    vm_id: Optional[str] = None,
    incarnation: Optional[int] = None,
) -> EventWriter:
    """A writer of ``event_format``: :class:`DiagWriter` for ``DIAG_V1``
    (``agent`` required; ``vm_id`` default :meth:`Machine.vm_id`), or
    :class:`CloudInitWriter` for a cloud-init format."""
    chosen = Format(event_format)
    if chosen is Format.DIAG_V1:
        if agent is None:
            raise TypeError("a DIAG_V1 writer needs an agent")
        return DiagWriter(agent, Machine().vm_id() if vm_id is None else vm_id)
    if chosen is Format.AZURE_INIT_TRACING:
        raise ValueError("azure-init's tracing format is read, never written: use DIAG_V1")
    return CloudInitWriter(chosen, incarnation=incarnation, vm_id=vm_id)


@dataclass(frozen=True)
class DiagnosticEvent:
    """One event read from a pool, whatever format carried it.

    ``position`` is the index of its first record among the pool's
    records. ``agent`` is the producer (``CLOUD_INIT``, the tracing prefix such as
    ``azure-init-0.1.1``, or the ``DIAG_V1`` agent); ``event_type`` the type
    as the source spelled it (cloud-init's ``diagnostic``, ``compressed``,
    ...; the tracing level; the ``DIAG_V1`` kind). ``ts`` is the timestamp
    text as written and ``timestamp`` the instant (aware UTC, to the
    microsecond; None if outside datetime's years). ``result`` is an
    :class:`Outcome`, or the token a cloud-init record spelled otherwise.
    ``duration`` is to the microsecond, ``duration_text`` the duration as
    the record wrote it (cloud-init's float seconds exactly, ``float()``
    reads it; ``DIAG_V1``'s microseconds), None for a tracing span's
    computed one. ``payload`` is text, or bytes for a decompressed artifact
    (with ``decompress=False``, the text that carried it). ``chunks``
    counts the records it took; ``missing_chunks`` is empty except in a
    ``partial`` read.
    """

    position: int
    format: Format
    agent: str
    kind: Kind
    event_type: str
    name: str
    ts: str
    timestamp: Optional[datetime]
    result: Optional[Union[Outcome, str]]
    duration: Optional[timedelta]
    duration_text: Optional[str]
    payload: Union[str, bytes]
    encoding: Encoding
    vm_id: Optional[str]
    event_id: Optional[str]
    incarnation: Optional[int]
    chunks: int = 1
    missing_chunks: Tuple[int, ...] = ()

    @property
    def text(self) -> Optional[str]:
        """The payload if it is text, else None."""
        return self.payload if isinstance(self.payload, str) else None

    @property
    def complete(self) -> bool:
        """Whether every chunk was there."""
        return not self.missing_chunks


@dataclass(frozen=True)
class ReportEntry:
    """A ``PROVISIONING_REPORT`` record that decodes, at index ``position``
    of the pool's records."""

    position: int
    report: ProvisioningReport


@dataclass(frozen=True)
class RawEntry:
    """A record left as it is, at index ``position``: exact ``key`` and
    ``value`` bytes, and, for a record of a known format that does not
    decode, the :class:`Reason` and a ``detail`` for people (both None for
    records of no known format, such as another agent's keys)."""

    position: int
    key: bytes
    value: bytes
    reason: Optional[Reason] = None
    detail: Optional[str] = None

    @property
    def key_text(self) -> str:
        """The key as :class:`~hyperv_kvp.KvpPool` yields it (undecodable
        bytes as surrogate escapes)."""
        return self.key.decode("utf-8", "surrogateescape")


Entry = Union[DiagnosticEvent, ReportEntry, RawEntry]
"""One item of a decoded pool."""


def _datetime(pair: Optional[Tuple[int, int]]) -> Optional[datetime]:
    if pair is None:
        return None
    try:
        return _EPOCH + timedelta(seconds=pair[0], microseconds=pair[1] // 1000)
    except OverflowError:
        return None


def _outcome(token: Optional[str]) -> Optional[Union[Outcome, str]]:
    if token is None:
        return None
    try:
        return Outcome(token)
    except ValueError:
        return token  # another token a cloud-init record carried


def _entry(d: Dict[str, Any]) -> Optional[Entry]:
    kind = d["entry"]
    if kind == "event":
        result = d["result"]
        ns = d["duration_ns"]
        return DiagnosticEvent(
            position=d["position"],
            format=Format(d["format"]),
            agent=d["agent"],
            kind=Kind(d["kind"]),
            event_type=d["event_type"],
            name=d["name"],
            ts=d["ts"],
            timestamp=_datetime(d["timestamp"]),
            result=_outcome(result),
            duration=None if ns is None else timedelta(microseconds=(ns + 500) // 1000),
            duration_text=d["duration_text"],
            payload=d["payload"],
            encoding=Encoding(d["encoding"]),
            vm_id=d["vm_id"],
            event_id=d["event_id"],
            incarnation=d["incarnation"],
            chunks=d["chunks"],
            missing_chunks=tuple(d["missing"]),
        )
    if kind == "report":
        return ReportEntry(d["position"], ProvisioningReport._from_fields(d["report"]))
    if kind == "raw":
        reason = d["reason"]
        return RawEntry(
            d["position"], d["key"], d["value"], None if reason is None else Reason(reason), d["detail"]
        )
    return None  # a kind of entry this layer does not know yet


def _entries(found: List[Dict[str, Any]]) -> List[Entry]:
    return [entry for entry in map(_entry, found) if entry is not None]


def _check_options(partial: object, max_payload: object, decompress: object) -> None:
    for name, flag in (("partial", partial), ("decompress", decompress)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool, not {type(flag).__name__}")
    if isinstance(max_payload, bool) or not isinstance(max_payload, int):
        raise TypeError(f"max_payload must be an int, not {type(max_payload).__name__}")
    if max_payload < 0:
        raise ValueError(f"max_payload must be >= 0, not {max_payload}")


def _raw_bytes(what: str, text: object) -> bytes:
    if isinstance(text, bytes):
        return text
    if isinstance(text, str):
        return text.encode("utf-8", "surrogateescape")
    raise TypeError(f"{what} must be str or bytes, not {type(text).__name__}")


def decode_entries(
    records: Iterable[Union[Record, Tuple[Union[str, bytes], Union[str, bytes]]]],
    *,
    partial: bool = False,
    max_payload: int = DEFAULT_MAX_PAYLOAD,
    decompress: bool = True,
) -> List[Entry]:
    """Decodes records (``(key, value)`` pairs in pool order, str or bytes)
    into events, reports and raw records, every format at once.

    Nothing is dropped and one bad record never fails the read: a record
    of no known format comes back as a :class:`RawEntry` without a reason,
    and a recognised record (or every record of a group) that does not
    decode comes back raw with its :class:`Reason`. Entries keep
    first-seen order: an event sits where its first record was. With
    ``partial``, a text event whose chunks are partly missing comes back
    with what is there and ``missing_chunks`` set, instead of raw with
    ``incomplete_group``. ``max_payload`` caps what one compressed payload
    may decompress to; with ``decompress=False`` a compressed event keeps
    the text that carried its payload instead (cloud-init's envelope JSON,
    as cloud-init's own reader returns it; ``DIAG_V1``'s base64).
    """
    _check_options(partial, max_payload, decompress)
    pairs = []
    for index, item in enumerate(records):
        if not isinstance(item, tuple) or len(item) != 2:
            raise TypeError(f"record {index} must be a (key, value) tuple, not {item!r}")
        pairs.append((_raw_bytes(f"key of record {index}", item[0]),
                      _raw_bytes(f"value of record {index}", item[1])))
    return _entries(_native.decode_records(pairs, partial, max_payload, decompress))


def read_entries(
    pool: KvpPool,
    *,
    partial: bool = False,
    max_payload: int = DEFAULT_MAX_PAYLOAD,
    decompress: bool = True,
) -> List[Entry]:
    """Reads ``pool`` once, under its lock and with its exact bytes, and
    decodes it as :func:`decode_entries` does. A whole-pool read: capped by
    ``max_pool_bytes``, as :meth:`KvpPool.records` is."""
    _check_options(partial, max_payload, decompress)
    return _entries(_native.read_entries(pool._n, partial, max_payload, decompress))

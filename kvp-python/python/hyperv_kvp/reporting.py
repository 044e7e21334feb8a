"""What agents write into pool 1: provisioning reports, diagnostic events
and the VM id, in every format cloud-init and azure-init use.

Every format lives in the Rust crate kvp-report, which the C library and
the ``kvp`` tool use too; this module converts, validates and calls it.

- **Provisioning report**: :class:`ProvisioningReport` (``success`` or
  ``error``, agent, VM id, timestamp, ``pps_type``, reason, documentation
  URL, ordered supporting data), encoded and decoded in either
  :class:`Dialect` (cloud-init's or azure-init's, byte for byte), written
  with :func:`write_report` (insert, shortened whole-field when too long,
  and marked) and read with :func:`read_report`.
- **VM id**: :class:`Machine` (``vm_id()`` with the Gen1 byte swap,
  ``is_azure()``, an injectable root for tests) and :func:`vm_id_of`.
- **Writing events**: :class:`DiagWriter` (``DIAG_V1``, azure-init's next
  format) and :class:`CloudInitWriter` (cloud-init 22.4, 24.4 or 26.1),
  or :func:`event_writer`; for Python logging, :class:`hyperv_kvp.logging.KvpHandler`.
- **Reading**: :func:`read_entries` and :func:`decode_entries` decode every
  format at once into :class:`DiagnosticEvent`, :class:`ReportEntry` and
  :class:`RawEntry` (a record that does not decode, with its
  :class:`Reason`): one bad record never fails the read.

The original API, cloud-init 22.4's event records (:class:`KvpReporter`,
:func:`encode_event`, :func:`report_event`, :func:`decode_events`,
:func:`read_events` and :class:`Event`), works as before on top of the
same code. cloud-init 22.4's ``HyperVKvpReportingHandler`` publishes each
reporting event as one record of pool 1 (or several, for a long one):

- key ``CLOUD_INIT|<incarnation>|<event_type>|<name>|<uuid4>``, where the
  incarnation is the boot time in whole seconds, ``int(time.time() - uptime)``;
- value: compact JSON (separators ``,`` and ``:``, ``ensure_ascii``) of
  ``{"name", "type", "ts", "result"?, "msg"}``, ``ts`` being the UTC time in
  ISO 8601 with a ``Z``, ``result`` present only for events with a result;
- a value too long for one record is split: chunk ``i`` has the key
  ``<key>|<i>`` and the value ``{"name", "type", "ts", "result"?, "msg_i": i,
  "msg": <slice of the JSON-escaped description>}``, the slice being at most
  ``1024 - len(<that JSON with an empty msg>) - 8`` characters.

Where this library differs from cloud-init, on purpose:

- cloud-init cuts a slice anywhere, inside ``\\u00e9`` too, so that a chunk
  can be invalid JSON; we cut only between escapes (and never between the
  two halves of a surrogate pair), so every chunk is valid JSON by itself.
  The joined text, and so what any reader reassembles, is the same.
- cloud-init splits values longer than 1024 characters, but the host
  receives at most 1022 UTF-16 code units of a value; we split values longer
  than 1022, so a 1023- or 1024-character event reaches the host whole.

Reading joins the raw ``msg`` texts in ``msg_i`` order and unescapes once,
which is the only correct way for records cloud-init wrote. It reads every
release's records (tests/interop runs 22.4, 25.1 and 26.x): ``ts`` ends in
``Z`` before 24.4 and in ``+00:00`` from 24.4 on (``Event.timestamp`` keeps
it as written, ``Event.time`` parses both); from 26.1 on the key carries the
VM id before the uuid, ``CLOUD_INIT|<incarnation>|<type>|<name>|<vm_id>|<uuid4>``
(``Event.vm_id``), and finish events carry a ``duration`` in seconds
(``Event.duration``). Writing keeps the 22.4 layout, which every release's
reader reads.

Writing::

    from hyperv_kvp import KvpPool
    from hyperv_kvp.reporting import KvpReporter

    reporter = KvpReporter(KvpPool(1))
    reporter.start("provision", "provisioning started")
    reporter.finish("provision", "provisioning done", result="SUCCESS")
    for event in reporter.events():
        print(event.event_type, event.name, event.description)
"""

from __future__ import annotations

import uuid as uuid_module
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, List, Optional, Tuple, Union

from ._events import (
    DEFAULT_MAX_PAYLOAD,
    DIAG_MAX_AGENT_BYTES,
    DIAG_MAX_NAME_BYTES,
    CloudInitWriter,
    DiagWriter,
    DiagnosticEvent,
    Encoding,
    Entry,
    EventWriter,
    Format,
    Instant,
    Kind,
    Outcome,
    RawEntry,
    Reason,
    ReportEntry,
    boot_incarnation,
    decode_entries,
    event_writer,
    read_entries,
)
from ._pool import KvpPool, Pool, Record
from ._report import (
    AZURE_CHASSIS_ASSET_TAG,
    DOCUMENTATION_URL,
    PROVISIONING_REPORT_KEY,
    SHORTENED_FIELD,
    SHORTENED_SUFFIX,
    Dialect,
    Generation,
    Machine,
    PpsType,
    ProvisioningReport,
    ReportResult,
    SupportingData,
    read_report,
    vm_id_of,
    write_report,
)
from .exceptions import EventFormatError

__all__ = [
    # provisioning report and VM id (_report)
    "PROVISIONING_REPORT_KEY",
    "DOCUMENTATION_URL",
    "SHORTENED_FIELD",
    "SHORTENED_SUFFIX",
    "AZURE_CHASSIS_ASSET_TAG",
    "ReportResult",
    "PpsType",
    "Dialect",
    "SupportingData",
    "ProvisioningReport",
    "write_report",
    "read_report",
    "Generation",
    "Machine",
    "vm_id_of",
    # events of every format (_events)
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
    # cloud-init 22.4 events, the original API
    "EVENT_PREFIX",
    "AZURE_MAX_VALUE_SIZE",
    "MAX_VALUE_CHARS",
    "START",
    "FINISH",
    "DIAGNOSTIC",
    "SUCCESS",
    "WARN",
    "FAIL",
    "Event",
    "KvpReporter",
    "event_key",
    "format_timestamp",
    "encode_event",
    "decode_events",
    "report_event",
    "read_events",
]

EVENT_PREFIX = "CLOUD_INIT"
"""The first field of every event key."""
AZURE_MAX_VALUE_SIZE = 1024
"""cloud-init's value budget, used in its chunk-size formula."""
MAX_VALUE_CHARS = 1022
"""The longest value written as one record: what the host receives whole
(SAFE_VALUE_UTF16_UNITS; values are ASCII, so characters are code units)."""

START = "start"
"""Event type of cloud-init's start events."""
FINISH = "finish"
"""Event type of cloud-init's finish events (they carry a result)."""
DIAGNOSTIC = "diagnostic"
"""Event type of cloud-init's Azure diagnostic events."""
SUCCESS = "SUCCESS"
"""Result of a successful finish event."""
WARN = "WARN"
"""Result of a finish event with warnings."""
FAIL = "FAIL"
"""Result of a failed finish event."""

_CLOUD_INIT_FORMATS = (Format.CLOUD_INIT_22_4, Format.CLOUD_INIT_24_4, Format.CLOUD_INIT_26_1)


@dataclass(frozen=True)
class Event:
    """One cloud-init reporting event as read back from a pool.

    ``key`` is the event's key without a chunk suffix; ``timestamp`` the
    ``ts`` text as written; ``chunks`` how many records held it (1 when it
    was not split); ``complete`` is False when chunks are missing, and then
    ``description`` is what the chunks present decode to (or their raw
    escaped text when that is not valid JSON). ``vm_id`` is the VM id that
    cloud-init 26.1 and later put in the key, ``duration`` the seconds their
    finish events carry; both are None for records without them. A
    ``compressed`` event's description is its envelope's JSON text, as
    cloud-init's reader returns it (:func:`read_entries` decodes the bytes).
    """

    key: str
    incarnation: int
    event_type: str
    name: str
    uuid: str
    timestamp: str
    description: str
    result: Optional[str] = None
    chunks: int = 1
    complete: bool = True
    vm_id: Optional[str] = None
    duration: Optional[float] = None

    @property
    def time(self) -> datetime:
        """``timestamp`` as an aware UTC datetime."""
        text = self.timestamp[:-1] if self.timestamp.endswith("Z") else self.timestamp
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def event_key(incarnation: int, event_type: str, name: str, event_uuid: Optional[str] = None) -> str:
    """``CLOUD_INIT|<incarnation>|<event_type>|<name>|<uuid4>``."""
    if event_uuid is None:
        event_uuid = str(uuid_module.uuid4())
    return f"{EVENT_PREFIX}|{incarnation}|{event_type}|{name}|{event_uuid}"


def format_timestamp(timestamp: float) -> str:
    """The ``ts`` field: UTC ISO 8601 with a ``Z``, as cloud-init writes it
    (``datetime.utcfromtimestamp(ts).isoformat() + "Z"``)."""
    utc = datetime.fromtimestamp(timestamp, tz=timezone.utc).replace(tzinfo=None)
    return utc.isoformat() + "Z"


def _check_text(name: str, text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be str, not {type(text).__name__}")
    return text


def _kind_of(event_type: str) -> Kind:
    return {START: Kind.START, FINISH: Kind.FINISH}.get(event_type, Kind.EVENT)


def encode_event(
    event_type: str,
    name: str,
    description: str,
    *,
    result: Optional[str] = None,
    timestamp: Optional[float] = None,
    incarnation: Optional[int] = None,
    event_uuid: Optional[str] = None,
) -> List[Tuple[str, str]]:
    """The (key, value) records of one event, in order: one, or the chunks
    of a long one. ``timestamp`` defaults to now, ``incarnation`` to
    :func:`boot_incarnation`, ``event_uuid`` to a new uuid4.

    Raises TypeError for non-str text, ValueError when the name and type
    leave no room for the description in a chunk (InvalidFieldError) or
    the key is too long (KeyTooLargeError).
    """
    _check_text("event_type", event_type)
    _check_text("name", name)
    _check_text("description", description)
    if result is not None:
        _check_text("result", result)
    return CloudInitWriter("22.4", incarnation=incarnation).encode(
        _kind_of(event_type),
        name,
        description,
        event_type=event_type,
        result=result,
        timestamp=timestamp,
        event_id=event_uuid,
    )


def _legacy(event: DiagnosticEvent) -> Event:
    """A cloud-init event of the common model as this module's Event."""
    name = event.name if event.vm_id is None else f"{event.name}|{event.vm_id}"
    description = event.payload  # read without decompression: always text
    if isinstance(description, bytes):
        description = description.decode("utf-8", "replace")
    return Event(
        key=event_key(event.incarnation or 0, event.event_type, name, event.event_id),
        incarnation=event.incarnation or 0,
        event_type=event.event_type,
        name=event.name,
        uuid=event.event_id or "",
        timestamp=event.ts,
        description=description,
        result=event.result.value if isinstance(event.result, Outcome) else event.result,
        chunks=event.chunks,
        complete=event.complete,
        vm_id=event.vm_id,
        duration=None if event.duration_text is None else float(event.duration_text),
    )


def _cloud_init_events(entries: List[Entry], strict: bool) -> List[Event]:
    events = []
    for entry in entries:
        if isinstance(entry, DiagnosticEvent) and entry.format in _CLOUD_INIT_FORMATS:
            events.append(_legacy(entry))
        elif (
            strict
            and isinstance(entry, RawEntry)
            and entry.reason is not None
            and entry.key.startswith(EVENT_PREFIX.encode() + b"|")
        ):
            raise EventFormatError(f"record {entry.key_text!r} is not a cloud-init event: {entry.detail}")
    return events


def decode_events(
    records: Iterable[Union[Record, Tuple[str, str]]], *, strict: bool = False
) -> List[Event]:
    """The events among ``records`` (in file order), chunks reassembled.

    Records whose key does not start with ``CLOUD_INIT|`` are ignored.
    A ``CLOUD_INIT|`` record that is not a well-formed event raises
    EventFormatError when ``strict``, and is left out otherwise. (The
    typed reader of every format is :func:`decode_entries`.)
    """
    return _cloud_init_events(decode_entries(records, partial=True, decompress=False), strict)


def report_event(
    pool: KvpPool,
    event_type: str,
    name: str,
    description: str,
    *,
    result: Optional[str] = None,
    timestamp: Optional[float] = None,
    incarnation: Optional[int] = None,
) -> List[str]:
    """Append one event's records to ``pool`` under one lock (so its chunks
    stay adjacent, as cloud-init writes them). Returns the keys written."""
    records = encode_event(
        event_type, name, description, result=result, timestamp=timestamp, incarnation=incarnation
    )
    pool.append_many(records)
    return [key for key, _ in records]


def read_events(
    pool: KvpPool, *, incarnation: Optional[int] = None, strict: bool = False
) -> List[Event]:
    """The events in ``pool``, read with one locked read; only those of
    ``incarnation`` when it is given. See :func:`decode_events`."""
    events = _cloud_init_events(read_entries(pool, partial=True, decompress=False), strict)
    if incarnation is not None:
        events = [e for e in events if e.incarnation == incarnation]
    return events


class KvpReporter:
    """Reports events to a pool as cloud-init's Hyper-V handler does.

    ``pool`` defaults to pool 1 in /var/lib/hyperv. The incarnation is
    computed once, as the handler does. With ``clear_stale``, a pool left
    from a former boot is emptied first (under the lock, unlike cloud-init,
    which truncates without one).
    """

    def __init__(
        self,
        pool: Optional[KvpPool] = None,
        *,
        incarnation: Optional[int] = None,
        clear_stale: bool = False,
    ) -> None:
        self.pool: KvpPool = KvpPool(Pool.GUEST) if pool is None else pool
        self.incarnation: int = boot_incarnation() if incarnation is None else incarnation
        if clear_stale:
            self.pool.clear_if_stale()

    def report(
        self,
        event_type: str,
        name: str,
        description: str,
        *,
        result: Optional[str] = None,
        timestamp: Optional[float] = None,
    ) -> List[str]:
        """Append one event; returns the keys written."""
        return report_event(
            self.pool,
            event_type,
            name,
            description,
            result=result,
            timestamp=timestamp,
            incarnation=self.incarnation,
        )

    def start(self, name: str, description: str) -> List[str]:
        """A ``start`` event, as cloud-init's ReportEventStack opens."""
        return self.report(START, name, description)

    def finish(self, name: str, description: str, result: str = SUCCESS) -> List[str]:
        """A ``finish`` event with a result (SUCCESS, WARN or FAIL)."""
        return self.report(FINISH, name, description, result=result)

    def diagnostic(self, description: str, name: str = "diagnostic message") -> List[str]:
        """A ``diagnostic`` event, as cloud-init's Azure helpers report."""
        return self.report(DIAGNOSTIC, name, description)

    def events(self, *, this_boot: bool = True, strict: bool = False) -> List[Event]:
        """The events in the pool, only this incarnation's by default."""
        return read_events(
            self.pool, incarnation=self.incarnation if this_boot else None, strict=strict
        )

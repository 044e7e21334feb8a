"""cloud-init's Hyper-V KVP event records, written and read without cloud-init.

cloud-init 22.4's ``HyperVKvpReportingHandler`` publishes each reporting
event as one record of pool 1 (or several, for a long one). This module
writes the same records through the core, under flock (which cloud-init
takes) and the OFD lock (which excludes hv_kvp_daemon), and reads them back.

The format, as the handler writes it:

- key ``CLOUD_INIT|<incarnation>|<event_type>|<name>|<uuid4>``, where the
  incarnation is the boot time in whole seconds, ``int(time.time() - uptime)``;
- value: compact JSON (separators ``,`` and ``:``, ``ensure_ascii``) of
  ``{"name", "type", "ts", "result"?, "msg"}``, ``ts`` being the UTC time in
  ISO 8601 with a ``Z``, ``result`` present only for events with a result;
- a value too long for one record is split: chunk ``i`` has the key
  ``<key>|<i>`` and the value ``{"name", "type", "ts", "result"?, "msg_i": i,
  "msg": <slice of the JSON-escaped description>}``, the slice being at most
  ``1024 - len(<that JSON with an empty msg>) - 8`` characters.

Where this module differs from cloud-init, on purpose:

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

import json
import re
import time
import uuid as uuid_module
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Dict, Iterable, List, Optional, Tuple, Union

from ._pool import KvpPool, Pool, Record
from .exceptions import EventFormatError

__all__ = [
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
    "boot_incarnation",
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

_SEPARATORS = (",", ":")
# Chunk values end with ,"msg_i":<i>,"msg":"<raw>"} ; the raw text holds no
# unescaped quote, so the first ,"msg_i": is the real one.
_CHUNK = re.compile(r'\A(?P<head>\{.*?),"msg_i":(?P<index>\d+),"msg":"(?P<raw>.*)"\}\Z', re.S)
# One unit of JSON-escaped ASCII text: a surrogate pair, a \uXXXX, another
# escape, or a plain character.
_TOKEN = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    r"|\\u[0-9a-fA-F]{4}|\\.|[^\\]",
    re.S,
)
_LONGEST_TOKEN = 12


@dataclass(frozen=True)
class Event:
    """One reporting event as read back from a pool.

    ``key`` is the event's key without a chunk suffix; ``timestamp`` the
    ``ts`` text as written; ``chunks`` how many records held it (1 when it
    was not split); ``complete`` is False when chunks are missing, and then
    ``description`` is what the chunks present decode to (or their raw
    escaped text when that is not valid JSON). ``vm_id`` is the VM id that
    cloud-init 26.1 and later put in the key, ``duration`` the seconds their
    finish events carry; both are None for records without them.
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


def boot_incarnation(now: Optional[float] = None, uptime: Optional[float] = None) -> int:
    """The incarnation number cloud-init puts in keys: the boot time in whole
    seconds, ``int(now - uptime)``, uptime read from /proc/uptime."""
    if uptime is None:
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
    return int((time.time() if now is None else now) - uptime)


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


def _cut(escaped: str, start: int, room: int) -> int:
    """The end of the longest run of whole escape tokens from ``start`` that
    fits in ``room`` characters."""
    end = start
    limit = start + room
    for token in _TOKEN.finditer(escaped, start):
        if token.end() > limit:
            break
        end = token.end()
    return end


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
    leave no room for the description in a chunk.
    """
    _check_text("event_type", event_type)
    _check_text("name", name)
    _check_text("description", description)
    if result is not None:
        _check_text("result", result)
    if incarnation is None:
        incarnation = boot_incarnation()
    key = event_key(incarnation, event_type, name, event_uuid)
    meta: Dict[str, Union[str, int]] = {
        "name": name,
        "type": event_type,
        "ts": format_timestamp(time.time() if timestamp is None else timestamp),
    }
    if result is not None:
        meta["result"] = result
    meta["msg"] = description
    value = json.dumps(meta, separators=_SEPARATORS)
    if len(value) <= MAX_VALUE_CHARS:
        return [(key, value)]

    del meta["msg"]
    escaped = json.dumps(description)[1:-1]
    records = []
    start = 0
    index = 0
    while True:
        meta["msg_i"] = index
        meta["msg"] = ""
        without_text = json.dumps(meta, separators=_SEPARATORS)
        room = AZURE_MAX_VALUE_SIZE - len(without_text) - 8
        if room < _LONGEST_TOKEN:
            raise ValueError(
                f"the event's name, type and result take {len(without_text)} characters "
                f"of a {AZURE_MAX_VALUE_SIZE}-character record: shorten them"
            )
        end = _cut(escaped, start, room)
        # without_text ends with "msg":""} ; put the slice between the quotes.
        records.append((f"{key}|{index}", f'{without_text[:-2]}{escaped[start:end]}"}}'))
        start = end
        index += 1
        if start == len(escaped):
            return records


def _parse_key(key: str) -> Tuple[str, int, str]:
    """The key without chunk suffix, the incarnation and the uuid."""
    parts = key.split("|")
    if len(parts) < 5 or parts[0] != EVENT_PREFIX:
        raise EventFormatError(f"not a cloud-init event key: {key!r}")
    try:
        incarnation = int(parts[1])
    except ValueError:
        raise EventFormatError(f"event key with a non-numeric incarnation: {key!r}") from None
    return key, incarnation, parts[-1]


def _is_uuid(text: str) -> bool:
    try:
        uuid_module.UUID(text)
    except ValueError:
        return False
    return True


def _vm_id(key: str, name: str) -> Optional[str]:
    """The VM id of a 26.1+ key: the field between the name and the uuid.
    A name may hold ``|``, so the field counts as a VM id only when it is a
    UUID and the fields before it spell the value's name."""
    middle = key.split("|")[3:-1]
    if len(middle) >= 2 and _is_uuid(middle[-1]) and "|".join(middle[:-1]) == name:
        return middle[-1]
    return None


@dataclass
class _Pending:
    head: Dict[str, object]
    key: str
    incarnation: int
    uuid: str
    pieces: Dict[int, str]


def _event_from_json(key: str, value: str) -> Event:
    try:
        data = json.loads(value)
    except ValueError:
        raise EventFormatError(f"event {key!r} has a value that is not JSON") from None
    if not isinstance(data, dict):
        raise EventFormatError(f"event {key!r} has a value that is not a JSON object")
    base, incarnation, event_uuid = _parse_key(key)
    return _build(base, incarnation, event_uuid, data, str(data.get("msg", "")), 1, True)


def _build(
    key: str,
    incarnation: int,
    event_uuid: str,
    data: Dict[str, object],
    description: str,
    chunks: int,
    complete: bool,
) -> Event:
    def text(field: str) -> str:
        found = data.get(field)
        if not isinstance(found, str):
            raise EventFormatError(f"event {key!r} has no text field {field!r}")
        return found

    result = data.get("result")
    duration = data.get("duration")
    if isinstance(duration, bool) or not isinstance(duration, (int, float, type(None))):
        raise EventFormatError(f"event {key!r} has a duration that is not a number")
    name = text("name")
    return Event(
        key=key,
        incarnation=incarnation,
        event_type=text("type"),
        name=name,
        uuid=event_uuid,
        timestamp=text("ts"),
        description=description,
        result=result if isinstance(result, str) else None,
        chunks=chunks,
        complete=complete,
        vm_id=_vm_id(key, name),
        duration=None if duration is None else float(duration),
    )


def _finish(pending: _Pending) -> Event:
    indices = sorted(pending.pieces)
    complete = indices == list(range(len(indices)))
    raw = "".join(pending.pieces[i] for i in indices)
    try:
        description = json.loads(f'"{raw}"')
    except ValueError:
        if complete:
            raise EventFormatError(
                f"event {pending.key!r}: its chunks do not join into a JSON string"
            ) from None
        description = raw
    return _build(
        pending.key, pending.incarnation, pending.uuid, pending.head, description, len(indices), complete
    )


def decode_events(
    records: Iterable[Union[Record, Tuple[str, str]]], *, strict: bool = False
) -> List[Event]:
    """The events among ``records`` (in file order), chunks reassembled.

    Records whose key does not start with ``CLOUD_INIT|`` are ignored.
    A ``CLOUD_INIT|`` record that is not a well-formed event raises
    EventFormatError when ``strict``, and is left out otherwise.
    """
    order: List[Union[Event, _Pending]] = []
    pending: Dict[str, _Pending] = {}
    for key, value in records:
        if not key.startswith(EVENT_PREFIX + "|"):
            continue
        try:
            chunk = _CHUNK.match(value)
            if chunk is None:
                order.append(_event_from_json(key, value))
                continue
            index = chunk.group("index")
            if not key.endswith(f"|{index}"):
                raise EventFormatError(f"chunk {key!r} does not end with its msg_i {index}")
            base, incarnation, event_uuid = _parse_key(key[: -len(index) - 1])
            group = pending.get(base)
            if group is None:
                try:
                    head = json.loads(chunk.group("head") + "}")
                except ValueError:
                    raise EventFormatError(f"chunk {key!r} has a malformed header") from None
                group = _Pending(head, base, incarnation, event_uuid, {})
                pending[base] = group
                order.append(group)
            group.pieces[int(index)] = chunk.group("raw")
        except EventFormatError:
            if strict:
                raise
    events = []
    for item in order:
        try:
            events.append(_finish(item) if isinstance(item, _Pending) else item)
        except EventFormatError:
            if strict:
                raise
    return events


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
    events = decode_events(pool.records(), strict=strict)
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

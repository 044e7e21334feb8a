"""hyperv_kvp.logging.KvpHandler: log records become KVP events, with
logging's conventions (levels, formatters, handleError, never raising into
the caller), under a locked pool, from many threads, after close."""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

from hyperv_kvp import EventTooLargeError, InvalidFieldError, KvpPool, LockTimeoutError
from hyperv_kvp.logging import DEFAULT_HANDLER_LOCK_TIMEOUT, KvpHandler
from hyperv_kvp.reporting import DiagnosticEvent, Format, Kind, read_entries, read_events

VM = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
_names = itertools.count()


class Recorder(logging.Handler):
    """Keeps the records a logger emitted, to compare with the events."""

    def __init__(self) -> None:
        super().__init__()
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    """A fresh logger of its own, not propagating to the root logger."""
    log = logging.getLogger(f"kvp-test.agent{next(_names)}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


def events_in(pool: KvpPool) -> List[DiagnosticEvent]:
    return [e for e in read_entries(pool) if isinstance(e, DiagnosticEvent)]


class HandleErrors:
    """Replaces a handler's handleError, keeping each record and the
    exception being handled (what logging's own handleError reports)."""

    def __init__(self, handler: KvpHandler, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: List[logging.LogRecord] = []
        self.errors: List[Optional[BaseException]] = []
        monkeypatch.setattr(handler, "handleError", self.handle)

    def handle(self, record: logging.LogRecord) -> None:
        self.calls.append(record)
        self.errors.append(sys.exc_info()[1])


def test_records_become_diag_v1_events(pool: KvpPool, logger: logging.Logger) -> None:
    handler = KvpHandler(pool, agent="my-agent-1.0", vm_id=VM, level=logging.INFO)
    recorder = Recorder()
    logger.addHandler(handler)
    logger.addHandler(recorder)
    logger.debug("below the handler's level")
    logger.info("hello %s", "world")
    logger.error("two\nlines, é€😀")
    events = events_in(pool)
    assert [(e.format, e.kind, e.name, e.agent, e.vm_id, e.text) for e in events] == [
        (Format.DIAG_V1, Kind.EVENT, logger.name, "my-agent-1.0", VM, "INFO: hello world"),
        (Format.DIAG_V1, Kind.EVENT, logger.name, "my-agent-1.0", VM, "ERROR: two\nlines, é€😀"),
    ]
    for event, record in zip(events, recorder.records[1:]):
        created = datetime.fromtimestamp(record.created, tz=timezone.utc)
        assert event.timestamp == created.replace(microsecond=created.microsecond // 1000 * 1000)
    assert handler.dropped == 0


def test_formatter_level_and_exceptions(pool: KvpPool, logger: logging.Logger) -> None:
    handler = KvpHandler(pool, agent="a", vm_id=VM)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    handler.setLevel(logging.WARNING)
    logger.addHandler(handler)
    logger.info("filtered")
    logger.warning("kept")
    try:
        1 / 0
    except ZeroDivisionError:
        logger.exception("division")
    logger.critical("x" * 5000)  # long: chunked by the format
    first, second, third = events_in(pool)
    assert first.text == f"{logger.name} WARNING kept"
    assert second.text is not None and second.text.startswith(f"{logger.name} ERROR division\nTraceback")
    assert "ZeroDivisionError" in second.text
    assert third.chunks == 5 and third.text == f"{logger.name} CRITICAL " + "x" * 5000
    handler.addFilter(lambda record: "secret" not in record.getMessage())
    logger.error("a secret")
    assert len(events_in(pool)) == 3


@pytest.mark.parametrize("variant", ["cloud-init-22.4", "cloud-init-24.4", "cloud-init-26.1"])
def test_cloud_init_variants(pool: KvpPool, logger: logging.Logger, variant: str) -> None:
    logger.addHandler(KvpHandler(pool, event_format=variant, vm_id=VM, incarnation=42))
    logger.warning("disk almost full")
    [event] = events_in(pool)
    assert (event.format, event.event_type, event.name, event.incarnation) == (
        Format(variant), "diagnostic", logger.name, 42
    )
    assert event.vm_id == (VM if variant == "cloud-init-26.1" else None)
    [legacy] = read_events(pool, incarnation=42)  # cloud-init's own reader's view
    assert legacy.description == "WARNING: disk almost full"


def hold_flock(path: str) -> int:
    """Takes the pool's flock from this process, as cloud-init would."""
    fd = os.open(path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def release(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def test_a_locked_pool_goes_to_handle_error(
    pool: KvpPool, logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool["other agent"] = "was here"
    handler = KvpHandler(pool, agent="a", vm_id=VM, lock_timeout=0.01, backoff=0)
    handled = HandleErrors(handler, monkeypatch)
    logger.addHandler(handler)
    fd = hold_flock(pool.path)
    try:
        logger.error("while locked")  # returns: nothing is raised into the caller
    finally:
        release(fd)
    assert [r.getMessage() for r in handled.calls] == ["while locked"]
    assert isinstance(handled.errors[0], LockTimeoutError)
    assert handler.dropped == 1
    logger.error("after")
    assert [e.text for e in events_in(pool)] == ["ERROR: after"]
    assert handler.dropped == 1 and len(handled.calls) == 1


def test_never_raises_with_logging_defaults(
    pool: KvpPool, logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    # logging.raiseExceptions is True by default: handleError prints the
    # error to stderr, and the logging call still returns normally.
    assert logging.raiseExceptions
    pool["k"] = "v"
    logger.addHandler(KvpHandler(pool, agent="a", vm_id=VM, lock_timeout=0.01))
    fd = hold_flock(pool.path)
    try:
        logger.warning("lost")
    finally:
        release(fd)
    err = capsys.readouterr().err
    assert "--- Logging error ---" in err and "LockTimeoutError" in err


def test_back_off_after_a_lock_timeout(
    pool: KvpPool, logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool["k"] = "v"
    handler = KvpHandler(pool, agent="a", vm_id=VM, lock_timeout=0.01, backoff=60)
    now = [1000.0]
    monkeypatch.setattr(handler, "_clock", lambda: now[0])
    handled = HandleErrors(handler, monkeypatch)
    logger.addHandler(handler)
    fd = hold_flock(pool.path)
    try:
        logger.error("waits, then fails")
        logger.error("dropped at once, within the back-off")
    finally:
        release(fd)
    logger.error("still within the back-off")
    assert len(handled.calls) == 1 and handler.dropped == 3
    now[0] += 61
    logger.error("written again")
    assert [e.text for e in events_in(pool)] == ["ERROR: written again"]


def test_any_failure_is_handled(pool: KvpPool, logger: logging.Logger, monkeypatch: pytest.MonkeyPatch) -> None:
    handler = KvpHandler(pool, agent="a", vm_id=VM)
    handled = HandleErrors(handler, monkeypatch)
    logger.addHandler(handler)
    logger.info("y" * (1023 * 1022 + 1))  # more records than a DIAG_V1 value may take
    # A record the formatter fails on (pytest's own capture handler, on this
    # logger too, would raise on it: hand it to ours alone).
    handler.handle(logger.makeRecord(logger.name, logging.INFO, __file__, 1, "bad %d", ("args",), None))
    assert [type(e) for e in handled.errors] == [EventTooLargeError, TypeError]
    assert handler.dropped == 2 and pool.record_count() == 0
    # Text a pool cannot hold as it is is written escaped, not refused.
    logger.info("surrogate \udcff and NUL \0")
    assert [e.text for e in events_in(pool)] == ["INFO: surrogate \\udcff and NUL \\x00"]


def test_event_names(pool: KvpPool, logger: logging.Logger) -> None:
    handler = KvpHandler(pool, agent="a", vm_id=VM)
    odd = logging.getLogger("pipes|in|" + "é" * 40)
    odd.propagate = False
    odd.addHandler(handler)
    try:
        odd.error("x")
    finally:
        odd.removeHandler(handler)
    [event] = events_in(pool)
    assert "|" not in event.name and event.name.startswith("pipes/in/é")
    assert len(event.name.encode()) <= 48
    record = logging.makeLogRecord({"name": "", "msg": "m"})
    assert handler.event_name(record) == "root"


def test_threads_share_one_handler(pool: KvpPool, logger: logging.Logger) -> None:
    handler = KvpHandler(pool, agent="a", vm_id=VM, lock_timeout=30)
    logger.addHandler(handler)

    def work(n: int) -> None:
        for i in range(25):
            logger.info("thread %d record %d %s", n, i, "é" * (i * 40))  # some chunked

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    texts = sorted(e.text or "" for e in events_in(pool))
    assert texts == sorted(
        f"INFO: thread {n} record {i} {'é' * (i * 40)}" for n in range(8) for i in range(25)
    )
    assert handler.dropped == 0


def test_close_and_the_pool_given(pool: KvpPool, logger: logging.Logger, tmp_path: Path) -> None:
    handler = KvpHandler(pool, agent="a", vm_id=VM)
    assert handler.pool is not pool and handler.pool.path == pool.path
    assert handler.pool.lock_timeout == DEFAULT_HANDLER_LOCK_TIMEOUT and pool.lock_timeout == 30
    assert repr(handler) == f"<KvpHandler {pool.path} diag-v1 (NOTSET)>"
    logger.addHandler(handler)
    handler.close()
    handler.close()
    logger.info("after close")  # dropped quietly, as after logging.shutdown()
    assert handler.dropped == 1 and pool.record_count() == 0
    assert handler.pool.closed and not pool.closed
    by_number = KvpHandler(1, directory=tmp_path / "d", agent="a", vm_id=VM)
    by_number.handle(logging.makeLogRecord({"name": "n", "msg": "m", "levelno": 20, "levelname": "INFO"}))
    assert (tmp_path / "d" / ".kvp_pool_1").stat().st_size == 2560
    by_path = KvpHandler(path=tmp_path / "p", agent="a", vm_id=VM)
    assert by_path.pool.path == str(tmp_path / "p")


def test_bad_options(pool: KvpPool) -> None:
    with pytest.raises(ValueError):
        KvpHandler(pool, agent="a", vm_id=VM, lock_timeout=-1)
    with pytest.raises(ValueError):
        KvpHandler(pool, agent="a", vm_id=VM, backoff=float("inf"))
    with pytest.raises(TypeError):
        KvpHandler(pool, directory="elsewhere", agent="a", vm_id=VM)
    with pytest.raises(ValueError):
        KvpHandler(pool, event_format="azure-init-tracing", vm_id=VM)
    with pytest.raises(InvalidFieldError):
        KvpHandler(pool, agent="a", vm_id="not-a-uuid")
    with pytest.raises(EventTooLargeError):
        KvpHandler(pool, agent="a" * 33, vm_id=VM)

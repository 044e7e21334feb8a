"""One cloud-init release's real code, in a process of its own, for the
interop tests. The release is the one whose dist-packages directory is in
$KVP_INTEROP_CLOUDINIT_PATH (the Debian package of the system, or one that
tests/interop/fetch_peers.sh unpacked); each release gets its own
interpreter, so that three cloud-inits never meet in one.

    python3 cloudinit_peer.py serve
        answers JSON requests, one per line on stdin, one answer per line
        on stdout ({"ok": result} or {"error": traceback}); see Peer below
    python3 cloudinit_peer.py write <pool-file> <count> <name-prefix>
        publishes `count` events, each flushed on its own (so each is its
        own flock-protected append), alternating short and chunked ones

Nothing here re-implements cloud-init: every record is written by the
release's HyperVKvpReportingHandler (publish_event, write_key), or by
hyperv_kvp.cloudinit's subclass of it (the storage underneath replaced), its
report_compressed_event, or its sources.azure.kvp reporting functions,
and read by its _iterate_kvps. `parse` then reads the values the way
cloud-init's own tests read its records (json.loads of each value, chunks
put together from their parsed msg, compressed data through
base64.decodebytes and zlib.decompress), in this release's interpreter.
"""

from __future__ import annotations

import base64
import inspect
import json
import os
import zlib
import sys
import traceback
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

_SITE = os.environ.get("KVP_INTEROP_CLOUDINIT_PATH", "/usr/lib/python3/dist-packages")
if _SITE == "/usr/lib/python3/dist-packages":
    # Debian's own directory: last, so that this interpreter's packages win.
    sys.path.append(_SITE)
else:
    # An unpacked package holds only cloud-init: it must win over any other.
    sys.path.insert(0, _SITE)

from cloudinit import version as ci_version  # noqa: E402
from cloudinit.reporting import events as ci_events  # noqa: E402
from cloudinit.reporting import instantiated_handler_registry  # noqa: E402
from cloudinit.reporting.handlers import HyperVKvpReportingHandler  # noqa: E402

LONG = "é" * 1500 + ' "quoted" \\ back\\slash ✓ 😀'


def handler(path: str, kind: str = "stock", reset: bool = True) -> HyperVKvpReportingHandler:
    """A fresh handler on `path`, registered as cloud-init registers its
    telemetry handler: the release's own (`kind` "stock"), hyperv_kvp's
    subclass of it ("subclass"), or whatever cloud-init's own
    update_configuration makes of `type: hyperv` after
    hyperv_kvp.cloudinit.install() ("configured"). The stale-pool
    truncation runs once per process (the stock class's flag, which the
    subclass shares); `reset` clears it so each handler decides anew, as a
    new cloud-init process would."""
    if reset:
        HyperVKvpReportingHandler._already_truncated_pool_file = False
    if kind == "configured":
        import hyperv_kvp.cloudinit
        from cloudinit import reporting

        hyperv_kvp.cloudinit.install()
        reporting.update_configuration({"telemetry": {"type": "hyperv", "kvp_file_path": str(path)}})
        return instantiated_handler_registry.registered_items["telemetry"]
    if kind == "subclass":
        from hyperv_kvp.cloudinit import HyperVKvpReportingHandler as cls
    elif kind == "stock":
        cls = HyperVKvpReportingHandler
    else:
        raise ValueError(f"unknown handler kind {kind!r}")
    h = cls(kvp_file_path=str(path))
    instantiated_handler_registry.unregister_item("telemetry")
    instantiated_handler_registry.register_item("telemetry", h)
    return h


def _finish_takes_duration() -> bool:
    return "duration" in inspect.signature(ci_events.FinishReportingEvent.__init__).parameters


def make_event(spec: Dict[str, Any]) -> ci_events.ReportingEvent:
    """A ReportingEvent (or FinishReportingEvent) as the release builds it."""
    kind, name, description = spec["type"], spec["name"], spec["description"]
    if kind == ci_events.FINISH_EVENT_TYPE:
        result = spec.get("result", ci_events.status.SUCCESS)
        if _finish_takes_duration():  # 26.1 and later
            event = ci_events.FinishReportingEvent(name, description, spec.get("duration", 0.0), result=result)
        else:
            event = ci_events.FinishReportingEvent(name, description, result=result)
        if spec.get("timestamp") is not None:
            event.timestamp = spec["timestamp"]
        return event
    return ci_events.ReportingEvent(kind, name, description, timestamp=spec.get("timestamp"))


class _FixedTime:
    """Stands in for the `time` module in cloudinit.reporting.events, so an
    event built inside cloud-init gets a known timestamp."""

    def __init__(self, value: float) -> None:
        self.value = value

    def time(self) -> float:
        return self.value


def _azure_helpers():
    if _has_azure_kvp():  # identity first: helpers.azure first is a circular import in 25.1
        from cloudinit.sources.azure import identity  # noqa: F401
    from cloudinit.sources.helpers import azure

    return azure


def _has_azure_kvp() -> bool:
    """Whether the release ships cloudinit/sources/azure/kvp.py (23.2 and
    later). Decided by the file, so that an import that fails for another
    reason (a dependency missing) fails loudly instead."""
    return (Path(ci_version.__file__).parent / "sources" / "azure" / "kvp.py").is_file()


def _azure_kvp():
    """cloudinit.sources.azure's kvp, errors and identity modules."""
    if not _has_azure_kvp():
        raise RuntimeError("this release has no cloudinit.sources.azure.kvp")
    from cloudinit.sources.azure import errors, identity, kvp

    return kvp, errors, identity


class Peer:
    """The requests `serve` answers; each method is one op."""

    def __init__(self) -> None:
        self.h: Optional[HyperVKvpReportingHandler] = None
        self.reading: Optional[Iterator[dict]] = None

    def info(self) -> Dict[str, Any]:
        return {
            "version": ci_version.version_string(),
            "pid": os.getpid(),
            "module": ci_version.__file__,
            "write_key": hasattr(HyperVKvpReportingHandler, "write_key"),
            "azure_kvp": _has_azure_kvp(),
            "finish_duration": _finish_takes_duration(),
            "vm_id_in_keys": isinstance(getattr(HyperVKvpReportingHandler, "vm_id", None), property),
        }

    def handler(
        self,
        path: str,
        vm_id: Optional[str] = None,
        incarnation: Optional[int] = None,
        kind: str = "stock",
        reset: bool = True,
    ) -> Dict[str, Any]:
        self.h = handler(path, kind, reset)
        if vm_id is not None:
            self.h.vm_id = vm_id
        if incarnation is not None:  # another handler's, so that keys compare
            self.h.incarnation_no = incarnation
            self.h.event_key_prefix = f"{self.h.EVENT_PREFIX}|{incarnation}"
        cls = type(self.h)
        return {
            "incarnation": self.h.incarnation_no,
            "vm_id": getattr(self.h, "vm_id", None),
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "write_key": hasattr(self.h, "write_key"),
        }

    def registered(self) -> str:
        """The class cloud-init's registry gives the `hyperv` type."""
        from cloudinit.reporting.handlers import available_handlers

        cls = available_handlers.registered_items["hyperv"]
        return f"{cls.__module__}.{cls.__qualname__}"

    def install(self) -> str:
        import hyperv_kvp.cloudinit

        hyperv_kvp.cloudinit.install()
        return self.registered()

    def uninstall(self) -> str:
        import hyperv_kvp.cloudinit

        hyperv_kvp.cloudinit.uninstall()
        return self.registered()

    def truncated(self) -> bool:
        """The process's once-per-boot truncation flag (the stock class's)."""
        return HyperVKvpReportingHandler._already_truncated_pool_file

    def _handler(self) -> HyperVKvpReportingHandler:
        if self.h is None:
            raise RuntimeError("no handler: call handler first")
        return self.h

    def publish(self, events: List[Dict[str, Any]], flush: bool = True) -> List[Dict[str, Any]]:
        h = self._handler()
        out = []
        for spec in events:
            event = make_event(spec)
            h.publish_event(event)
            out.append({"timestamp": event.timestamp, "duration": getattr(event, "duration", None)})
        if flush:
            h.flush()
        return out

    def flush(self) -> None:
        self._handler().flush()

    def compressed(self, name: str, data_hex: str, timestamp: float) -> None:
        """report_compressed_event, through the registered handler."""
        self._handler()
        azure = _azure_helpers()
        real = ci_events.time
        ci_events.time = _FixedTime(timestamp)  # type: ignore[assignment]
        try:
            azure.report_compressed_event(name, bytes.fromhex(data_hex))
        finally:
            ci_events.time = real
        self._handler().flush()

    def write_key(self, key: str, value: str) -> None:
        self._handler().write_key(key, value)

    def report_success(self, vm_id: str) -> bool:
        """kvp.report_success_to_host, with `vm_id` as this VM's id."""
        self._handler()
        kvp, _errors, identity = _azure_kvp()
        identity.query_vm_id = lambda: vm_id
        if "vm_id" in inspect.signature(kvp.report_success_to_host).parameters:  # 26.x
            return kvp.report_success_to_host(vm_id=vm_id)
        return kvp.report_success_to_host()

    def report_failure(self, reason: str, supporting_data: Dict[str, Any], vm_id: str) -> str:
        """A ReportableError reported as the data source reports it;
        returns the report as the error encodes it."""
        self._handler()
        kvp, errors, identity = _azure_kvp()
        identity.query_vm_id = lambda: vm_id
        error = errors.ReportableError(reason, supporting_data=supporting_data)
        if "vm_id" in inspect.signature(error.as_encoded_report).parameters:  # 26.x
            encoded = error.as_encoded_report(vm_id=vm_id)
            assert kvp.report_via_kvp(encoded)
        else:
            encoded = error.as_encoded_report()
            assert kvp.report_failure_to_host(error)
        return encoded

    def read(self) -> List[dict]:
        """cloud-init's own reader: every record from offset 0."""
        return list(self._handler()._iterate_kvps(0))

    def parse(self) -> Dict[str, Any]:
        """The pool as this release reads and parses its own records:
        every record from its reader (_iterate_kvps, which decodes each
        with _decode_kvp_item), each value parsed with json.loads, as
        cloud-init's tests (test_reporting_hyperv.py) read what the handler
        wrote. Then each event put together as those tests do: the parsed
        `msg` of its chunks joined in `msg_i` order, each `msg_i` checked
        against the chunk's place (test_event_very_long); a `compressed`
        event's msg parsed as {"encoding", "data"} and its data put through
        base64.decodebytes and zlib.decompress (validate_compressed_kvps).
        Anything this fails on raises, and the test fails with it."""
        records = self.read()
        values = [json.loads(r["value"]) for r in records]
        groups: Dict[str, List[dict]] = {}
        for record, value in zip(records, values):
            base = record["key"].rsplit("|", 1)[0] if "msg_i" in value else record["key"]
            groups.setdefault(base, []).append(value)
        events = []
        for key, chunks in groups.items():
            for i, chunk in enumerate(chunks):
                if len(chunks) > 1 and chunk["msg_i"] != i:
                    raise AssertionError(f"{key}: chunk {i} says msg_i {chunk['msg_i']}")
            event = {k: v for k, v in chunks[0].items() if k not in ("msg", "msg_i")}
            event["key"] = key
            event["chunks"] = len(chunks)
            msg = "".join(c["msg"] for c in chunks)
            if event["type"] == "compressed":
                envelope = json.loads(msg)
                event["encoding"] = envelope["encoding"]
                data = zlib.decompress(base64.decodebytes(envelope["data"].encode("ascii")))
                event["data_hex"] = data.hex()
            else:
                event["msg"] = msg
            events.append(event)
        return {"records": records, "values": values, "events": events}

    def iter_open(self) -> dict:
        """Starts cloud-init's reader and returns its first record; the
        reader holds its flock until iter_close."""
        self.reading = self._handler()._iterate_kvps(0)
        return next(self.reading)

    def iter_close(self) -> None:
        assert self.reading is not None
        self.reading.close()  # leaves its `with open(...)`: lock released
        self.reading = None


def serve() -> None:
    peer = Peer()
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop("op")
        try:
            answer = {"ok": getattr(peer, op)(**request)}
        except Exception:  # reported to the test, which fails with it
            answer = {"error": traceback.format_exc()}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def write(path: str, count: int, prefix: str) -> None:
    h = handler(path)
    for i in range(count):
        description = LONG if i % 5 == 0 else f"event {i}"
        h.publish_event(ci_events.ReportingEvent("diagnostic", f"{prefix}-{i}", description))
        h.flush()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve()
    elif sys.argv[1] == "write":
        write(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        sys.exit(f"usage: {sys.argv[0]} serve | write POOL COUNT PREFIX")

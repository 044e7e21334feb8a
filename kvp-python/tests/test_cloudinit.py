"""hyperv_kvp.cloudinit without a real cloud-init: importing it where
cloud-init is missing or unknown, install/uninstall on a fake registry, and
its storage under a fake stock handler. Each case runs in a child
interpreter, so that no cloud-init (real or fake) leaks between cases.
The real releases' handlers are driven in tests/interop
(test_cloudinit_storage.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

# A stand-in for cloud-init: its handler has the shape of 22.4's to 26.x's
# (what hyperv_kvp.cloudinit checks), and any use of the stock storage
# fails loudly. Written for these tests; nothing of cloud-init's code.
FAKE_HANDLERS = '''
class Registry:
    def __init__(self):
        self.items = {}

    def register_item(self, key, item):
        if key in self.items:
            raise ValueError(f"{key} is taken")
        self.items[key] = item

    def unregister_item(self, key, force=True):
        self.items.pop(key, None)

    @property
    def registered_items(self):
        return dict(self.items)


class HyperVKvpReportingHandler:
    HV_KVP_EXCHANGE_MAX_KEY_SIZE = 512
    HV_KVP_RECORD_SIZE = 2560
    _already_truncated_pool_file = False
    stock_truncations = 0

    def __init__(self, kvp_file_path="/var/lib/hyperv/.kvp_pool_1", event_types=None):
        self._kvp_file_path = kvp_file_path
        HyperVKvpReportingHandler._truncate_guest_pool_file(kvp_file_path)

    @classmethod
    def _truncate_guest_pool_file(cls, kvp_file):
        if not cls._already_truncated_pool_file:
            cls.stock_truncations += 1
            cls._already_truncated_pool_file = True

    def pack(self, key, value):
        return key.encode().ljust(512, b"\\0")[:512] + value.encode().ljust(2048, b"\\0")[:2048]

    def _append_kvp_item(self, record_data):
        raise AssertionError("the stock storage ran")

    def _iterate_kvps(self, offset):
        raise AssertionError("the stock storage ran")

    def publish_event(self, event):
        pass

    def flush(self):
        pass
WRITE_KEY

available_handlers = Registry()
available_handlers.register_item("log", object)
available_handlers.register_item("hyperv", HyperVKvpReportingHandler)
'''

STOCK_WRITE_KEY = '''
    def write_key(self, key, value):
        raise AssertionError("the stock storage ran")
'''


def fake_cloudinit(root: Path, handlers: str = FAKE_HANDLERS, write_key: bool = True) -> Path:
    package = root / "cloudinit"
    (package / "reporting").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "version.py").write_text("def version_string():\n    return '0.0-fake'\n")
    (package / "reporting" / "__init__.py").write_text("")
    text = handlers.replace("WRITE_KEY", STOCK_WRITE_KEY if write_key else "")
    (package / "reporting" / "handlers.py").write_text(text)
    return root


def run(code: str, path: "Path | None" = None, block_cloudinit: bool = False) -> Any:
    """Runs `code` in a child interpreter (with `path` first on sys.path)
    and returns the JSON it prints last."""
    prelude = "import sys, json\n"
    if path is not None:
        prelude += f"sys.path.insert(0, {str(path)!r})\n"
    if block_cloudinit:
        prelude += "sys.modules['cloudinit'] = None  # as if not installed\n"
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_without_cloudinit_the_import_fails_clearly_and_the_rest_works(tmp_path: Path) -> None:
    out = run(
        f"""
        import hyperv_kvp, hyperv_kvp.reporting, hyperv_kvp.logging
        try:
            import hyperv_kvp.cloudinit
        except ImportError as e:
            error = e
        pool = hyperv_kvp.KvpPool(path={str(tmp_path / "pool")!r})
        pool.append("k", "v")
        print(json.dumps({{
            "type": type(error).__name__,
            "module_not_found": isinstance(error, ModuleNotFoundError),
            "kvp_error": isinstance(error, hyperv_kvp.KvpError),
            "message": str(error), "name": error.name,
            "loaded": "hyperv_kvp.cloudinit" in sys.modules,
            "read": pool.read("k"),
        }}))
        """,
        block_cloudinit=True,
    )
    assert out["type"] == "CloudInitNotFoundError"
    assert out["module_not_found"] and out["kvp_error"] and out["name"] == "cloudinit"
    assert "needs cloud-init" in out["message"] and "works without it" in out["message"]
    assert out["loaded"] is False and out["read"] == "v"


def test_importing_hyperv_kvp_never_imports_cloudinit(tmp_path: Path) -> None:
    out = run(
        """
        import hyperv_kvp, hyperv_kvp.reporting, hyperv_kvp.logging
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "cloudinit")))
        """,
        fake_cloudinit(tmp_path),
    )
    assert out == []


def test_an_unknown_release_is_refused_with_what_differs(tmp_path: Path) -> None:
    changed = (
        FAKE_HANDLERS.replace("def _append_kvp_item(self, record_data)", "def _append(self, record_data)")
        .replace("HV_KVP_RECORD_SIZE = 2560", "HV_KVP_RECORD_SIZE = 4096")
        .replace("kvp_file_path=", "path=")
    )
    out = run(
        """
        try:
            import hyperv_kvp.cloudinit
        except ImportError as e:
            print(json.dumps([type(e).__name__, str(e), isinstance(e, ModuleNotFoundError)]))
        """,
        fake_cloudinit(tmp_path, changed),
    )
    kind, message, not_found = out
    assert kind == "UnsupportedCloudInitError" and not not_found
    for what in ("cloud-init 0.0-fake", "no _append_kvp_item()", "(512, 4096)", "no kvp_file_path"):
        assert what in message, message


def test_install_and_uninstall_are_idempotent(tmp_path: Path) -> None:
    out = run(
        """
        from cloudinit.reporting import handlers
        import hyperv_kvp.cloudinit as kvp
        stock = handlers.HyperVKvpReportingHandler
        seen = []
        def now():
            seen.append(handlers.available_handlers.registered_items["hyperv"].__module__)
        kvp.uninstall(); now()           # before any install: nothing changes
        kvp.install(); now()
        kvp.install(); now()             # again: still ours, nothing raised
        kvp.uninstall(); now()
        kvp.uninstall(); now()
        kvp.install(); kvp.uninstall()
        now()
        items = handlers.available_handlers.registered_items
        print(json.dumps({"seen": seen, "stock_back": items["hyperv"] is stock,
                          "others": sorted(items), "type": kvp.HANDLER_TYPE,
                          "subclass": issubclass(kvp.HyperVKvpReportingHandler, stock)}))
        """,
        fake_cloudinit(tmp_path),
    )
    stock, ours = "cloudinit.reporting.handlers", "hyperv_kvp.cloudinit"
    assert out["seen"] == [stock, ours, ours, stock, stock, stock]
    assert out["stock_back"] and out["subclass"] and out["type"] == "hyperv"
    assert out["others"] == ["hyperv", "log"]


def test_storage_under_a_fake_stock_handler(tmp_path: Path) -> None:
    """Appends a batch adjacently, reads a pool with garbage after a NUL,
    truncates a stale pool once per process under the stock flag, and
    shortens write_key values (a report as a report)."""
    pool = tmp_path / "pool"
    stale = tmp_path / "stale"
    out = run(
        f"""
        import os
        from cloudinit.reporting import handlers
        from hyperv_kvp import KvpPool
        from hyperv_kvp.reporting import ProvisioningReport as Report
        import hyperv_kvp.cloudinit as kvp
        stock = handlers.HyperVKvpReportingHandler
        KvpPool(path={str(stale)!r}).load([("old", "x")])
        os.utime({str(stale)!r}, (86400, 86400))
        h = kvp.HyperVKvpReportingHandler(kvp_file_path={str(stale)!r})
        truncated_first = os.path.getsize({str(stale)!r})
        KvpPool(path={str(stale)!r}).load([("old", "x")])
        os.utime({str(stale)!r}, (86400, 86400))
        kvp.HyperVKvpReportingHandler({str(stale)!r})   # the same process: not again
        h = kvp.HyperVKvpReportingHandler({str(pool)!r}, event_types=None)
        h._append_kvp_item([h.pack(f"k{{i}}", "é" * i) for i in range(3)])
        with open({str(pool)!r}, "r+b") as f:   # a value with garbage after its NUL
            f.seek(512)
            f.write(b"v\\0\\xa9\\xff")
        h._append_kvp_item([h.pack("bad|" + "x" * 520, "dropped"), h.pack("good", "kept")])
        report = Report.error("Cloud-Init/25.1", "vm", "unhandled exception",
                              timestamp="2026-06-17T00:00:00+00:00",
                              supporting_data={{"exception": "x|" * 600}})
        long_report = report.encode("cloud-init")
        h.write_key("PROVISIONING_REPORT", long_report)
        h.write_key("PLAIN", "a=1|'b=" + "y|" * 600 + "'")
        records = list(h._iterate_kvps(0))
        print(json.dumps({{
            "truncated_first": truncated_first, "stale_after": os.path.getsize({str(stale)!r}),
            "stock_truncations": stock.stock_truncations,
            "flag": stock._already_truncated_pool_file,
            "records": records, "from_second": list(h._iterate_kvps(2560)),
            "long_report": long_report,
            "mode": oct(os.stat({str(pool)!r}).st_mode & 0o777),
        }}))
        """,
        fake_cloudinit(tmp_path / "site"),
    )
    assert out["truncated_first"] == 0 and out["stale_after"] == 2560
    assert out["stock_truncations"] == 0 and out["flag"] is True
    records = out["records"]
    assert [r["key"] for r in records] == ["k0", "k1", "k2", "good", "PROVISIONING_REPORT", "PLAIN"]
    assert records[0]["value"] == "v" and records[2]["value"] == "éé"
    assert out["from_second"] == records[1:]
    assert out["mode"] == "0o644"
    from hyperv_kvp.reporting import ProvisioningReport as Report

    shortened = Report.decode(records[4]["value"])
    assert shortened.shortened == len(out["long_report"])
    assert shortened.reason == "unhandled exception"
    assert records[5]["value"] == "a=1"


def test_without_write_key_in_the_stock_handler_there_is_none(tmp_path: Path) -> None:
    out = run(
        """
        import hyperv_kvp.cloudinit as kvp
        print(json.dumps(hasattr(kvp.HyperVKvpReportingHandler, "write_key")))
        """,
        fake_cloudinit(tmp_path, write_key=False),
    )
    assert out is False


@pytest.mark.parametrize("offset", [1, 2559])
def test_a_misaligned_offset_is_refused(tmp_path: Path, offset: int) -> None:
    out = run(
        f"""
        import hyperv_kvp.cloudinit as kvp
        h = kvp.HyperVKvpReportingHandler({str(tmp_path / "pool")!r})
        try:
            list(h._iterate_kvps({offset}))
        except ValueError as e:
            print(json.dumps(str(e)))
        """,
        fake_cloudinit(tmp_path / "site"),
    )
    assert "multiple of 2560" in out


def test_packed_records_decode_with_the_core() -> None:
    """The subclass unpacks cloud-init's packed records with the core's
    decoding: each field up to its first NUL; a slot of another size or a
    field that is not UTF-8 is a ValueError, which the subclass answers by
    dropping only that record."""
    from hyperv_kvp import _native

    key = b"CLOUD_INIT|x".ljust(512, b"\0")
    value = b"v\0garbage".ljust(2048, b"\0")
    assert _native.decode_slot(key + value) == ("CLOUD_INIT|x", "v")
    with pytest.raises(ValueError, match="2560"):
        _native.decode_slot(key + value[:-1])
    with pytest.raises(ValueError, match="key is not UTF-8"):
        _native.decode_slot(b"\xff".ljust(512, b"\0") + value)

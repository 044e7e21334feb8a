"""The README's Python example runs exactly as written, in a scratch working
directory: like the C example, it writes into a local directory, never the
real /var/lib/hyperv (issue 11, finding 17), and shows a provisioning
failure, what cloud-init reported and Python logging to the host (issue 13)."""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path

import pytest

from hyperv_kvp import KvpPool
from hyperv_kvp.reporting import read_entries

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_section_runs_on_a_local_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("<!-- section: python -->")[1].split("<!-- end section: python -->")[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    code = blocks[0]
    # Checked before it runs: an example that opens a pool without a local
    # directory would write into /var/lib/hyperv when a reader runs it. A
    # KvpHandler opens a pool too, unless it is handed one (a name).
    calls = [
        node
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("KvpPool", "KvpHandler")
    ]
    assert {call.func.id for call in calls if isinstance(call.func, ast.Name)} == {"KvpPool", "KvpHandler"}
    for call in calls:
        if isinstance(call.func, ast.Name) and call.func.id == "KvpHandler" and call.args:
            assert isinstance(call.args[0], ast.Name), f"line {call.lineno}: KvpHandler gets a pool it did not open"
            continue
        where = [k.value for k in call.keywords if k.arg in ("directory", "path")]
        assert len(where) == 1, f"line {call.lineno}: a pool without directory= or path= is in /var/lib/hyperv"
        place = where[0]
        assert isinstance(place, ast.Constant) and isinstance(place.value, str), f"line {call.lineno}"
        assert not place.value.startswith("/"), f"line {call.lineno}: {place.value} is not a local directory"
    monkeypatch.chdir(tmp_path)
    try:
        exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    finally:
        example_logger = logging.getLogger("my_agent")
        for handler in list(example_logger.handlers):
            example_logger.removeHandler(handler)
            handler.close()
    pools = [p for p in tmp_path.rglob(".kvp_pool_*")]
    assert [p.name for p in pools] == [".kvp_pool_1"]
    # A record, the report, the logged warning and cloud-init's finish event.
    entries = read_entries(KvpPool(path=pools[0]))
    assert [type(e).__name__ for e in entries] == ["RawEntry", "ReportEntry", "DiagnosticEvent", "DiagnosticEvent"]
    assert pools[0].stat().st_size == 4 * 2560

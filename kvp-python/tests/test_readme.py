"""The README's Python example runs exactly as written, in a scratch working
directory: like the C example, it writes into a local directory, never the
real /var/lib/hyperv (issue 11, finding 17)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_section_runs_on_a_local_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("<!-- section: python -->")[1].split("<!-- end section: python -->")[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    code = blocks[0]
    # Checked before it runs: an example that opens a pool without a local
    # directory would write into /var/lib/hyperv when a reader runs it.
    opened = [
        node
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "KvpPool"
    ]
    assert opened, "the example opens no KvpPool"
    for call in opened:
        where = [k.value for k in call.keywords if k.arg in ("directory", "path")]
        assert len(where) == 1, f"line {call.lineno}: KvpPool without directory= or path= writes to /var/lib/hyperv"
        place = where[0]
        assert isinstance(place, ast.Constant) and isinstance(place.value, str), f"line {call.lineno}"
        assert not place.value.startswith("/"), f"line {call.lineno}: {place.value} is not a local directory"
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    pools = [p for p in tmp_path.rglob(".kvp_pool_*")]
    assert [p.name for p in pools] == [".kvp_pool_1"]
    assert pools[0].stat().st_size == 3 * 2560  # two records and one event

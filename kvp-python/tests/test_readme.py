"""The README's Python example runs as written (against a temp directory)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_section_runs(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("<!-- section: python -->")[1].split("<!-- end section: python -->")[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    code = blocks[0].replace('"/var/lib/hyperv"', repr(str(tmp_path)))
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    assert (tmp_path / ".kvp_pool_1").stat().st_size == 3 * 2560  # two records and one event

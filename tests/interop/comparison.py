"""The stock cloud-init handler against hyperv_kvp.cloudinit's subclass,
aspect by aspect, per release: what the tests noted with the `compare`
fixture (conftest.py), printed after the release x case table."""

from __future__ import annotations

from typing import Dict, List, Tuple

# suite -> aspect -> (stock, ours, whether the test that noted it passed)
_rows: Dict[str, Dict[str, Tuple[str, str, bool]]] = {}

HEAD = ("aspect", "stock handler", "hyperv_kvp.cloudinit")


def note(suite: str, passed: bool, comparisons: List[Tuple[str, str, str]]) -> None:
    for aspect, stock, ours in comparisons:
        _rows.setdefault(suite, {})[aspect] = (stock, ours, passed)


def table(releases) -> List[str]:
    """The comparison, one block per release; nothing when no test noted any."""
    if not _rows:
        return []
    lines = ["", "stock HyperVKvpReportingHandler vs hyperv_kvp.cloudinit, per release:"]
    every = [row for aspects in _rows.values() for row in aspects.items()]
    widths = [
        max([len(HEAD[0])] + [len(aspect) for aspect, _ in every]),
        max([len(HEAD[1])] + [len(stock) for _, (stock, _, _) in every]),
    ]

    def line(aspect: str, stock: str, ours: str) -> str:
        return f"    {aspect.ljust(widths[0])}  {stock.ljust(widths[1])}  {ours}".rstrip()

    for release in releases:
        lines.append(f"  {release.suite} (cloud-init {release.cloudinit_version or 'MISSING'}):")
        aspects = _rows.get(release.suite)
        if not aspects:
            lines.append("    NOT RUN")
            continue
        lines.append(line(*HEAD))
        for aspect in sorted(aspects):
            stock, ours, passed = aspects[aspect]
            lines.append(line(aspect, stock, ours + ("" if passed else "  (TEST FAILED)")))
    return lines

"""Fixtures for the interop tests: the daemon harness, our three faces
(kvp-core through the driver, the C ABI, the Python wheel) and cloud-init,
across the matrix of Debian releases (releases.py).

tests/suites/50-interop.sh builds the shim, the driver and the C reader,
fetches the peers of every release (fetch_peers.sh), and passes their paths
in KVP_INTEROP_* variables. A peer that cannot run here (not root, no
unshare, a release not fetched) is an error, never a skip.

Parameters:
- `daemon_release`: every test that uses the `daemon` fixture runs once per
  release of hv_kvp_daemon (bookworm, trixie, sid);
- `ci_release`: every test that uses the `cloudinit` fixture runs once per
  release of cloud-init;
- `face`: once per face of the library in the tree;
- `writer`: once per face that writes events with kvp-report (the Rust
  driver's `write-event`, the C ABI's kvp_write_event).

At the end the summary prints the release x case table (also written to
$KVP_INTEROP_TABLE), with the versions that ran, and after it the stock
cloud-init handler against hyperv_kvp.cloudinit, aspect by aspect, per
release (comparison.py).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections import defaultdict
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import comparison  # noqa: E402
import releases  # noqa: E402
from cloudinit_client import CloudInit  # noqa: E402
from faces import CoreDriver, available_faces  # noqa: E402
from kvp_host import DaemonHarness  # noqa: E402

RELEASES = releases.load()
RELEASE_PARAMS = ("daemon_release", "ci_release")


def _built(variable: str) -> Path:
    value = os.environ.get(variable)
    if not value or not Path(value).exists():
        pytest.fail(
            f"{variable} is not set to a built file; run tests/suites/50-interop.sh",
            pytrace=False,
        )
    return Path(value)


def _require_daemon_peer(release: releases.Release) -> None:
    problems = []
    if os.geteuid() != 0:
        problems.append("not root (the harness needs a mount namespace)")
    if not shutil.which("unshare"):
        problems.append("no unshare (util-linux)")
    if release.daemon_problem:
        problems.append(release.daemon_problem)
    if not release.daemon or not os.access(release.daemon, os.X_OK):
        problems.append(f"no hv_kvp_daemon for {release.suite} (hyperv-daemons)")
    elif release.loader and not os.access(release.loader, os.X_OK):
        problems.append(f"no loader {release.loader} from {release.suite}'s libc6")
    if problems:
        pytest.fail(
            f"PEER CANNOT RUN: hv_kvp_daemon of {release.suite}: " + "; ".join(problems),
            pytrace=False,
        )


def _require_cloudinit_peer(release: releases.Release) -> None:
    if release.cloudinit_problem or not release.cloudinit_site:
        pytest.fail(
            f"PEER CANNOT RUN: cloud-init of {release.suite}: "
            + (release.cloudinit_problem or "not fetched"),
            pytrace=False,
        )


@pytest.fixture(scope="session")
def shim() -> Path:
    return _built("KVP_INTEROP_SHIM")


@pytest.fixture(scope="session")
def core(tmp_path_factory) -> CoreDriver:
    return CoreDriver(_built("KVP_INTEROP_DRIVER"), _built("KVP_INTEROP_SHIM"))


@pytest.fixture
def pool_dir(tmp_path) -> Path:
    path = tmp_path / "pools"
    path.mkdir()
    return path


@pytest.fixture
def daemon(shim, pool_dir, daemon_release):
    """The hv_kvp_daemon of `daemon_release`, with the test as its kernel."""
    yield from _run_daemon(shim, pool_dir, daemon_release)


@pytest.fixture
def ci_daemon(shim, pool_dir, ci_release):
    """The hv_kvp_daemon of the same suite as the cloud-init of `ci_release`,
    for the cases that need both peers of one release."""
    yield from _run_daemon(shim, pool_dir, ci_release)


def _run_daemon(shim, pool_dir, release):
    _require_daemon_peer(release)
    harness = DaemonHarness(shim, pool_dir, release.daemon_command())
    harness.release = release
    harness.start()
    try:
        yield harness
        # Nothing the daemon tried to do on the real system was let through,
        # and nothing was even tried apart from the start-up DNS lookup.
        denied = [d for d in harness.denied_calls() if "getaddrinfo" not in d]
        assert denied == [], f"the daemon tried: {denied}"
        assert harness.process.poll() is None, f"daemon exited: {harness.stderr()}"
    finally:
        harness.stop()


@pytest.fixture
def cloudinit(ci_release, tmp_path):
    """The cloud-init of `ci_release`, running in its own interpreter."""
    _require_cloudinit_peer(ci_release)
    peer = CloudInit(ci_release, tmp_path / "cloud-init.stderr")
    try:
        assert releases.upstream(peer.version) == ci_release.cloudinit_upstream, (
            f"{ci_release.suite}: imported cloud-init {peer.version} from {peer.info['module']}, "
            f"but the package is {ci_release.cloudinit_version}"
        )
        yield peer
    finally:
        peer.close()


@pytest.fixture
def finding(request):
    """`finding(text)` notes what a test measured of a release; the text
    appears in that release's cell of the summary table."""

    def note(text: str) -> None:
        request.node.user_properties.append(("finding", text))

    return note


@pytest.fixture
def compare(request):
    """`compare(aspect, stock, ours)` notes how cloud-init's stock handler
    and hyperv_kvp.cloudinit's subclass behaved in one aspect; the summary
    prints them per release (comparison.py)."""

    def note(aspect: str, stock: str, ours: str) -> None:
        request.node.user_properties.append(("comparison", (aspect, stock, ours)))

    return note


@pytest.fixture(scope="session")
def faces(core):
    """Our faces: kvp-core always; the C ABI and Python once in the tree."""
    return available_faces(core)


@pytest.fixture(scope="session")
def readers(faces):
    return faces


@pytest.fixture(scope="session")
def decoders(faces, core):
    """The faces besides the Rust driver that decode a pool with kvp-report
    (`entries`): the C ABI's kvp_foreach_event and hyperv_kvp.reporting's
    read_entries. Each is compared with the driver's `entries`, field for
    field (faces.assert_decoded_alike)."""
    return [f for f in faces if f is not core and hasattr(f, "entries")]


def _collected_faces() -> list:
    """The faces, for parametrizing at collection time."""
    core = CoreDriver(Path(os.environ.get("KVP_INTEROP_DRIVER", "missing")),
                      Path(os.environ.get("KVP_INTEROP_SHIM", "missing")))
    return available_faces(core)


def pytest_generate_tests(metafunc):
    for name in RELEASE_PARAMS:
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, RELEASES, ids=[r.suite for r in RELEASES])
    # `face` runs a test once per face of the library in the tree.
    if "face" in metafunc.fixturenames:
        found = _collected_faces()
        metafunc.parametrize("face", found, ids=[f.name for f in found])
    # `writer` runs it once per face that writes events through kvp-report.
    if "writer" in metafunc.fixturenames:
        found = [f for f in _collected_faces() if hasattr(f, "write_event")]
        metafunc.parametrize("writer", found, ids=[f.name for f in found])


def pytest_report_header(config):
    return ["interop matrix:"] + [f"  {r.describe()}" for r in RELEASES]


# --- the release x case table ----------------------------------------------

_outcomes: dict = defaultdict(lambda: defaultdict(list))  # case -> column -> [(ok, findings)]


def _case_and_column(item) -> tuple[str, str]:
    module = item.module.__name__.removeprefix("test_")
    case = f"{module}: {item.originalname.removeprefix('test_')}"
    params = getattr(getattr(item, "callspec", None), "params", {})
    for name in RELEASE_PARAMS:
        if name in params:
            return case, params[name].suite
    return case, "-"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and not report.passed):
        case, column = _case_and_column(item)
        findings = [v for k, v in item.user_properties if k == "finding"]
        _outcomes[case][column].append((report.passed, findings))
        comparison.note(column, report.passed, [v for k, v in item.user_properties if k == "comparison"])


def _cell(results) -> str:
    if not results:
        return ""
    passed = sum(1 for ok, _ in results if ok)
    word = "pass" if passed == len(results) else "FAIL"
    text = word if len(results) == 1 else f"{word} {passed}/{len(results)}"
    notes = []
    for _, findings in results:
        for f in findings:
            if f not in notes:
                notes.append(f)
    return text + (": " + "; ".join(notes) if notes else "")


def matrix_table() -> list[str]:
    columns = [r.suite for r in RELEASES]
    head = ["release x case"] + columns
    rows = [
        ["hv_kvp_daemon"] + [r.daemon_version or "MISSING" for r in RELEASES],
        ["cloud-init"] + [r.cloudinit_version or "MISSING" for r in RELEASES],
        ["libc6 (daemon's loader)"] + [
            (r.libc_version or "MISSING") + ("" if r.loader else " (system)") for r in RELEASES
        ],
    ]
    body = []
    anywhere = []
    for case in sorted(_outcomes):
        cells = _outcomes[case]
        if "-" in cells:
            anywhere.append(f"  {case}: {_cell(cells['-'])} (not per release)")
            continue
        body.append([case] + [_cell(cells.get(c, [])) or "NOT RUN" for c in columns])
    widths = [max(len(row[i]) for row in [head] + rows + body) for i in range(len(head))]

    def line(row):
        return "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    table = [line(head), rule] + [line(r) for r in rows] + [rule] + [line(r) for r in body] + anywhere
    return table + comparison.table(RELEASES)


def pytest_terminal_summary(terminalreporter):
    """Writes the table to $KVP_INTEROP_TABLE (the suite prints it in its
    summary), or prints it when pytest runs on its own."""
    lines = matrix_table()
    target = os.environ.get("KVP_INTEROP_TABLE")
    if target:
        Path(target).write_text("\n".join(lines) + "\n")
        return
    terminalreporter.section("interop matrix: release x case")
    for text in lines:
        terminalreporter.write_line(text)


@pytest.fixture
def pool_file(tmp_path) -> Path:
    """Pool 1 in a temporary directory, not created."""
    return tmp_path / ".kvp_pool_1"

"""Fixtures for the interop tests: the daemon harness, our three faces
(kvp-core through the driver, the C ABI, the Python wheel) and cloud-init.

tests/suites/50-interop.sh builds the shim, the driver and the C reader and
passes their paths in KVP_INTEROP_* variables. A peer that cannot run here
(not root, no unshare, package missing) is an error, never a skip.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from faces import CoreDriver, available_faces  # noqa: E402
from kvp_host import DAEMON, DaemonHarness  # noqa: E402


def _built(variable: str) -> Path:
    value = os.environ.get(variable)
    if not value or not Path(value).exists():
        pytest.fail(
            f"{variable} is not set to a built file; run tests/suites/50-interop.sh",
            pytrace=False,
        )
    return Path(value)


def _require_daemon_peer() -> None:
    problems = []
    if os.geteuid() != 0:
        problems.append("not root (the harness needs a mount namespace)")
    if not shutil.which("unshare"):
        problems.append("no unshare (util-linux)")
    if not os.access(DAEMON, os.X_OK):
        problems.append(f"no {DAEMON} (Debian package hyperv-daemons)")
    if problems:
        pytest.fail("PEER CANNOT RUN: hv_kvp_daemon: " + "; ".join(problems), pytrace=False)


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
def daemon(shim, pool_dir):
    _require_daemon_peer()
    harness = DaemonHarness(shim, pool_dir).start()
    try:
        yield harness
        # Nothing the daemon tried to do on the real system was let through,
        # and nothing was even tried apart from the start-up DNS lookup.
        denied = [d for d in harness.denied_calls() if "getaddrinfo" not in d]
        assert denied == [], f"the daemon tried: {denied}"
        assert harness.process.poll() is None, f"daemon exited: {harness.stderr()}"
    finally:
        harness.stop()


@pytest.fixture(scope="session")
def faces(core):
    """Our faces: kvp-core always; the C ABI and Python once in the tree."""
    return available_faces(core)


@pytest.fixture(scope="session")
def readers(faces):
    return faces


def pytest_generate_tests(metafunc):
    # `face` runs a test once per face of the library in the tree.
    if "face" in metafunc.fixturenames:
        import faces as faces_module

        core = CoreDriver(Path(os.environ.get("KVP_INTEROP_DRIVER", "missing")),
                          Path(os.environ.get("KVP_INTEROP_SHIM", "missing")))
        found = faces_module.available_faces(core)
        metafunc.parametrize("face", found, ids=[f.name for f in found])

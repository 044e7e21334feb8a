"""Security through hyperv_kvp: pool files are created 0600 and missing
directories 0755 (masked by the umask), an existing file keeps its mode,
and no pool descriptor leaks into a child exec'd while other threads are
inside the library, whether the child is started by subprocess with
close_fds=False or by os.system (which close nothing)."""
from __future__ import annotations

import os
import stat
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import pytest

from hyperv_kvp import KvpPool

LIST_FDS = 'for fd in /proc/self/fd/*; do readlink "$fd" || true; done'


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture()
def umask_zero() -> Iterator[None]:
    old = os.umask(0)
    yield
    os.umask(old)


def test_files_are_created_0600_and_directories_0755(tmp_path: Path, umask_zero: None) -> None:
    by_path = tmp_path / "pool"
    KvpPool(path=by_path).append("k", "v")
    assert mode_of(by_path) == 0o600
    directory = tmp_path / "var" / "lib" / "hyperv"
    KvpPool(1, directory=directory).insert("k", "v")
    assert mode_of(directory) == 0o755
    assert mode_of(directory.parent) == 0o755
    assert mode_of(directory / ".kvp_pool_1") == 0o600


def test_the_umask_only_removes_bits(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        KvpPool(path=tmp_path / "pool").append("k", "v")
    finally:
        os.umask(old)
    assert mode_of(tmp_path / "pool") == 0o600


def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "pool"
    pool = KvpPool(path=path)
    pool["k"] = "v"
    os.chmod(path, 0o644)
    pool["k"] = "v2"
    pool.append("k", "v3")
    pool.delete("k")
    pool.load([("a", "1")])
    pool.clear()
    assert mode_of(path) == 0o644


def test_no_descriptor_leaks_into_exec_children(tmp_path: Path) -> None:
    path = tmp_path / "busy-pool"
    pool = KvpPool(path=path)
    pool["k"] = "v"
    stop = threading.Event()
    errors = []

    def hammer() -> None:
        try:
            while not stop.is_set():
                pool["k"] = "v"
                pool.read("k")
                pool.records()
        except Exception as e:  # surfaced below, after the threads stop
            errors.append(e)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for round in range(40):
            if round % 2:
                listing = subprocess.run(["sh", "-c", LIST_FDS], close_fds=False,
                                         capture_output=True, text=True, check=True).stdout
            else:
                out = path.parent / "fds.txt"
                assert os.system(f"sh -c '{LIST_FDS}' > {out}") == 0
                listing = out.read_text()
            assert listing.strip(), "the child listed nothing"
            assert str(path) not in listing, f"a pool descriptor leaked:\n{listing}"
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors

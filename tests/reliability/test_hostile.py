"""The hostile corpus (make_corpus.py) through hyperv_kvp, each file with
the outcome docs/RELIABILITY.md writes down, plus a read-only and a full
tmpfs in a private mount namespace (`unshare -m`, needs root as CI has).
Run by tests/suites/60-reliability.sh under `timeout`, so a hang fails."""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

from hyperv_kvp import KeyTooLargeError, KvpPool, NotARegularFileError

sys.path.insert(0, str(Path(__file__).parent))
import make_corpus  # noqa: E402

RECORD = make_corpus.RECORD_SIZE


@pytest.fixture()
def corpus() -> Iterator[Path]:
    # Not under tmp_path: pytest makes that owner-only, and the no-permission
    # case must fail on the file's mode, not on the path to it.
    root = Path(tempfile.mkdtemp(prefix="kvp-corpus-"))
    make_corpus.make(str(root))
    yield root
    os.chmod(root / "noperm" / "pool", 0o600)
    shutil.rmtree(root)


def run_child(script: str, *args: str, private_mounts: bool = False) -> str:
    """Runs a Python snippet in a child (optionally in its own mount
    namespace) and returns its stdout; fails the test if it fails."""
    command = [sys.executable, "-c", textwrap.dedent(script), *args]
    if private_mounts:
        command = ["unshare", "-m", "--propagation", "private", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"child failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_partial_tail(corpus: Path) -> None:
    path = corpus / "partial-tail.pool"
    pool = KvpPool(path=path)
    assert pool.records() == [("first", "1"), ("second", "2")]
    assert pool.record_count() == 2 and pool["second"] == "2"
    assert path.stat().st_size == 2 * RECORD + 1000, "reading changes nothing"
    pool.append("third", "3")
    assert path.stat().st_size == 3 * RECORD, "the next write drops the torn tail"
    assert [r.key for r in pool.records()] == ["first", "second", "third"]


def test_garbage_after_nul(corpus: Path) -> None:
    pool = KvpPool(path=corpus / "garbage-after-nul.pool")
    assert pool.records() == [("key", "value"), ("k2", "v2")]
    assert "GARBAGE" not in pool.dump_json()


def test_no_nul_in_a_field(corpus: Path) -> None:
    pool = KvpPool(path=corpus / "no-nul.pool", mode="full")
    records = pool.records()
    assert records[0] == ("K" * 512, "V" * 2048), "a full field is the text, never more"
    assert records[1] == ("after", "ok")
    assert pool.read("K" * 512) == "V" * 2048
    with pytest.raises(KeyTooLargeError):
        pool.insert("K" * 512, "v")
    pool["after"] = "new"
    assert pool.records()[0] == records[0]


def test_invalid_utf8(corpus: Path) -> None:
    pool = KvpPool(path=corpus / "invalid-utf8.pool")
    assert pool.records() == [
        ("bad-\udcff\udcfe", "\ufffd( broken"),
        ("latin1", "caf\ufffd"),
        ("after", "ok"),
    ], "keys keep undecodable bytes as surrogate escapes; values get U+FFFD"
    assert pool["latin1"] == "caf\ufffd"
    # The JSON dump, as every face writes it, shows U+FFFD.
    assert json.loads(pool.dump_json())[0]["key"] == "bad-\ufffd\ufffd"
    # The replaced text is not the stored key, so it names nothing...
    assert pool.delete("bad-\ufffd\ufffd") == 0
    assert pool.read("bad-\udcff") is None
    with pytest.raises(UnicodeEncodeError):  # a surrogate that stands for no byte
        pool.read("bad-\ud800")
    assert pool.record_count() == 3
    # ...while the key the mapping yields names the record.
    assert pool["bad-\udcff\udcfe"] == "\ufffd( broken"
    del pool["bad-\udcff\udcfe"]
    assert [r.key for r in pool.records()] == ["latin1", "after"]


def test_all_zero_records(corpus: Path) -> None:
    pool = KvpPool(path=corpus / "all-zero.pool")
    assert pool.records() == [("", "")] * 3
    assert pool.read("k") is None
    pool["k"] = "v"
    assert pool.record_count() == 4
    assert pool.delete("") == 3, "a delete accepts any key, the empty one too"
    assert pool.records() == [("k", "v")]


def test_huge_file_in_bounded_memory(corpus: Path) -> None:
    out = run_child(
        """
        import resource, sys
        from hyperv_kvp import KvpPool
        from hyperv_kvp import PoolTooLargeError
        pool = KvpPool(path=sys.argv[1])
        pool.read("warm-up")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert pool.record_count() == 100 * 1024 * 1024 // 2560 + 1
        assert pool["needle"] == "found"
        assert pool.delete("absent") == 0
        # Over the 64 MiB cap, a whole-pool read is refused...
        for whole in (lambda: len(pool), pool.records):
            try:
                whole()
            except PoolTooLargeError as e:
                assert e.size == 100 * 1024 * 1024 + 2560 and e.limit == 64 << 20, e
            else:
                raise AssertionError("a whole-pool read of 100 MiB was not refused")
        # ...and with a higher cap, counting keys still stays small.
        assert len(KvpPool(path=sys.argv[1], max_pool_bytes=128 << 20)) == 2
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(after - before, after)
        """,
        str(corpus / "huge.pool"),
    )
    grown, peak = (int(n) for n in out.split())
    print(f"huge: max RSS {peak} KB, grown by {grown} KB")
    assert grown < 16 * 1024, f"reading 100 MiB grew the process by {grown} KB"


def test_directory_and_fifo_are_refused(corpus: Path) -> None:
    with pytest.raises(NotARegularFileError) as raised:
        KvpPool(path=corpus / "directory.pool")
    assert isinstance(raised.value, OSError)
    with pytest.raises(NotARegularFileError):
        KvpPool(path=corpus / "fifo.pool")


def test_symlink_refused_by_number_followed_by_path(corpus: Path) -> None:
    target = corpus / "symlink-target.pool"
    before = target.read_bytes()
    with pytest.raises(NotARegularFileError):
        KvpPool(1, directory=corpus / "symlink-dir")
    assert target.read_bytes() == before
    assert KvpPool(path=corpus / "symlink-dir" / ".kvp_pool_1")["k"] == "target"


def test_no_permission(corpus: Path) -> None:
    path = corpus / "noperm" / "pool"
    os.chmod(path, 0o600)
    before = path.read_bytes()
    os.chmod(path, 0)
    run_child(
        """
        import errno, os, sys
        # Import first: the interpreter may live where nobody cannot read.
        from hyperv_kvp import KvpPool
        os.setgid(65534); os.setuid(65534)
        pool = KvpPool(path=sys.argv[1])
        for attempt in (lambda: pool.read("k"), lambda: pool.insert("k", "v2")):
            try:
                attempt()
            except PermissionError as e:
                assert e.errno == errno.EACCES and e.filename == sys.argv[1], e
            else:
                raise AssertionError("no PermissionError")
        """,
        str(path),
    )
    os.chmod(path, 0o600)
    assert path.read_bytes() == before


def test_read_only_filesystem(tmp_path: Path) -> None:
    run_child(
        """
        import errno, os, subprocess, sys
        from hyperv_kvp import KvpPool
        d = sys.argv[1]
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", d], check=True)
        pool = KvpPool(path=d + "/pool")
        pool.append_many([("k", "v"), ("k2", "v2")])
        subprocess.run(["mount", "-o", "remount,ro", d], check=True)
        assert pool["k"] == "v"
        for attempt in (lambda: pool.insert("k", "new"), lambda: pool.append("k3", "v3"),
                        lambda: pool.delete("k"), pool.clear):
            try:
                attempt()
            except OSError as e:
                assert e.errno == errno.EROFS, e
            else:
                raise AssertionError("a write on a read-only filesystem succeeded")
        assert pool.record_count() == 2 and os.stat(d + "/pool").st_size == 2 * 2560
        """,
        str(tmp_path),
        private_mounts=True,
    )


def test_full_disk(tmp_path: Path) -> None:
    out = run_child(
        """
        import errno, os, subprocess, sys
        from hyperv_kvp import KvpPool
        d = sys.argv[1]
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d], check=True)
        path = d + "/pool"
        pool = KvpPool(path=path, mode="full")
        value, written = "v" * 2000, 0
        while True:
            try:
                pool.append(f"key-{written}", value)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                break
            written += 1
            assert written < 1000, "the 64k filesystem never filled"
        assert os.stat(path).st_size == written * 2560, "no torn record"
        assert [r.value for r in pool.records()] == [value] * written
        try:
            pool.load([(f"n{i}", value) for i in range(written + 5)])
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
        else:
            raise AssertionError("a load bigger than the disk succeeded")
        assert pool.record_count() == written, "a failed load changed nothing"
        pool["key-0"] = "small"
        assert pool.delete("key-1") == 1
        pool.append("after-delete", "fits again")
        print(written)
        """,
        str(tmp_path),
        private_mounts=True,
    )
    assert int(out) > 0

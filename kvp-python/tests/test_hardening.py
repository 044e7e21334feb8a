"""Issue 11 in the Python face: what an unprivileged local user, a planted
file or a hostile pool can do to a caller, and what the mapping promises
about odd keys. Each test names its finding; each failed before the fix.

Some tests play an unprivileged attacker (setuid nobody) or hand a file to
another owner: they need root, as CI has, and fail loudly without it."""

from __future__ import annotations

import errno
import fcntl
import os
import pickle
import select
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

import hyperv_kvp
from hyperv_kvp import KEY_SIZE, RECORD_SIZE, VALUE_SIZE, KvpError, KvpPool, LockTimeoutError

NOBODY = 65534
# Python 3.8 has no fcntl.F_OFD_SETLK; the number is Linux's (x86 and arm).
F_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", 37)


def require_root() -> None:
    assert os.geteuid() == 0, (
        "this test plays an unprivileged attacker (setuid 65534) or another "
        "file owner, so it must run as root, as CI does"
    )


def raw_record(key: bytes, value: bytes) -> bytes:
    """One record as the daemon writes it: the raw bytes, zero-filled."""
    return key.ljust(KEY_SIZE, b"\0")[:KEY_SIZE] + value.ljust(VALUE_SIZE, b"\0")[:VALUE_SIZE]


def write_pool(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    os.chmod(path, 0o600)  # whatever the umask: writes refuse group-writable pools


def unchanged(paths: List[Path], action: Callable[[], object], error: Any) -> Any:
    """Runs `action`, expects `error`, and checks no file changed."""
    before = [p.read_bytes() for p in paths]
    with pytest.raises(error) as caught:
        action()
    assert [p.read_bytes() for p in paths] == before
    return caught.value


# -- finding 1: any local user could hang every agent, forever ---------------


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory other users can enter (pytest's tmp_path is owner-only)."""
    path = Path(tempfile.mkdtemp(prefix="kvp-attacker-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path)


class Attacker:
    """A forked child that drops to nobody, opens a 0644 pool read-only (all
    any local user needs), takes locks on it and holds them until released
    (120 s at most, so that a broken test cannot hang the suite)."""

    def __init__(self, path: Path, *, flock: bool, ofd: bool) -> None:
        ready_r, ready_w = os.pipe()
        release_r, release_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child never returns into pytest
            code = 1
            try:
                os.close(ready_r)
                os.close(release_w)
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                fd = os.open(path, os.O_RDONLY)
                if flock:
                    fcntl.flock(fd, fcntl.LOCK_EX)  # allowed on a read-only descriptor
                if ofd:
                    # struct flock: l_type, l_whence, l_start, l_len, l_pid;
                    # a read lock needs only read access. Whole file, pid 0.
                    fcntl.fcntl(fd, F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0))
                os.write(ready_w, b"locked")
                select.select([release_r], [], [], 120)
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(ready_w)
        os.close(release_r)
        self.pid = pid
        self._release = release_w
        ready = os.read(ready_r, 16)
        os.close(ready_r)
        assert ready == b"locked", "the attacker could not take its locks (see its traceback)"

    def release(self) -> None:
        os.close(self._release)
        _, status = os.waitpid(self.pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


@pytest.fixture
def readable_pool(shared_dir: Path) -> Path:
    """A pool as hv_kvp_daemon leaves it: 0644, readable by every user."""
    path = shared_dir / ".kvp_pool_1"
    KvpPool(path=path)["k"] = "v"
    os.chmod(path, 0o644)
    return path


def test_finding1_an_unprivileged_flock_holder_times_out_readers_and_writers(readable_pool: Path) -> None:
    require_root()
    attacker = Attacker(readable_pool, flock=True, ofd=True)
    try:
        before = readable_pool.read_bytes()
        pool = KvpPool(path=readable_pool, lock_timeout=0.5)
        for action in (lambda: pool.read("k"), lambda: pool.insert("k", "v2"), pool.records):
            with pytest.raises(LockTimeoutError) as caught:
                action()
            error = caught.value
            assert error.holder is not None and "flock" in error.holder
            assert error.holder in str(error), "the message says what holds the lock"
            assert error.timeout == pytest.approx(0.5)
            assert error.errno == errno.ETIMEDOUT and error.filename == str(readable_pool)
        assert readable_pool.read_bytes() == before
        # Nobody waits forever unless asked to: the default is the finite 30 s.
        default = KvpPool(path=readable_pool)
        assert default.lock_timeout == hyperv_kvp.DEFAULT_LOCK_TIMEOUT == 30.0
        assert KvpPool(path=readable_pool, lock_timeout=None).lock_timeout is None
    finally:
        attacker.release()
    assert KvpPool(path=readable_pool)["k"] == "v"


def test_finding1_an_ofd_read_lock_holds_off_writers_and_is_named(readable_pool: Path) -> None:
    require_root()
    attacker = Attacker(readable_pool, flock=False, ofd=True)
    try:
        pool = KvpPool(path=readable_pool, lock_timeout=0.3)
        assert pool["k"] == "v"  # a read lock shares with readers
        with pytest.raises(LockTimeoutError) as caught:
            pool.insert("k", "v2")
        assert caught.value.holder is not None and "OFD" in caught.value.holder
    finally:
        attacker.release()


def test_finding1_lock_timeout_error_pickles_with_its_holder(readable_pool: Path) -> None:
    require_root()
    attacker = Attacker(readable_pool, flock=True, ofd=False)
    try:
        with pytest.raises(LockTimeoutError) as caught:
            KvpPool(path=readable_pool, lock_timeout=0).read("k")
    finally:
        attacker.release()
    copy = pickle.loads(pickle.dumps(caught.value))
    assert isinstance(copy, LockTimeoutError)
    assert (copy.holder, copy.timeout, copy.errno, copy.filename) == (
        caught.value.holder,
        0.0,
        errno.ETIMEDOUT,
        str(readable_pool),
    )


# -- findings 2-4: planted and replaced files, files that are not ours -------


def test_finding2_a_replaced_pool_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pool"
    pool = KvpPool(path=path)
    pool["k"] = "mine"
    planted = tmp_path / "planted"
    write_pool(planted, raw_record(b"k", b"planted"))
    os.replace(planted, path)
    before = path.read_bytes()
    for action in (lambda: pool.read("k"), lambda: pool.insert("k", "v"), pool.records, pool.clear):
        error = unchanged([path], action, hyperv_kvp.PoolReplacedError)
        assert isinstance(error, OSError) and isinstance(error, KvpError)
        assert error.errno == errno.ESTALE and error.filename == str(path)
    assert path.read_bytes() == before
    assert KvpPool(path=path)["k"] == "planted"  # opening again takes the new file
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, hyperv_kvp.PoolReplacedError) and copy.filename == str(path)


_VICTIM = r"""
import errno, os, sys
from hyperv_kvp import KvpPool
path, pty = sys.argv[1], sys.argv[2]
pool = KvpPool(path=path)          # a regular file, pinned at open
pool.insert("k", "v")
os.replace(path, path + ".old")
os.symlink(pty, path)              # the attacker's pty in its place
for action in (lambda: pool.read("k"), lambda: pool.insert("k", "v2"), pool.records):
    try:
        action()
    except OSError as e:
        print("refused:", type(e).__name__, errno.errorcode.get(e.errno or 0, e.errno))
    else:
        raise SystemExit("an operation on a pty succeeded")
try:
    os.close(os.open("/dev/tty", os.O_RDWR))
except OSError as e:
    assert e.errno == errno.ENXIO, e
    print("no controlling terminal")
else:
    raise SystemExit("the pty became the controlling terminal")
"""


def test_finding2_a_planted_pty_never_becomes_the_controlling_terminal(tmp_path: Path) -> None:
    master, slave = os.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-c", _VICTIM, str(tmp_path / "pool"), os.ttyname(slave)],
            start_new_session=True,  # a session leader with no terminal: the victim
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        os.close(slave)
        os.close(master)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("refused:") == 3 and "no controlling terminal" in done.stdout


WRITES: Dict[str, Callable[[KvpPool], object]] = {
    "insert": lambda p: p.insert("k", "new"),
    "setitem": lambda p: p.__setitem__("k", "new"),
    "append": lambda p: p.append("k", "new"),
    "append_many": lambda p: p.append_many([("a", "1")]),
    "load": lambda p: p.load([("a", "1")]),
    "delete": lambda p: p.delete("k"),
    "delete nothing": lambda p: p.delete("no-such-key"),
    "clear": lambda p: p.clear(),
}


def test_finding4_writes_refuse_a_hardlinked_pool_and_change_nothing(tmp_path: Path) -> None:
    path = tmp_path / "pool"
    pool = KvpPool(path=path)
    pool["k"] = "v"
    other = tmp_path / "elsewhere"
    os.link(path, other)
    for name, write in WRITES.items():
        error: hyperv_kvp.UnsafePoolError = unchanged([path, other], lambda: write(pool), hyperv_kvp.UnsafePoolError)
        assert isinstance(error, PermissionError) and isinstance(error, KvpError), name
        assert error.errno == errno.EPERM and error.filename == str(path), name
        assert "2 hard links" in error.reason and error.reason in str(error), name
    assert pool["k"] == "v" and pool.records() == [("k", "v")]  # reads still work
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, hyperv_kvp.UnsafePoolError)
    assert (copy.reason, copy.errno, copy.filename) == (error.reason, errno.EPERM, str(path))
    os.unlink(other)
    pool["k"] = "new"  # one link again: writable
    assert pool["k"] == "new"


def test_finding4_a_delete_through_a_hardlink_never_cuts_the_other_file(tmp_path: Path) -> None:
    """The review's case: `delete no-such-key` cut a 4100-byte file that was
    not a pool to 2560 bytes, through a hard link."""
    victim = tmp_path / "victim.conf"
    victim.write_bytes(b"x" * 4100)
    link = tmp_path / "pool"
    os.link(victim, link)
    pool = KvpPool(path=link)
    unchanged([victim], lambda: pool.delete("no-such-key"), hyperv_kvp.UnsafePoolError)
    assert victim.stat().st_size == 4100


def test_finding4_a_delete_that_removes_nothing_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "pool"
    write_pool(path, raw_record(b"a", b"1") + raw_record(b"b", b"2") + raw_record(b"torn", b"3")[:1000])
    before = path.read_bytes()
    pool = KvpPool(path=path)
    assert pool.delete("absent") == 0
    assert path.read_bytes() == before, "the torn tail was cut by a delete of nothing"
    assert pool.delete("a") == 1  # a delete that removes something drops the tail too
    assert path.read_bytes() == raw_record(b"b", b"2")


@pytest.mark.parametrize("mode", [0o666, 0o620, 0o602])
def test_finding4_writes_refuse_a_pool_others_may_write(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "pool"
    pool = KvpPool(path=path)
    pool["k"] = "v"
    os.chmod(path, mode)
    error = unchanged([path], lambda: pool.insert("k", "secret"), hyperv_kvp.UnsafePoolError)
    assert f"{mode:04o}" in error.reason
    assert pool["k"] == "v"
    os.chmod(path, 0o644)  # readable by others, as the daemon leaves pools, is fine
    pool["k"] = "v2"


def test_finding4_writes_refuse_a_pool_another_user_owns(tmp_path: Path) -> None:
    require_root()
    path = tmp_path / "pool"
    pool = KvpPool(path=path)
    pool["k"] = "v"
    os.chown(path, NOBODY, NOBODY)
    error = unchanged([path], lambda: pool.insert("k", "secret"), hyperv_kvp.UnsafePoolError)
    assert f"uid {NOBODY}" in error.reason
    os.chown(path, 0, 0)
    pool["k"] = "v2"


def test_create_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        pool = KvpPool(path=tmp_path / "shared", create_mode=0o644)
        pool["k"] = "v"
        assert stat.S_IMODE(os.stat(pool.path).st_mode) == 0o644
        assert pool.create_mode == 0o644 and KvpPool(path=tmp_path / "x").create_mode == 0o600
        assert hyperv_kvp.DEFAULT_CREATE_MODE == 0o600
        for bad in (0o666, 0o620, 0o1000, -1, 1 << 40):
            with pytest.raises(hyperv_kvp.InvalidOptionError) as caught:
                KvpPool(path=tmp_path / "never", create_mode=bad)
            assert caught.value.option == "create_mode" and isinstance(caught.value, ValueError)
        copy = pickle.loads(pickle.dumps(caught.value))
        assert copy.option == "create_mode" and str(copy) == str(caught.value)
        assert not (tmp_path / "never").exists()
    finally:
        os.umask(old)


# -- finding 5: memory grew with the file ------------------------------------

_HUGE = r"""
import errno, resource, sys
import hyperv_kvp
from hyperv_kvp import KvpPool
path, size = sys.argv[1], int(sys.argv[2])
refusal = getattr(hyperv_kvp, "PoolTooLargeError", ())  # a class, or nothing to catch
pool = KvpPool(path=path)
assert pool.record_count() == size // 2560   # the size alone: no read
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
reads = {
    "records": pool.records, "entries": pool.entries, "len": lambda: len(pool),
    "iter": lambda: list(pool), "keys": pool.keys, "items": pool.items,
    "values": pool.values, "dict": lambda: dict(pool), "dump_json": pool.dump_json,
}
whole = []
for name, read in reads.items():
    try:
        read()
    except refusal as e:
        assert e.errno == errno.EFBIG and e.filename == path, (name, e)
        assert (e.size, e.limit) == (size, 64 << 20), (name, e.size, e.limit)
    else:
        whole.append(name)
        break  # one is enough to see what it costs
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(after - before, after, *whole)
"""


def test_finding5_whole_reads_of_a_4gib_sparse_pool_are_refused_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "huge.pool"
    size = 4 << 30  # 1.68 M records, 0 blocks on disk
    with open(path, "wb") as f:
        f.truncate(size)
    done = subprocess.run(
        [sys.executable, "-c", _HUGE, str(path), str(size)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    grown, peak, *whole = done.stdout.split()
    print(f"4 GiB sparse pool: max RSS {peak} KB, grown by {grown} KB")
    assert whole == [], f"{whole[0]}() read the 4 GiB pool whole (max RSS grew by {grown} KB)"
    assert int(grown) < 64 * 1024, f"whole-pool reads of a 4 GiB pool grew the process by {grown} KB"


def test_finding5_max_pool_bytes_sets_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "pool"
    KvpPool(path=path).load([("a", "1"), ("b", "2"), ("c", "3")])
    assert hyperv_kvp.DEFAULT_MAX_POOL_BYTES == 64 << 20
    assert KvpPool(path=path).max_pool_bytes == 64 << 20
    tight = KvpPool(path=path, max_pool_bytes=2 * RECORD_SIZE)
    with pytest.raises(hyperv_kvp.PoolTooLargeError) as caught:
        tight.records()
    error = caught.value
    assert (error.size, error.limit) == (3 * RECORD_SIZE, 2 * RECORD_SIZE)
    assert isinstance(error, OSError) and isinstance(error, KvpError) and error.errno == errno.EFBIG
    assert "max_pool_bytes" in str(error)
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, hyperv_kvp.PoolTooLargeError)
    assert (copy.size, copy.limit, copy.errno, copy.filename) == (error.size, error.limit, errno.EFBIG, str(path))
    # One-key operations stream whatever the size; the cap is inclusive.
    assert tight["b"] == "2" and tight.record_count() == 3 and "c" in tight
    assert KvpPool(path=path, max_pool_bytes=3 * RECORD_SIZE).entries() == {"a": "1", "b": "2", "c": "3"}
    for bad in (-1, 1 << 64):
        with pytest.raises(hyperv_kvp.InvalidOptionError):
            KvpPool(path=path, max_pool_bytes=bad)
    with pytest.raises(TypeError):
        KvpPool(path=path, max_pool_bytes=True)


# -- finding 8: a key containing NUL matched another record ------------------


def test_finding8_a_key_with_nul_matches_nothing(tmp_path: Path) -> None:
    path = tmp_path / "pool"
    # `a`, and a daemon-style record whose key field holds `a`, NUL, garbage.
    write_pool(path, raw_record(b"a", b"1") + raw_record(b"a\0b-stale-tail", b"2"))
    before = path.read_bytes()
    pool = KvpPool(path=path)
    assert pool.read("a") == "2"  # both records' key is `a`
    assert pool.read("a\0") is None
    assert pool.read("a\0b") is None and pool.read("a\0b-stale-tail") is None
    assert "a\0" not in pool and "a\0b" not in pool
    with pytest.raises(KeyError):
        pool["a\0"]
    with pytest.raises(KeyError):
        del pool["a\0"]
    assert pool.delete("a\0") == 0 and pool.delete("a\0b") == 0
    assert path.read_bytes() == before
    with pytest.raises(hyperv_kvp.InvalidKeyError):
        pool.insert("a\0", "v")  # writes still refuse it


# -- finding 9: undecodable keys merged, and the mapping broke on them -------


def foreign_pool(path: Path) -> KvpPool:
    write_pool(
        path,
        raw_record(b"Status\xff", b"raw ff")
        + raw_record(b"Status\xef\xbf\xbd", b"real U+FFFD")
        + raw_record(b"latin1-\xe9t\xe9", b"caf\xe9")
        + raw_record(b"\xed\xb3\xbf", b"an encoded surrogate")
        + raw_record(b"ok", b"v"),
    )
    return KvpPool(path=path)


KEYS = ["Status\ufffd", "Status\udcff", "latin1-\udce9t\udce9", "ok", "\udced\udcb3\udcbf"]


def test_finding9_undecodable_keys_stay_distinct(tmp_path: Path) -> None:
    pool = foreign_pool(tmp_path / "pool")
    assert list(pool) == KEYS  # byte order of the raw keys
    assert list(pool.keys()) == KEYS
    assert len(pool) == len(list(pool)) == 5
    assert [k for k, _ in pool.items()] == KEYS
    assert pool.entries()["Status\udcff"] == "raw ff"
    assert pool.entries()["Status\ufffd"] == "real U+FFFD"
    assert [r.key for r in pool.records()] == [
        "Status\udcff",
        "Status\ufffd",
        "latin1-\udce9t\udce9",
        "\udced\udcb3\udcbf",
        "ok",
    ]
    assert pool["latin1-\udce9t\udce9"] == "caf\ufffd"  # values keep U+FFFD replacement
    assert dict(pool) == {
        "Status\ufffd": "real U+FFFD",
        "Status\udcff": "raw ff",
        "latin1-\udce9t\udce9": "caf\ufffd",
        "ok": "v",
        "\udced\udcb3\udcbf": "an encoded surrogate",
    }
    # Each str is the exact bytes, as os.fsencode would give them.
    assert [k.encode("utf-8", "surrogateescape") for k in pool] == [
        b"Status\xef\xbf\xbd",
        b"Status\xff",
        b"latin1-\xe9t\xe9",
        b"ok",
        b"\xed\xb3\xbf",
    ]


def test_finding9_every_key_the_mapping_yields_can_be_read_and_deleted(tmp_path: Path) -> None:
    pool = foreign_pool(tmp_path / "pool")
    for key in pool:
        assert key in pool
        assert pool[key] == pool.entries()[key]
    assert pool.pop("Status\udcff") == "raw ff"
    assert "Status\udcff" not in pool and pool["Status\ufffd"] == "real U+FFFD"
    for key in list(pool):
        del pool[key]
    assert len(pool) == 0 and os.path.getsize(pool.path) == 0


def test_finding9_writes_still_refuse_surrogates(tmp_path: Path) -> None:
    path = tmp_path / "pool"
    pool = foreign_pool(path)
    for write in (
        lambda: pool.insert("Status\udcff", "v"),
        lambda: pool.__setitem__("Status\udcff", "v"),
        lambda: pool.append("k", "\udcff"),
        lambda: pool.append_many([("Status\udcff", "v")]),
        lambda: pool.load([("Status\udcff", "v")]),
    ):
        unchanged([path], write, UnicodeEncodeError)
    # A lone surrogate that stands for no byte names no key.
    assert "\ud800" not in pool
    with pytest.raises(UnicodeEncodeError):
        pool.read("\ud800")


# -- finding 16: `1 in pool` raised TypeError --------------------------------


@pytest.mark.parametrize("key", [1, None, b"ok", 1.5, ("ok",), ["ok"], object()])
def test_finding16_a_non_str_is_not_in_the_pool(pool: KvpPool, key: object) -> None:
    pool["ok"] = "v"
    assert (key in pool) is False
    assert key not in pool


def test_new_exceptions_are_exported_and_typed() -> None:
    for name, bases in (
        ("UnsafePoolError", (KvpError, PermissionError)),
        ("PoolReplacedError", (KvpError, OSError)),
        ("PoolTooLargeError", (KvpError, OSError)),
        ("InvalidOptionError", (KvpError, ValueError)),
    ):
        cls = getattr(hyperv_kvp, name)
        assert name in hyperv_kvp.__all__ and all(issubclass(cls, base) for base in bases), name


def test_error_filenames_keep_undecodable_bytes(tmp_path: Path) -> None:
    """As `os` functions do: the filename of an error is the path as given,
    surrogate escapes included, never a lossy copy of it."""
    directory = os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9")
    path = os.path.join(directory, "pool")
    pool = KvpPool(path=path)
    pool["k"] = "v"
    os.link(path, path + ".link")
    with pytest.raises(hyperv_kvp.UnsafePoolError) as caught:
        pool["k"] = "w"
    assert caught.value.filename == path == pool.path
    assert os.fsencode(caught.value.filename).endswith(b"/caf\xe9/pool")


@pytest.mark.parametrize("timeout", [1e10, 1e30, sys.float_info.max])
def test_finding12_a_huge_lock_timeout_means_no_deadline(tmp_path: Path, timeout: float) -> None:
    """Longer than the clock can count: the core waits without a deadline
    instead of overflowing, so the pool works as with None."""
    pool = KvpPool(path=tmp_path / "pool", lock_timeout=timeout)
    pool["k"] = "v"
    assert pool["k"] == "v" and pool.lock_timeout is not None and pool.lock_timeout > 1e9

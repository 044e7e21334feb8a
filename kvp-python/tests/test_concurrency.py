"""Threads, the GIL, fork, lock timeouts and Ctrl-C, against a child process
that holds the pool's lock as cloud-init (flock) or the daemon (POSIX lock)
does."""

from __future__ import annotations

import errno
import os
import signal
import threading
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import pytest

import hyperv_kvp
from hyperv_kvp import KvpPool, LockTimeoutError

from conftest import LockHolder

HoldLock = Callable[..., LockHolder]


@pytest.mark.parametrize("kind", ["flock", "posix"])
def test_lock_timeout(pool_dir: Path, hold_lock: HoldLock, kind: str) -> None:
    pool = KvpPool(directory=pool_dir, lock_timeout=0.3)
    pool["before"] = "1"
    holder = hold_lock(pool.path, kind)
    before = Path(pool.path).read_bytes()
    with pytest.raises(LockTimeoutError) as caught:
        pool.insert("k", "v")
    error = caught.value
    assert isinstance(error, TimeoutError)
    assert error.errno == errno.ETIMEDOUT and error.filename == pool.path
    assert error.timeout == pytest.approx(0.3)
    # It says what holds the lock: cloud-init's flock, or the daemon's POSIX
    # lock with the holder's pid.
    expected = "flock" if kind == "flock" else f"process {holder.process.pid} holds a POSIX"
    assert error.holder is not None and expected in error.holder and error.holder in str(error)
    assert Path(pool.path).read_bytes() == before
    with pytest.raises(LockTimeoutError):
        KvpPool(path=pool.path, lock_timeout=0).read("before")  # reads lock too
    holder.release()
    pool.insert("k", "v")
    assert pool.entries() == {"before": "1", "k": "v"}


def test_a_blocked_thread_does_not_freeze_other_threads(pool_dir: Path, hold_lock: HoldLock) -> None:
    """The main thread blocks on the lock with no timeout. The only way the
    lock is ever released (before the holder's 60 s guard) is a second
    Python thread running while the main thread waits: if the wait kept the
    GIL, that thread could not run, the guard would release the lock, and
    `worker_ran_first` would be False."""
    pool = KvpPool(directory=pool_dir, lock_timeout=None)  # waits as long as it takes
    holder = hold_lock(pool.path)
    worker_ran_first: List[bool] = []
    waiting = threading.Event()

    def worker() -> None:
        waiting.wait()
        total = 0
        for i in range(300_000):  # pure Python: needs the GIL throughout
            total += i
        worker_ran_first.append(holder.process.poll() is None)
        holder.release()

    thread = threading.Thread(target=worker)
    thread.start()
    waiting.set()
    pool.insert("k", "v")  # blocks until the worker releases the holder
    thread.join()
    assert worker_ran_first == [True]
    assert pool["k"] == "v"


def test_other_threads_run_while_a_thread_waits(pool_dir: Path, hold_lock: HoldLock) -> None:
    pool = KvpPool(directory=pool_dir, lock_timeout=None)
    holder = hold_lock(pool.path)
    started = threading.Event()
    done = threading.Event()

    def blocked() -> None:
        started.set()
        pool.append("from-thread", "v")
        done.set()

    thread = threading.Thread(target=blocked)
    thread.start()
    started.wait()
    ticks = 0
    for _ in range(300_000):  # the main thread keeps running Python code
        ticks += 1
    assert not done.is_set()  # while the other thread is still blocked
    assert holder.process.poll() is None
    holder.release()
    thread.join()
    assert done.is_set() and pool.records() == [("from-thread", "v")]


@pytest.fixture
def ctrl_c_raises() -> Iterator[None]:
    """Python's own SIGINT handler, whatever this process inherited: a
    shell starts background jobs (`cmd &`, nohup) with SIGINT ignored, and
    Python then installs no handler, so Ctrl-C would do nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize(
    "kind, timeout", [("flock", None), ("posix", None), ("flock", hyperv_kvp.DEFAULT_LOCK_TIMEOUT)]
)
def test_ctrl_c_interrupts_a_wait(
    pool_dir: Path, hold_lock: HoldLock, kind: str, timeout: Optional[float], ctrl_c_raises: None
) -> None:
    """The core runs the binding's check every 100 ms while it waits, which
    runs Python's signal handlers: Ctrl-C ends the wait for cloud-init's
    flock and for the daemon's POSIX lock, with or without a timeout."""
    pool = KvpPool(directory=pool_dir, lock_timeout=timeout)
    pool["keep"] = "me"
    hold_lock(pool.path, kind)
    before = Path(pool.path).read_bytes()
    about_to_wait = threading.Event()

    def press_ctrl_c() -> None:
        about_to_wait.wait()
        # Pacing only: give the main thread time to enter the wait. If the
        # signal came earlier, KeyboardInterrupt is still raised in the block.
        threading.Event().wait(0.3)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=press_ctrl_c)
    thread.start()
    with pytest.raises(KeyboardInterrupt):
        about_to_wait.set()
        pool.insert("k", "v")
    thread.join()
    assert Path(pool.path).read_bytes() == before


def test_ctrl_c_while_queued_behind_another_thread(pool_dir: Path, hold_lock: HoldLock, ctrl_c_raises: None) -> None:
    """Threads sharing a pool wait in one queue, in arrival order. Ctrl-C
    ends the main thread's wait there too, and only its own: the other
    thread keeps its place and writes once the lock is free."""
    pool = KvpPool(directory=pool_dir, lock_timeout=None)
    holder = hold_lock(pool.path)
    first_waits = threading.Event()
    first_done: List[str] = []

    def first() -> None:
        first_waits.set()
        pool.insert("first", "waited")
        first_done.append("written")

    waiter = threading.Thread(target=first)
    waiter.start()
    first_waits.wait()

    def press_ctrl_c() -> None:
        # Pacing only, as above: KeyboardInterrupt comes either way.
        threading.Event().wait(0.3)
        os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    with pytest.raises(KeyboardInterrupt):
        pool.insert("second", "interrupted")
    presser.join()
    assert waiter.is_alive() and first_done == []
    holder.release()
    waiter.join()
    assert first_done == ["written"]
    assert pool.records() == [("first", "waited")]
    pool.insert("after", "1")  # nothing of the interrupt is left behind
    assert pool.entries() == {"after": "1", "first": "waited"}


def test_threads_share_one_pool(pool: KvpPool) -> None:
    errors: List[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(40):
                pool.append(f"t{n}", str(i))
                pool.insert(f"own{n}", str(i))
                pool.read(f"t{(n + 1) % 8}")
        except BaseException as e:  # reported below, not swallowed
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert pool.record_count() == 8 * 40 + 8  # no append lost, one record per insert key
    for n in range(8):
        assert pool[f"own{n}"] == "39"
        assert [r.value for r in pool.records() if r.key == f"t{n}"] == [str(i) for i in range(40)]


def test_fork_parent_and_child_share_a_pool(pool: KvpPool) -> None:
    pool["before-fork"] = "1"
    pid = os.fork()
    if pid == 0:  # child: any failure becomes a non-zero exit status
        code = 1
        try:
            for i in range(100):
                pool.append("child", str(i))
            code = 0 if pool["before-fork"] == "1" else 2
        finally:
            os._exit(code)
    for i in range(100):
        pool.append("parent", str(i))
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0  # 3.8 lacks waitstatus_to_exitcode
    records = pool.records()
    assert len(records) == 201
    assert [r.value for r in records if r.key == "child"] == [str(i) for i in range(100)]
    assert [r.value for r in records if r.key == "parent"] == [str(i) for i in range(100)]


def test_fork_while_the_parent_waits_on_a_lock(pool_dir: Path, hold_lock: HoldLock) -> None:
    """A child forked while another parent thread waits inherits no lock."""
    pool = KvpPool(directory=pool_dir, lock_timeout=0.2)
    holder = hold_lock(pool.path)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            try:
                pool.insert("k", "child")
                code = 3  # must not get the lock the holder has
            except LockTimeoutError:
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0  # 3.8 lacks waitstatus_to_exitcode
    holder.release()
    pool.insert("k", "parent")
    assert pool.records() == [("k", "parent")]

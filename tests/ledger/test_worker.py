"""Tests for provenance_ledger.ledger.worker: the forked worker that signs a folder's
registrations and writes its receipts beside the append.

Real processes: the worker is a real forked child; a parent is a real subprocess, killed with
SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from provenance_ledger.errors import LedgerError, NotFoundError, PeerError
from provenance_ledger.ledger import worker as worker_module
from provenance_ledger.ledger.worker import Worker

SRC = Path(__file__).parents[2] / "src"


def whoami(context: str, n: int) -> tuple[str, int, int]:
    """A task: the context the worker has, the argument, and the process it runs in."""
    return context, n, os.getpid()


def big(context: str, size: int) -> bytes:
    """A task whose answer is larger than a pipe holds."""
    return context.encode() * size


def fails(context: str, kind: str) -> None:
    if kind == "not found":
        raise NotFoundError("no such work: sha256:ab")
    if kind == "peer":
        raise PeerError("https://a.example", "answered 500")
    raise ValueError("a bug")


def mark(context: str, path: str) -> int:
    """A task: leave a file, and say which process did."""
    Path(path).write_text("ran")
    return os.getpid()


def waits_for_mark(context: str, path: str) -> bool:
    """A long background task: lets the urgent tasks run until ``path`` exists (a task the
    parent waits for made it meanwhile); whether it did within 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        worker_module.run_urgent()
        if Path(path).exists():
            return True
    return False


def gone(pid: int) -> bool:
    """The process has ended (a zombie waiting for its reaper counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_tasks_run_in_order_in_another_process_with_the_context_of_the_fork() -> None:
    worker = Worker("the run's context")
    try:
        pending = [worker.submit(whoami, n) for n in range(20)]
        answers = [p.result() for p in pending]
    finally:
        worker.close()
    assert [(c, n) for c, n, _ in answers] == [("the run's context", n) for n in range(20)]
    assert {pid for _, _, pid in answers} != {os.getpid()}
    assert len({pid for _, _, pid in answers}) == 1


def test_large_tasks_and_large_answers_cross_without_waiting_on_each_other() -> None:
    """Tasks handed over while large answers are in the pipe: neither end waits forever."""
    worker = Worker("x")
    try:
        pending = [worker.submit(big, 1 << 20) for _ in range(8)]
        assert all(p.result() == b"x" * (1 << 20) for p in pending)
    finally:
        worker.close()


def test_an_error_reaches_the_caller_with_its_type_and_words() -> None:
    worker = Worker("x")
    try:
        with pytest.raises(NotFoundError, match="^no such work: sha256:ab$"):
            worker.submit(fails, "not found").result()
        with pytest.raises(LedgerError, match="https://a.example.*answered 500"):
            worker.submit(fails, "peer").result()
        with pytest.raises(LedgerError, match="^ValueError: a bug$"):
            worker.submit(fails, "bug").result()
        assert worker.submit(whoami, 1).result()[:2] == ("x", 1)  # it goes on after each
    finally:
        worker.close()


def test_a_worker_that_died_is_an_error_not_a_hang() -> None:
    worker = Worker("x")
    try:
        child = worker.submit(whoami, 0).result()[2]
        os.kill(child, signal.SIGKILL)
        with pytest.raises(LedgerError, match=r"^the worker process stopped \(exit code -9\)$"):
            worker.submit(whoami, 1).result()
    finally:
        worker.close()


def test_ctrl_c_is_left_to_the_parent() -> None:
    """SIGINT (sent to the whole process group by Ctrl-C) does not stop the worker: the
    parent decides, and the worker finishes what it was handed."""
    worker = Worker("x")
    try:
        child = worker.submit(whoami, 0).result()[2]
        os.kill(child, signal.SIGINT)
        assert worker.submit(whoami, 1).result() == ("x", 1, child)
    finally:
        worker.close()


def test_the_worker_dies_with_its_parent() -> None:
    """A parent killed with SIGKILL takes its worker with it: nothing is left writing."""
    script = textwrap.dedent("""
        import os, signal, sys
        from provenance_ledger.ledger.worker import Worker
        from tests.ledger.test_worker import whoami
        worker = Worker("x")
        print(worker.submit(whoami, 0).result()[2], flush=True)
        sys.stdin.readline()
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(SRC.parent)])}
    parent = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env)
    assert parent.stdout is not None and parent.stdin is not None
    child = int(parent.stdout.readline())
    assert not gone(child)
    parent.stdin.write("go\n")
    parent.stdin.flush()
    assert parent.wait(timeout=30) == -signal.SIGKILL
    deadline = time.monotonic() + 30
    while not gone(child) and time.monotonic() < deadline:
        time.sleep(0.01)  # poll interval: the kernel delivers the parent's death signal
    assert gone(child)


def test_where_a_process_cannot_fork_the_tasks_run_on_a_thread(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_module, "_can_fork", lambda: False)
    worker = Worker("x")
    try:
        assert worker.submit(whoami, 3).result() == ("x", 3, os.getpid())
        with pytest.raises(NotFoundError, match="^no such work: sha256:ab$"):
            worker.submit(fails, "not found").result()
    finally:
        worker.close()


def test_a_task_waited_for_runs_before_background_tasks_handed_over_earlier() -> None:
    """The child's queue: a background task (receipts to write) waits while a task that is
    not (files to sign, which the parent waits for) is ready; each kind in its order."""
    tasks = worker_module._Tasks()
    for n, background in ((1, True), (2, False), (3, True), (4, False)):
        tasks.put(whoami, (n,), background)
    tasks.close()
    order = []
    while (task := tasks.get()) is not None:
        order.append((task[0], task[2]))
    assert order == [(2, (2,)), (4, (4,)), (1, (1,)), (3, (3,))]  # (number, arguments)


def test_answers_reach_their_tasks_whatever_order_they_run_and_are_read_in() -> None:
    worker = Worker("x")
    try:
        pending = [worker.submit(whoami, n, background=n % 3 == 0) for n in range(30)]
        answers = [p.result() for p in reversed(pending)]
        assert [n for _, n, _ in reversed(answers)] == list(range(30))
        assert pending[0].result()[:2] == ("x", 0)  # asked again: the same answer
        with pytest.raises(NotFoundError):
            worker.submit(fails, "not found", background=True).result()
    finally:
        worker.close()


def test_a_long_background_task_lets_the_tasks_waited_for_run(tmp_path: Path) -> None:
    """Receipts being written (a background task) do not hold back files to sign: the
    writing stops every few dozen receipts to run the tasks the parent waits for."""
    worker = Worker("x")
    try:
        flag = str(tmp_path / "marked")
        long = worker.submit(waits_for_mark, flag, background=True)
        marked = worker.submit(mark, flag)
        assert marked.result() != os.getpid()
        assert long.result() is True
    finally:
        worker.close()


def test_outside_a_worker_run_urgent_does_nothing() -> None:
    worker_module.run_urgent()

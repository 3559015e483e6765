"""A worker beside the append: ``anchor DIR`` signs its registrations and writes its receipts
on the other core (specs/cli.md section 3.2).

Signing an event, encoding a receipt as JSON and creating its file cost, together, about as
much as appending the event, and all of them hold Python's GIL for most of that time: on
threads they would take turns with the append. Where the platform forks (Linux), they run in
a child process instead, forked before any other thread of the run starts: it has the run's
context (the signing key, the time) from the fork, never through a pipe, runs the tasks it is
sent in order, and dies with its parent, so a killed ``anchor DIR`` leaves no worker behind
(only temporary files, which the next run removes: ``files.private_folder``). Elsewhere the
tasks run on one thread, with the same results.

A task is a module-level function ``fn(context, *args)``; its arguments and result cross the
pipe pickled. A :class:`~provenance_ledger.errors.LedgerError` it raises is raised again by
:meth:`Pending.result`, with its type. Tasks run in the order they were handed over, except
that a ``background`` task (one the caller does not wait for soon: writing receipts) waits
while a task that is not is ready to run.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import pickle
import queue
import signal
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any, Generic, Protocol, TypeVar

from ..errors import LedgerError

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
C = TypeVar("C")
PR_SET_PDEATHSIG = 1  # Linux prctl option: the signal a child gets when its parent dies


class Pending(Protocol[T_co]):
    """A task's result, once it is done (raises what the task raised)."""

    def result(self) -> T_co: ...


class Worker(Generic[C]):
    """Runs tasks in order on a forked child (a thread where the platform cannot fork).
    Made before the caller starts any other thread; :meth:`close` waits for every task."""

    def __init__(self, context: C) -> None:
        self._context = context
        self._child: _Child | None = _Child.start(context) if _can_fork() else None
        self._thread = None if self._child else ThreadPoolExecutor(
            1, thread_name_prefix="worker")

    def submit(self, fn: Callable[..., T], *args: Any, background: bool = False) -> Pending[T]:
        """Run ``fn(context, *args)``; ``background``: after the tasks that are not, handed
        over before or after it (on a thread: in order)."""
        if self._child is not None:
            return self._child.submit(fn, args, background)
        assert self._thread is not None  # noqa: S101 - one of the two is set
        future: Future[T] = self._thread.submit(fn, self._context, *args)
        return future

    def close(self, *, cancel: bool = False) -> None:
        """Wait for the tasks handed over (``cancel``: a thread drops those not started; a
        child finishes them, as it would had the caller been killed)."""
        if self._child is not None:
            self._child.close()
        if self._thread is not None:
            self._thread.shutdown(wait=True, cancel_futures=cancel)


def _can_fork() -> bool:
    return hasattr(os, "fork") and "fork" in multiprocessing.get_all_start_methods()


class _Child:
    """The child process and the parent's end of its pipe. Tasks are numbered in the order
    they are sent (from 1); each answer names its task: ``(n, True, result)`` or
    ``(n, False, error)``."""

    def __init__(self, conn: Connection, process: multiprocessing.process.BaseProcess) -> None:
        self._conn = conn
        self._process = process
        self._sent = 0
        self._answers: dict[int, tuple[bool, Any]] = {}

    @classmethod
    def start(cls, context: object) -> _Child:
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_serve, args=(context, child, parent, os.getpid()),
                              name="provenance worker", daemon=True)
        process.start()
        child.close()
        return cls(parent, process)

    def submit(self, fn: Callable[..., T], args: tuple[Any, ...],
               background: bool = False) -> Pending[T]:
        try:
            self._conn.send((fn, args, background))
        except OSError as e:
            raise self._stopped() from e
        self._sent += 1
        return _Answer(self, self._sent)

    def answer(self, n: int) -> tuple[bool, Any]:
        """The ``n``-th task's answer (1-based), waiting for it; handed out once."""
        while n not in self._answers:
            try:
                m, ok, value = self._conn.recv()
            except (EOFError, OSError) as e:
                raise self._stopped() from e
            self._answers[m] = (ok, value)
        return self._answers.pop(n)

    def _stopped(self) -> LedgerError:
        self._process.join(timeout=5)
        return LedgerError(f"the worker process stopped (exit code {self._process.exitcode})")

    def close(self) -> None:
        """Let the child finish the tasks it was given, then end."""
        with contextlib.suppress(OSError):
            self._conn.close()
        self._process.join()


class _Answer(Generic[T]):
    def __init__(self, child: _Child, n: int) -> None:
        self._child, self._n = child, n
        self._answer: tuple[bool, Any] | None = None

    def result(self) -> T:
        if self._answer is None:
            self._answer = self._child.answer(self._n)
        ok, value = self._answer
        if not ok:
            raise value
        result: T = value
        return result


def _serve(context: object, conn: Connection, other_end: Connection, parent: int) -> None:
    """The child: run each task received and answer it; end when the parent closes the pipe
    or dies. It closes its copy of the parent's end first (or it would never see the pipe
    closed). Tasks are taken off the pipe and answers put on it by threads of their own, so
    that the parent never waits to hand over a task (nor the two ends on each other: a large
    answer and a large task in the pipe at once would wait forever)."""
    other_end.close()
    _die_with(parent)
    # The tasks make next to no cyclic garbage, and the cycle collector's passes over what
    # the child inherited would also copy those pages from the parent: it is off.
    gc.disable()
    # Ctrl-C reaches the whole process group: the parent stops the run and closes the pipe;
    # the child finishes what it was handed (receipts of committed blocks) and ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tasks = _Tasks()
    answers: queue.SimpleQueue[tuple[int, bool, Any] | None] = queue.SimpleQueue()
    receiver = threading.Thread(target=_receive_all, args=(conn, tasks), daemon=True)
    sender = threading.Thread(target=_send_all, args=(conn, answers), daemon=True)
    receiver.start()
    sender.start()
    global _urgent  # noqa: PLW0603 - the one worker loop of this process

    def run(task: Task) -> None:
        n, fn, args = task
        try:
            answers.put((n, True, fn(context, *args)))
        except LedgerError as e:
            answers.put((n, False, _portable(e)))
        except Exception as e:  # noqa: BLE001 - reported to the parent, which raises it
            answers.put((n, False, LedgerError(f"{type(e).__name__}: {e}")))

    def urgent() -> None:
        while (task := tasks.get_urgent()) is not None:
            run(task)

    _urgent = urgent
    try:
        while (task := tasks.get()) is not None:
            run(task)
    finally:
        answers.put(None)
        sender.join()


_urgent: Callable[[], None] | None = None


def run_urgent() -> None:
    """Called by a background task at a point where it can wait: run the tasks that are not
    background tasks and are ready now, and answer them (in a worker process; elsewhere
    nothing). So a long background task (a batch of receipts to write) does not hold back a
    task the parent waits for, handed over after it started."""
    if _urgent is not None:
        _urgent()


Task = tuple[int, Callable[..., Any], tuple[Any, ...]]


class _Tasks:
    """The child's tasks not yet run, numbered as they arrive: the first one that is not a
    background task, else the first background one; None once the pipe is closed and all
    are run."""

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._urgent: deque[Task] = deque()
        self._background: deque[Task] = deque()
        self._received = 0
        self._closed = False

    def put(self, fn: Callable[..., Any], args: tuple[Any, ...], background: bool) -> None:
        with self._ready:
            self._received += 1
            (self._background if background else self._urgent).append(
                (self._received, fn, args))
            self._ready.notify()

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify()

    def get_urgent(self) -> Task | None:
        """The first task that is not a background task, if one is ready; never waits."""
        with self._ready:
            return self._urgent.popleft() if self._urgent else None

    def get(self) -> Task | None:
        with self._ready:
            while not (self._urgent or self._background or self._closed):
                self._ready.wait()
            if self._urgent:
                return self._urgent.popleft()
            if self._background:
                return self._background.popleft()
            return None


def _receive_all(conn: Connection, tasks: _Tasks) -> None:
    try:
        while True:
            fn, args, background = conn.recv()
            tasks.put(fn, args, background)
    except (EOFError, OSError):
        tasks.close()


def _send_all(conn: Connection, answers: queue.SimpleQueue[tuple[int, bool, Any] | None]
              ) -> None:
    while (answer := answers.get()) is not None:
        try:
            conn.send(answer)
        except OSError:
            return


def _portable(error: LedgerError) -> LedgerError:
    """``error`` if it crosses the pipe whole, else a :class:`LedgerError` with its words."""
    try:
        pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes, just made
    except Exception:  # noqa: BLE001 - an exception with its own constructor arguments
        return LedgerError(str(error))
    return error


def _die_with(parent: int) -> None:
    """Have Linux kill this process when its parent dies (a killed run leaves no worker
    behind); if the parent is gone already, end now."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)

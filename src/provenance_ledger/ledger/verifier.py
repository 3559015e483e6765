"""Signature checks on the other core: a child process verifies batches of event signatures
under the pinned rule (specs/events.md section 3.1, ``core/ed25519.verify``).

libsodium releases the GIL while it verifies, yet a thread that verifies must take the GIL
back between two signatures. Beside a thread that parses (which holds the GIL for about 30
µs an event), each hand-over costs a wake-up of the other thread, and parsing and verifying
on two threads ran no faster than on one (about 100 µs an event either way, measured on
this machine). A child process needs no GIL of ours: the ledger parses, applies the rules
and writes on its own core while the child verifies on the other.

The child runs ``python -m provenance_ledger.ledger.verifier``: it is started when the
first large batch is checked, serves every ledger of the process, and ends when its input
closes (the parent exited or was killed: the kernel closes the pipe) or when it finds, within
a few seconds, that its parent is gone. Wire format, on the child's standard input and
output: a request is a 4-byte big-endian length and that many bytes of items, each a 32-byte
public key, a 64-byte signature, a 4-byte big-endian message length and the message; its
answer is a 4-byte length and one byte per item, 1 when the signature verifies. Answers come
in the order of the requests.

Should the child not start, or die, the batches it did not answer are verified on the
calling thread, by the same function: the verdicts are the same, only slower.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import IO

from ..core import ed25519

Item = tuple[bytes, bytes, bytes]
"""One signature to check: (32-byte public key, 64-byte signature, message)."""

_LEN = struct.Struct(">I")
_ITEM = struct.Struct(">32s64sI")
MAX_REQUEST_BYTES = 64 * 1024 * 1024
"""The child refuses (exits on) a request above this: a parent never sends one."""
REQUEST_BYTES = 4 * 1024 * 1024  # a parent's requests stay about this small ...
REQUEST_ITEMS = 4096  # ... and hold at most this many signatures (answers of 4 KiB)
PIPE_BYTES = 1 << 20
"""What the request pipe holds (the Linux default is 64 KiB): the parent parses faster than
the child verifies, and with a small pipe it waits on every write of a large block."""
PARENT_CHECK_S = 5.0  # how often an idle child checks that its parent is still there


def verify_items(items: Sequence[Item]) -> bytes:
    """One byte per item, 1 when its signature verifies: what the child answers."""
    return bytes(ed25519.verify(public, signature, message) for public, signature, message in items)


def encode_items(items: Sequence[Item]) -> bytes:
    """A request: every item must hold a 32-byte key and a 64-byte signature."""
    parts = []
    for public, signature, message in items:
        parts.append(_ITEM.pack(public, signature, len(message)))
        parts.append(message)
    body = b"".join(parts)
    return _LEN.pack(len(body)) + body


def requests(items: Sequence[Item]) -> list[list[int]]:
    """The positions of ``items`` to send, a request each: those with a 32-byte key and a
    64-byte signature (any other is not a signature of the rule at all: it does not verify),
    at most ``REQUEST_ITEMS`` and about ``REQUEST_BYTES`` a request."""
    out: list[list[int]] = []
    size = 0
    for n, (public, signature, message) in enumerate(items):
        if len(public) != 32 or len(signature) != 64:
            continue
        if not out or size + len(message) > REQUEST_BYTES or len(out[-1]) >= REQUEST_ITEMS:
            out.append([])
            size = 0
        out[-1].append(n)
        size += _ITEM.size + len(message)
    return out


class Verdicts:
    """The verdicts of one :meth:`Checker.check`, from its requests' answers."""

    __slots__ = ("_count", "_parts")

    def __init__(self, count: int, parts: list[tuple[list[int], Future[bytes]]]) -> None:
        self._count = count
        self._parts = parts

    def result(self, timeout: float | None = None) -> bytes:
        """One byte per item, 1 when its signature verifies (waits for the answers)."""
        out = bytearray(self._count)
        for positions, future in self._parts:
            for n, ok in zip(positions, future.result(timeout), strict=True):
                out[n] = ok
        return bytes(out)


def decode_items(body: bytes) -> list[Item]:
    items: list[Item] = []
    at = 0
    while at < len(body):
        public, signature, n = _ITEM.unpack_from(body, at)
        at += _ITEM.size
        items.append((public, signature, body[at : at + n]))
        at += n
    return items


class Checker:
    """The parent's side: :meth:`check` sends a batch and returns a future of its verdicts."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        # Requests are written one at a time (_write), each queued just before it is written
        # (_queue), so answers, which come in order, find their futures in order. The reader
        # takes only _queue: were it to wait for a writer blocked on a full pipe while the
        # child waits for the reader to take its answers, neither would move.
        self._write = threading.Lock()
        self._queue = threading.Lock()
        self._waiting: deque[tuple[Future[bytes], Sequence[Item]]] = deque()
        self._broken = False
        self.answered = 0  # batches the child answered
        self._reader = threading.Thread(target=self._read_answers, name="verifier-answers",
                                        daemon=True)
        self._reader.start()

    @classmethod
    def start(cls) -> Checker | None:
        # The child imports this very package, wherever the parent found it, and nothing
        # from the working directory (-P).
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.environ.get("PYTHONPATH")
        env = dict(os.environ, PYTHONPATH=package_root + (os.pathsep + path if path else ""))
        try:
            process = subprocess.Popen(  # noqa: S603 - this interpreter, this module
                [sys.executable, "-P", "-m", __name__], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True, env=env)
        except OSError:
            return None
        if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux: a pipe holds 64 KiB unless told more
            with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: keep it
                assert process.stdin is not None  # noqa: S101 - made with a pipe
                fcntl.fcntl(process.stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        return cls(process)

    @property
    def alive(self) -> bool:
        return not self._broken and self._process.poll() is None

    def check(self, items: Sequence[Item]) -> Verdicts:
        """The verdicts of ``items`` (one byte each), from the child; from this thread's own
        checks if the child is gone."""
        return Verdicts(len(items), [
            (positions, self._send([items[n] for n in positions]))
            for positions in requests(items)])

    def _send(self, items: Sequence[Item]) -> Future[bytes]:
        future: Future[bytes] = Future()
        entry = (future, items)
        request = encode_items(items)
        with self._write:
            with self._queue:
                sent = not self._broken
                if sent:
                    self._waiting.append(entry)
            if sent:
                try:
                    assert self._process.stdin is not None  # noqa: S101 - made with a pipe
                    self._process.stdin.write(request)
                    self._process.stdin.flush()
                    return future
                except (OSError, ValueError):
                    if not self._take(entry):
                        return future  # the reader found the child gone and checked it
        future.set_result(verify_items(items))
        return future

    def _take(self, entry: tuple[Future[bytes], Sequence[Item]]) -> bool:
        """Mark the child gone and take ``entry`` back from the queue, if it is still there."""
        with self._queue:
            self._broken = True
            for n, queued in enumerate(self._waiting):
                if queued[0] is entry[0]:
                    del self._waiting[n]
                    return True
        return False

    def _read_answers(self) -> None:
        out = self._process.stdout
        assert out is not None  # noqa: S101 - made with a pipe
        try:
            while True:
                head = _read_exactly(out, _LEN.size)
                if head is None:
                    break
                verdicts = _read_exactly(out, _LEN.unpack(head)[0])
                if verdicts is None:
                    break
                with self._queue:
                    if not self._waiting:
                        break  # an answer nobody asked for: the child is not ours to trust
                    future, items = self._waiting.popleft()
                if len(verdicts) != len(items):
                    verdicts = verify_items(items)
                self.answered += 1
                future.set_result(verdicts)
        finally:
            with self._queue:
                self._broken = True
                left = list(self._waiting)
                self._waiting.clear()
            for future, items in left:  # the child is gone: check them here
                future.set_result(verify_items(items))

    def close(self) -> None:
        with self._write, self._queue:
            self._broken = True
            if self._process.stdin is not None:
                with contextlib.suppress(OSError):
                    self._process.stdin.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - it exits on end of input
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout=5)


def _read_exactly(stream: IO[bytes], n: int) -> bytes | None:
    data = stream.read(n)
    return data if data is not None and len(data) == n else None


_checker: Checker | None = None
_checker_pid = 0
_checker_lock = threading.Lock()


def checker() -> Checker | None:
    """The process's checker, started on first use (again after a fork, or when the child
    died after answering); None where it cannot start, or when a child died before it
    answered anything (it would again: the callers verify on threads)."""
    global _checker, _checker_pid  # noqa: PLW0603 - one child per process
    with _checker_lock:
        if _checker is not None and _checker_pid == os.getpid():
            if _checker.alive:
                return _checker
            _checker.close()
            if not _checker.answered:
                return None
        _checker = Checker.start()
        _checker_pid = os.getpid()
        return _checker


def shutdown() -> None:
    """Stop the process's child, if it runs (it also stops by itself when this process ends)."""
    global _checker  # noqa: PLW0603
    with _checker_lock:
        if _checker is not None and _checker_pid == os.getpid():
            _checker.close()
        _checker = None


def _read_fd(fd: int, n: int, parent: int) -> bytes | None:
    """Exactly ``n`` bytes from ``fd``, or None at its end or once the parent is gone."""
    chunks, left = [], n
    while left:
        ready, _, _ = select.select([fd], [], [], PARENT_CHECK_S)
        if not ready:
            if os.getppid() != parent:
                return None
            continue
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def main() -> int:
    """The child: answer requests from standard input until it closes."""
    parent, fd, sink = os.getppid(), sys.stdin.fileno(), sys.stdout.buffer
    while True:
        head = _read_fd(fd, _LEN.size, parent)
        if head is None:
            return 0
        (n,) = _LEN.unpack(head)
        if n > MAX_REQUEST_BYTES:
            return 2
        body = _read_fd(fd, n, parent)
        if body is None:
            return 0
        verdicts = verify_items(decode_items(body))
        sink.write(_LEN.pack(len(verdicts)) + verdicts)
        sink.flush()


if __name__ == "__main__":
    sys.exit(main())

"""The verifier process (ledger/verifier.py): it gives the pinned rule's verdict on every
input (specs/events.md section 3.1), a ledger still decides rightly when it is killed, and it
does not outlive its parent."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from provenance_ledger.core import ed25519
from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.ledger import verifier

from ..core.test_ed25519_rule import CASES, case, hand_made


def items() -> list[verifier.Item]:
    key = PrivateKey.from_seed(bytes(range(32)))
    out = [case(i) for i in range(len(CASES))]
    out += [(a, sig, m) for _, a, sig, m, _ in hand_made()]
    out += [(key.public.raw, key.sign(bytes([n]) * n), bytes([n]) * n) for n in range(40)]
    out.append((key.public.raw, key.sign(b"x"), b"y"))
    # Not a key and a signature of the rule's lengths: never valid, whatever the bytes
    # (zeros of the right length would be a small-order key the rule lets verify).
    out += [(bytes(31), bytes(64), bytes([n])) for n in range(16)]
    out += [(bytes(32), bytes(63), bytes([n])) for n in range(16)]
    return out


def test_the_child_gives_the_pinned_rule_verdict_on_every_case() -> None:
    checker = verifier.checker()
    assert checker is not None and checker.alive
    batch = items()
    expected = bytes(ed25519.verify(*item) for item in batch)
    assert 0 < sum(expected) < len(expected)  # both verdicts are asked
    assert checker.check(batch).result(timeout=30) == expected
    # Requests answered in order, several under way at once.
    futures = [checker.check(batch[i:]) for i in range(0, len(batch), 7)]
    assert [f.result(timeout=30) for f in futures] == [
        expected[i:] for i in range(0, len(batch), 7)]


def test_a_large_batch_goes_in_several_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    checker = verifier.checker()
    assert checker is not None
    batch = items()
    monkeypatch.setattr(verifier, "REQUEST_ITEMS", 7)
    assert max(map(len, verifier.requests(batch))) == 7
    assert checker.check(batch).result(timeout=30) == bytes(
        ed25519.verify(*item) for item in batch)


def test_threads_asking_at_once_each_get_their_own_verdicts() -> None:
    checker = verifier.checker()
    assert checker is not None
    batch = items()
    expected = bytes(ed25519.verify(*item) for item in batch)
    shifts = list(range(0, len(batch), 3))

    def ask(shift: int) -> list[bytes]:
        rotated = batch[shift:] + batch[:shift]
        futures = [checker.check(rotated[: 8 + n]) for n in range(12)]
        return [f.result(timeout=60) for f in futures]

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(ask, shifts))
    for shift, got in zip(shifts, answers, strict=True):
        rotated = expected[shift:] + expected[:shift]
        assert got == [rotated[: 8 + n] for n in range(12)]


def kill_verifier_process() -> verifier.Checker:
    """SIGKILL this process's verifier child (started if need be, and once it answered: a
    child that dies before it answers anything is not started again); its checker is
    returned."""
    checker = verifier.checker()
    assert checker is not None
    checker.check(items()[:1]).result(timeout=30)
    os.kill(checker._process.pid, signal.SIGKILL)  # noqa: SLF001 - the child under test
    checker._process.wait()  # noqa: SLF001
    return checker


def test_a_killed_child_is_replaced_and_its_batches_checked_here() -> None:
    first = kill_verifier_process()
    batch = items()
    expected = bytes(ed25519.verify(*item) for item in batch)
    # A batch sent to the dead child is answered all the same, from this process.
    assert first.check(batch).result(timeout=30) == expected
    second = verifier.checker()
    assert second is not None and second is not first and second.alive
    assert second.check(batch).result(timeout=30) == expected


def test_the_child_ends_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from provenance_ledger.ledger import verifier\n"
         "print(verifier.checker()._process.pid, flush=True)\n"
         "sys.stdin.read()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert _running(child)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 20
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child)


def test_a_child_that_cannot_start_leaves_the_checks_to_threads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that dies before answering (here: its interpreter cannot import the package)
    is not started again for every batch: the callers verify on their threads."""
    verifier.shutdown()
    monkeypatch.setattr(verifier, "__name__", "provenance_ledger.no_such_module")
    broken = verifier.checker()
    assert broken is not None
    batch = items()
    expected = bytes(ed25519.verify(*item) for item in batch)
    assert broken.check(batch).result(timeout=30) == expected  # checked here
    broken._process.wait(timeout=30)  # noqa: SLF001
    assert verifier.checker() is None
    monkeypatch.undo()
    verifier.shutdown()
    assert verifier.checker() is not None


def test_the_child_refuses_an_oversized_request() -> None:
    child = subprocess.run(
        [sys.executable, "-m", "provenance_ledger.ledger.verifier"],
        input=struct.pack(">I", verifier.MAX_REQUEST_BYTES + 1), capture_output=True,
        timeout=30, check=False)
    assert child.returncode == 2 and child.stdout == b""


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped is not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status and "\nState:\tX" not in status

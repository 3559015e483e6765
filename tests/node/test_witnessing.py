"""Synchronous witnessing (node/witnessing.py; specs/node.md section 9) against C2SP
tlog-witnesses on 127.0.0.1.

The node is a real server in a thread (conftest ``running``, clock at ``NOW``). The witnesses
are small C2SP tlog-witness servers written here (a third party's witness is what the machine
cannot have): each holds a real cosignature/v1 key, checks the log's signature and the
consistency proof with the project's core code, answers 409 with its size when ``old`` is not
the size it holds, and can be told to hold its answers back, never answer, or sign wrongly.
Receipts are checked with the offline verifier and a witness policy, as a creator would.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.merkle import verify_consistency
from provenance_ledger.core.note import NoteSignature, NoteSigner, SignedNote, Verifier
from provenance_ledger.core.policy import parse_policy
from provenance_ledger.core.receipt import Receipt, verify_receipt
from provenance_ledger.core.witness import SIZE_CONTENT_TYPE, AddCheckpointRequest
from provenance_ledger.errors import VerificationError
from provenance_ledger.ledger import Home
from provenance_ledger.node.config import add_witness, init_node, node_keys, set_witnessing

from ..conftest import NOW, KeyFactory, Signer
from .conftest import HOST, ORIGIN, STARTUP_TIMEOUT, free_port, poll_until, register, reply, running

LONG_S = 60.0  # a witnessing timeout no test waits for: a test taking it has failed


class StandInWitness:
    """A C2SP tlog-witness for one log: real key, real checks, behaviour set by the test."""

    def __init__(self, name: str, log_vkey: str, mode: str = "good") -> None:
        seed = hashlib.sha256(b"stand-in witness " + name.encode()).digest()
        self.signer = NoteSigner(f"{name}.witness.test", PrivateKey.from_seed(seed), True)
        self.log = Verifier.from_vkey(log_vkey)
        self.mode = mode  # "good", "bad" (a cosignature that does not verify), "silent"
        self.size = 0
        self.root: bytes | None = None
        self.requests: list[tuple[int, int, int]] = []  # (old, checkpoint size, status)
        self.gate = threading.Event()  # answers wait for it
        self.gate.set()
        self.release = threading.Event()  # a silent witness answers nothing until this
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((HOST, free_port()), self._handler())
        self.server.daemon_threads = True

    @property
    def vkey(self) -> str:
        return self.signer.verifier.to_vkey()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.server_address[1]}"

    def holds(self, size: int, root: bytes) -> None:
        """Start as a witness that cosigned the log at ``size`` before."""
        self.size, self.root = size, root

    def _answer(self, body: bytes) -> tuple[int, str, str]:
        req = AddCheckpointRequest.from_bytes(body)
        cp = req.checkpoint
        self.log.verify(next(s for s in req.note.signatures if self.log.matches(s)),
                        req.note.text)
        with self._lock:
            if req.old != self.size:
                return 409, f"{self.size}\n", SIZE_CONTENT_TYPE
            if self.root is not None:
                try:
                    verify_consistency(self.size, cp.size, list(req.proof), self.root, cp.root)
                except VerificationError:
                    return 422, "bad proof\n", "text/plain"
            self.size, self.root = cp.size, cp.root
        sig = self.signer.sign(cp.to_text(), NOW)
        if self.mode == "bad":  # the right name and key id, a signature over other bytes
            sig = NoteSignature(sig.name, sig.key_id, sig.signature[:-1] + bytes(
                [sig.signature[-1] ^ 1]))
        return 200, sig.to_line(), "text/plain; charset=utf-8"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        witness = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                witness.gate.wait(STARTUP_TIMEOUT * 3)
                if witness.mode == "silent":
                    witness.release.wait(STARTUP_TIMEOUT * 3)
                    return
                status, text, media = witness._answer(body)
                req = AddCheckpointRequest.from_bytes(body)
                with witness._lock:
                    witness.requests.append((req.old, req.checkpoint.size, status))
                reply(self, status, text.encode(), media)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def serving(*witnesses: StandInWitness) -> Iterator[None]:
    threads = [threading.Thread(target=w.server.serve_forever, daemon=True) for w in witnesses]
    for t in threads:
        t.start()
    try:
        yield
    finally:
        for w in witnesses:
            w.gate.set()
            w.release.set()
            w.server.shutdown()
            w.server.server_close()


def make_home(tmp_path: Path) -> tuple[Path, str]:
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    return home, node_keys(home)["log"]


def policy_for(log_vkey: str, *witnesses: StandInWitness) -> str:
    lines = [f"log {log_vkey}"] + [f"witness w{i} {w.vkey}" for i, w in enumerate(witnesses)]
    members = " ".join(f"w{i}" for i in range(len(witnesses)))
    return "\n".join([*lines, f"group all {len(witnesses)} {members}", "quorum all"]) + "\n"


def cosigners(receipt: dict[str, Any], log_vkey: str, *witnesses: StandInWitness) -> set[str]:
    """The witnesses whose valid cosignatures the receipt's checkpoint carries, as the
    offline verifier counts them (the receipt itself must verify)."""
    policy = parse_policy(policy_for(log_vkey, *witnesses))
    verified = verify_receipt(Receipt.from_json(receipt), list(policy.logs),
                              dict(policy.witnesses))
    return set(verified.cosigners)


def post(url: str, leaf: bytes) -> httpx.Response:
    r = httpx.post(url + "/events", content=leaf, timeout=LONG_S * 2)
    assert r.status_code == 200, r.text
    return r


def served_signers(url: str) -> set[str]:
    note = SignedNote.from_text(httpx.get(url + "/checkpoint", timeout=30).text)
    return {s.name for s in note.signatures}




def test_a_receipt_waits_for_the_quorum_and_carries_it(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    home, log_vkey = make_home(tmp_path)
    b, c = StandInWitness("b", log_vkey), StandInWitness("c", log_vkey)
    for name, w in (("b", b), ("c", c)):
        add_witness(home, name, w.url, w.vkey)
    set_witnessing(home, None, LONG_S)
    with serving(b, c), running(home) as node:
        r = post(node.url, register(sign, keys("alice"), "page-1").leaf)
        receipt = r.json()
        assert cosigners(receipt, log_vkey, b, c) == {"w0", "w1"}  # 2 of 2, at once
        assert r.headers["Provenance-Witness-Quorum"] == "2"
        assert r.headers["Provenance-Cosigned"] == "2"
        assert "Provenance-Pending-Witnesses" not in r.headers
        assert {b.signer.name, c.signer.name} <= served_signers(node.url)
        # Each witness was asked once, from nothing, for the checkpoint of the new block.
        assert b.requests == c.requests == [(0, 1, 200)]


def test_a_witness_that_never_answers_delays_the_receipt_by_the_timeout_only(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    home, log_vkey = make_home(tmp_path)
    good, silent = StandInWitness("good", log_vkey), StandInWitness("silent", log_vkey, "silent")
    add_witness(home, "good", good.url, good.vkey)
    add_witness(home, "silent", silent.url, silent.vkey)
    timeout = 3.0  # time enough for the good witness's round trips on a host busy with tests
    set_witnessing(home, None, timeout)
    with serving(good, silent), running(home) as node:
        t0 = time.monotonic()
        r = post(node.url, register(sign, keys("alice"), "page-1").leaf)
        elapsed = time.monotonic() - t0
        assert timeout <= elapsed < STARTUP_TIMEOUT
        # The fallback: the log-signed checkpoint with the cosignatures that did arrive.
        assert cosigners(r.json(), log_vkey, good) == {"w0"}
        assert (r.headers["Provenance-Cosigned"], r.headers["Provenance-Witness-Quorum"]) == \
            ("1", "2")
        assert r.headers["Provenance-Pending-Witnesses"] == "silent"


def test_a_bad_cosignature_is_neither_stored_nor_counted(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    home, log_vkey = make_home(tmp_path)
    good, bad = StandInWitness("good", log_vkey), StandInWitness("bad", log_vkey, "bad")
    add_witness(home, "good", good.url, good.vkey)
    add_witness(home, "bad", bad.url, bad.vkey)
    set_witnessing(home, None, LONG_S)
    with serving(good, bad), running(home) as node:
        t0 = time.monotonic()
        r = post(node.url, register(sign, keys("alice"), "page-1").leaf)
        # The round ends when both answers are in: no wait for the timeout.
        assert time.monotonic() - t0 < LONG_S / 2
        assert bad.requests == [(0, 1, 200)]
        assert r.headers["Provenance-Cosigned"] == "1"
        assert r.headers["Provenance-Pending-Witnesses"] == "bad"
        assert cosigners(r.json(), log_vkey, good) == {"w0"}
        signers = served_signers(node.url)
        assert good.signer.name in signers and bad.signer.name not in signers
        note = SignedNote.from_text(r.json()["checkpoint"])
        assert bad.signer.name not in {s.name for s in note.signatures}


def test_a_409_naming_the_witness_size_is_retried_from_that_size_and_resumed_on_restart(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    home, log_vkey = make_home(tmp_path)
    ledger = Home(home).open_ledger(origin=ORIGIN)
    ledger.append_block([register(sign, keys("alice"), f"old-{i}").leaf for i in range(3)], NOW)
    held_root = ledger.root(3)
    ledger.close()
    w = StandInWitness("w", log_vkey)
    w.holds(3, held_root)  # it cosigned size 3 for someone else; this node does not know
    add_witness(home, "w", w.url, w.vkey)
    set_witnessing(home, None, LONG_S)
    with serving(w):
        with running(home) as node:
            # On start the node witnesses its latest checkpoint: old 0 -> 409 "3" -> old 3.
            poll_until(lambda: w.signer.name in served_signers(node.url), "a cosignature")
            assert w.requests == [(0, 3, 409), (3, 3, 200)]
            r = post(node.url, register(sign, keys("alice"), "new").leaf)
            assert w.requests[2:] == [(3, 4, 200)]  # with a proof from 3 that it verified
            assert cosigners(r.json(), log_vkey, w) == {"w0"}
        with running(home) as node:  # the size it last cosigned is kept across a restart
            r = post(node.url, register(sign, keys("alice"), "after restart").leaf)
            assert cosigners(r.json(), log_vkey, w) == {"w0"}
            assert all(old > 0 for old, _, _ in w.requests[3:])
            assert w.requests[-1] == (4, 5, 200)


def test_many_submissions_at_once_cost_few_add_checkpoint_requests(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    home, log_vkey = make_home(tmp_path)
    w = StandInWitness("w", log_vkey)
    add_witness(home, "w", w.url, w.vkey)
    set_witnessing(home, None, LONG_S)
    events = [register(sign, keys("alice"), f"page-{i}").leaf for i in range(40)]
    w.gate.clear()  # the witness holds its first answer until every event is in the log
    with serving(w), running(home) as node:
        replies: list[httpx.Response] = []
        lock = threading.Lock()

        def submit(leaf: bytes) -> None:
            r = post(node.url, leaf)
            with lock:
                replies.append(r)

        threads = [threading.Thread(target=submit, args=(leaf,)) for leaf in events]
        for t in threads:
            t.start()
        poll_until(lambda: SignedNote.from_text(httpx.get(node.url + "/checkpoint").text)
                   .text.split("\n")[1] == "40", "every event sequenced")
        w.gate.set()
        for t in threads:
            t.join(STARTUP_TIMEOUT * 3)
        assert len(replies) == 40
        for r in replies:
            assert r.headers["Provenance-Cosigned"] == "1"
            assert cosigners(r.json(), log_vkey, w) == {"w0"}
        # One request for the checkpoint it held back, one for the latest: never one a block.
        assert len(w.requests) <= 2 and w.requests[-1][1:] == (40, 200)


def test_without_witnesses_a_receipt_carries_no_witnessing_headers(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    home, _ = make_home(tmp_path)
    with running(home) as node:
        r = post(node.url, register(sign, keys("alice"), "page-1").leaf)
        assert not [h for h in r.headers if h.lower().startswith("provenance-")]


def test_a_quorum_of_zero_hands_receipts_out_at_once_and_still_asks(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    home, log_vkey = make_home(tmp_path)
    w = StandInWitness("w", log_vkey)
    add_witness(home, "w", w.url, w.vkey)
    set_witnessing(home, 0, LONG_S)
    w.gate.clear()
    with serving(w), running(home) as node:
        r = post(node.url, register(sign, keys("alice"), "page-1").leaf)  # not held back
        assert r.headers["Provenance-Witness-Quorum"] == "0"
        assert r.headers["Provenance-Pending-Witnesses"] == "w"
        w.gate.set()
        poll_until(lambda: w.signer.name in served_signers(node.url), "the cosignature")

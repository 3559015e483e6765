"""Test-only fork tool: make a node's log key sign a checkpoint its log never had.

A fork is the attack witnesses exist for: the operator (or a thief of the log key) shows one
history to some parties and another to others. This tool signs, with the node's own log key
(``<home>/log.key``), a checkpoint of the same size as a real one but another root, and
presents it in the two ways a peer can meet it:

- ``present``: straight to a peer's witness, ``POST /add-checkpoint`` (c2sp.org/tlog-witness),
  as another witness or a gossiping client would;
- ``impersonate``: a small HTTP server on 127.0.0.1 that stands in for the node at the URL its
  peers know, serves the forged ``GET /checkpoint`` and forwards every other request to the
  real node, so a peer's mirroring round meets the fork.

It never touches the node's database: the fork exists only as signed notes. Run as a module
for manual use (``--size`` picks an earlier checkpoint to fork instead of the latest)::

    python -m tests.node.forktool sign --home NODE --node http://127.0.0.1:8380
    python -m tests.node.forktool present --home NODE --node http://127.0.0.1:8380 \\
        --url http://127.0.0.1:8381
    python -m tests.node.forktool impersonate --home NODE --port 8380 \\
        --upstream http://127.0.0.1:9380
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from provenance_ledger.core.note import Checkpoint, NoteSigner, SignedNote
from provenance_ledger.ledger import Home
from provenance_ledger.ledger.keys import read_private_key
from provenance_ledger.node import add_checkpoint_body, load_config

HOST = "127.0.0.1"
FORK_TAG = b"provenance-ledger test fork\n"
"""Mixed into a forged root, so that it can never be the real one by accident."""
PROXY_TIMEOUT = 30.0  # seconds for one forwarded request
MAX_FORWARD_BYTES = 1 << 20  # largest request body the impostor forwards, bytes


def forged_root(real_root: bytes) -> bytes:
    """A root other than ``real_root`` (32 bytes)."""
    return hashlib.sha256(FORK_TAG + real_root).digest()


def forge_checkpoint(home: Path, size: int, real_root: bytes) -> str:
    """A checkpoint note of the node at ``home``, for ``size`` entries but another root than
    ``real_root``, signed with the node's own log key."""
    origin = load_config(home).origin
    signer = NoteSigner(origin, read_private_key(Home(home).log_key_path, None))
    text = Checkpoint(origin, size, forged_root(real_root)).to_text()
    return SignedNote(text, (signer.sign(text),)).to_text()


def fork_of(home: Path, note: str) -> str:
    """The forged twin of ``note``, one of the node's real checkpoints (cosignatures ignored)."""
    cp = Checkpoint.from_text(SignedNote.from_text(note).text)
    return forge_checkpoint(home, cp.size, cp.root)


def present(url: str, note: str) -> httpx.Response:
    """Offer ``note`` to the witness at ``url`` with ``add-checkpoint`` (old size 0, no proof)."""
    return httpx.post(f"{url}/add-checkpoint", content=add_checkpoint_body(0, [], note),
                      timeout=PROXY_TIMEOUT)


class _Impostor(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], home: Path, upstream: str,
                 size: int | None) -> None:
        super().__init__(address, _Handler)
        self.home = home
        self.upstream = upstream.rstrip("/")
        self.size = size
        self.client = httpx.Client(timeout=PROXY_TIMEOUT)
        self.forged: list[str] = []  # every forged note served, in order
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Impostor

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass  # quiet: the tests read results, not an access log

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self, method: str, body: bytes | None) -> None:
        r = self.server.client.request(method, self.server.upstream + self.path, content=body)
        self._reply(r.status_code, r.content,
                    r.headers.get("content-type", "application/octet-stream"))

    def do_GET(self) -> None:
        if self.path != "/checkpoint":
            self._forward("GET", None)
            return
        # The real node's checkpoint (the latest, or the one of the chosen size), answered
        # with its forged twin.
        params = {} if self.server.size is None else {"size": self.server.size}
        r = self.server.client.get(self.server.upstream + "/checkpoint", params=params)
        if r.status_code != 200:
            self._reply(r.status_code, r.content, r.headers.get("content-type", "text/plain"))
            return
        note = fork_of(self.server.home, r.text)
        with self.server.lock:
            self.server.forged.append(note)
        self._reply(200, note.encode(), "text/plain; charset=utf-8")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_FORWARD_BYTES:
            self._reply(413, b"too large\n", "text/plain")
            return
        self._forward("POST", self.rfile.read(length))


@contextmanager
def impersonate(home: Path, port: int, upstream: str,
                size: int | None = None) -> Iterator[_Impostor]:
    """Serve the fork of the node at ``home`` on ``127.0.0.1:port`` (in a thread), forwarding
    everything but ``GET /checkpoint`` to ``upstream``; stopped on exit. The forged
    checkpoint is the twin of the real latest one, or of the real one of ``size``. ``.forged``
    lists the notes served."""
    server = _Impostor((HOST, port), home, upstream, size)
    thread = threading.Thread(target=server.serve_forever, name="impostor", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        server.client.close()
        thread.join(timeout=PROXY_TIMEOUT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.node.forktool", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, what in (("sign", "print"), ("present", "present to a witness"),
                       ("impersonate", "serve in place of the node")):
        p = sub.add_parser(name, help=f"{what} a forged checkpoint")
        p.add_argument("--home", type=Path, required=True, help="the forked node's home")
        p.add_argument("--size", type=int, help="fork this checkpoint size, not the latest")
        if name == "impersonate":
            p.add_argument("--port", type=int, required=True, help="where peers expect it")
            p.add_argument("--upstream", required=True, help="the real node's URL")
        else:
            p.add_argument("--node", required=True, help="the forked node's URL")
        if name == "present":
            p.add_argument("--url", required=True, help="the witness to present it to")
    args = parser.parse_args(argv)
    if args.command == "impersonate":
        with impersonate(args.home, args.port, args.upstream, args.size):
            print(f"serving the fork of {args.home} on http://{HOST}:{args.port}", flush=True)
            threading.Event().wait()
    params = {} if args.size is None else {"size": args.size}
    real = httpx.get(f"{args.node}/checkpoint", params=params, timeout=PROXY_TIMEOUT)
    real.raise_for_status()
    note = fork_of(args.home, real.text)
    if args.command == "sign":
        sys.stdout.write(note)
        return 0
    r = present(args.url, note)
    print(f"{args.url}/add-checkpoint answered {r.status_code}: {r.text.strip()}")
    return 0 if r.status_code == 200 else 1


if __name__ == "__main__":
    sys.exit(main())

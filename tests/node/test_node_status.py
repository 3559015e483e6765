"""`provenance node status` (specs/cli.md section 2.3): what an operator checks first, read
from the home alone: whether node serve runs, the log's size and latest checkpoint, how far
each witness has cosigned it, how far each peer is mirrored and cosigned here, and the
evidence held. Two real nodes that mirror and witness each other, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .conftest import HOST, free_port
from .network_helpers import provenance, serving

A, B = "ledger.example.org/a", "ledger.example.org/b"


def status(home: Path, scratch: Path) -> dict[str, Any]:
    return json.loads(provenance("node", "status", "--home", home, "--json",
                                 scratch=scratch).out)  # type: ignore[no-any-return]


def test_status_follows_a_node_from_init_to_witnessed(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    ports = {a: free_port(), b: free_port()}
    for home, origin in ((a, A), (b, B)):
        provenance("node", "init", "--home", home, "--origin", origin, "--listen",
                   f"{HOST}:{ports[home]}", scratch=tmp_path)
    keys = {}
    for home in (a, b):
        keys[home] = dict(line.split() for line in provenance(
            "node", "keys", "--home", home, scratch=tmp_path).out.splitlines())
    fresh = status(a, tmp_path)
    assert fresh == {"origin": A, "listen": f"{HOST}:{ports[a]}", "serving": False,
                     "store": str(a / "ledger.db"), "store_error": None, "size": 0,
                     "checkpoint_at": fresh["checkpoint_at"], "keys": keys[a],
                     "cosigners": [], "quorum": 0, "peers": [], "evidence": 0,
                     "log_evidence": []}
    # b mirrors a and cosigns it; a lists b's witness key, so it keeps b's cosignatures.
    provenance("node", "peer", "add", "--home", b, "--origin", A, "--url",
               f"http://{HOST}:{ports[a]}", "--vkey", keys[a]["log"], scratch=tmp_path)
    provenance("node", "peer", "add", "--home", a, "--origin", B, "--url",
               f"http://{HOST}:{ports[b]}", "--vkey", keys[b]["log"], "--witness-vkey",
               keys[b]["witness"], scratch=tmp_path)
    page = tmp_path / "page.txt"
    page.write_text("a page the status follows\n")
    with serving(a, tmp_path, listen=f"{HOST}:{ports[a]}") as url:
        provenance("anchor", page, "--node", url, "--home", tmp_path / "user",
                   scratch=tmp_path)
        before = status(a, tmp_path)
        assert before["serving"] is True and before["size"] == 1
        assert before["cosigners"] == [{"name": B, "kind": "peer", "cosigned_size": None,
                                        "cosigned_at": None, "refused": None}]
        assert status(b, tmp_path)["peers"] == [{
            "origin": A, "url": f"http://{HOST}:{ports[a]}", "vkey": keys[a]["log"],
            "mirrored_size": None,
            "mirrored_at": None, "cosigned_size": None, "cosigned_at": None, "faulty": False,
            "evidence": []}]
        provenance("node", "sync", "--home", b, scratch=tmp_path)
        after = status(a, tmp_path)
        text = provenance("node", "status", "--home", a, scratch=tmp_path).out
    (cosigner,) = after["cosigners"]
    assert cosigner["cosigned_size"] == 1 and cosigner["cosigned_at"].endswith("Z")
    (peer,) = status(b, tmp_path)["peers"]
    assert (peer["mirrored_size"], peer["cosigned_size"], peer["faulty"]) == (1, 1, False)
    lines = text.splitlines()
    assert lines[:5] == [f"node         {A} (node serve is running)",
                         f"listen       {HOST}:{ports[a]}", f"store        {a / 'ledger.db'}",
                         f"log key      {keys[a]['log']}",
                         f"witness key  {keys[a]['witness']}"]
    assert lines[5] == f"log          1 entry, latest checkpoint {after['checkpoint_at']}"
    assert lines[6] == "cosigned     a receipt waits for 0 of the 0 witnesses listed"
    assert lines[7].split() == [B, "(peer)", "up", "to", "1,", cosigner["cosigned_at"]]
    assert lines[8:] == ["peers        1", f"  {B:<36} not mirrored yet", "evidence     none"]
    assert status(a, tmp_path)["serving"] is False  # stopped

"""`node shard rotate --origin NEW` run again once that rotation is done: the line says the
node already logs as NEW and which log it froze, not a bare refusal with a made-up example
(specs/node.md section 10.1)."""

from __future__ import annotations

from pathlib import Path

from .network_helpers import provenance


def test_the_same_rotate_run_again_says_it_was_done(tmp_path: Path) -> None:
    home = tmp_path / "a"
    provenance("node", "init", "--home", home, "--origin", "a.ledger.test/log", scratch=tmp_path)
    argv = ("node", "shard", "rotate", "--home", home, "--origin", "a.ledger.test/log/2027")
    first = provenance(*argv, scratch=tmp_path)
    assert "now logging as a.ledger.test/log/2027" in first.out

    again = provenance(*argv, scratch=tmp_path, ok=(2,))
    assert again.out == ""
    assert again.err == ("error: --origin a.ledger.test/log/2027 is the current log's origin: "
                         "this node rotated to it already, freezing a.ledger.test/log at size "
                         "0 (node shard list); to rotate again, give a new one\n")
    listed = provenance("node", "shard", "list", "--home", home, "--json", scratch=tmp_path)
    assert [s["origin"] for s in listed.json()["frozen"]] == ["a.ledger.test/log"]  # unchanged

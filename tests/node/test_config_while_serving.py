"""`node serve` reads node.toml when it starts: an operator who adds a peer or a witness, or
changes a setting, while it runs is told to restart it, and is told nothing when it is not
running (specs/cli.md section 2.3). `node config --listen` sets the address it serves on."""

from __future__ import annotations

from pathlib import Path

from provenance_ledger.node import load_config

from .network_helpers import provenance, serving

NOTE = "note: node serve is running on {home}: restart it to use {what} (it reads node.toml " \
       "when it starts)"


def test_changes_to_a_serving_node_say_that_it_must_be_restarted(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    provenance("node", "init", "--home", a, "--origin", "ledger.example.org/a",
               scratch=tmp_path)
    provenance("node", "init", "--home", b, "--origin", "ledger.example.org/b",
               scratch=tmp_path)
    keys = {line.split()[0]: line.split()[1] for line in provenance(
        "node", "keys", "--home", b, scratch=tmp_path).out.splitlines()}
    changes = [
        (("node", "peer", "add", "--home", a, "--origin", "ledger.example.org/b", "--url",
          "http://127.0.0.1:9", "--vkey", keys["log"]), "this peer"),
        (("node", "witness", "add", "--home", a, "--name", "b", "--url", "http://127.0.0.1:9",
          "--vkey", keys["witness"]), "this witness"),
        (("node", "witness", "policy", "--home", a, "--quorum", "0"), "this policy"),
        (("node", "config", "--home", a, "--mirror-interval", "0"), "the new settings"),
        (("node", "witness", "remove", "--home", a, "b"), "the witnesses left"),
        (("node", "peer", "remove", "--home", a, "ledger.example.org/b"), "the peers left"),
    ]
    with serving(a, tmp_path):
        for args, what in changes:
            done = provenance(*args, scratch=tmp_path)
            assert done.err == NOTE.format(home=a, what=what) + "\n", args
            assert done.out.strip()  # its own line first, as when not serving
        shown = provenance("node", "config", "--home", a, scratch=tmp_path)
        assert shown.err == ""  # only showing changes nothing
    # Stopped: the same commands say nothing more.
    for args, _ in changes:
        assert provenance(*args, scratch=tmp_path).err == "", args


def test_node_config_listen_sets_the_address_and_refuses_a_bad_one(tmp_path: Path) -> None:
    home = tmp_path / "node"
    provenance("node", "init", "--home", home, "--origin", "ledger.example.org/a",
               scratch=tmp_path)
    provenance("node", "config", "--home", home, "--listen", "127.0.0.1:8491",
               scratch=tmp_path)
    assert load_config(home).listen == "127.0.0.1:8491"
    bad = provenance("node", "config", "--home", home, "--listen", "8491", "--mirror-interval",
                     "5", scratch=tmp_path, ok=(2,))
    assert bad.err == "error: --listen '8491' is not HOST:PORT\n"
    after = load_config(home)  # nothing written, the interval neither
    assert (after.listen, after.mirror_interval) == ("127.0.0.1:8491", 60)

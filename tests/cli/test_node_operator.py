"""A node operator's mistakes with ``node peer add`` and ``node witness add`` are one line
naming the option they gave (specs/cli.md section 1), and a read-only node home answers
``node evidence`` and ``node status`` while ``node serve`` refuses it in one line (specs/node.md
section 1).

The read-only home is a read-only bind mount in a mount namespace of the CLI's own
(``unshare -m``), as in test_readonly_home.py: the tests run as root, whom file modes do not
stop.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import Result, assert_one_error_line, run, run_json
from .test_readonly_home import run_readonly as readonly_run

A = "ledger.example.org/a"
B = "ledger.example.org/b"


@pytest.fixture
def nodes(tmp_path: Path) -> dict[str, dict[str, str]]:
    """Homes ``a`` and ``b`` (not serving); their keys from ``node init --json``."""
    made = {}
    for name, origin, port in (("a", A, "8380"), ("b", B, "8381")):
        made[name] = run_json("node", "init", "--home", tmp_path / name, "--origin", origin,
                              "--listen", f"127.0.0.1:{port}", "--json", home=tmp_path / "u")
    return made


@pytest.mark.parametrize("change, message", [
    ({"--origin": "ledger example.org"},
     "error: --origin 'ledger example.org' must be 1 to 255 bytes of text with no '+', no "
     "white space and no invisible characters"),
    ({"--url": "127.0.0.1:8381"},
     "error: --url '127.0.0.1:8381' must be http:// or https:// with a host"),
    ({"--tiles": "ftp://tiles.example.org/b"},
     "error: --tiles 'ftp://tiles.example.org/b' must be http:// or https:// with a host"),
    ({"--vkey": "a's log key"}, f"error: --vkey is the key of the log {A!r}, not of --origin "
                                f"{B!r}"),
    ({"--vkey": "b's witness key"}, "is a node's witness key (cosignature/v1, type 0x04), "
                                    "not its log key (type 0x01) ('provenance node keys "
                                    "--only log' on that node prints it)"),
    ({"--vkey": "garbage"}, "error: --vkey: verifier key 'garbage' is not "
                            "<name>+<hex id>+<base64>"),
    ({"--witness-vkey": "b's log key"}, "is a node's log key (type 0x01), not its witness key "
                                        "(cosignature/v1, type 0x04) ('provenance node keys "
                                        "--only witness' on that node prints it)"),
])
def test_peer_add_names_the_option_that_is_wrong(tmp_path: Path, nodes: dict[str, dict[str, str]],
                                                 change: dict[str, str], message: str) -> None:
    keys = {"a's log key": nodes["a"]["log"], "b's witness key": nodes["b"]["witness"],
            "b's log key": nodes["b"]["log"]}
    options = {"--origin": B, "--url": "http://127.0.0.1:8381", "--vkey": nodes["b"]["log"],
               "--witness-vkey": nodes["b"]["witness"]}
    options.update({k: keys.get(v, v) for k, v in change.items()})
    config = tmp_path / "a" / "node.toml"
    before = config.read_bytes()
    result = run("node", "peer", "add", "--home", tmp_path / "a",
                 *[x for pair in options.items() for x in pair], home=tmp_path / "u",
                 ok_codes=(2,))
    line = assert_one_error_line(result)
    assert line.startswith(f"error: {next(iter(change))}"), line
    assert message in line, line
    assert config.read_bytes() == before
    run("node", "peer", "add", "--home", tmp_path / "a", "--origin", B,  # as it should be
        "--url", "http://127.0.0.1:8381", "--vkey", nodes["b"]["log"], "--witness-vkey",
        nodes["b"]["witness"], home=tmp_path / "u")


def test_witness_add_with_a_log_key_says_which_key_it_wants(
        tmp_path: Path, nodes: dict[str, dict[str, str]]) -> None:
    result = run("node", "witness", "add", "--home", tmp_path / "a", "--name", "b",
                 "--url", "http://127.0.0.1:8381", "--vkey", nodes["b"]["log"],
                 home=tmp_path / "u", ok_codes=(2,))
    assert assert_one_error_line(result) == (
        f"error: --vkey: {nodes['b']['log']!r} is a node's log key (type 0x01), not its "
        "witness key (cosignature/v1, type 0x04) ('provenance node keys --only witness' on "
        "that node prints it)")


def run_readonly(*args: str | Path, home: Path) -> Result:
    """``provenance ARGS`` with the node home ``home`` mounted read-only."""
    return readonly_run(*args, home=home, ledger_home=False)


def test_a_readonly_node_home_answers_evidence_and_serve_refuses_it(
        tmp_path: Path, nodes: dict[str, dict[str, str]]) -> None:
    home = tmp_path / "a"
    # Never witnessed: no witness.db yet, and none can be made.
    result = run_readonly("node", "evidence", "--home", home, home=home)
    assert (result.code, result.out, result.err) == (
        0, "no evidence: every origin seen so far is consistent\n", "")
    run("node", "sync", "--home", home, home=tmp_path / "u")  # makes witness.db
    assert (home / "witness.db").is_file()
    result = run_readonly("node", "evidence", "--home", home, "--json", home=home)
    assert (result.code, result.err) == (0, ""), result.err
    assert result.out.split() == ["{", '"faulty":', "[],", '"evidence":', "[]", "}"]

    result = run_readonly("node", "serve", "--home", home, home=home)
    assert result.code == 2
    assert assert_one_error_line(result) == (
        f"error: node serve writes to its home, and {home} cannot be written (a read-only "
        "mount or copy?): serve it from a folder this user may write")


def test_init_checks_an_absolute_tiles_folder_before_it_makes_the_home(tmp_path: Path) -> None:
    """As node config --tiles does: not a node whose serve refuses to start later."""
    (tmp_path / "srv").write_text("a file, not a folder\n")
    home = tmp_path / "node-t"
    result = run("node", "init", "--home", home, "--origin", "ledger.example.org/t",
                 "--tiles", tmp_path / "srv" / "tiles", home=tmp_path / "u", ok_codes=(2,))
    assert assert_one_error_line(result) == (
        f"error: cannot write the tiles to {tmp_path / 'srv' / 'tiles'} (--tiles): "
        f"{tmp_path / 'srv'} is a file, not a folder")
    assert not home.exists()
    (tmp_path / "srv").unlink()
    made = run_json("node", "init", "--home", home, "--origin", "ledger.example.org/t",
                    "--tiles", tmp_path / "srv" / "tiles", "--json", home=tmp_path / "u")
    assert made["tiles"] == str(tmp_path / "srv" / "tiles")
    assert (tmp_path / "srv" / "tiles").is_dir()


def test_node_status_reads_a_readonly_home_with_its_mirrors(
        tmp_path: Path, nodes: dict[str, dict[str, str]]) -> None:
    """An auditor handed a copy of a node home (read-only) sees how it stood, mirrors
    included (specs/cli.md section 2.3)."""
    a, b = tmp_path / "a", tmp_path / "b"
    run("node", "peer", "add", "--home", a, "--origin", B, "--url", "http://127.0.0.1:9",
        "--vkey", nodes["b"]["log"], home=tmp_path / "u")
    run("node", "sync", "--home", a, home=tmp_path / "u", ok_codes=(0, 1))  # b is not there
    mirror = next((a / "mirrors").glob("*.db"))  # made by the round
    result = run_readonly("node", "status", "--home", a, "--json", home=a)
    assert (result.code, result.err) == (0, ""), result.err
    st = json.loads(result.out)
    assert (st["serving"], st["size"], st["evidence"]) == (False, 0, 0)
    assert [(p["origin"], p["mirrored_size"], p["faulty"]) for p in st["peers"]] == [
        (B, None, False)]
    assert mirror.is_file() and b.is_dir()

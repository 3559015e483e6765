"""Tests for provenance_ledger.node.config: node homes, node.toml, peers and keys."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.note import NoteSigner, Verifier
from provenance_ledger.errors import LedgerError, MalformedError, NotFoundError, StorageError
from provenance_ledger.ledger import Home
from provenance_ledger.node.config import (
    DEFAULT_LISTEN,
    NodeConfig,
    Peer,
    add_peer,
    init_node,
    load_config,
    node_keys,
    parse_listen,
    remove_peer,
)

from .conftest import ORIGIN, PEER


def _vkey(name: str, cosigner: bool = False, seed: bytes = b"\x01" * 32) -> str:
    return NoteSigner(name, PrivateKey.from_seed(seed), cosigner).verifier.to_vkey()


def test_init_makes_ledger_witness_key_and_config(tmp_path: Path) -> None:
    home = tmp_path / "n"
    config = init_node(home, ORIGIN)
    assert config == load_config(home)
    assert config.listen == DEFAULT_LISTEN and config.host == "127.0.0.1"
    assert config.witness_name == ORIGIN + "/witness"
    assert stat.S_IMODE((home / "witness.key").stat().st_mode) == 0o600
    assert (home / "ledger.db").exists() and (home / "log.key").exists()
    ledger = Home(home).open_ledger()
    assert ledger.origin == ORIGIN
    ledger.close()
    raw = tomllib.loads((home / "node.toml").read_text())
    assert raw == {"origin": ORIGIN, "listen": DEFAULT_LISTEN,
                   "witness_name": ORIGIN + "/witness", "mirror_interval": 60}


def test_node_keys_are_public_and_typed(tmp_path: Path) -> None:
    home = tmp_path / "n"
    init_node(home, ORIGIN, "127.0.0.1:0", witness_name="w.test/1")
    keys = node_keys(home)
    log_key, witness = Verifier.from_vkey(keys["log"]), Verifier.from_vkey(keys["witness"])
    assert (log_key.name, log_key.sig_type) == (ORIGIN, 0x01)
    assert (witness.name, witness.sig_type) == ("w.test/1", 0x04)
    assert log_key.public_key != witness.public_key  # two keys, two roles
    assert "PRIVATE" not in (home / "node.toml").read_text()


def test_init_refuses_an_initialised_home_and_another_origin(tmp_path: Path) -> None:
    home = tmp_path / "n"
    init_node(home, ORIGIN)
    with pytest.raises(LedgerError, match="already a node home"):
        init_node(home, ORIGIN)
    other = tmp_path / "m"
    Home(other).open_ledger(origin="first.test/log").close()
    with pytest.raises(StorageError, match="first.test/log"):
        init_node(other, "second.test/log")
    assert not (other / "node.toml").exists()


@pytest.mark.parametrize("origin", ["", "has space", "a+b", "tab\there", "x" * 256])
def test_init_refuses_bad_origins(tmp_path: Path, origin: str) -> None:
    with pytest.raises(MalformedError, match="origin"):
        init_node(tmp_path / "n", origin)
    assert not (tmp_path / "n").exists()


@pytest.mark.parametrize("listen, expected", [
    ("127.0.0.1:8380", ("127.0.0.1", 8380)),
    ("localhost:0", ("localhost", 0)),
    ("[::1]:443", ("::1", 443)),
    ("0.0.0.0:80", ("0.0.0.0", 80)),  # noqa: S104 - an operator may choose it explicitly
])
def test_parse_listen(listen: str, expected: tuple[str, int]) -> None:
    assert parse_listen(listen) == expected


@pytest.mark.parametrize("listen", ["127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
                                    "example.com:80", "::1:80", "[127.0.0.1]:80", ":80",
                                    "127.0.0.1:+80", "127.0.0.1:٣"])
def test_parse_listen_refuses(listen: str) -> None:
    with pytest.raises(MalformedError):
        parse_listen(listen)


def test_add_and_remove_peers(tmp_path: Path) -> None:
    home = tmp_path / "n"
    init_node(home, ORIGIN)
    peer_vkey = _vkey(PEER)
    witness_vkey = _vkey("peer.test/witness", cosigner=True, seed=b"\x02" * 32)
    add_peer(home, PEER, "http://127.0.0.1:8381/", peer_vkey, witness_vkey)
    add_peer(home, "third.test/log", "https://127.0.0.1:8443",
             _vkey("third.test/log", seed=b"\x03" * 32))
    config = load_config(home)
    assert config.peers == (
        Peer(PEER, "http://127.0.0.1:8381", peer_vkey, witness_vkey),
        Peer("third.test/log", "https://127.0.0.1:8443", _vkey("third.test/log",
                                                               seed=b"\x03" * 32)))
    with pytest.raises(LedgerError, match="already configured"):
        add_peer(home, PEER, "http://127.0.0.1:1", peer_vkey)
    assert remove_peer(home, PEER).peers == load_config(home).peers
    assert [p.origin for p in load_config(home).peers] == ["third.test/log"]
    with pytest.raises(NotFoundError):
        remove_peer(home, PEER)


@pytest.mark.parametrize("args, message", [
    ((ORIGIN, "http://127.0.0.1:1", _vkey(ORIGIN)), "own origin"),
    ((PEER, "ftp://127.0.0.1", _vkey(PEER)), "http"),
    ((PEER, "http://user:pw@127.0.0.1", _vkey(PEER)), "user information"),
    ((PEER, "http://127.0.0.1/?q=1", _vkey(PEER)), "query"),
    ((PEER, "http://127.0.0.1:99999", _vkey(PEER)), "not a URL"),
    ((PEER, "http:///nohost", _vkey(PEER)), "host"),
    ((PEER, "http://127.0.0.1", _vkey("other.test/log")), "named"),
    ((PEER, "http://127.0.0.1", _vkey(PEER, cosigner=True)), "type 0x01"),
    ((PEER, "http://127.0.0.1", "not a vkey"), "verifier key"),
    ((PEER, "http://127.0.0.1", _vkey(PEER), _vkey("w.test/w")), "type 0x04"),
    ((PEER, "http://127.0.0.1", _vkey(PEER), _vkey(PEER, cosigner=True)), "other than"),
    ((PEER, "http://127.0.0.1", _vkey(PEER), _vkey(ORIGIN + "/witness", cosigner=True)),
     "already used"),
])
def test_add_peer_refuses(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    home = tmp_path / "n"
    init_node(home, ORIGIN)
    with pytest.raises(MalformedError, match=message):
        add_peer(home, *args)
    assert load_config(home).peers == ()


@pytest.mark.parametrize("text, message", [
    ('origin = "a"\nlisten = "127.0.0.1:1"\n', "witness_name"),
    ('origin = "a"\nlisten = "127.0.0.1:1"\nwitness_name = "w"\ncolour = "red"\n', "colour"),
    ('origin = 1\nlisten = "127.0.0.1:1"\nwitness_name = "w"\n', "string"),
    ('origin = "a"\nlisten = "127.0.0.1:1"\nwitness_name = "a"\n', "differ"),
    ('origin = "a"\nlisten = "127.0.0.1:1"\nwitness_name = "w"\npeers = 3\n', "peers"),
    ('origin = "a"\nlisten = "127.0.0.1:1"\nwitness_name = "w"\n[[peers]]\norigin = "b"\n',
     "url"),
    ('origin = "a"\nlisten = "127.0.0.1:1"\nwitness_name = "w"\n[[peers]]\nx = 1\n', "'x'"),
    *((f'origin = "a"\nlisten = "127.0.0.1:1"\nwitness_name = "w"\nmirror_interval = {v}\n',
       "field 'mirror_interval' must be a whole number of seconds")
      for v in ("-1", "86401", "1.5", "true", '"60"')),
    ("origin = \n", "TOML"),
    ("\xff", "TOML"),
])
def test_load_config_refuses(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "node.toml").write_bytes(text.encode("utf-8", "surrogateescape")
                                         if text != "\xff" else b"\xff")
    with pytest.raises(MalformedError, match=message):
        load_config(tmp_path)


def test_load_config_of_a_plain_folder(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="node init"):
        load_config(tmp_path)


_NAME = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp",
                                                                  "Cn", "Co", "Cf")),
                min_size=1, max_size=60).filter(lambda s: "+" not in s and s.isprintable()
                                                and not any(c.isspace() for c in s))


@settings(max_examples=60, deadline=None)
@given(origin=_NAME, witness=_NAME, path=st.text("abc/_-~%.", max_size=20))
def test_config_toml_round_trip(origin: str, witness: str, path: str) -> None:
    if witness == origin:
        witness += "/w"
    peer = Peer(PEER, "http://127.0.0.1:1/" + path.rstrip("/"), _vkey(PEER))
    config = NodeConfig(origin, "127.0.0.1:1", witness, (peer,))
    assert NodeConfig.from_toml(tomllib.loads(config.to_toml())) == config

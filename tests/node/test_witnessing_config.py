"""``[[witnesses]]`` and ``[witnessing]`` in node.toml (node/config.py; specs/node.md
sections 1 and 9): what is written reads back equal, and every bad value is one error that
names its field."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.note import NoteSigner
from provenance_ledger.errors import MalformedError
from provenance_ledger.node.config import (
    add_witness,
    init_node,
    load_config,
    set_witnessing,
)

from .conftest import ORIGIN


def _witness_vkey(name: str) -> str:
    return NoteSigner(name, PrivateKey.from_seed(name.encode().ljust(32, b"\0")[:32]),
                      True).verifier.to_vkey()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "n"
    init_node(home, ORIGIN)
    return home


def test_witnesses_and_policy_round_trip(home: Path) -> None:
    assert load_config(home).quorum == 0  # none listed: nothing to wait for
    add_witness(home, "b", "http://127.0.0.1:8381", _witness_vkey("b.test/witness"))
    add_witness(home, "c", "https://witness.example/", _witness_vkey("c.test/witness"))
    config = load_config(home)
    assert config.quorum == 2 and config.witnessing.timeout == 5.0  # the defaults
    assert [w.url for w in config.witnesses] == ["http://127.0.0.1:8381",
                                                  "https://witness.example"]
    set_witnessing(home, 1, 0.25)
    config = load_config(home)
    assert (config.quorum, config.witnessing.timeout) == (1, 0.25)
    assert load_config(home) == config


def _write(home: Path, extra: str) -> None:
    path = home / "node.toml"
    path.write_text(path.read_text() + extra)


@pytest.mark.parametrize(("extra", "words"), [
    ('\n[witnessing]\nquorum = "two"\n', "witnessing.quorum"),
    ("\n[witnessing]\nquorum = -1\n", "witnessing.quorum"),
    ("\n[witnessing]\ntimeout = 0\n", "witnessing timeout"),
    ("\n[witnessing]\ntimeout = nan\n", "witnessing timeout"),
    ('\n[witnessing]\ntimeout = "5"\n', "witnessing.timeout"),
    ("\n[witnessing]\nwait = 1\n", "unknown field 'wait'"),
    ("\n[witnessing]\nquorum = 1\n", "quorum 1 is more than the 0 witnesses"),
    ('\n[[witnesses]]\nname = "b"\nvkey = "{vkey}"\n', "witnesses[0].url"),
    ('\n[[witnesses]]\nname = "b"\nurl = "http://x"\nvkey = "{vkey}"\nextra = 1\n',
     "unknown field 'extra'"),
    ('\n[[witnesses]]\nname = "b"\nurl = "http://x"\nvkey = "{vkey}"\n'
     '\n[[witnesses]]\nname = "b"\nurl = "http://y"\nvkey = "{other}"\n',
     "witness b is listed twice"),
    ('\n[[witnesses]]\nname = "b"\nurl = "http://x"\nvkey = "{vkey}"\n'
     '\n[[witnesses]]\nname = "c"\nurl = "http://y"\nvkey = "{vkey}"\n',
     "vkey is already listed"),
])
def test_a_bad_value_is_one_error_naming_it(home: Path, extra: str, words: str) -> None:
    _write(home, extra.format(vkey=_witness_vkey("b.test/witness"),
                              other=_witness_vkey("o.test/witness")))
    with pytest.raises(MalformedError) as e:
        load_config(home)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_the_nodes_own_witness_key_is_not_its_own_witness(home: Path) -> None:
    own = _witness_vkey(ORIGIN + "/witness")
    with pytest.raises(MalformedError, match="this node's own"):
        add_witness(home, "self", "http://127.0.0.1:1", own)


def test_the_example_of_specs_node_md_section_9_is_what_the_node_reads_and_writes(
        home: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "specs" / "node.md").read_text()
    section = text[text.index("## 9. Synchronous witnessing"):]
    block = section[section.index("```toml\n") + 8:]
    block = block[:block.index("```")]
    seed_key = NoteSigner("ledger.example.org/b/witness", PrivateKey.from_seed(bytes([2]) * 32),
                          True).verifier.to_vkey()
    _write(home, "\n" + block)
    config = load_config(home)
    assert (config.quorum, config.witnessing.timeout) == (1, 5.0)
    assert [(w.name, w.url, w.vkey) for w in config.witnesses] == [
        ("b", "http://127.0.0.1:8381", seed_key)]
    written = config.to_toml()
    bare = "\n".join(line.split("#")[0].rstrip() for line in block.splitlines())
    assert bare.strip() in written

"""Tests for provenance_ledger.core.dataset and core.disclosure (specs/datasets.md).

Two sources of truth: the known-answer vectors of tests/data/datasets/vectors.json, written by
tests/data/datasets/make_vectors.py straight from the spec's definitions (recursion over sets
of items), and that same naive reference, run here against the streaming tree on random sets.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance_ledger.core import dataset
from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.dataset import EMPTY_ROOT, IN, NOT_IN, Tree
from provenance_ledger.core.dataset import Path as DPath
from provenance_ledger.errors import LedgerError, MalformedError, VerificationError

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "datasets"
VECTORS = json.loads((DATA / "vectors.json").read_text(encoding="utf-8"))
CASES = {c["name"]: c for c in VECTORS["cases"]}

_spec = importlib.util.spec_from_file_location("dataset_reference", DATA / "make_vectors.py")
assert _spec is not None and _spec.loader is not None
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)


def tree_of(secret: bytes, items: list[str]) -> Tree:
    return Tree(dataset.entries(secret, items))


# -- known answers ---------------------------------------------------------------------------


def test_empty_root_is_the_spec_constant() -> None:
    assert EMPTY_ROOT.hex() == VECTORS["empty_root"]
    assert Tree([]).root() == EMPTY_ROOT


def test_secret_and_series_id_are_the_known_answers() -> None:
    s = VECTORS["secret"]
    key = PrivateKey.from_seed(bytes.fromhex(s["seed"]))
    assert key.public.text == s["actor"]
    message = dataset.secret_message(s["name"], s["version"])
    assert message.hex() == s["message"]
    assert dataset.secret_from_signature(key.sign(message)).hex() == s["secret"]
    assert dataset.series_id(s["actor"], s["name"]) == s["series"]


@pytest.mark.parametrize("name", list(CASES))
def test_entries_and_root_are_the_known_answers(name: str) -> None:
    c = CASES[name]
    secret = bytes.fromhex(c["secret"])
    for e in c["entries"]:
        raw = e["item"].encode("ascii")
        assert dataset.item_key(raw).hex() == e["key"]
        assert dataset.item_salt(secret, raw).hex() == e["salt"]
        assert dataset.leaf_hash(bytes.fromhex(e["salt"]), raw).hex() == e["leaf"]
    tree = tree_of(secret, c["items"])
    assert len(tree.entries) == c["count"]
    assert tree.root().hex() == c["root"]


@pytest.mark.parametrize("name", list(CASES))
def test_proofs_are_the_known_answers_and_verify(name: str) -> None:
    c = CASES[name]
    secret = bytes.fromhex(c["secret"])
    tree = tree_of(secret, c["items"])
    root = bytes.fromhex(c["root"])
    for expected in c["proofs"]:
        made = dataset.prove(tree, secret, expected["item"])
        assert made.to_json() == expected
        parsed = DPath.from_json(expected)
        assert parsed == made
        parsed.verify(root)
        assert (parsed.answer == IN) == (expected["item"] in c["items"])


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n]["tampered"]])
def test_tampered_known_proofs_do_not_verify(name: str) -> None:
    c = CASES[name]
    root = bytes.fromhex(c["root"])
    for bad in c["tampered"]:
        proof = {k: v for k, v in bad.items() if k != "why"}
        with pytest.raises(VerificationError):
            DPath.from_json(proof).verify(root)


def test_a_proof_against_another_versions_root_does_not_verify() -> None:
    c = CASES["small"]
    other = tree_of(hashlib.sha256(b"version 2 secret").digest(), c["items"])
    proof = DPath.from_json(c["proofs"][0])
    with pytest.raises(VerificationError):
        proof.verify(other.root())


# -- binding and hiding ------------------------------------------------------------------------

ITEMS = st.lists(st.binary(min_size=1, max_size=8).map(
    lambda b: "sha256:" + hashlib.sha256(b).hexdigest()), max_size=40)


@settings(max_examples=40, deadline=None)
@given(items=ITEMS, probe=st.binary(max_size=8), secret=st.binary(min_size=32, max_size=32))
def test_tree_and_paths_match_the_naive_reference(items: list[str], probe: bytes,
                                                  secret: bytes) -> None:
    tree = tree_of(secret, items)
    leaves = {reference.key_of(i): reference.leaf_of(secret, i) for i in items}
    assert tree.root() == reference.root_of(leaves)
    asked = "sha256:" + hashlib.sha256(probe).hexdigest()
    upper = tree.level()
    assert dataset.root_of_level(upper) == tree.root()
    assert dataset.level_from_bytes(dataset.level_to_bytes(upper)) == upper
    for item in (asked, *items[:3]):
        made = dataset.prove(tree, secret, item)
        assert made.to_json() == reference.path(secret, leaves, item)
        assert dataset.prove(tree, secret, item, upper) == made
        bucket, count = dataset.bucket_entries(secret, items, dataset.item_key(item.encode()))
        assert count == len(tree.entries)
        assert dataset.prove(Tree(bucket), secret, item, upper) == made
        made.verify(tree.root())


@settings(max_examples=60, deadline=None)
@given(items=ITEMS, probe=st.binary(max_size=8), secret=st.binary(min_size=32, max_size=32),
       data=st.data())
def test_no_one_proves_both_answers_for_one_item(items: list[str], probe: bytes,
                                                  secret: bytes, data: st.DataObject) -> None:
    """Binding: whatever salt, bitmap and siblings a prover picks, a path leads to the root
    only with the true answer (the true path is the only one we know that leads there, and
    any edit of it leads elsewhere)."""
    tree = tree_of(secret, items)
    root = tree.root()
    item = data.draw(st.sampled_from(items)) if items and data.draw(st.booleans()) else (
        "sha256:" + hashlib.sha256(b"probe" + probe).hexdigest())
    honest = dataset.prove(tree, secret, item)
    honest.verify(root)
    flipped = DPath(item, NOT_IN, None, honest.bitmap, honest.siblings) if honest.salt else \
        DPath(item, IN, dataset.item_salt(secret, item.encode()), honest.bitmap, honest.siblings)
    with pytest.raises(VerificationError):
        flipped.verify(root)
    # Another bitmap, with the siblings it then names, cannot lead there either.
    bitmap = bytearray(honest.bitmap)
    d = data.draw(st.integers(0, 255))
    bitmap[d >> 3] ^= 0x80 >> (d & 7)
    count = sum(bin(b).count("1") for b in bitmap)
    siblings = tuple(data.draw(st.lists(st.binary(min_size=32, max_size=32),
                                        min_size=count, max_size=count)))
    for answer, salt in ((IN, dataset.item_salt(secret, item.encode())), (NOT_IN, None)):
        with pytest.raises(VerificationError):
            DPath(item, answer, salt, bytes(bitmap), siblings).verify(root)


def test_a_proof_holds_no_other_item_key_salt_or_leaf() -> None:
    c = CASES["random-100"]
    secret = bytes.fromhex(c["secret"])
    tree = tree_of(secret, c["items"])
    for asked in c["proofs"]:
        text = json.dumps(dataset.prove(tree, secret, asked["item"]).to_json())
        for other in c["items"]:
            if other == asked["item"]:
                continue
            raw = other.encode()
            for secret_part in (dataset.item_key(raw), dataset.item_salt(secret, raw),
                                dataset.leaf_hash(dataset.item_salt(secret, raw), raw)):
                assert secret_part.hex() not in text
                assert dataset.b64encode(secret_part) not in text
            assert other.removeprefix("sha256:") not in text


# -- encoding ----------------------------------------------------------------------------------

HASHES = st.binary(min_size=32, max_size=32)


@st.composite
def paths(draw: Any) -> DPath:
    bitmap = draw(st.binary(min_size=32, max_size=32))
    count = sum(bin(b).count("1") for b in bitmap)
    siblings = tuple(draw(st.lists(HASHES, min_size=count, max_size=count)))
    item = draw(st.one_of(
        HASHES.map(lambda h: "sha256:" + h.hex()),
        st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=10, max_size=40).map(
            lambda t: "ISCC:" + t)))
    salt = draw(st.one_of(st.none(), HASHES))
    return DPath(item, NOT_IN if salt is None else IN, salt, bitmap, siblings)


@settings(max_examples=100, deadline=None)
@given(paths())
def test_path_json_round_trip(p: DPath) -> None:
    assert DPath.from_json(json.loads(json.dumps(p.to_json()))) == p


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(item="sha256:ABC"), "not a sha256: content id"),
    (lambda d: d.update(item="SHA256:" + "a" * 64), "canonical"),
    (lambda d: d.update(answer="maybe"), "answer"),
    (lambda d: d.pop("salt"), "salt"),
    (lambda d: d.update(bitmap="AAAA"), "bitmap"),
    (lambda d: d.update(siblings=d["siblings"][1:]), "siblings"),
    (lambda d: d.update(siblings=["x"] * 300), "at most 256"),
    (lambda d: d.update(extra=1), "unknown field"),
    (lambda d: d.update(salt="not base64!"), "salt"),
])
def test_malformed_paths_are_refused_with_a_reason(change: Any, message: str) -> None:
    proof = json.loads(json.dumps(CASES["small"]["proofs"][0]))
    assert proof["answer"] == IN
    change(proof)
    with pytest.raises(MalformedError, match=message):
        DPath.from_json(proof)


def test_canonical_item_accepts_any_case_and_refuses_the_rest() -> None:
    h = "ab" * 32
    assert dataset.canonical_item("SHA256:" + h.upper()) == "sha256:" + h
    assert dataset.canonical_item("iscc:kacypxw445ftynj3") == "ISCC:KACYPXW445FTYNJ3"
    for bad in ("sha256:" + h[:-1], h, "ISCC:1111111111", "ISCC:short", "md5:" + h[:32]):
        assert dataset.canonical_item(bad) is None


def test_entries_count_an_item_listed_twice_once() -> None:
    items = CASES["small"]["items"]
    secret = bytes.fromhex(CASES["small"]["secret"])
    assert tree_of(secret, items + items[:2]).root().hex() == CASES["small"]["root"]


def test_entries_refuse_an_item_that_is_not_canonical() -> None:
    with pytest.raises(LedgerError):
        dataset.entries(b"s" * 32, ["sha256:" + "A" * 64])

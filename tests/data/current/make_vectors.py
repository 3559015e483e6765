"""Write tests/data/current/vectors.json: known answers for state receipts v2 and decision
receipts (specs/receipts.md sections 11-13).

Run from the repository root: ``python tests/data/current/make_vectors.py``. A small log is
built in memory from deterministic keys (Ed25519 signatures are deterministic, so every run
writes the same bytes): real signed events, RFC 9162 inclusion proofs computed here by the
recursion of RFC 9162 section 2.1.3 (not the store's plans), a verifiable map
(``core/vmap.py``), checkpoints signed with block and map lines, and cosignatures of two
witnesses. The story:

- block 1 registers the works A, B and C and grants the developer's key consent to
  ``ai_training`` on A; checkpoint 1 (size 4) is cosigned by both witnesses;
- block 2 revokes that grant and grants anyone ``data_mining`` on B; checkpoint 2 (size 6).

The cases are the decision receipts "granted" (checkpoint 1), "revoked" and "unregistered"
(checkpoint 2), a state receipt v2 for A, B, C and the unregistered work U (checkpoint 2), and
tampered copies, each with what a verifier must find. The tests (tests/core/test_current.py)
also import :class:`TinyLog` and :func:`build_story` from here to build logs of their own.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT / "src") not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT / "src"))

from provenance_ledger.core.crypto import PrivateKey  # noqa: E402
from provenance_ledger.core.current import (  # noqa: E402
    build_decision_receipt,
    build_state_receipt_v2,
)
from provenance_ledger.core.events import Event, SignedEvent, sign_event  # noqa: E402
from provenance_ledger.core.merkle import leaf_hash, node_hash  # noqa: E402
from provenance_ledger.core.note import (  # noqa: E402
    BlockLine,
    Checkpoint,
    NoteSigner,
    SignedNote,
)
from provenance_ledger.core.vmap import MapValue, MemoryMap, map_key, prove  # noqa: E402

OUT = Path(__file__).resolve().parent / "vectors.json"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z: the story's first event
ORIGIN = "current.example/log"


def key(name: str) -> PrivateKey:
    """The same Ed25519 key for the same name, in every run."""
    return PrivateKey.from_seed(hashlib.sha256(b"current vectors " + name.encode()).digest())


def work_of(name: str) -> str:
    return "sha256:" + hashlib.sha256(f"content of work {name}".encode()).hexdigest()


def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def mth(hashes: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.1 over leaf hashes (n >= 1)."""
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def path(m: int, hashes: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 section 2.1.3.1, nearest the leaf first."""
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if m < k:
        return path(m, hashes[:k]) + [mth(hashes[k:])]
    return path(m - k, hashes[k:]) + [mth(hashes[:k])]


@dataclass
class TinyLog:
    """A log in memory that signs checkpoints with block and map lines, as the ledger does."""

    signer: NoteSigner = field(default_factory=lambda: NoteSigner(ORIGIN, key("log")))
    leaves: list[bytes] = field(default_factory=list)
    works: dict[str, list[int]] = field(default_factory=dict)  # work -> its leaf indexes
    map: MemoryMap = field(default_factory=MemoryMap)
    notes: dict[int, str] = field(default_factory=dict)  # size -> signed checkpoint note
    maps: dict[int, MemoryMap] = field(default_factory=dict)  # size -> the map at that size

    @property
    def vkey(self) -> str:
        return self.signer.verifier.to_vkey()

    def append_block(self, events: list[SignedEvent], at: int) -> str:
        """Append the events as one block, sign the checkpoint and return its note."""
        prev = len(self.leaves) if self.notes else None
        changes: dict[bytes, bytes] = {}
        for ev in events:
            self.works.setdefault(ev.event.work, []).append(len(self.leaves))
            self.leaves.append(ev.leaf)
            idx = self.works[ev.event.work]
            changes[map_key(ev.event.work)] = MapValue(
                bytes.fromhex(ev.id), len(idx), idx[-1]).to_bytes()
        root = self.map.apply(changes)
        snapshot = MemoryMap()
        snapshot.nodes, snapshot.root = dict(self.map.nodes), root
        size = len(self.leaves)
        self.maps[size] = snapshot
        cp = Checkpoint(ORIGIN, size, mth([leaf_hash(x) for x in self.leaves]),
                        BlockLine(prev, at), root)
        text = cp.to_text()
        self.notes[size] = SignedNote(text, (self.signer.sign(text),)).to_text()
        return self.notes[size]

    def events_of(self, work: str, size: int) -> list[tuple[int, bytes, list[bytes]]]:
        """The work's events up to ``size``, each with its inclusion proof at ``size``."""
        hashes = [leaf_hash(x) for x in self.leaves[:size]]
        return [(i, self.leaves[i], path(i, hashes))
                for i in self.works.get(work, []) if i < size]

    def map_proof(self, works: list[str], size: int) -> bytes:
        return prove(self.maps[size], [map_key(w) for w in works])

    def state_receipt(self, works: list[str], size: int, note: str | None = None,
                      decoded: bool = True) -> dict[str, Any]:
        sr = build_state_receipt_v2(self.vkey, note or self.notes[size],
                                    self.map_proof(works, size),
                                    [(w, self.events_of(w, size)) for w in works])
        return sr.to_json(decoded)

    def decision_receipt(self, work: str, size: int, who: str, purpose: str, at: int,
                         note: str | None = None) -> dict[str, Any]:
        dr = build_decision_receipt(self.vkey, note or self.notes[size],
                                    self.map_proof([work], size), work,
                                    self.events_of(work, size), who, purpose, at)
        return dr.to_json()


def cosign(note: str, witness: NoteSigner, at: int) -> str:
    """The note with one more cosignature/v1 line, by ``witness`` at time ``at``."""
    signed = SignedNote.from_text(note)
    return signed.with_signatures([witness.sign(signed.text, at)]).to_text()


@dataclass
class Story:
    log: TinyLog
    witnesses: dict[str, NoteSigner]
    creator: PrivateKey
    developer: PrivateKey
    grant_id: str
    revoke_id: str
    sizes: tuple[int, int]
    times: tuple[int, int]  # block times of checkpoints 1 and 2


def _ev(k: PrivateKey, type_: str, work: str, body: dict[str, Any], prev: str | None,
        at: int) -> SignedEvent:
    return sign_event(Event(type_, work, prev, k.public.text, at, body), k)


def build_story(t0: int = T0, cosigned: tuple[int, int] | None = None,
                gap: int = 3600) -> Story:
    """The story of the module docstring, starting at ``t0``; block 2 comes ``gap`` seconds
    after block 1. Checkpoint ``n`` is cosigned by w1 and w2 at ``cosigned[n-1]`` and 5 s
    later (default: 60 s after its block)."""
    log = TinyLog()
    creator, developer = key("creator"), key("developer")
    w = {"w1": NoteSigner("witness.example/w1", key("w1"), cosigner=True),
         "w2": NoteSigner("witness.example/w2", key("w2"), cosigner=True)}
    a, b, c = work_of("A"), work_of("B"), work_of("C")
    reg = {name: _ev(creator, "work.register", work, {"size": 100 + i, "media_type": "image/png",
                                                        "title": f"Work {name}"}, None, t0)
           for i, (name, work) in enumerate((("A", a), ("B", b), ("C", c)))}
    grant = _ev(creator, "consent.grant", a, {"grantee": developer.public.text,
                                              "purposes": ["ai_training"]},
                reg["A"].id, t0 + 60)
    t1 = t0 + 90
    log.append_block([reg["A"], reg["B"], reg["C"], grant], t1)
    t2 = t1 + gap
    revoke = _ev(creator, "consent.revoke", a, {"grant": grant.id}, grant.id, t2 - 30)
    open_b = _ev(creator, "consent.grant", b, {"grantee": "*", "purposes": ["data_mining"]},
                 reg["B"].id, t2 - 20)
    log.append_block([revoke, open_b], t2)
    times = cosigned or (t1 + 60, t2 + 60)
    for size, at in zip((4, 6), times, strict=True):
        note = cosign(log.notes[size], w["w1"], at)
        log.notes[size] = cosign(note, w["w2"], at + 5)
    return Story(log, w, creator, developer, grant.id, revoke.id, (4, 6), (t1, t2))


def _replace_map_line(note: str, other_note: str) -> str:
    """``note`` with its map line replaced by that of ``other_note``, signatures kept."""
    line = next(x for x in other_note.split("\n") if x.startswith("provenance-ledger/map "))
    return "\n".join(line if x.startswith("provenance-ledger/map ") else x
                     for x in note.split("\n"))


def cases() -> dict[str, Any]:
    s = build_story()
    log = s.log
    dev = s.developer.public.text
    a, b, c, u = work_of("A"), work_of("B"), work_of("C"), work_of("U")
    s1, s2 = s.sizes
    t1, t2 = s.times
    out: list[dict[str, Any]] = []

    def good(name: str, what: str, receipt: dict[str, Any], expect: dict[str, Any]) -> None:
        out.append({"name": name, "what": what, "receipt": receipt,
                    "expect": {"valid": True, **expect}})

    def bad(name: str, what: str, receipt: dict[str, Any], error: str) -> None:
        out.append({"name": name, "what": what, "receipt": receipt,
                    "expect": {"valid": False, "error": error}})

    cos1 = {"w1": t1 + 60, "w2": t1 + 65}
    cos2 = {"w1": t2 + 60, "w2": t2 + 65}
    good("granted", "decision at checkpoint 1: the grant to the developer is in force",
         log.decision_receipt(a, s1, dev, "ai_training", t1),
         {"tree_size": s1, "cosigners": cos1, "registered": True, "allowed": True,
          "events": [s.grant_id]})
    revoked = log.decision_receipt(a, s2, dev, "ai_training", t2)
    good("revoked", "decision at checkpoint 2: the grant was revoked",
         revoked, {"tree_size": s2, "cosigners": cos2, "registered": True, "allowed": False,
                   "events": [s.grant_id]})
    good("unregistered", "decision about a work the log never held: absence proof",
         log.decision_receipt(u, s2, dev, "ai_training", t2),
         {"tree_size": s2, "cosigners": cos2, "registered": False, "allowed": False,
          "events": []})
    batch = log.state_receipt([a, b, u, c], s2)
    good("batch", "state receipt v2 of four works, one of them absent, one multiproof",
         batch, {"tree_size": s2, "cosigners": cos2,
                 "works": [{"work": w, "registered": w != u,
                            "events": len(log.events_of(w, s2))} for w in (a, b, u, c)]})
    good("batch-undecoded", "the same without the members written for people",
         log.state_receipt([a, b, u, c], s2, decoded=False),
         {"tree_size": s2, "cosigners": cos2,
          "works": [{"work": w, "registered": w != u,
                     "events": len(log.events_of(w, s2))} for w in (a, b, u, c)]})

    def tamper(receipt: dict[str, Any], change: Any) -> dict[str, Any]:
        copy = json.loads(json.dumps(receipt))
        change(copy)
        return copy

    sr = "state_receipt"
    bad("omitted-last-event", "the revocation (the last event) is left out",
        tamper(revoked, lambda r: (r[sr]["works"][0]["events"].pop(),
                                   r[sr]["works"][0].pop("state"), r.pop("decision"))),
        "left out")
    bad("dropped-middle-event", "the grant is dropped from the middle of the history",
        tamper(revoked, lambda r: (r[sr]["works"][0]["events"].pop(1),
                                   r[sr]["works"][0].pop("state"), r.pop("decision"))),
        "breaks the rules")
    old_proof = log.map_proof([a], s1)
    bad("wrong-map-proof", "the map proof of checkpoint 1 with the checkpoint of size 6",
        tamper(revoked, lambda r: r[sr].__setitem__(
            "map_proof", base64.b64encode(old_proof).decode())),
        "map proof")
    bad("map-line-edited", "checkpoint 2 with the map line of checkpoint 1",
        tamper(revoked, lambda r: r[sr].__setitem__(
            "checkpoint", _replace_map_line(log.notes[s2], log.notes[s1]))),
        "does not verify")
    other = log.events_of(b, s2)
    bad("events-of-another-work", "the unregistered work's entry carries B's events",
        tamper(log.decision_receipt(u, s2, dev, "ai_training", t2),
               lambda r: r[sr]["works"][0].__setitem__(
                   "events", [{"leaf_index": i, "leaf": base64.b64encode(x)
                               .decode(), "inclusion_proof": [
                                   base64.b64encode(h).decode() for h in p]}
                              for i, x, p in other])),
        "absent")
    bad("decision-edited", "the informative decision says allowed after the revocation",
        tamper(revoked, lambda r: r["decision"].__setitem__("allowed", True)),
        "not what the rules give")
    bad("no-map-line", "a checkpoint without a map line proves no current state",
        _without_map_line(s), "no map line")
    return {"format": "provenance-ledger/current-vectors/v1",
            "log_key": log.vkey,
            "witnesses": {n: w.verifier.to_vkey() for n, w in s.witnesses.items()},
            "cases": out}


def _without_map_line(s: Story) -> dict[str, Any]:
    """A decision receipt whose checkpoint (of the same log key) has no map line: refused."""
    log = s.log
    note = SignedNote.from_text(log.notes[4])
    cp = Checkpoint.from_text(note.text)
    text = Checkpoint(cp.origin, cp.size, cp.root, cp.block).to_text()
    bare = SignedNote(text, (log.signer.sign(text),)).to_text()
    receipt = log.decision_receipt(work_of("A"), 4, s.developer.public.text, "ai_training",
                                   s.times[0])
    receipt["state_receipt"]["checkpoint"] = bare
    return receipt


def text() -> str:
    return json.dumps(cases(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(text())
    print(f"wrote {OUT}")

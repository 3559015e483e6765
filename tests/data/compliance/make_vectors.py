"""Write tests/data/compliance/vectors.json: known answers for compliance receipts
(specs/receipts.md section 14).

Run from the repository root: ``python tests/data/compliance/make_vectors.py``. The log is the
one of tests/data/current/make_vectors.py (imported from there: deterministic keys, real
signed events, RFC 9162 proofs computed by recursion, the map of ``core/vmap.py``, two
witnesses' cosignatures), so every run writes the same bytes. Its story:

- checkpoint 1 (size 4): works A, B and C registered by the creator; the developer's key has
  consent to ``ai_training`` on A;
- checkpoint 2 (size 6): that consent revoked; anyone may use B for ``data_mining``.

The good cases are a dataset of five items (A twice, B, C and the never registered U) asked
about at each checkpoint; the bad ones are copies of the first, tampered, each with a word of
the reason a verifier must give.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
if str(ROOT / "src") not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT / "src"))

from provenance_ledger.core.compliance import build_compliance_receipt  # noqa: E402
from provenance_ledger.core.current import Question, StateReceiptV2  # noqa: E402

OUT = HERE / "vectors.json"


def current_generator() -> ModuleType:
    """tests/data/current/make_vectors.py, whose log and story these vectors reuse."""
    name = "current_make_vectors"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE.parent / "current" /
                                                  "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


gen = current_generator()

ITEMS = (("images/a.png", "A"), ("images/b.png", "B"), ("images/u.png", "U"),
         ("images/a-copy.png", "A"), ("sha256 of C", "C"))
"""The dataset: (item name, the work it names)."""


def receipt(story: Any, size: int, purpose: str, at: int,
            items: tuple[tuple[str, str], ...] = ITEMS) -> dict[str, Any]:
    """The compliance receipt of ``items`` at checkpoint ``size`` for the developer's key."""
    log = story.log
    named = [(name, gen.work_of(w)) for name, w in items]
    works = list(dict.fromkeys(w for _, w in named))
    sr = StateReceiptV2.from_json(log.state_receipt(works, size, decoded=False))
    q = Question(story.developer.public.text, purpose, at)
    return build_compliance_receipt(q, named, sr).to_json()


def cases() -> dict[str, Any]:
    s = gen.build_story()
    s1, s2 = s.sizes
    t1, t2 = s.times
    out: list[dict[str, Any]] = []
    cos1 = {"w1": t1 + 60, "w2": t1 + 65}
    cos2 = {"w1": t2 + 60, "w2": t2 + 65}

    def good(name: str, what: str, r: dict[str, Any], expect: dict[str, Any]) -> None:
        out.append({"name": name, "what": what, "receipt": r, "expect": {"valid": True,
                                                                          **expect}})

    def bad(name: str, what: str, r: dict[str, Any], error: str) -> None:
        out.append({"name": name, "what": what, "receipt": r,
                    "expect": {"valid": False, "error": error}})

    first = receipt(s, s1, "ai_training", t1)
    good("ai-training-at-1", "checkpoint 1: A allowed twice (the consent), B and C not "
         "(default deny), U not registered", first,
         {"tree_size": s1, "cosigners": cos1,
          "outcomes": ["allowed", "not allowed", "unregistered", "allowed", "not allowed"],
          "summary": {"items": 5, "allowed": 2, "not_allowed": 2, "unregistered": 1}})
    good("data-mining-at-2", "checkpoint 2: B allowed (anyone, data_mining), A and C not, U "
         "not registered", receipt(s, s2, "data_mining", t2),
         {"tree_size": s2, "cosigners": cos2,
          "outcomes": ["not allowed", "allowed", "unregistered", "not allowed",
                       "not allowed"],
          "summary": {"items": 5, "allowed": 1, "not_allowed": 3, "unregistered": 1}})
    good("ai-training-at-2", "checkpoint 2: the consent on A was revoked: nothing allowed",
         receipt(s, s2, "ai_training", t2),
         {"tree_size": s2, "cosigners": cos2,
          "outcomes": ["not allowed", "not allowed", "unregistered", "not allowed",
                       "not allowed"],
          "summary": {"items": 5, "allowed": 0, "not_allowed": 4, "unregistered": 1}})

    def tamper(change: Any) -> dict[str, Any]:
        copy = json.loads(json.dumps(first))
        change(copy)
        return copy

    bad("decision-edited", "item b.png's informative decision says allowed",
        tamper(lambda r: r["items"][1]["decision"].__setitem__("allowed", True)),
        "not what the rules give")
    bad("summary-edited", "the summary counts one more allowed item",
        tamper(lambda r: r["summary"].update(allowed=3, not_allowed=1)), "summary")
    bad("item-dropped", "the only item naming C is dropped, its state kept",
        tamper(lambda r: r["items"].pop()), "dropped")
    bad("work-dropped", "C's state is dropped from the state receipt, its item kept",
        tamper(lambda r: r["state_receipt"]["works"].pop()), "dropped")
    bad("item-work-swapped", "item b.png names C instead of B",
        tamper(lambda r: r["items"][1].__setitem__("work", gen.work_of("C"))), "dropped")
    bad("purpose-changed", "the question's purpose changed, the decisions kept",
        tamper(lambda r: r["question"].__setitem__("purpose", "data_mining")),
        "not what the rules give")
    bad("scope-edited", "the scope claims the items are the whole dataset",
        tamper(lambda r: r.__setitem__("scope", "proves the dataset is clean")), "scope")

    def flip(r: dict[str, Any]) -> None:
        proof = bytearray(base64.b64decode(r["state_receipt"]["map_proof"]))
        proof[len(proof) // 2] ^= 0x01
        r["state_receipt"]["map_proof"] = base64.b64encode(bytes(proof)).decode()

    bad("map-proof-bit-flip", "one bit of the map multiproof flipped", tamper(flip),
        "map proof")
    later = receipt(s, s2, "ai_training", t1)
    bad("proof-of-checkpoint-2-with-checkpoint-1", "the map proof of checkpoint 2 with the "
        "note of checkpoint 1", tamper(lambda r: r["state_receipt"].__setitem__(
            "map_proof", later["state_receipt"]["map_proof"])), "map proof")
    return {"format": "provenance-ledger/compliance-vectors/v1",
            "log_key": s.log.vkey,
            "witnesses": {n: w.verifier.to_vkey() for n, w in s.witnesses.items()},
            "cases": out}


def text() -> str:
    return json.dumps(cases(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(text())
    print(f"wrote {OUT}")

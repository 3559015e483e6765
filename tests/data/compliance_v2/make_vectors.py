"""Write tests/data/compliance_v2/vectors.json: known answers for compliance receipts v2
(specs/receipts.md section 14.3: the trust policy and the key records).

Run from the repository root: ``python tests/data/compliance_v2/make_vectors.py``. The log is
a TinyLog of tests/data/current/make_vectors.py (deterministic keys, real signed events, RFC
9162 proofs, the map of ``core/vmap.py``), so every run writes the same bytes. Its story, one
block at T0 + 90:

- a squatter registers S (a copy of the member's page) and grants anyone ``ai_training``;
- the member registers M and grants anyone ``ai_training``;
- the guild attests the member's key (``Mika Sato``, member 1042).

The dataset is S, M and the never registered U, asked by the developer's key for
``ai_training`` at the block's time.
"""

from __future__ import annotations

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

from provenance_ledger.core.compliance import Trust, build_compliance_receipt  # noqa: E402
from provenance_ledger.core.current import Question, StateReceiptV2  # noqa: E402
from provenance_ledger.core.identity import key_record_id  # noqa: E402

OUT = HERE / "vectors.json"


def current_generator() -> ModuleType:
    """tests/data/current/make_vectors.py, whose TinyLog and keys these vectors reuse."""
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
T0 = gen.T0
GUILD, MEMBER, SQUATTER, DEVELOPER = (gen.key(n) for n in ("guild", "member", "squatter",
                                                           "developer"))
S, M, U = gen.work_of("S"), gen.work_of("M"), gen.work_of("U")
ITEMS = (("pages/copy.png", S), ("pages/own.png", M), ("pages/new.png", U))


def build_log() -> Any:
    log = gen.TinyLog()
    ev = gen._ev
    reg_s = ev(SQUATTER, "work.register", S, {"size": 10, "media_type": "image/png"}, None, T0)
    reg_m = ev(MEMBER, "work.register", M, {"size": 11, "media_type": "image/png"}, None, T0)
    anyone = {"grantee": "*", "purposes": ["ai_training"]}
    grant_s = ev(SQUATTER, "consent.grant", S, anyone, reg_s.id, T0 + 30)
    grant_m = ev(MEMBER, "consent.grant", M, anyone, reg_m.id, T0 + 30)
    rid = key_record_id(MEMBER.public.text)
    attest = ev(GUILD, "identity.attest", rid, {"key": MEMBER.public.text, "name": "Mika Sato",
                                                "member": "1042"}, None, T0 + 60)
    log.append_block([reg_s, reg_m, grant_s, grant_m, attest], T0 + 90)
    return log


def receipt(log: Any, trust: Trust, leave_out: str | None = None) -> dict[str, Any]:
    """The v2 receipt of ITEMS: the works, then the records of the squatter's and the
    member's keys (the keys that controlled S and M), but ``leave_out``."""
    works = [S, M, U]
    records = [key_record_id(k.public.text) for k in (SQUATTER, MEMBER)]
    listed = works + [r for r in records if r != leave_out]
    sr = StateReceiptV2.from_json(log.state_receipt(listed, 5, decoded=False))
    q = Question(DEVELOPER.public.text, "ai_training", T0 + 90)
    return build_compliance_receipt(q, list(ITEMS), sr, trust).to_json()


def cases() -> dict[str, Any]:
    log = build_log()
    out: list[dict[str, Any]] = []
    guild = GUILD.public.text
    required = receipt(log, Trust(True, (guild,)))

    def good(name: str, what: str, r: dict[str, Any], outcomes: list[str],
             reasons: list[str]) -> None:
        out.append({"name": name, "what": what, "receipt": r,
                    "expect": {"valid": True, "outcomes": outcomes, "reasons": reasons}})

    def bad(name: str, what: str, r: dict[str, Any], error: str) -> None:
        out.append({"name": name, "what": what, "receipt": r,
                    "expect": {"valid": False, "error": error}})

    def tamper(change: Any) -> dict[str, Any]:
        copy = json.loads(json.dumps(required))
        change(copy)
        return copy

    squatted = (f"consent granted to anyone for ai_training, but the key that granted it "
                f"({SQUATTER.public.text}) is not attested by anyone (--require-attested)")
    good("require-attested", "the squatter's grant on S is not allowed, the attested member's "
         "grant on M is, U is not registered", required,
         ["not allowed", "allowed", "unregistered"],
         [squatted, "consent granted to anyone for ai_training",
          "the work is not registered on this ledger"])
    good("not-required", "the same trust without --require-attested: both grants allowed",
         receipt(log, Trust(False, (guild,))), ["allowed", "allowed", "unregistered"],
         ["consent granted to anyone for ai_training"] * 2
         + ["the work is not registered on this ledger"])
    bad("requirement-dropped", "trust.require_attested set to false, the decisions kept",
        tamper(lambda r: r["trust"].__setitem__("require_attested", False)),
        "not what the rules give")
    bad("attester-swapped", "the squatter named as the trusted attester, the decisions kept",
        tamper(lambda r: r["trust"].__setitem__("attesters", [SQUATTER.public.text])),
        "not what the rules give")
    bad("granted-by-edited", "the squatter's key said to be attested by a trusted attester",
        tamper(lambda r: r["items"][0]["granted_by"].__setitem__("trusted", True)),
        "granted_by")
    bad("key-record-left-out", "the member's key record not listed (a revocation or a "
        "compromise of it could be hidden)",
        receipt(log, Trust(True, (guild,)), key_record_id(MEMBER.public.text)),
        "does not list the key record")
    bad("trust-missing", "a v2 receipt without its trust member",
        tamper(lambda r: r.pop("trust")), "trust")
    return {"format": "provenance-ledger/compliance-vectors/v2", "log_key": log.vkey,
            "cases": out}


def text() -> str:
    return json.dumps(cases(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(text())

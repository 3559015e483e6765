"""An outsider's check of decision receipts, the second half of test_outsider_decision.py (in
a file of its own so that pytest-xdist's ``--dist loadscope`` can run the two on different
workers): tampered copies of the receipts the real CLI writes, an edited reason among them,
must be refused by both tests/outsider/verifier.py and `provenance verify --json`, and
witness cosignatures under a quorum policy give both the same verdict and statement.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.outsider import verifier as v
from tests.outsider.test_outsider_decision import CASES, Home, both, cli_verify, mine


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """The four decisions and the state receipt of test_outsider_decision.py, made again."""
    return Home(tmp_path_factory.mktemp("outsider-tamper"))


# ------------------------------------------------------------------ tampering

def flip_b64(text: str, byte: int, bit: int = 0) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[byte % len(raw)] ^= 1 << bit
    return base64.b64encode(bytes(raw)).decode()


def _work(r: dict[str, Any]) -> dict[str, Any]:
    return r["state_receipt"]["works"][0]  # type: ignore[no-any-return]


def t_map_proof(r: dict[str, Any], i: int) -> None:
    r["state_receipt"]["map_proof"] = flip_b64(r["state_receipt"]["map_proof"], i)


def t_inclusion(r: dict[str, Any], i: int) -> None:
    e = _work(r)["events"][0]
    e["inclusion_proof"][0] = flip_b64(e["inclusion_proof"][0], i)


def t_note_text(r: dict[str, Any], i: int) -> None:
    note = r["state_receipt"]["checkpoint"]
    lines = note.split("\n")
    lines[2] = flip_b64(lines[2], i)  # the root hash line
    r["state_receipt"]["checkpoint"] = "\n".join(lines)


def t_note_map_line(r: dict[str, Any], i: int) -> None:
    note = r["state_receipt"]["checkpoint"]
    lines = note.split("\n")
    pre = "provenance-ledger/map root="
    lines[4] = pre + flip_b64(lines[4][len(pre):], i)
    r["state_receipt"]["checkpoint"] = "\n".join(lines)


def t_note_sig(r: dict[str, Any], i: int) -> None:
    note = r["state_receipt"]["checkpoint"]
    text, sigline = note[: note.rfind("\n\n") + 2], note[note.rfind("\n\n") + 2:]
    head, s64 = sigline.rstrip("\n").rsplit(" ", 1)
    r["state_receipt"]["checkpoint"] = text + head + " " + flip_b64(s64, 4 + i) + "\n"


def t_event_leaf(r: dict[str, Any], i: int) -> None:
    """A bit of the last event's leaf; the informative `event` is taken out so that only the
    signature (or strict parsing) can catch it."""
    e = _work(r)["events"][-1]
    e.pop("event", None)
    e["leaf"] = flip_b64(e["leaf"], 60 + i)


def t_event_sig(r: dict[str, Any], i: int) -> None:
    e = _work(r)["events"][-1]
    leaf = base64.b64decode(e["leaf"])
    obj = json.loads(leaf)
    obj["sig"] = flip_b64(obj["sig"], i)
    e["leaf"] = base64.b64encode(
        json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).decode()
    e.pop("event", None)


def t_drop_last_event(r: dict[str, Any], i: int) -> None:
    _work(r)["events"].pop()
    _work(r).pop("state", None)


def t_decision_flag(r: dict[str, Any], i: int) -> None:
    r["decision"]["allowed"] = not r["decision"]["allowed"]


TAMPERS = {
    "map_proof": t_map_proof, "inclusion_proof": t_inclusion, "note_root": t_note_text,
    "note_map_line": t_note_map_line, "note_signature": t_note_sig, "event_leaf": t_event_leaf,
    "event_signature": t_event_sig, "dropped_last_event": t_drop_last_event,
    "decision_member": t_decision_flag,
}


NO_EVENTS = {"inclusion_proof", "event_leaf", "event_signature", "dropped_last_event"}


@pytest.mark.parametrize(("case", "tamper"), [
    (c, t) for c in ("allowed", "revoked", "absent") for t in sorted(TAMPERS)
    if not (c == "absent" and t in NO_EVENTS)  # an absent work has no events to tamper with
])
def test_tampered_receipts_are_refused_by_both(
    home: Home, tmp_path: Path, case: str, tamper: str
) -> None:
    r = json.loads(home.path(case).read_bytes())
    for i in (0, 7, 13):
        t = copy.deepcopy(r)
        TAMPERS[tamper](t, i)
        data = json.dumps(t, ensure_ascii=False, indent=2).encode()
        with pytest.raises(v.Invalid):
            mine(home, data)
        f = tmp_path / f"{tamper}-{i}.json"
        f.write_bytes(data)
        code, theirs, out = cli_verify(home, f)
        assert code == 1, f"{tamper} {i}: provenance verify accepted it: {out}"


def test_a_map_proof_bit_flip_at_every_byte_is_refused(home: Home) -> None:
    """Every byte of the map proof matters to our verifier (the CLI is checked on samples
    above, one subprocess each)."""
    r = json.loads(home.path("allowed").read_bytes())
    n = len(base64.b64decode(r["state_receipt"]["map_proof"]))
    for i in range(n):
        for bit in (0, 7):
            t = copy.deepcopy(r)
            t["state_receipt"]["map_proof"] = flip_b64(t["state_receipt"]["map_proof"], i, bit)
            with pytest.raises(v.Invalid):
                mine(home, json.dumps(t).encode())


def test_unknown_and_duplicate_members_are_refused(home: Home, tmp_path: Path) -> None:
    text = home.path("allowed").read_text(encoding="utf-8")
    dup = text.replace('"format": "provenance-ledger/decision-receipt/v1",',
                       '"format": "provenance-ledger/decision-receipt/v1",\n'
                       '  "format": "provenance-ledger/decision-receipt/v1",', 1)
    r = json.loads(text)
    r["state_receipt"]["works"][0]["note"] = "x"
    for data in (dup.encode(), json.dumps(r).encode()):
        with pytest.raises(v.Invalid):
            mine(home, data)
        f = tmp_path / "bad.json"
        f.write_bytes(data)
        assert cli_verify(home, f)[0] == 1


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_edited_reason_is_refused_by_both(home: Home, tmp_path: Path, case: str) -> None:
    """receipts.md 12.1 step 3: `decision.reason` is re-derived from rules.md 5.2 and compared
    byte for byte (FINDINGS.md F2, F19): a space added, a word changed, another answer's
    reason put in its place."""
    r = json.loads(home.path(case).read_bytes())
    reason = r["decision"]["reason"]
    others = {json.loads(home.path(c).read_bytes())["decision"]["reason"] for c in CASES}
    edits = [reason + " ", reason.upper(), reason.replace("the", "a", 1) + "!",
             *sorted(others - {reason})]
    for i, edit in enumerate(edits):
        t = copy.deepcopy(r)
        t["decision"]["reason"] = edit
        assert both(home, t, tmp_path / f"reason-{i}.json") == (False, False), edit


def witness(seed: int, name: str) -> tuple[Ed25519PrivateKey, str]:
    sk = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
    pub = sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    kid = v.compute_key_id(name, 4, pub)
    return sk, f"{name}+{kid.hex()}+{base64.b64encode(bytes([4]) + pub).decode()}"


def cosign(sk: Ed25519PrivateKey, vkey: str, note: str, ts: int) -> str:
    text = note[: note.rfind("\n\n") + 1]
    name, kid_hex, _ = vkey.split("+", 2)
    sig = sk.sign(b"cosignature/v1\ntime " + str(ts).encode() + b"\n" + text.encode())
    payload = bytes.fromhex(kid_hex) + ts.to_bytes(8, "big") + sig
    return f"\u2014 {name} {base64.b64encode(payload).decode()}\n"


@pytest.mark.parametrize(("times", "group"), [
    ({"zeta": 1_900_000_000, "alpha": 1_900_000_000}, "all"),
    ({"zeta": 1_900_000_100, "alpha": 1_900_000_000}, "all"),
    ({"zeta": 1_900_000_100, "alpha": 1_900_000_000, "mid": 1_900_000_100}, "2"),
    ({"zeta": 1_900_000_100, "alpha": 1_900_000_000}, "1"),
    ({"zeta": 253_402_300_799}, "1"),
    ({"zeta": 253_402_300_800}, "1"),  # after 9999-12-31T23:59:59Z: counts for nothing
])
def test_witness_quorum_and_statement_agree(
    home: Home, tmp_path: Path, times: dict[str, int], group: str
) -> None:
    """receipts.md 3 step 2, 4 and 12.1 "The words" (FINDINGS.md F4, F12)."""
    r = json.loads(home.path("allowed").read_bytes())
    note = r["state_receipt"]["checkpoint"]
    lines, ws, policy = "", [], f"log {home.log_key}\n"
    for i, (local, ts) in enumerate(times.items()):
        sk, vkey = witness(20 + i, f"{local}.witness.example")
        lines += cosign(sk, vkey, note, ts)
        ws.append((local, v.parse_vkey(vkey)))
        policy += f"witness {local} {vkey}\n"
    policy += f"group g {group} {' '.join(times)}\nquorum g\n"
    r["state_receipt"]["checkpoint"] = note + lines
    f = tmp_path / "cosigned.json"
    f.write_text(json.dumps(r, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "policy").write_text(policy)
    k = len(times) if group == "all" else int(group)
    code, theirs, out = cli_verify(home, f, "--policy", str(tmp_path / "policy"))
    if 253_402_300_800 in times.values():
        with pytest.raises(v.Invalid):
            v.verify_decision_receipt(f.read_bytes(), [v.parse_vkey(home.log_key)], ws,
                                      (k, list(times)))
        assert code == 1, out
        return
    ours = v.verify_decision_receipt(f.read_bytes(), [v.parse_vkey(home.log_key)], ws,
                                     (k, list(times)))
    assert code == 0 and theirs is not None, out
    assert {n: v.fmt_time(t) for n, t in ours.result.cosigners.items()} == theirs["cosigners"]
    assert ours.statement == theirs["statement"]

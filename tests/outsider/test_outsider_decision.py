"""An outsider's check of decision receipts: tests/outsider/verifier.py (written from specs/
only) against `provenance verify --json`, on receipts the real CLI writes in a throwaway home.

Known answers from the specs (map.md 9, checkpoints.md 7, receipts.md 9, events.md 6.13) pin
the verifier's primitives first; then four real decisions (allowed, no consent, revoked,
never registered) and a state receipt v2 are compared verdict for verdict, each reason derived
from rules.md 5.2 and compared byte for byte; edited copies must be refused by both, and the
earlier words receipts.md 12.1 step 3 keeps accepted by both. Tampered copies (an edited reason
among them) and witness quorums are in test_outsider_tamper.py, so that pytest-xdist's
``--dist loadscope`` can run the two halves on different workers.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from provenance_ledger.cli.session import Session
from tests.inproc import given
from tests.outsider import verifier as v

PROVENANCE = str(Path(sys.executable).with_name("provenance"))


# ------------------------------------------------------------------ known answers from specs/

def h(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", "").replace("\n", ""))


K0 = h("00" + "11" * 31)
K1 = h("01" + "22" * 31)
K2 = h("80" + "33" * 31)
K3 = h("ff" + "44" * 31)
MAP_ROOT_92 = h("9ae10b042128fdb946228b7a78378c9380f219f49327fd778d3e4cc75f86e148")


def test_map_known_answers_of_map_md_9_2() -> None:
    v0 = h("0cda78508f9ce2b0d75482c4efbbb59e2509a991ee61d9c8be3cd8c30d3f02bd"
           "0000000000000001 0000000000000000")
    proof_k0 = h("00000001 01 0008") + v0 + h(
        "81 7047ba380d1297d5ba493d01a812ad0ad5705d886ae3cf0493577c37f7b67585"
        "5d41dc5ca18e0484a962c21b1e356feee6e7f22b8b5bb47397d2a96f9a4cfa5e")
    got = v.verify_map_proof(MAP_ROOT_92, [K0], proof_k0)
    assert got[K0] == v.MapValue(v0[:32], 1, 0)
    absent_02 = h("00000001 03 0007 82"
                  "69dd322f2b6ebc4513a1b1c2af36d98cba113fee506081c19d7638485d2e0453"
                  "5d41dc5ca18e0484a962c21b1e356feee6e7f22b8b5bb47397d2a96f9a4cfa5e")
    k02 = h("02" + "00" * 31)
    assert v.verify_map_proof(MAP_ROOT_92, [k02], absent_02) == {k02: None}
    v2 = h("454329b891a2b952526794a5de265668abe540c5ea51f588aa31056d899da630"
           "0000000000000003 0000000000000016")
    k81 = h("81" + "00" * 31)
    absent_81 = h("00000001 02 0002") + K2 + v2 + h(
        "c0 571fc006053c6aff61b1245052efac19b8b4604ac89f285302974214a58f5650"
        "c6d4687fe2c94af65fc3464c42fc64cc54f4bbdaa3eaf7aa5d44b585cd590b5b")
    assert v.verify_map_proof(MAP_ROOT_92, [k81], absent_81) == {k81: None}
    v1 = h("e117796c721346062f73bfb9ed01651ce9c04450712eff141a09d7b41a23b7ea"
           "0000000000000002 000000000000000b")
    v3 = h("87e99f50608589d4e1fcb08b70599554e9a558b58bae036b976a008cfa7bf76b"
           "0000000000000004 0000000000000021")
    k40 = h("40" + "00" * 31)
    multi = (h("00000007") + h("01 0008") + v0 + h("01 0008") + v1 + h("03 0007 03 0002")
             + h("01 0002") + v2 + h("02 0002") + K2 + v2 + h("01 0002") + v3 + h("00"))
    assert len(multi) == 298
    keys = [K3, k81, K2, k40, k02, K1, K0]  # any order (map.md 5)
    got = v.verify_map_proof(MAP_ROOT_92, keys, multi)
    assert [k for k in got if got[k] is not None] == [K0, K1, K2, K3]
    # a flipped bit anywhere is refused
    for i in range(len(proof_k0)):
        bad = bytearray(proof_k0)
        bad[i] ^= 0x01
        with pytest.raises(v.Invalid):
            v.verify_map_proof(MAP_ROOT_92, [K0], bytes(bad))


def test_map_known_answer_of_map_md_9_1() -> None:
    key = h("73bae27df5e76be126df8beb65f3a3221f4828be45c881784ccf2e0ae1f415f8")
    value = h("bee91faef4d926add013b9b6c617588e124f0b265130374d29914dcd93313e8f"
              "0000000000000002 0000000000000001")
    root = base64.b64decode("9Xh8JD/9qcE4MkdfrmWNnublyPHwA0JkB8gq1v6LSBM=")
    assert v.map_leaf(key, value) == root
    assert v.verify_map_proof(root, [key], h("00000001 01 0000") + value)[key] is not None
    other = h("ee4d597339293279b8da2a93164ad323e96a9d6869a4f198bcf210dd70d403e6")
    assert v.verify_map_proof(root, [other], h("00000001 02 0000") + key + value) == {other: None}


LOG_VKEY_72 = ("provenance-ledger.local/34750f98bd59+7102b1db+"
               "AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c")
RECEIPT_9_CHECKPOINT = (
    "provenance-ledger.local/34750f98bd59\n2\nAOR8RDpgHEUol6ejMRVk/g/cMmo3WEHBxcxGmaQ5+2c=\n"
    "provenance-ledger/block prev=1 time=2025-11-01T09:01:30Z\n"
    "provenance-ledger/map root=9Xh8JD/9qcE4MkdfrmWNnublyPHwA0JkB8gq1v6LSBM=\n\n"
    "\u2014 provenance-ledger.local/34750f98bd59 cQKx235169OqFoFtmF3gYBm/djFVoOW6JSKFH8YdOdID"
    "G3DBLN5ZH7o3/0j2vDI730pqbc9Sk+qbBenPdBKZuGUDJws=\n")
RECEIPT_9_LEAF = (
    "eyJldmVudCI6eyJhY3RvciI6ImVkMjU1MTk6M2I2YTI3YmNjZWI2YTQyZDYyYTNhOGQwMmE2ZjBkNzM2NTMyMTU3"
    "NzFkZTI0M2E2M2FjMDQ4YTE4YjU5ZGEyOSIsImF0IjoiMjAyNS0xMS0wMVQwOTowMDowMFoiLCJib2R5Ijp7Im1l"
    "ZGlhX3R5cGUiOiJpbWFnZS9wbmciLCJzaXplIjoxOSwidGl0bGUiOiLnrKwx6KmxIHAuMTIifSwicHJldiI6bnVs"
    "bCwidHlwZSI6IndvcmsucmVnaXN0ZXIiLCJ2IjoxLCJ3b3JrIjoic2hhMjU2OjczYmFlMjdkZjVlNzZiZTEyNmRm"
    "OGJlYjY1ZjNhMzIyMWY0ODI4YmU0NWM4ODE3ODRjY2YyZTBhZTFmNDE1ZjgifSwic2lnIjoidlFSaDdPeGlqNXR5"
    "N0NnT3BlMXJwUU5CYWhGMWEyR3VxWXY0NExIWCtOZXpqYktPMVdzSnhBVll4ZERHZHh1VnlVWjhCOXEyU1Y3NS9P"
    "KzVOZ05OREE9PSJ9")


def test_note_leaf_and_inclusion_known_answers() -> None:
    c2sp = v.parse_vkey("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
    note = v.parse_note(
        "This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YE"
        "q6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")
    v.verify_note(note, [c2sp])
    log = v.parse_vkey(LOG_VKEY_72)
    note = v.parse_note(RECEIPT_9_CHECKPOINT)
    v.verify_note(note, [log])
    cp = v.parse_checkpoint(note.text)
    assert (cp.size, cp.block_prev) == (2, 1)
    ev = v.parse_leaf(base64.b64decode(RECEIPT_9_LEAF))
    assert ev.id == "a13e62ebc9612da1aac7d0efd538fe9ae1b214d74402d560c79c7194fabad7df"
    proof = [base64.b64decode("vukfrvTZJq3QE7m2xhdYjhJPCyZRMDdNKZFNzZMxPo8=")]
    assert v.verify_inclusion(0, 2, bytes.fromhex(ev.id), proof, cp.root)
    assert not v.verify_inclusion(1, 2, bytes.fromhex(ev.id), proof, cp.root)
    key = "ed25519:3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"
    assert v.key_record_id(key) == (
        "sha256:5776fc7abc1e6328a5e9ad1839f5f948c623fce6c1ed7efc10e2d1186b657921")


# ------------------------------------------------------------------ the real CLI

def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: val for k, val in os.environ.items() if k != "PROVENANCE_HOME"}
    p = subprocess.run([PROVENANCE, "--home", str(home), *args], capture_output=True,
                       text=True, cwd=home.parent, env=env, timeout=120)
    if check and p.returncode not in (0, 1):
        raise AssertionError(f"{args}: exit {p.returncode}: {p.stderr}")
    return p


def setup(home: Path, *args: str) -> str:
    """A precondition (a work, a key, a grant, a rotation...) written by the CLI's own command
    in this process (tests/inproc.py); what is checked (`may --proof`, `verify`, the state
    receipt) runs as the real CLI, :func:`run`."""
    return given(*args, home=home)


class Home:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        (root / "page.png").write_bytes(b"Chapter 1, page 13 (a scan)\n")
        (root / "draft.png").write_bytes(b"never anchored\n")
        setup(self.home, "anchor", str(root / "page.png"))
        setup(self.home, "key", "new", "lab")
        setup(self.home, "key", "new", "other")
        self.lab = setup(self.home, "key", "show", "lab", "--public").strip()
        self.other = setup(self.home, "key", "show", "other", "--public").strip()
        self.log_key = setup(self.home, "log", "key").strip()
        page = str(root / "page.png")
        grant = json.loads(setup(self.home, "consent", "grant", page, "--purpose",
                                 "ai_training", "--to", self.lab, "--json"))
        self.grant_id = grant["id"]
        self.may("allowed", self.lab, page, 0)
        self.may("no_consent", self.other, page, 1)
        setup(self.home, "consent", "revoke", self.grant_id)
        self.may("revoked", self.lab, page, 1)
        self.may("absent", self.lab, str(root / "draft.png"), 1)
        run(self.home, "receipt", page, str(root / "draft.png"), "--state",
            "-o", str(root / "state.json"))

    def may(self, name: str, key: str, work: str, code: int) -> None:
        out = str(self.root / f"{name}.json")
        p = run(self.home, "may", key, "ai_training", work, "--proof", out)
        assert p.returncode == code, p.stdout + p.stderr

    def path(self, name: str) -> Path:
        return self.root / f"{name}.json"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    return Home(tmp_path_factory.mktemp("outsider"))


def cli_verify(h: Any, path: Path, *extra: str) -> tuple[int, dict[str, Any] | None, str]:
    args = ["verify", str(path), "--json", *(extra or ("--log-key", h.log_key))]
    p = run(h.home, *args)
    try:
        out = json.loads(p.stdout)
    except json.JSONDecodeError:
        out = None
    return p.returncode, out, p.stdout + p.stderr


def mine(h: Any, data: bytes, witnesses: list[tuple[str, v.VKey]] | None = None) -> v.Verdict:
    return v.verify_decision_receipt(data, [v.parse_vkey(h.log_key)], witnesses)


CASES = {
    "allowed": (True, True),
    "no_consent": (False, True),
    "revoked": (False, True),
    "absent": (False, False),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_verdicts_agree_with_provenance_verify(home: Home, name: str) -> None:
    allowed, registered = CASES[name]
    data = home.path(name).read_bytes()
    ours = mine(home, data)
    code, theirs, text = cli_verify(home, home.path(name))
    assert code == 0 and theirs is not None, text
    assert theirs["valid"] is True
    assert ours.answer.allowed is theirs["allowed"] is allowed
    assert ours.registered is theirs["registered"] is registered
    assert ours.answer.events == theirs["events"]
    assert ours.answer.conditions == theirs["conditions"]
    assert ours.answer.citing == theirs["citing"]
    assert ours.answer.reason == theirs["reason"]
    assert ours.answer.reason == json.loads(data)["decision"]["reason"]
    assert ours.keys_proven is theirs["keys_proven"]
    assert ours.result.tree_size == theirs["tree_size"]
    assert ours.statement == theirs["statement"]
    st = ours.result.works[ours.work]
    assert (st.to_json() if st else None) == theirs.get("state")
    if name == "revoked":
        assert ours.answer.events == [home.grant_id]
        assert "revoked by" in ours.answer.citing[0]
    if name == "allowed":
        assert ours.answer.citing == [f"consent grant {home.grant_id}"]


def test_state_receipt_v2_agrees(home: Home) -> None:
    res = v.verify_state_receipt_v2_bytes(home.path("state").read_bytes(),
                                          [v.parse_vkey(home.log_key)])
    code, theirs, text = cli_verify(home, home.path("state"))
    assert code == 0, text
    present = [w for w, s in res.works.items() if s is not None]
    assert len(present) == 1 and len(res.works) == 2
    st = res.works[present[0]]
    assert isinstance(st, v.State) and st.events == 3
    assert [g.revoked_by is not None for g in st.grants] == [True]
    # cli.md 3.6: each work's statement, rebuilt from what this verifier proved.
    assert theirs is not None
    ours = []
    for w in res.order:
        s = res.works[w]
        if s is None:
            ours.append({"work": w, "registered": False, "events": 0, "head": None,
                         "statement": f"{w} was not registered on log "
                         f"{res.origin} as of tree size {res.tree_size}", "state": None})
        else:
            assert isinstance(s, v.State)
            ours.append({"work": w, "registered": True, "events": s.events, "head": s.head,
                         "statement": f"{w}: {s.events} events, controller "
                         f"{s.controller}, head {s.head}; no later event of it exists up to "
                         f"{res.tree_size}", "state": s.to_json()})
    # FINDINGS.md F17: the CLI's `state` here adds grants_in_force and licences_in_force
    # (cli.md 3.6 says "§3.4 state", which has more members still); they are left out.
    theirs_works = [{k: x[k] for k in ("work", "registered", "events", "head", "statement",
                                       "state")} for x in theirs["works"]]
    for x in theirs_works:
        if x["state"] is not None:
            x["state"] = {k: val for k, val in x["state"].items()
                          if k not in ("grants_in_force", "licences_in_force")}
    assert ours == theirs_works


def test_untrusted_log_key_is_refused(home: Home) -> None:
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    origin = home.log_key.split("+")[0]
    kid = v.compute_key_id(origin, 1, other).hex()
    fake = f"{origin}+{kid}+{base64.b64encode(bytes([1]) + other).decode()}"
    data = home.path("allowed").read_bytes()
    with pytest.raises(v.Invalid):
        v.verify_decision_receipt(data, [v.parse_vkey(fake)])
    code, _, text = cli_verify(home, home.path("allowed"), "--log-key", fake)
    assert code == 1, text


# ------------------------------------------------------------------ a witness cosignature

def test_cosigned_checkpoint_and_policy_agree(home: Home, tmp_path: Path) -> None:
    """A real cosignature/v1 line (checkpoints.md 4) added to the receipt's note."""
    sk = Ed25519PrivateKey.from_private_bytes(bytes([7]) * 32)
    pub = sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    name = "witness.example/w1"
    kid = v.compute_key_id(name, 4, pub)
    vkey = f"{name}+{kid.hex()}+{base64.b64encode(bytes([4]) + pub).decode()}"
    r = json.loads(home.path("allowed").read_bytes())
    note = r["state_receipt"]["checkpoint"]
    text = note[: note.rfind("\n\n") + 1]
    ts = 1_900_000_000
    sig = sk.sign(b"cosignature/v1\ntime " + str(ts).encode() + b"\n" + text.encode())
    line = f"\u2014 {name} {base64.b64encode(kid + ts.to_bytes(8, 'big') + sig).decode()}\n"
    r["state_receipt"]["checkpoint"] = note + line
    f = tmp_path / "cosigned.json"
    f.write_text(json.dumps(r, ensure_ascii=False, indent=2), encoding="utf-8")
    policy = tmp_path / "policy"
    policy.write_text(f"log {home.log_key}\nwitness w1 {vkey}\nquorum w1\n")
    ours = mine(home, f.read_bytes(), [("w1", v.parse_vkey(vkey))])
    code, theirs, out = cli_verify(home, f, "--policy", str(policy))
    assert code == 0 and theirs is not None, out
    assert ours.result.cosigners == {"w1": ts}
    assert theirs["cosigners"] == {"w1": ts} or theirs["cosigners"] == {"w1": v.fmt_time(ts)}
    assert ours.statement == theirs["statement"]
    # the same line with one bit flipped counts for nothing; the quorum is then not met
    bad = line[:-6] + ("A" if line[-6] != "A" else "B") + line[-5:]
    r["state_receipt"]["checkpoint"] = note + bad
    f.write_text(json.dumps(r, ensure_ascii=False), encoding="utf-8")
    assert mine(home, f.read_bytes(), [("w1", v.parse_vkey(vkey))]).result.cosigners == {}
    code, _, out = cli_verify(home, f, "--policy", str(policy))
    assert code == 1, out


# ------------------------------------------------------------------ more of the rules

class RichHome:
    """Grants with an end, to anyone, with a condition; an accepted licence and an open offer;
    a transfer; then the grant revoked and the licence terminated."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        a, b = root / "a.png", root / "b.png"
        a.write_bytes(b"work a\n")
        b.write_bytes(b"work b\n")
        self.a, self.b = str(a), str(b)
        setup(self.home, "anchor", self.a)
        # b is registered ten seconds before its transfer, so that asking at its registration
        # time asks before the transfer (in-process set-up is fast enough for one second).
        before = int(time.time()) - 10
        with pytest.MonkeyPatch.context() as earlier:
            earlier.setattr(Session, "now", lambda self: before)
            setup(self.home, "anchor", self.b)
        self.k: dict[str, str] = {}
        for name in ("lab", "studio", "buyer"):
            setup(self.home, "key", "new", name)
        for name in ("lab", "studio", "buyer", "default"):
            self.k[name] = setup(self.home, "key", "show", name, "--public").strip()
        self.log_key = setup(self.home, "log", "key").strip()
        self.grant = self.json("consent", "grant", self.a, "--purpose", "ai_training",
                               "--purpose", "data_mining", "--to", self.k["lab"],
                               "--until", "2030-01-01", "--condition", "attribution")["id"]
        self.json("consent", "grant", self.a, "--purpose", "ai_inference", "--anyone")
        self.offer = self.json("licence", "offer", self.a, "--to", self.k["studio"],
                               "--purpose", "ai_generation", "--fee", "50000", "JPY",
                               "--territory", "JP")["id"]
        self.json("licence", "offer", self.a, "--to", self.k["buyer"], "--purpose", "data_mining")
        setup(self.home, "licence", "accept", self.offer, "--key", "studio")
        self.json("transfer", self.b, "--to", self.k["studio"])
        self.state_a = self.json("status", self.a)
        self.state_b = self.json("status", self.b)
        self.n = 0

    def json(self, *args: str) -> dict[str, Any]:
        return json.loads(setup(self.home, *args, "--json"))  # type: ignore[no-any-return]

    def may(self, key: str, purpose: str, work: str, at: str | None = None) -> Path:
        self.n += 1
        out = self.root / f"q{self.n}.json"
        run(self.home, "may", self.k[key], purpose, work, "--proof", str(out),
            *(("--at", at) if at else ()))
        return out


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> RichHome:
    return RichHome(tmp_path_factory.mktemp("outsider-rich"))


def agree(h: Any, path: Path) -> v.Verdict:
    ours = v.verify_decision_receipt(path.read_bytes(), [v.parse_vkey(h.log_key)])
    code, theirs, text = cli_verify(h, path)
    assert code == 0 and theirs is not None, text
    # The reason is derived from rules.md 5.2 (no longer copied from the receipt), and the
    # receipt's own `decision.reason` was compared with it byte for byte.
    assert (ours.answer.allowed, ours.answer.reason, ours.answer.events,
            ours.answer.conditions, ours.answer.citing, ours.keys_proven, ours.statement) == (
        theirs["allowed"], theirs["reason"], theirs["events"], theirs["conditions"],
        theirs["citing"], theirs["keys_proven"], theirs["statement"])
    dec = json.loads(path.read_bytes()).get("decision")
    assert dec is None or dec["reason"] == ours.answer.reason
    return ours


def test_rules_subset_agrees_before_revocation(rich: RichHome) -> None:
    a, b, k = rich.a, rich.b, rich.k
    got = agree(rich, rich.may("lab", "ai_generative_training", a))  # ai_training covers it
    assert got.answer.allowed and got.answer.conditions == ["attribution"]
    assert got.answer.citing == [f"consent grant {rich.grant}, which ends at 2030-01-01T00:00:00Z"]
    assert agree(rich, rich.may("buyer", "ai_inference", a)).answer.allowed  # to anyone
    got = agree(rich, rich.may("studio", "ai_generation", a))  # accepted licence
    assert got.answer.allowed and got.answer.events[0] == rich.offer
    got = agree(rich, rich.may("buyer", "data_mining", a))  # offer not accepted
    assert not got.answer.allowed and got.answer.citing[0].endswith(", not accepted")
    assert agree(rich, rich.may("default", "ai_training", a)).answer.step == "controller"
    got = agree(rich, rich.may("lab", "ai_training", a, "2030-01-01T00:00:00Z"))  # until exclusive
    assert not got.answer.allowed
    assert not agree(rich, rich.may("lab", "ai_training", a, "2000-01-01T00:00:00Z")).answer.allowed
    assert agree(rich, rich.may("studio", "ai_training", b)).answer.step == "controller"
    assert not agree(rich, rich.may("default", "ai_training", b)).answer.allowed
    got = agree(rich, rich.may("default", "ai_training", b, rich.state_b["registered_at"]))
    assert got.answer.allowed and f"control passed to {k['studio']}" in got.answer.citing[0]


def test_rules_subset_agrees_after_revocation_and_termination(rich: RichHome) -> None:
    setup(rich.home, "consent", "revoke", rich.grant)
    setup(rich.home, "licence", "terminate", rich.offer)
    granted_at = rich.state_a["grants"][0]["granted_at"]
    got = agree(rich, rich.may("lab", "ai_training", rich.a, granted_at))
    assert got.answer.allowed and got.answer.citing[0].endswith(", after the time asked")
    got = agree(rich, rich.may("lab", "ai_training", rich.a))
    assert not got.answer.allowed and ", revoked by " in got.answer.citing[0]
    got = agree(rich, rich.may("studio", "ai_generation", rich.a))
    assert not got.answer.allowed and ", terminated by " in got.answer.citing[0]


def test_optional_members_may_be_left_out(home: Home, tmp_path: Path) -> None:
    """receipts.md 11 and 12: scope, decision, each event's `event` and `state` are
    informative; a receipt without them verifies, with the same answer."""
    r = json.loads(home.path("revoked").read_bytes())
    del r["scope"], r["decision"], r["state_receipt"]["scope"]
    for w in r["state_receipt"]["works"]:
        w.pop("state", None)
        for e in w["events"]:
            e.pop("event")
    f = tmp_path / "bare.json"
    f.write_text(json.dumps(r))
    got = agree(home, f)
    assert not got.answer.allowed and got.answer.events == [home.grant_id]


def both(h: Any, r: dict[str, Any], path: Path) -> tuple[bool, bool]:
    """(this verifier accepts, `provenance verify` accepts) the receipt `r` written to path."""
    path.write_text(json.dumps(r, ensure_ascii=False), encoding="utf-8")
    try:
        mine(h, path.read_bytes())
        ours = True
    except v.Invalid:
        ours = False
    code, _, out = cli_verify(h, path)
    assert code in (0, 1), out
    return ours, code == 0


def test_a_question_edited_under_its_decision_is_refused_by_both(
    rich: RichHome, tmp_path: Path
) -> None:
    """FINDINGS.md F2's example: a grant of ai_training and data_mining, asked about
    ai_training; the question's purpose edited to data_mining keeps the verdict, the events and
    the conditions, and only the reason (which names ai_training) tells."""
    at = rich.state_a["grants"][0]["granted_at"]  # in force then, revoked or not since
    r = json.loads(rich.may("lab", "ai_training", rich.a, at).read_bytes())
    assert r["decision"]["reason"] == "consent granted to this key for ai_training"
    r["question"]["purpose"] = "data_mining"
    assert both(rich, r, tmp_path / "purpose.json") == (False, False)


def test_the_earlier_words_of_a_covering_grant_verify_on_both(
    rich: RichHome, tmp_path: Path
) -> None:
    """receipts.md 12.1 step 3, "Earlier words": `<R> for <G>, which covers <P>` written
    `<R> for <P>` verifies; any other purpose there does not."""
    at = rich.state_a["grants"][0]["granted_at"]
    r = json.loads(rich.may("lab", "ai_generative_training", rich.a, at).read_bytes())
    assert r["decision"]["reason"] == (
        "consent granted to this key for ai_training, which covers ai_generative_training")
    for reason, ok in [("consent granted to this key for ai_generative_training", True),
                       ("consent granted to this key for ai_training", False),
                       ("consent granted to anyone for ai_generative_training", False),
                       ("licence in force for ai_generative_training", False)]:
        r["decision"]["reason"] = reason
        assert both(rich, r, tmp_path / "earlier.json") == (ok, ok), reason


def test_refusal_citing_grants_and_licences_of_every_kind(tmp_path: Path) -> None:
    """rules.md 5 step 6: grants are cited before licences whatever their log order
    (FINDINGS.md F7); an accepted licence out of force has the CLI's words (F6)."""
    h = RichHome.__new__(RichHome)
    h.root, h.home, h.n = tmp_path, tmp_path / "home", 0
    (tmp_path / "a.png").write_bytes(b"work a5\n")
    h.a = str(tmp_path / "a.png")
    setup(h.home, "anchor", h.a)
    setup(h.home, "key", "new", "lab")
    h.k = {"lab": setup(h.home, "key", "show", "lab", "--public").strip()}
    h.log_key = setup(h.home, "log", "key").strip()
    lab = h.k["lab"]
    later = h.json("licence", "offer", h.a, "--to", lab, "--purpose", "data_mining",
                   "--from", "2031-01-01")["id"]
    setup(h.home, "licence", "accept", later, "--key", "lab")
    grant = h.json("consent", "grant", h.a, "--purpose", "data_mining", "--to", lab,
                   "--until", "2029-01-01")["id"]
    ended = h.json("licence", "offer", h.a, "--to", lab, "--purpose", "data_mining",
                   "--until", "2028-01-01")["id"]
    setup(h.home, "licence", "accept", ended, "--key", "lab")
    lapsed = h.json("licence", "offer", h.a, "--to", lab, "--purpose", "data_mining",
                    "--expires", "2027-06-01")["id"]
    withdrawn = h.json("licence", "offer", h.a, "--to", lab, "--purpose", "data_mining")["id"]
    terminated = h.json("licence", "terminate", withdrawn)["id"]
    got = agree(h, h.may("lab", "data_mining", h.a, "2030-01-01T00:00:00Z"))
    assert not got.answer.allowed
    assert got.answer.events == [grant, later, ended, lapsed, withdrawn]
    assert got.answer.citing == [
        f"consent grant {grant}, which ends at 2029-01-01T00:00:00Z",
        f"licence {later}, not in force at that time",
        f"licence {ended}, not in force at that time",
        f"licence offer {lapsed}, not accepted",
        # An offer withdrawn (never accepted, then terminated): FINDINGS.md F20.
        f"licence {withdrawn}, terminated by {terminated} at "
        f"{v.fmt_time(v.parse_time(h.json('status', h.a)['licences'][-1]['terminated_at']))}",
    ]
    assert got.answer.reason == ("no consent or licence for data_mining is in force at "
                                 "2030-01-01T00:00:00Z (all were revoked, ended or not yet "
                                 "accepted)")
    got = agree(h, h.may("lab", "data_mining", h.a, "2031-06-01T00:00:00Z"))
    assert got.answer.allowed and got.answer.step == "licence"


# ------------------------------------------------------------------ key records (rules.md 9)

@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory) -> RichHome:
    """A grant to `lab`, then `lab` rotated to `lab2` and the controller `default` to `ctl2`."""
    root = tmp_path_factory.mktemp("outsider-rotated")
    h = RichHome.__new__(RichHome)
    h.root, h.home, h.n = root, root / "home", 0
    (root / "a.png").write_bytes(b"work rotated\n")
    h.a = str(root / "a.png")
    setup(h.home, "anchor", h.a)
    h.k = {}
    for name in ("lab", "lab2", "ctl2", "default"):
        if name != "default":
            setup(h.home, "key", "new", name)
        h.k[name] = setup(h.home, "key", "show", name, "--public").strip()
    h.log_key = setup(h.home, "log", "key").strip()
    h.state_a = h.json("status", h.a)
    h.grant = h.json("consent", "grant", h.a, "--purpose", "ai_training", "--to", h.k["lab"])["id"]
    setup(h.home, "key", "rotate", "lab", "--to", "lab2")
    setup(h.home, "key", "rotate", "default", "--to", "ctl2")
    return h


def test_rotated_keys_agree(rotated: RichHome) -> None:
    h = rotated
    got = agree(h, h.may("lab2", "ai_training", h.a))  # the grant to lab is lab2's now
    assert got.answer.allowed and got.keys_proven and got.answer.events == [h.grant]
    got = agree(h, h.may("lab", "ai_training", h.a))  # lab holds nothing any more
    assert not got.answer.allowed
    assert got.answer.citing[0].endswith(", in force from " + v.fmt_time(
        v.parse_time(h.json("status", h.a)["grants"][0]["granted_at"])))
    got = agree(h, h.may("ctl2", "data_mining", h.a))  # control passed with the rotation
    assert got.answer.allowed and got.answer.step == "controller"
    assert not agree(h, h.may("default", "data_mining", h.a)).answer.allowed
    got = agree(h, h.may("default", "data_mining", h.a, h.state_a["registered_at"]))
    assert got.answer.allowed


def test_a_rotation_left_out_is_refused_by_both(rotated: RichHome, tmp_path: Path) -> None:
    """receipts.md 11.2 steps 4-7: a key record the map proves present must show its events;
    leaving the rotation out (to make the old key look current) does not verify."""
    path = rotated.may("lab2", "ai_training", rotated.a)
    r = json.loads(path.read_bytes())
    records = [w for w in r["state_receipt"]["works"][1:] if w["events"]]
    assert records
    for w in records:
        w["events"] = []
        w.pop("state", None)
    f = tmp_path / "hidden.json"
    f.write_text(json.dumps(r))
    with pytest.raises(v.Invalid):
        mine(rotated, f.read_bytes())
    assert cli_verify(rotated, f)[0] == 1


def test_a_grant_signed_after_a_compromise_does_not_count(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """rules.md 9 R22: the controller declares its key compromised from the grant's time on;
    the grant is disputed and the answer comes from the effective state (FINDINGS.md F18).
    The work is registered ten seconds earlier (its set-up's clock set back), so that the
    compromise covers the grant and not the registration: set up in process, both would
    otherwise often fall in the same second, and a registration at the compromise's very
    second does not count either."""
    h = RichHome.__new__(RichHome)
    h.root, h.home, h.n = tmp_path, tmp_path / "home", 0
    (tmp_path / "a.png").write_bytes(b"work compromised\n")
    h.a = str(tmp_path / "a.png")
    with monkeypatch.context() as earlier:
        registered = int(time.time()) - 10
        earlier.setattr(Session, "now", lambda self: registered)
        setup(h.home, "anchor", h.a)
    setup(h.home, "key", "new", "lab")
    h.k = {"lab": setup(h.home, "key", "show", "lab", "--public").strip()}
    h.log_key = setup(h.home, "log", "key").strip()
    grant = h.json("consent", "grant", h.a, "--purpose", "ai_training", "--to", h.k["lab"])
    granted_at = h.json("status", h.a)["grants"][0]["granted_at"]
    setup(h.home, "key", "compromised", "default", "--since", granted_at, "--yes")
    got = agree(h, h.may("lab", "ai_training", h.a))
    assert not got.answer.allowed and got.answer.events == [] and got.keys_proven
    full = got.result.works[got.work]
    assert isinstance(full, v.State) and [g.id for g in full.grants] == [grant["id"]]


def test_a_registration_in_the_compromises_second_does_not_count(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """rules.md 9 R22 (FINDINGS.md F21): the work registered and granted in one second, the key
    declared compromised from that second: the registration does not count either, so the
    effective state is empty and both answer step 1, while the log still holds both events."""
    h = RichHome.__new__(RichHome)
    h.root, h.home, h.n = tmp_path, tmp_path / "home", 0
    (tmp_path / "a.png").write_bytes(b"work compromised in its first second\n")
    h.a = str(tmp_path / "a.png")
    second = int(time.time()) - 10
    with monkeypatch.context() as one_second:  # the set-up's clock held in one second
        one_second.setattr(Session, "now", lambda self: second)
        setup(h.home, "anchor", h.a)
        setup(h.home, "key", "new", "lab")
        h.k = {"lab": setup(h.home, "key", "show", "lab", "--public").strip()}
        h.json("consent", "grant", h.a, "--purpose", "ai_training", "--to", h.k["lab"])
    h.log_key = setup(h.home, "log", "key").strip()
    status = h.json("status", h.a)
    registered_at = status["grants"][0]["granted_at"]
    setup(h.home, "key", "compromised", "default", "--since", registered_at, "--yes")
    got = agree(h, h.may("lab", "ai_training", h.a))
    assert not got.answer.allowed and got.answer.events == []
    assert got.answer.reason == "the work is not registered on this ledger"
    full = got.result.works[got.work]
    assert isinstance(full, v.State) and len(full.grants) == 1  # the log holds both events


def test_a_licensees_compromise_does_not_undo_a_revocation(tmp_path: Path) -> None:
    """rules.md 9 R22 (FINDINGS.md F22): a consent to anyone, a licence a studio accepted, the
    consent revoked; then the studio declares its own key compromised from before its
    acceptance. Only the acceptance stops counting: the controller's revocation stays, so
    both answer "not allowed" (revoked) and cite the revocation, and `status` disputes the
    acceptance alone."""
    h = RichHome.__new__(RichHome)
    h.root, h.home, h.n = tmp_path, tmp_path / "home", 0
    (tmp_path / "a.png").write_bytes(b"work revoked before a licensee's compromise\n")
    h.a = str(tmp_path / "a.png")
    setup(h.home, "anchor", h.a)
    h.k = {}
    for name in ("studio", "lab"):
        setup(h.home, "key", "new", name)
        h.k[name] = setup(h.home, "key", "show", name, "--public").strip()
    h.log_key = setup(h.home, "log", "key").strip()
    grant = h.json("consent", "grant", h.a, "--purpose", "ai_training", "--anyone")["id"]
    offer = h.json("licence", "offer", h.a, "--to", "studio", "--purpose", "ai_inference")["id"]
    accept = h.json("licence", "accept", offer, "--key", "studio")["id"]
    revoke = h.json("consent", "revoke", grant)["id"]
    setup(h.home, "key", "compromised", "studio", "--since", "2020-01-01", "--key", "studio",
          "--yes")
    got = agree(h, h.may("lab", "ai_training", h.a))
    assert not got.answer.allowed
    assert got.answer.events == [grant]
    status = h.json("status", h.a)
    assert status["disputed_events"] == [accept]
    assert [g["id"] for g in status["grants"] if g.get("revoked_by") == revoke] == [grant]


def test_step_6_reasons_with_rotated_keys(tmp_path: Path) -> None:
    """rules.md 5.2, the rows of step 6 with key records: a key rotated away asking about what
    still stands for its successor (a grant in force, an open offer), or about what lapsed; its
    successor asking about what lapsed, made to the old key. Then the earlier words and the
    earlier citations of receipts.md 12.1 step 3 verify on both, and other edits on neither."""
    h = RichHome.__new__(RichHome)
    h.root, h.home, h.n = tmp_path, tmp_path / "home", 0
    (tmp_path / "a.png").write_bytes(b"work rotated reasons\n")
    h.a = str(tmp_path / "a.png")
    setup(h.home, "anchor", h.a)
    h.k = {}
    for name in ("lab", "lab2"):
        setup(h.home, "key", "new", name)
        h.k[name] = setup(h.home, "key", "show", name, "--public").strip()
    h.log_key = setup(h.home, "log", "key").strip()
    lab, lab2 = h.k["lab"], h.k["lab2"]
    g1 = h.json("consent", "grant", h.a, "--purpose", "ai_training", "--to", lab)["id"]
    o1 = h.json("licence", "offer", h.a, "--to", lab, "--purpose", "data_mining")["id"]
    g2 = h.json("consent", "grant", h.a, "--purpose", "ai_inference", "--to", lab)["id"]
    setup(h.home, "consent", "revoke", g2)
    setup(h.home, "key", "rotate", "lab", "--to", "lab2")

    def ask(key: str, purpose: str) -> tuple[dict[str, Any], str]:
        path = h.may(key, purpose, h.a)
        got = agree(h, path)
        return json.loads(path.read_bytes()), f"{purpose} is in force at {got.at}"

    away = "is in force for this key at {}: this key was rotated away, and " + lab2 + \
        " holds its consents and licences at that time"
    lapsed = "(all were revoked, ended or not yet accepted)"
    made_to = (f"(all were revoked, ended or not yet accepted, including those made to {lab}, "
               "whose consents and licences this key holds at that time)")
    r, _ = ask("lab", "ai_training")  # row 1: a grant in force names the key rotated away
    assert r["decision"]["events"] == [g1]
    at = r["question"]["at"]
    assert r["decision"]["reason"] == "no consent or licence for ai_training " + away.format(at)
    for reason, ok in [(f"no consent or licence for ai_training is in force at {at} {lapsed}",
                        True),  # the 0.1.0 words
                       ("no consent or licence for ai_training " + away.format(at).replace(
                           lab2, lab), False),
                       (f"no consent or licence for ai_training is in force at {at} {made_to}",
                        False)]:
        r["decision"]["reason"] = reason
        assert both(h, r, tmp_path / "t.json") == (ok, ok), reason
    r, _ = ask("lab", "data_mining")  # row 1: an offer open at t
    assert r["decision"]["events"] == [o1]
    at = r["question"]["at"]
    assert r["decision"]["reason"] == "no consent or licence for data_mining " + away.format(at)
    r, words = ask("lab", "ai_inference")  # row 3: what names the old key lapsed
    at = r["question"]["at"]
    assert (r["decision"]["events"], r["decision"]["reason"]) == (
        [g2], f"no consent or licence for {words} {lapsed}")
    # Earlier citations: the first row read "in force or not".
    r["decision"]["reason"] = "no consent or licence for ai_inference " + away.format(at)
    assert both(h, r, tmp_path / "t.json") == (True, True)
    r, words = ask("lab2", "ai_inference")  # row 2: the successor, what was made to lab lapsed
    assert (r["decision"]["events"], r["decision"]["reason"]) == (
        [g2], f"no consent or licence for {words} {made_to}")
    default = "no consent or licence for ai_inference: not allowed by default"
    for events, reason, ok in [([], default, True),  # earlier citations
                               ([g2], default, False),
                               ([g2], f"no consent or licence for {words} {lapsed}", False),
                               ([], f"no consent or licence for {words} {made_to}", False)]:
        r["decision"]["events"], r["decision"]["reason"] = events, reason
        assert both(h, r, tmp_path / "t.json") == (ok, ok), (events, reason)
    r, words = ask("lab2", "data_mining")  # row 2: an offer to lab, never accepted
    assert (r["decision"]["events"], r["decision"]["reason"]) == (
        [o1], f"no consent or licence for {words} {made_to}")
    r, _ = ask("lab2", "ai_training")  # step 3 through the holder: "to this key"
    assert r["decision"]["reason"] == "consent granted to this key for ai_training"

"""The words of a decision: `may`, the decision receipt it writes and `verify`'s re-derivation
say the same `reason` (specs/receipts.md section 12, specs/cli.md sections 3.5-3.6,
specs/rules.md section 5.2), through the real CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..inproc import given, given_json, given_key
from .conftest import log_key, run, run_json

EVALUATION = "comics.example:evaluation"  # a custom purpose (specs/events.md section 4)
COVERED = "consent granted to this key for ai_training, which covers ai_generative_training"


def _granted(tmp_path: Path) -> tuple[Path, Path, str]:
    """A home with a work granted to `lab` for ai_training (set up in this process: the
    decisions and their receipts are what is tested, through the real CLI)."""
    home = tmp_path / "home"
    work = tmp_path / "e.png"
    work.write_bytes(b"a page of the comic")
    given("anchor", work, home=home)
    lab = given_key("lab", home)
    given("consent", "grant", work, "--purpose", "ai_training", "--to", lab, home=home)
    return home, work, lab


_LOG_KEYS: dict[Path, str] = {}


def _log_key(home: Path) -> str:
    """``log key`` of ``home``, asked once: it does not change."""
    if home not in _LOG_KEYS:
        _LOG_KEYS[home] = log_key(home)
    return _LOG_KEYS[home]


def _verify(receipt: Path, home: Path, ok_codes: tuple[int, ...] = (0,)) -> dict[str, object]:
    out = run("verify", receipt, "--log-key", _log_key(home), "--json", home=home,
              ok_codes=ok_codes).out
    return json.loads(out) if out else {}


def test_a_receipt_says_the_reason_may_gives_for_a_covered_purpose(tmp_path: Path) -> None:
    """F1: asked for ai_generative_training under a grant for ai_training, `may`, the
    receipt's `decision` and `verify` all say which purpose was granted and that it covers the
    one asked."""
    home, work, lab = _granted(tmp_path)
    receipt = tmp_path / "e.json"
    said = run_json("may", lab, "ai_generative_training", work, "--proof", receipt, "--json",
                    home=home)
    assert said["reason"] == COVERED
    written = json.loads(receipt.read_text())["decision"]
    assert written == {"allowed": True, "reason": COVERED, "events": said["events"],
                       "conditions": []}
    verified = _verify(receipt, home)
    assert verified["reason"] == COVERED and verified["allowed"] is True


def test_a_receipt_in_the_earlier_words_still_verifies(tmp_path: Path) -> None:
    """A receipt written by 0.1.0 named the purpose asked (specs/receipts.md section 12.1 step
    3 accepts those words); any other reason is still refused."""
    home, work, lab = _granted(tmp_path)
    receipt = tmp_path / "e.json"
    run("may", lab, "ai_generative_training", work, "--proof", receipt, home=home)
    doc = json.loads(receipt.read_text())
    doc["decision"]["reason"] = "consent granted to this key for ai_generative_training"
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc, indent=2))
    assert _verify(old, home)["reason"] == COVERED
    doc["decision"]["reason"] = "consent granted to this key for ai_training"
    old.write_text(json.dumps(doc, indent=2))
    refused = run("verify", old, "--log-key", _log_key(home), home=home, ok_codes=(1,))
    assert "the receipt's decision is not what the rules give" in refused.err


def test_a_rotated_key_is_told_its_grant_passed_to_its_successor(tmp_path: Path) -> None:
    """F16: after `key rotate lab --to lab2`, the old key is refused, and the reason says the
    grant stands and is held by lab2 (not that it was revoked, ended or not accepted): in
    `may`, in the receipt and in `verify` alike."""
    home, work, lab = _granted(tmp_path)
    lab2 = given_key("lab2", home)
    given("key", "rotate", "lab", "--to", "lab2", home=home)
    receipt = tmp_path / "rotated.json"
    said = json.loads(run("may", lab, "ai_training", work, "--proof", receipt, "--json",
                          home=home, ok_codes=(1,)).out)
    rotated = (f"no consent or licence for ai_training is in force for this key at "
               f"{said['at']}: this key was rotated away, and {lab2} holds its consents and "
               "licences at that time")
    assert said["reason"] == rotated and said["allowed"] is False
    assert json.loads(receipt.read_text())["decision"]["reason"] == rotated
    verified = _verify(receipt, home)
    assert verified["reason"] == rotated
    assert "may not use work" in str(verified["statement"])
    assert f": {rotated}, citing consent grant " in str(verified["statement"])
    assert run_json("may", lab2, "ai_training", work, "--json", home=home)["allowed"] is True
    # a receipt 0.1.0 wrote for the same question still verifies (receipts.md 12.1 step 3)
    doc = json.loads(receipt.read_text())
    doc["decision"]["reason"] = (f"no consent or licence for ai_training is in force at "
                                 f"{said['at']} (all were revoked, ended or not yet accepted)")
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc, indent=2))
    assert _verify(old, home)["reason"] == rotated


SPECS = Path(__file__).resolve().parents[2] / "specs"


def _table(name: str, heading: str, column: int) -> list[tuple[str, list[str]]]:
    """The rows of the first table after ``heading`` in specs/``name``: (first cell, the
    backticked texts of cell ``column``)."""
    text = (SPECS / name).read_text(encoding="utf-8")
    lines = text[text.index(heading):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        rows.append((cells[0], re.findall(r"`([^`]+)`", cells[column])))
    return rows


def _form(template: str) -> re.Pattern[str]:
    """A citation form of the spec as a pattern: each ``<...>`` is one id, time or key."""
    parts = re.split(r"<[^>]+>", template)
    return re.compile(r"[^ ;]+".join(map(re.escape, parts)))


def test_every_reason_and_citation_is_in_the_words_of_the_spec(tmp_path: Path) -> None:
    """F2/F3/F6/F7a known answers: each reason `may` gives for a real case is a template of
    specs/rules.md section 5.2 with its placeholders filled in, each citation `verify` writes
    is a form of specs/receipts.md section 12.1, and the statement joins them with `; `."""
    reasons = dict((step, forms) for step, forms in
                   _table("rules.md", "### 5.2 The words of an answer", 1)
                   if not step.startswith("6"))
    sixes = [forms for step, forms in _table("rules.md", "### 5.2 The words of an answer", 1)
             if step.startswith("6")]
    forms = [_form(f) for _, fs in _table("receipts.md", "| answer | what is cited |", 2)
             for f in fs]
    home, work, lab = _granted(tmp_path)
    me = given_json("key", "show", "default", "--json", home=home)["public_key"]
    rev, lic, nobody = (given_key("rev", home), given_key("lic", home),
                        given_key("nobody", home))
    given("consent", "grant", work, "--purpose", "data_mining", "--anyone", home=home)
    revoked = given_json("consent", "grant", work, "--purpose", "ai_inference", "--to", rev,
                         "--json", home=home)["id"]
    given("consent", "revoke", revoked, home=home)
    given("licence", "offer", work, "--to", rev, "--purpose", "ai_inference", home=home)
    offer = given_json("licence", "offer", work, "--to", lic, "--purpose", "ai_generation",
                       "--json", home=home)["id"]
    given("licence", "accept", offer, "--key", "lic", home=home)
    held = given_json("consent", "grant", work, "--purpose", EVALUATION, "--to", lab, "--json",
                      home=home)["id"]
    ending = given_key("ending", home)
    given("consent", "grant", work, "--purpose", "ai_generation", "--to", ending, "--until",
          "2030-01-01", home=home)
    lab2 = given_key("lab2", home)
    given("key", "rotate", "lab", "--to", "lab2", home=home)
    given("consent", "revoke", held, home=home)
    unregistered = tmp_path / "other.png"
    unregistered.write_bytes(b"a page never anchored")

    def fill(template: str, **values: str) -> str:
        for name, value in values.items():
            template = template.replace(f"<{name}>", value)
        return template

    def ask(key: str, purpose: str, what: Path = work, *at: str
            ) -> tuple[str, list[str], str, str]:
        receipt = tmp_path / f"{len(list(tmp_path.glob('*.json')))}.json"
        said = json.loads(run("may", key, purpose, what, "--proof", receipt, "--json", *at,
                              home=home, ok_codes=(0, 1)).out)
        verified = _verify(receipt, home)
        assert verified["reason"] == said["reason"]
        return (said["reason"], list(verified["citing"]), str(verified["statement"]),
                said["at"])

    three, four = reasons["3"], reasons["4"]
    cases = [
        (ask(lab2, "ai_training"), fill(three[0], **{"for": "ai_training"})),
        (ask(lab2, "ai_generative_training"),
         fill(three[0], **{"for": "ai_training, which covers ai_generative_training"})),
        (ask(nobody, "data_mining"), fill(three[1], **{"for": "data_mining"})),
        (ask(lic, "ai_generation"), fill(four[0], **{"for": "ai_generation"})),
        (ask(me, "ai_generation"), reasons["5"][0]),
        (ask(lab, "data_mining", unregistered), reasons["1"][0]),
        (ask(lab2, "ai_training", work, "--at", "2001-01-01T00:00:00Z"), reasons["2"][0]),
        (ask(nobody, "ai_inference"), fill(sixes[3][0], P="ai_inference")),
        (ask(ending, "ai_generation", work, "--at", "2031-01-01T00:00:00Z"),
         fill(sixes[2][0], P="ai_generation", t="2031-01-01T00:00:00Z")),
    ]
    refused_rev = ask(rev, "ai_inference")
    cases.append((refused_rev, fill(sixes[2][0], P="ai_inference", t=refused_rev[3])))
    # lab's grant revoked after its rotation: lab2, which held it, is told so, naming lab;
    # lab is told it lapsed, not that lab2 holds it
    successor = ask(lab2, EVALUATION)
    cases.append((successor, fill(sixes[1][0], P=EVALUATION, t=successor[3], A=lab)))
    revoked_away = ask(lab, EVALUATION)
    cases.append((revoked_away, fill(sixes[2][0], P=EVALUATION, t=revoked_away[3])))
    rotated = ask(lab, "ai_training")
    cases.append((rotated, fill(sixes[0][0], P="ai_training", t=rotated[3], H=lab2)))
    for (reason, citing, statement, _), expected in cases:
        assert reason == expected
        for c in citing:
            assert any(f.fullmatch(c) for f in forms), c
        if citing:
            assert f", citing {'; '.join(citing)}; no later event of " in statement
        else:
            assert ", citing" not in statement
    # a refusal cites grants first, then licences, each in log order
    assert [c.split(",")[0].split(" ")[0] for c in refused_rev[1]] == ["consent", "licence"]


def test_verify_json_states_are_those_the_spec_describes(tmp_path: Path) -> None:
    """F17 (specs/cli.md section 3.6): a decision receipt's `state` is the state JSON of
    receipts.md 5.1 exactly; a state receipt v2's is that plus `grants_in_force` and
    `licences_in_force` as of `checkpoint_time`; neither has status's other members."""
    home, work, lab = _granted(tmp_path)
    status = run_json("status", work, "--json", home=home)
    decision, state = tmp_path / "decision.json", tmp_path / "state.json"
    run("may", lab, "ai_training", work, "--proof", decision, home=home)
    run("receipt", "get", work, "--state", "-o", state, home=home)
    from_decision = _verify(decision, home)["state"]
    works = _verify(state, home)["works"]
    assert isinstance(from_decision, dict) and isinstance(works, list)
    in_force = {"grants_in_force", "licences_in_force"}
    extra = in_force | {"open_offers", "grant_status", "licence_status", "history",
                        "similar", "controller_identity", "holder", "disputed_events"}
    assert set(from_decision) == set(status) - extra
    assert from_decision == {k: v for k, v in status.items() if k not in extra}
    assert set(works[0]["state"]) == set(from_decision) | in_force
    assert works[0]["state"]["grants_in_force"] == status["grants_in_force"] == [
        g["id"] for g in status["grants"]]

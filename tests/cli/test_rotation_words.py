"""The words of a refusal after a key rotation (specs/rules.md sections 5 step 6 and 5.2,
specs/receipts.md section 12.1), through the real CLI: `may`, the decision receipt it writes
with `--proof` and `verify`'s re-derivation say the same reason and cite the same events.

- The successor of a key whose grant or licence lapsed (revoked, terminated, ended) is told
  so, citing it and naming the key it was made to, not "not allowed by default".
- A key rotated away whose grant or licence lapsed is told that, not that its successor holds
  it (the successor cannot use it either); what stands is still said to be its successor's.
- Receipts written in the words step 6 gave before still verify, and `verify` states them in
  the words of now."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..inproc import given, given_json, given_key
from .conftest import log_key, run


def _lapsed(purpose: str, at: str) -> str:
    return (f"no consent or licence for {purpose} is in force at {at} (all were revoked, "
            "ended or not yet accepted)")


def _held_lapsed(purpose: str, at: str, *before: str) -> str:
    return (f"no consent or licence for {purpose} is in force at {at} (all were revoked, "
            f"ended or not yet accepted, including those made to {' and '.join(before)}, "
            "whose consents and licences this key holds at that time)")


def _rotated_away(purpose: str, at: str, holder: str) -> str:
    return (f"no consent or licence for {purpose} is in force for this key at {at}: this key "
            f"was rotated away, and {holder} holds its consents and licences at that time")


def _default(purpose: str) -> str:
    return f"no consent or licence for {purpose}: not allowed by default"


class Home:
    """A creator's home with a work, and the keys of a developer it grants to.

    What a test sets up (the work, keys, grants, licences, rotations, revocations) is written
    by the CLI's own commands in this process (tests/inproc.py); the decisions asked of it
    (`may`, `verify`) run as the real CLI."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.home = tmp_path / "home"
        self.work = tmp_path / "page.png"
        self.work.write_bytes(b"a page of the comic, granted to a developer")
        given("anchor", self.work, home=self.home)
        self.n = 0
        self._log_key: str | None = None

    def key(self, name: str) -> str:
        return given_key(name, self.home)

    def rotate(self, old: str, new: str) -> None:
        given("key", "rotate", old, "--to", new, home=self.home)

    def log_key(self) -> str:
        """``log key``, asked once: it does not change."""
        if self._log_key is None:
            self._log_key = log_key(self.home)
        return self._log_key

    def id(self, *args: str | Path) -> str:
        return str(given_json(*args, "--json", home=self.home)["id"])

    def grant(self, purpose: str, to: str) -> str:
        return self.id("consent", "grant", self.work, "--purpose", purpose, "--to", to)

    def licence(self, purpose: str, to: str, name: str, *extra: str) -> str:
        offer = self.id("licence", "offer", self.work, "--to", to, "--purpose", purpose, *extra)
        given("licence", "accept", offer, "--key", name, home=self.home)
        return offer

    def ask(self, key: str, purpose: str, *at: str) -> tuple[dict[str, Any], dict[str, Any],
                                                             Path]:
        """`may --proof` then `verify` of the receipt; both must agree."""
        self.n += 1
        receipt = self.tmp / f"decision-{self.n}.json"
        said = json.loads(run("may", key, purpose, self.work, "--proof", receipt, "--json",
                              *at, home=self.home, ok_codes=(0, 1)).out)
        written = json.loads(receipt.read_text())["decision"]
        assert written == {k: said[k] for k in ("allowed", "reason", "events", "conditions")}
        verified = self.verify(receipt)
        assert verified["reason"] == said["reason"]
        assert verified["allowed"] is said["allowed"]
        return said, verified, receipt

    def verify(self, receipt: Path, ok_codes: tuple[int, ...] = (0,)) -> dict[str, Any]:
        out = run("verify", receipt, "--log-key", self.log_key(), "--json",
                  home=self.home, ok_codes=ok_codes).out
        return json.loads(out) if out else {}

    def written_as(self, receipt: Path, reason: str, events: list[str]) -> Path:
        """The receipt with its informative decision in other words (as an earlier version
        wrote it)."""
        doc = json.loads(receipt.read_text())
        doc["decision"]["reason"], doc["decision"]["events"] = reason, events
        self.n += 1
        path = self.tmp / f"earlier-{self.n}.json"
        path.write_text(json.dumps(doc, indent=2))
        return path


def test_a_successor_is_told_the_grant_to_its_predecessor_was_revoked(tmp_path: Path) -> None:
    """Case 1: a grant to `lab`, `lab` rotated to `lab2`, the grant revoked. `lab2` asking
    is told the grant it held through the rotation was revoked, citing it (as `lab` would be
    had it never been rotated), in `may`, the receipt and `verify`."""
    h = Home(tmp_path)
    lab, lab2 = h.key("lab"), h.key("lab2")
    grant = h.grant("ai_training", lab)
    h.rotate("lab", "lab2")
    assert h.ask(lab2, "ai_training")[0]["allowed"] is True
    revoked = h.id("consent", "revoke", grant)
    said, verified, receipt = h.ask(lab2, "ai_training")
    assert said["allowed"] is False
    assert said["reason"] == _held_lapsed("ai_training", said["at"], lab)
    assert said["events"] == [grant]
    assert len(verified["citing"]) == 1
    assert verified["citing"][0].startswith(f"consent grant {grant}, revoked by {revoked} at ")
    assert "may not use work" in verified["statement"]
    # the words a key never rotated is told when its own grant was revoked, and more
    fresh = h.key("fresh")
    h.id("consent", "revoke", h.grant("ai_training", fresh))
    own = h.ask(fresh, "ai_training")[0]
    assert own["reason"] == _lapsed("ai_training", own["at"])
    assert said["reason"].startswith(_lapsed("ai_training", said["at"])[:-1] + ", including ")
    # a receipt in the words of before (nothing cited: "not allowed by default") verifies,
    # stated in the words of now; other words are refused
    old = h.written_as(receipt, _default("ai_training"), [])
    assert h.verify(old)["reason"] == said["reason"]
    wrong = h.written_as(receipt, _default("ai_training"), [grant])
    refused = run("verify", wrong, "--log-key", h.log_key(), home=h.home, ok_codes=(1,))
    assert "the receipt's decision is not what the rules give" in refused.err


def test_a_key_rotated_away_is_told_its_revoked_grant_was_revoked(tmp_path: Path) -> None:
    """Case 2: the old key `lab`, its grant revoked after its rotation, is told the grant
    lapsed, not that `lab2` holds it; with a grant still in force for another purpose it is
    still told `lab2` holds that one (F16)."""
    h = Home(tmp_path)
    lab, lab2 = h.key("lab"), h.key("lab2")
    grant = h.grant("ai_training", lab)
    standing = h.grant("ai_inference", lab)
    h.rotate("lab", "lab2")
    revoked = h.id("consent", "revoke", grant)
    said, verified, receipt = h.ask(lab, "ai_training")
    assert said["allowed"] is False
    assert said["reason"] == _lapsed("ai_training", said["at"])
    assert lab2 not in said["reason"]
    assert said["events"] == [grant]
    assert verified["citing"][0].startswith(f"consent grant {grant}, revoked by {revoked} at ")
    # the successor cannot use it either, and is told why
    new = h.ask(lab2, "ai_training")[0]
    assert new["reason"] == _held_lapsed("ai_training", new["at"], lab)
    # a receipt in the words of before (the successor holds it) still verifies
    old = h.written_as(receipt, _rotated_away("ai_training", said["at"], lab2), [grant])
    assert h.verify(old)["reason"] == said["reason"]
    # what stands is held by the successor: the F16 words
    kept, _, _ = h.ask(lab, "ai_inference")
    assert kept["reason"] == _rotated_away("ai_inference", kept["at"], lab2)
    assert kept["events"] == [standing]
    assert h.ask(lab2, "ai_inference")[0]["allowed"] is True


def test_licences_terminated_ended_and_offered_after_a_rotation(tmp_path: Path) -> None:
    """A licence to `lab` terminated after `lab` was rotated to `lab2`, another ended (asked
    after its `until`), and an offer to `lab` still open: each key is told what holds for it."""
    h = Home(tmp_path)
    lab, lab2 = h.key("lab"), h.key("lab2")
    terminated = h.licence("ai_training", lab, "lab")
    ending = h.licence("ai_generation", lab, "lab", "--until", "2030-01-01")
    offer = h.id("licence", "offer", h.work, "--to", lab, "--purpose", "data_mining")
    h.rotate("lab", "lab2")
    assert h.ask(lab2, "ai_training")[0]["allowed"] is True
    ended_by = h.id("licence", "terminate", terminated)
    # terminated
    new, verified, _ = h.ask(lab2, "ai_training")
    assert new["reason"] == _held_lapsed("ai_training", new["at"], lab)
    assert new["events"] == [terminated]
    assert verified["citing"][0].startswith(f"licence {terminated}, terminated by {ended_by} ")
    old, _, _ = h.ask(lab, "ai_training")
    assert old["reason"] == _lapsed("ai_training", old["at"]) and old["events"] == [terminated]
    # ended: asked after its until
    after = ("--at", "2031-01-01T00:00:00Z")
    new, verified, _ = h.ask(lab2, "ai_generation", *after)
    assert new["reason"] == _held_lapsed("ai_generation", "2031-01-01T00:00:00Z", lab)
    assert new["events"] == [ending]
    assert verified["citing"] == [f"licence {ending}, not in force at that time"]
    old, _, _ = h.ask(lab, "ai_generation", *after)
    assert old["reason"] == _lapsed("ai_generation", "2031-01-01T00:00:00Z")
    # an open offer to the old key: its successor may accept it
    old, _, _ = h.ask(lab, "data_mining")
    assert old["reason"] == _rotated_away("data_mining", old["at"], lab2)
    new, verified, _ = h.ask(lab2, "data_mining")
    assert new["reason"] == _held_lapsed("data_mining", new["at"], lab)
    assert verified["citing"] == [f"licence offer {offer}, not accepted"]
    run("licence", "accept", offer, "--key", "lab2", home=h.home)
    assert h.ask(lab2, "data_mining")[0]["allowed"] is True


def test_two_rotations(tmp_path: Path) -> None:
    """`a` rotated to `b`, `b` to `c`: `c` holds what was made to `a` and to `b`, and is told
    so (naming both, in the order cited) when it lapsed; `a` and `b` are told it lapsed, or,
    for what stands, that `c` holds it."""
    h = Home(tmp_path)
    a, b, c = h.key("a"), h.key("b"), h.key("c")
    to_a = h.grant("ai_training", a)
    to_b = h.licence("ai_training", b, "b")
    standing = h.grant("ai_inference", a)
    h.rotate("a", "b")
    h.rotate("b", "c")
    assert h.ask(c, "ai_training")[0]["allowed"] is True
    h.id("consent", "revoke", to_a)
    h.id("licence", "terminate", to_b)
    said, verified, receipt = h.ask(c, "ai_training")
    assert said["reason"] == _held_lapsed("ai_training", said["at"], a, b)
    assert said["events"] == [to_a, to_b]
    assert [x.split(",")[0] for x in verified["citing"]] == [f"consent grant {to_a}",
                                                           f"licence {to_b}"]
    assert h.verify(h.written_as(receipt, _default("ai_training"), []))["reason"] == \
        said["reason"]
    for key, cited in ((a, [to_a]), (b, [to_b])):
        old, _, _ = h.ask(key, "ai_training")
        assert old["reason"] == _lapsed("ai_training", old["at"]) and old["events"] == cited
    for key in (a, b):
        kept, _, _ = h.ask(key, "ai_inference")
        if key == a:
            assert kept["reason"] == _rotated_away("ai_inference", kept["at"], c)
            assert kept["events"] == [standing]
        else:  # nothing names b for ai_inference: b holds nothing of a's any more
            assert kept["reason"] == _default("ai_inference")
    assert h.ask(c, "ai_inference")[0]["allowed"] is True

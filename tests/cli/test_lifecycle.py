"""A creator and a verifier through the CLI: consent, licences, transfer, ``may``, ``status``
and state receipts, with two keys in one data directory.

Key ``default`` (A) anchors the work; key ``b`` (B) is the user who is granted consent, is
offered a licence and finally receives control of the work. The module fixture plays the whole
story once and keeps every answer; the tests then read the parts they are about.

The story is played twice: on the embedded ledger of the data directory, and through a ledger
node (a real ``provenance node serve`` process on 127.0.0.1, named by ``PROVENANCE_NODE``, the
environment form of ``--node URL``), where every event is signed locally, submitted, and its
receipt verified against the node's pinned log key and kept (specs/node.md section 7).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import (
    Result,
    assert_one_error_line,
    log_key,
    new_key,
    public_key,
    run,
    run_json,
    stored_sizes,
)
from tests.inproc import given, given_key
from tests.node.network_helpers import Processes, make_network

EVENT_ID = re.compile(r"[0-9a-f]{64}")
MAY = (0, 1)  # the exit codes of an answer: allowed, not allowed


@dataclass
class Story:
    home: Path
    root: Path
    work_file: Path
    a: str
    b: str
    work: str = ""
    env: dict[str, str] = field(default_factory=dict)  # PROVENANCE_NODE through a node
    log_key: str = ""  # the vkey receipts verify against: the data directory's or the node's
    answers: list[tuple[str, int]] = field(default_factory=list)  # (step, may's exit code)
    written: dict[str, dict[str, Any]] = field(default_factory=dict)  # step -> --json output
    refused: dict[str, Result] = field(default_factory=dict)  # step -> the refusal

    def run(self, *args: str | Path, ok_codes: Collection[int] = (0,)) -> Result:
        """``provenance ARGS`` on this story's data directory (and node, if any)."""
        return run(*args, home=self.home, env=self.env, ok_codes=ok_codes)

    def run_json(self, *args: str | Path) -> Any:
        return run_json(*args, home=self.home, env=self.env)

    def given(self, *args: str | Path) -> str:
        """A precondition of a test, written by the CLI's own command in this process
        (tests/inproc.py) on the same data directory and node; what is checked runs as the
        real CLI (:meth:`run`)."""
        node = ("--node", self.env["PROVENANCE_NODE"]) if self.env else ()
        return given(*args, *node, home=self.home)

    def may(self, step: str) -> None:
        result = self.run("may", self.b, "ai_training", self.work_file, ok_codes=MAY)
        self.answers.append((step, result.code))

    def write(self, step: str, *args: str | Path, key: str | None = None) -> str:
        extra = ("--key", key) if key else ()
        self.written[step] = self.run_json(*args, *extra, "--json")
        return str(self.written[step]["id"])

    def refuse(self, step: str, *args: str | Path, key: str | None = None) -> None:
        extra = ("--key", key) if key else ()
        self.refused[step] = self.run(*args, *extra, ok_codes=(2,))


@pytest.fixture(scope="module", params=["embedded", "node"])
def story(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    root = tmp_path_factory.mktemp(f"lifecycle-{request.param}")
    home = root / "home"
    work_file = root / "page-012.png"
    work_file.write_bytes(b"\x89PNG chapter 1, page 12")
    processes = Processes()
    try:
        if request.param == "node":
            (node,) = make_network(root / "node", ("ledger",), processes)
            node.start()
            s = Story(home, root, work_file, a="", b="", env={"PROVENANCE_NODE": node.url},
                      log_key=node.log_vkey)
        else:
            s = Story(home, root, work_file, a="", b="")
        play(s)
        if not s.log_key:
            s.log_key = log_key(home)
        yield s
    finally:
        processes.close()


def play(s: Story) -> None:
    """The whole story, every answer kept in ``s``."""
    home, work_file = s.home, s.work_file
    s.write("anchor", "anchor", work_file, "--title", "Chapter 1, page 12")
    s.work = s.written["anchor"]["work"]
    s.a = public_key("default", home)
    s.b = new_key("b", home)
    s.may("after anchor")
    grant = s.write("consent grant", "consent", "grant", work_file, "--purpose", "ai_training",
                    "--to", s.b)
    s.may("after grant")
    s.write("consent revoke", "consent", "revoke", grant[:10])
    s.may("after revoke")
    offer = s.write("licence offer", "licence", "offer", work_file, "--to", s.b, "--purpose",
                    "ai_training", "--fee", "50000", "JPY", "--royalty-bps", "500")
    s.may("after offer")
    s.refuse("accept by the licensor", "licence", "accept", offer)
    s.write("licence accept", "licence", "accept", offer[:10], key="b")
    s.may("after accept")
    s.write("licence terminate", "licence", "terminate", offer, "--reason", "unpaid")
    s.may("after terminate")
    s.write("transfer", "transfer", s.work, "--to", s.b)
    s.refuse("grant by the old controller", "consent", "grant", work_file, "--purpose",
             "ai_training", "--to", s.a)
    s.write("grant by the new controller", "consent", "grant", work_file, "--purpose",
            "data_mining", "--to", s.a, key="b")


def test_may_follows_the_lifecycle(story: Story) -> None:
    assert story.answers == [
        ("after anchor", 1),  # nothing granted: not allowed by default
        ("after grant", 0),
        ("after revoke", 1),
        ("after offer", 1),  # an offer is not a licence until accepted
        ("after accept", 0),
        ("after terminate", 1),
    ]


def test_may_explains_its_answer(story: Story) -> None:
    no = story.run("may", story.a, "ai_inference", story.work_file, ok_codes=(1,))
    assert no.out.startswith("not allowed: ")
    assert "not allowed by default" in no.out
    doc = story.run_json("may", story.a, "data_mining", story.work, "--json")
    assert doc["allowed"] is True
    assert doc["work"] == story.work
    assert doc["events"] == [story.written["grant by the new controller"]["id"]]


def test_the_licensor_cannot_accept_its_own_offer(story: Story) -> None:
    message = assert_one_error_line(story.refused["accept by the licensor"])
    assert "only the named licensee" in message
    assert story.b in message


def test_the_old_controller_cannot_grant_after_a_transfer(story: Story) -> None:
    message = assert_one_error_line(story.refused["grant by the old controller"])
    assert "controller" in message
    assert story.b in message  # names who controls the work now


def test_every_write_commands_json_names_the_new_event(story: Story) -> None:
    types = {
        "anchor": "work.register",
        "consent grant": "consent.grant",
        "consent revoke": "consent.revoke",
        "licence offer": "licence.offer",
        "licence accept": "licence.accept",
        "licence terminate": "licence.terminate",
        "transfer": "work.transfer",
        "grant by the new controller": "consent.grant",
    }
    assert set(story.written) == set(types)
    history = story.run_json("status", story.work_file, "--json")["history"]
    ids = [h["id"] for h in history]
    for step, doc in story.written.items():
        assert EVENT_ID.fullmatch(doc["id"]), step
        assert doc["id"] in ids, step
        assert doc["work"] == story.work, step
        if "type" in doc:  # anchor reports a status instead
            assert doc["type"] == types[step], step
        assert Path(doc["receipt"]).is_file(), step
        verified = story.run_json("verify", doc["receipt"], "--log-key", story.log_key,
                                  "--json")
        assert (verified["valid"], verified["id"]) == (True, doc["id"]), step


def test_the_events_land_on_the_ledger_the_story_played_on_only(story: Story) -> None:
    """Through a node nothing is written to the embedded ledger, and the node pinned on first
    contact is the one whose key the receipts verify against; on the embedded ledger no
    node is ever contacted."""
    events = len(story.run_json("status", story.work, "--json")["history"])
    local = stored_sizes(story.home) if (story.home / "ledger.db").exists() else (0, 0)
    pins = [p.read_text().strip() for p in (story.home / "nodes").glob("*.vkey")]
    if story.env:
        assert local == (0, 0)
        assert pins == [story.log_key]
    else:
        entries, checkpointed = local
        assert entries == checkpointed >= events == 8
        assert pins == []


def test_status_json(story: Story) -> None:
    doc = story.run_json("status", story.work[:14], "--json")
    assert doc["work"] == story.work
    assert doc["registrant"] == story.a
    assert doc["controller"] == story.b
    assert doc["content"]["title"] == "Chapter 1, page 12"
    assert [(h["id"], h["type"]) for h in doc["history"]] == [
        (story.written[step]["id"], t) for step, t in (
            ("anchor", "work.register"),
            ("consent grant", "consent.grant"),
            ("consent revoke", "consent.revoke"),
            ("licence offer", "licence.offer"),
            ("licence accept", "licence.accept"),
            ("licence terminate", "licence.terminate"),
            ("transfer", "work.transfer"),
            ("grant by the new controller", "consent.grant"),
        )]
    assert doc["grants_in_force"] == [story.written["grant by the new controller"]["id"]]
    assert doc["licences_in_force"] == []
    licence = next(x for x in doc["licences"] if x["id"] == story.written["licence offer"]["id"])
    assert licence["terms"] == {"fee": {"amount": 50000, "currency": "JPY"}, "royalty_bps": 500}
    assert licence["terminated_by"] == story.written["licence terminate"]["id"]


def test_status_text(story: Story) -> None:
    out = story.run("status", story.work_file).out
    lines = out.splitlines()
    # every key of the user's own is named, as the consents are (B controls the work now)
    assert f"controller:  {story.b} (your key 'b')" in lines
    assert any(x.startswith("registered:  ") and x.endswith(f" by {story.a} (your key "
                                                            "'default')") for x in lines)
    assert "licences in force: none" in out
    assert "data_mining to " + story.a in out


def test_status_text_shows_every_consent_and_licence_with_its_state(story: Story) -> None:
    out = story.run("status", story.work_file).out
    grant, offer = story.written["consent grant"]["id"], story.written["licence offer"]["id"]
    lines = out.splitlines()
    revoked = next(x for x in lines if x.startswith(f"  {grant[:12]} "))
    assert revoked.startswith(f"  {grant[:12]} ai_training to {story.b} (your key 'b')")
    assert " [revoked 20" in revoked and revoked.endswith("Z]")
    terminated = next(x for x in lines if x.startswith(f"  {offer[:12]} "))
    assert terminated == (f"  {offer[:12]} ai_training to {story.b} (your key 'b'): fee 50,000 "
                          "JPY, royalty 5.00%, worldwide [terminated]")
    assert lines.index("other consents:") < lines.index("licences in force: none")
    assert lines.index("other licences:") < lines.index("open offers: none")
    doc = story.run_json("status", story.work, "--json")
    assert doc["grant_status"][grant] == "revoked"
    assert doc["licence_status"] == {offer: "terminated"}
    assert doc["open_offers"] == []


def test_status_text_shows_open_offers_and_the_command_that_accepts(story: Story) -> None:
    page = story.root / f"offered-page-{len(story.env)}.png"
    page.write_bytes(b"a page offered for a licence")
    story.given("anchor", page)
    offer = json.loads(story.given("licence", "offer", page, "--to", story.b, "--purpose",
                                   "ai_inference", "--until", "2099-01-01", "--expires",
                                   "2098-01-01", "--json"))["id"]
    out = story.run("status", page).out.splitlines()
    at = out.index("open offers:")
    assert out[at + 1] == (f"  {offer[:12]} ai_inference to {story.b} (your key 'b'): no fee, "
                           "worldwide, offer expires 2098-01-01T00:00:00Z")
    assert out[at + 2] == f"    to accept (as the licensee): provenance licence accept " \
                          f"{offer[:12]} --key b"
    story.run(*out[at + 2].split(": ", 1)[1].split()[1:])  # the command as printed
    doc = story.run_json("status", page, "--json")
    assert doc["licence_status"] == {offer: "in force"}
    assert doc["licences_in_force"] == [offer]
    text = story.run("status", page).out
    assert f"licences in force:\n  {offer[:12]} ai_inference to {story.b}" in text


def _at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _z(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_grant_to_anyone_with_an_end(story: Story) -> None:
    page = story.root / "open-page.png"
    page.write_bytes(b"a page anyone may train on, until 2099")
    story.given("anchor", page)
    grant = json.loads(story.given("consent", "grant", page, "--purpose", "ai_training",
                                   "--anyone", "--until", "2099-01-01", "--json"))["id"]
    granted = next(g for g in json.loads(story.given("status", page, "--json"))["grants"]
                   if g["id"] == grant)
    assert granted["grantee"] == "*"
    assert granted["until"] == "2099-01-01T00:00:00Z"
    stranger = given_key("stranger", story.home)
    before = _z(_at(granted["granted_at"]) - timedelta(seconds=1))
    for at, code in ((None, 0), (before, 1), ("2098-12-31T23:59:59Z", 0),
                     ("2099-01-01", 1), ("2099-06-30", 1)):
        when = ("--at", at) if at else ()
        result = story.run("may", stranger, "ai_training", page, *when,
                     ok_codes=MAY)
        assert result.code == code, (at, result.out)
    # The grant is for ai_training only.
    story.run("may", stranger, "ai_inference", page, ok_codes=(1,))


@pytest.fixture(scope="module")
def state_receipt(story: Story) -> tuple[Path, str]:
    out = story.root / "page-012.state.json"
    story.run("receipt", story.work_file, "--state", "-o", out)
    return out, story.log_key


def test_state_receipt_verifies_and_shows_the_recomputed_controller(
    state_receipt: tuple[Path, str], story: Story
) -> None:
    path, key = state_receipt
    out = story.run("verify", path, "--log-key", key).out
    assert out.startswith("OK: as of checkpoint ")  # a complete state receipt (v2)
    assert f"  {story.work}: 8 events, controller {story.b}, head " in out
    assert "no later event of it exists" in out


def test_state_receipt_json_includes_the_state(
    state_receipt: tuple[Path, str], story: Story
) -> None:
    path, key = state_receipt
    doc = story.run_json("verify", path, "--log-key", key, "--json")
    assert doc["valid"] is True
    state = doc["works"][0]["state"]
    assert state["work"] == story.work
    assert state["controller"] == story.b
    assert state["registrant"] == story.a
    assert state["grants_in_force"] == [story.written["grant by the new controller"]["id"]]
    assert state["licences_in_force"] == []


def test_state_receipt_with_one_tampered_leaf_does_not_verify(
    state_receipt: tuple[Path, str], story: Story
) -> None:
    path, key = state_receipt
    doc = json.loads(path.read_text())
    offer = next(e for e in doc["works"][0]["events"] if e["event"]["type"] == "licence.offer")
    leaf = base64.b64decode(offer["leaf"])
    assert b'"amount":50000' in leaf
    offer["leaf"] = base64.b64encode(leaf.replace(b'"amount":50000', b'"amount":5')).decode()
    tampered = story.root / "tampered.state.json"
    tampered.write_text(json.dumps(doc))
    result = story.run("verify", tampered, "--log-key", key, ok_codes=(1,))
    assert "state receipt does not verify" in assert_one_error_line(result)


def test_state_receipt_missing_an_event_does_not_verify(
    state_receipt: tuple[Path, str], story: Story
) -> None:
    path, key = state_receipt
    doc = json.loads(path.read_text())
    events = doc["works"][0]["events"]
    revoke = next(e for e in events if e["event"]["type"] == "consent.revoke")
    events.remove(revoke)  # hide the revocation: the grant would look in force
    tampered = story.root / "shortened.state.json"
    tampered.write_text(json.dumps(doc))
    result = story.run("verify", tampered, "--log-key", key, ok_codes=(1,))
    assert "breaks the rules" in assert_one_error_line(result)

"""The reason of a decision or compliance receipt in the reader's language: every template of
specs/rules.md section 5.2 (and section 8's ``--require-attested`` refusal) has a Japanese
rendering with the same ids, keys, purposes and times; English statements that stand alone
begin with a capital; a receipt whose written decision or summary was edited is explained as
that, saying what it says and what its events give (the page still compares the English reason
byte for byte, as ``provenance verify`` does); the result has one live region, said once."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import Page

from .conftest import INDEX, REPO, Receipts
from .test_parity import compare, state_edited

SAMPLE = {"<W>": "sha256:" + "ab" * 32, "<K>": "ed25519:" + "cd" * 32, "<P>": "data_mining",
          "<t>": "2026-03-04T05:06:07Z", "<H>": "ed25519:" + "ef" * 32,
          "<G>": "ai_training", "<key>": "ed25519:" + "12" * 32}
"""A value for each slot of a template: none is an English word."""


def spec_templates() -> list[str]:
    """The reasons of specs/rules.md section 5.2's table, as written there."""
    text = (REPO / "specs" / "rules.md").read_text()
    section = text.split("### 5.2 The words of an answer", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[2] for line in section.splitlines() if line.startswith("| ")
            and not line.startswith("| step")]
    found = [t for row in rows for t in re.findall(r"`([^`]+)`", row)]
    return [t for t in found if " " in t.strip()]  # not the names of fields or slots


def filled(template: str, slots: dict[str, str]) -> str:
    return re.sub(r"<\w+>", lambda m: slots[m[0]], template)


def untranslated(ja: str, values: list[str]) -> list[str]:
    """English words left in a Japanese line once the values it cites are taken out."""
    for v in sorted(values, key=len, reverse=True):
        ja = ja.replace(v, "")
    return re.findall(r"[A-Za-z]{2,}", ja.replace("--require-attested", ""))


def test_every_reason_of_the_spec_has_a_japanese_rendering(page: Page) -> None:
    page.goto(INDEX.as_uri())
    answers = page.evaluate("PLWords.answers")
    spec = spec_templates()
    assert len(spec) == 12, spec
    assert sorted(english for english, _ in answers["reasons"]) == sorted(spec)
    rules = (REPO / "specs" / "rules.md").read_text()
    assert f"`{answers['forWords'][0]}`" in " ".join(rules.split())
    assert " ".join(rules.split()).count(" ".join(
        f"with the reason `{answers['attested'][0][0]}`".split())) == 1
    # each rendered, with each <for> form, each list of keys, and under --require-attested
    cases: list[tuple[str, list[str]]] = []
    for template in spec:
        for purposes in (["data_mining"], ["ai_training", "ai_generative_training"]):
            for keys in ([SAMPLE["<K>"]], [SAMPLE["<K>"], SAMPLE["<H>"]]):
                slots = {**SAMPLE, "<for>": ", which covers ".join(purposes),
                         "<A>": " and ".join(keys)}
                values = [v for k, v in SAMPLE.items() if k in template]
                values += purposes if "<for>" in template else []
                values += keys if "<A>" in template else []
                cases.append((filled(template, slots), values))
    granting = [(e, v) for e, v in cases if e.startswith(("consent granted", "licence in"))]
    cases += [(filled(t, {**SAMPLE, "<reason>": english}), [*values, SAMPLE["<key>"]])
              for t, _ in answers["attested"] for english, values in granting]
    said = page.evaluate("(rs) => rs.map((r) => [PLWords.en.reason(r), PLWords.ja.reason(r)])",
                         [english for english, _ in cases])
    for (english, values), (en, ja) in zip(cases, said, strict=True):
        assert en == english
        assert ja != english and not untranslated(ja, values), (english, ja)
        assert all(v in ja for v in values), (english, ja)
    covered = dict(zip([e for e, _ in cases], [j for _, j in said], strict=True))[
        "consent granted to this key for ai_training, which covers ai_generative_training"]
    assert covered == ("この鍵に ai_training（ai_generative_training を含む） の利用が"
                       "許諾されています")
    # a reason no template gives (a receipt edited by hand) is shown as it is written
    assert page.evaluate("PLWords.ja.reason('because I say so')") == "because I say so"


def japanese(page: Page, selector: str) -> str:
    page.click("#lang-ja")
    text = page.inner_text(selector)
    page.click("#lang-en")
    return text


def test_decision_and_compliance_receipts_give_their_reasons_in_japanese(
        page: Page, receipts: Receipts) -> None:
    page.goto(INDEX.as_uri())
    refused = receipts.decisions["ai_training"]  # granted, then revoked
    seen, ok, line = compare(page, receipts, "reason ja refused", refused, receipts.log_key, None)
    assert ok and seen["state"] == "valid", line
    english, cli = page.inner_text("#decision"), line.splitlines()[0].removeprefix("OK: ")
    assert english == cli[0].upper() + cli[1:]
    assert english.startswith("As of checkpoint ")
    reason = refused["decision"]["reason"]
    assert f": {reason}, citing consent grant " in english
    ja = japanese(page, "#decision")
    assert "いずれも取り消されたか、終了したか、まだ受諾されていません" in ja, ja
    assert page.evaluate("(r) => PLWords.ja.reason(r)", reason) in ja
    assert not re.search(r"no consent|revoked|not allowed|consent grant|in force", ja), ja
    assert refused["decision"]["events"][0] in ja
    allowed = receipts.decisions["ai_inference"]
    seen, ok, line = compare(page, receipts, "reason ja allowed", allowed, receipts.log_key, None)
    assert ok, line
    ja = japanese(page, "#decision")
    assert not re.search(r"consent grant|which ends", ja), ja
    assert f"許諾 {allowed['decision']['events'][0]}（" in ja, ja
    seen, ok, line = compare(page, receipts, "reason ja compliance", receipts.compliance,
                             receipts.log_key, None)
    assert ok, line
    assert page.inner_text("#compliance").startswith("As of checkpoint ")
    items = page.inner_text("#items").splitlines()
    assert [i.split(":")[0] for i in items] == ["Allowed", "Not allowed", "Unregistered"]
    ja_items = japanese(page, "#items").splitlines()
    assert "誰にでも ai_inference の利用が許諾されています" in ja_items[0], ja_items
    assert "ai_inference の許諾もライセンスもありません。既定では利用できません" in ja_items[1]
    for item in ja_items:
        assert not re.search(r"consent|licence|allowed|default|grant", item), item


def decision_edited(receipt: dict[str, Any], **decision: Any) -> dict[str, Any]:
    return {**receipt, "decision": {**receipt["decision"], **decision}}


def test_an_edited_decision_is_said_as_such_with_both_answers(page: Page, receipts: Receipts
                                                              ) -> None:
    page.goto(INDEX.as_uri())
    allowed = receipts.decisions["ai_inference"]
    derived = allowed["decision"]["reason"]
    stated = "no consent or licence for ai_inference: not allowed by default"
    flipped = decision_edited(allowed, allowed=False, reason=stated, events=[], conditions=[])
    seen, ok, line = compare(page, receipts, "decision flipped", flipped, receipts.log_key, None)
    assert seen == {"state": "invalid", "check": "decoded"}, line
    assert page.inner_text("#failed-check") == "Failed check: the decision written in the receipt"
    meaning = page.inner_text("#meaning")
    assert meaning.startswith("The decision written in the receipt is not what its events and "
                              "proofs give. ")
    assert f"The receipt says: not allowed (reason: “{stated}”)." in meaning
    assert f"Its events and proofs give: allowed (reason: “{derived}”)." in meaning
    assert "readable copy of the event" not in page.inner_text("#explain")
    # the technical line names the receipt by its kind, as verify does
    assert line.startswith("error: decision receipt does not verify: "), line
    assert page.inner_text("#technical").startswith("decision receipt does not verify: ")
    page.click("#lang-ja")
    meaning = page.inner_text("#meaning")
    assert page.inner_text("#failed-check") == "不合格になった検査：受領証に書かれた判断"
    assert "受領証の記載：利用できない（理由：「ai_inference の許諾もライセンスもありません。" \
           "既定では利用できません」）" in meaning, meaning
    assert "記録と証明から導かれる判断：利用できる（理由：「誰にでも ai_inference の利用が許諾" \
           "されています」）" in meaning, meaning
    page.click("#lang-en")
    # the same answer with other events cited: the events are said, both ways
    cited = decision_edited(allowed, events=["0" * 64])
    seen, _, line = compare(page, receipts, "decision events edited", cited, receipts.log_key,
                            None)
    assert seen["check"] == "decoded", line
    meaning = page.inner_text("#meaning")
    assert f"events cited: {'0' * 64})" in meaning
    assert f"events cited: {allowed['decision']['events'][0]})" in meaning
    # the same answer and events with other conditions: both said as they are written
    conditioned = decision_edited(allowed, conditions=["credit the author"])
    seen, _, line = compare(page, receipts, "decision conditions edited", conditioned,
                            receipts.log_key, None)
    assert seen["check"] == "decoded", line
    meaning = page.inner_text("#meaning")
    assert '"conditions":["credit the author"]' in meaning
    written = json.dumps(allowed["decision"]["conditions"], separators=(",", ":"))
    assert f'"conditions":{written}' in meaning
    # the reason is compared in English byte for byte: its Japanese rendering is refused
    ja_reason = page.evaluate("(r) => PLWords.ja.reason(r)", derived)
    seen, _, line = compare(page, receipts, "decision reason in japanese",
                            decision_edited(allowed, reason=ja_reason), receipts.log_key, None)
    assert seen == {"state": "invalid", "check": "decoded"}, line
    assert f"The receipt says: allowed (reason: “{ja_reason}”)." in page.inner_text("#meaning")


def test_an_edited_compliance_answer_or_summary_is_said_as_such(page: Page, receipts: Receipts
                                                                ) -> None:
    page.goto(INDEX.as_uri())
    c = receipts.compliance
    items = [dict(i) for i in c["items"]]
    first = items[0]
    items[0] = {**first, "decision": {**first["decision"], "allowed": False}}
    seen, _, line = compare(page, receipts, "compliance item edited", {**c, "items": items},
                            receipts.log_key, None)
    assert seen == {"state": "invalid", "check": "decoded"}, line
    meaning = page.inner_text("#meaning")
    reason = first["decision"]["reason"]
    assert meaning.startswith(f"For item 0 ({first['name']}), the decision written in the "
                              "receipt is not what its events and proofs give."), meaning
    assert f"The receipt says: not allowed (reason: “{reason}”)" in meaning
    assert f"Its events and proofs give: allowed (reason: “{reason}”)" in meaning
    summary = {**c["summary"], "allowed": c["summary"]["allowed"] + 1}
    seen, _, line = compare(page, receipts, "compliance summary edited",
                            {**c, "summary": summary}, receipts.log_key, None)
    assert seen == {"state": "invalid", "check": "decoded"}, line
    assert page.inner_text("#failed-check").endswith("the summary written in the receipt")
    n = c["summary"]
    assert (f"The receipt says: {n['items']} items: {n['allowed'] + 1} allowed"
            in page.inner_text("#meaning"))
    assert (f"Its events and proofs give: {n['items']} items: {n['allowed']} allowed"
            in page.inner_text("#meaning"))


def test_an_edited_state_or_scope_is_said_as_such(page: Page, receipts: Receipts) -> None:
    """Not an edited event: the state or the scope written in the receipt."""
    page.goto(INDEX.as_uri())
    work = receipts.state["works"][0]["work"]
    seen, _, line = compare(page, receipts, "state edited said", state_edited(receipts),
                            receipts.log_key, None)
    assert seen == {"state": "invalid", "check": "decoded"}, line
    assert page.inner_text("#failed-check").endswith("the state written in the receipt")
    assert page.inner_text("#meaning").startswith(
        f"The state written in the receipt for {work} (its controller, consents and licences) "
        "is not what its events give.")
    assert "受領証に書かれた状態" in japanese(page, "#failed-check")
    scoped = {**receipts.decisions["ai_training"], "scope": "proves everything"}
    seen, _, line = compare(page, receipts, "decision scope edited", scoped, receipts.log_key,
                            None)
    assert seen == {"state": "invalid", "check": "decoded"}, line
    assert page.inner_text("#failed-check").endswith("the receipt's scope sentence")
    assert "readable copy of the event" not in page.inner_text("#explain")


WATCH = """() => {
  window.seenChanges = [];
  new MutationObserver((records) => {
    for (const r of records) window.seenChanges.push({attr: r.attributeName, old: r.oldValue,
      inVerdict: document.getElementById("verdict").contains(r.target)});
  }).observe(document.getElementById("result"), {subtree: true, childList: true,
    characterData: true, attributes: true, attributeOldValue: true});
}"""


def live_regions(page: Page) -> list[str]:
    return page.eval_on_selector_all(
        "[aria-live], [role=status], [role=alert], [role=log]", "els => els.map((e) => e.id)")


def test_the_verdict_is_one_live_region_said_once(page: Page, receipts: Receipts) -> None:
    page.goto(INDEX.as_uri())
    before = live_regions(page)
    assert "result" in before
    assert page.get_attribute("#result", "aria-live") == "polite"
    assert page.get_attribute("#result", "aria-atomic") == "true"
    seen, ok, _ = compare(page, receipts, "live compliance", receipts.compliance,
                          receipts.log_key, None)
    assert ok
    # Check pressed again: the verdict is said again, once
    page.evaluate(WATCH)
    page.click("#verify")
    page.wait_for_function("""() => window.seenChanges.some((c) => c.attr === "aria-busy"
        && c.old === "true")""")
    # the result holds the verdict (and a progress line) only; the explanation is outside
    # any live region, and no other live region was made for the verdict
    assert page.eval_on_selector_all("#result > *", "els => els.map((e) => e.id)") == [
        "progress", "verdict"]
    assert page.evaluate("""() => document.getElementById("explain").closest(
        "[aria-live], [role=status], [role=alert], [role=log]")""") is None
    assert page.inner_text("#items")
    assert live_regions(page) == before
    # everything the region shows changed while it was busy: it is said once, when the
    # check ends (aria-busy set back to false, the last change)
    changes = page.evaluate("window.seenChanges")
    assert any(c["inVerdict"] for c in changes)
    busy = [i for i, c in enumerate(changes) if c["attr"] == "aria-busy"]
    assert busy and busy[-1] == len(changes) - 1, changes
    assert page.get_attribute("#result", "aria-busy") == "false"
    # aria-busy's value after each of its changes: the old value of the next, or the last
    after = [changes[j]["old"] for j in busy[1:]] + ["false"]
    assert after.count("false") == 1, changes
    for i, c in enumerate(changes):
        if c["attr"] != "aria-busy":
            since = [after[n] for n, j in enumerate(busy) if j < i]
            assert since and since[-1] == "true", (i, changes)

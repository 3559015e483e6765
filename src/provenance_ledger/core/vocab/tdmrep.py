"""W3C TDM Reservation Protocol (TDMRep), both ways (specs/vocabularies.md section 5).

:func:`render` gives a ``/.well-known/tdmrep.json`` array of one rule for the work;
:func:`read` takes such an array (picking the rule for a path, first match wins, robots.txt
patterns with ``*`` and ``$``) or one object of ``tdm-reservation`` and ``tdm-policy`` (the
HTTP header pair or a TDM·AI declaration, written as JSON). Left out: the HTML ``<meta>`` and
HTTP header forms as such, and reading the ODRL TDM Policy a ``tdm-policy`` points to.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ...errors import MalformedError, quoted
from ..encoding import load_json
from .model import ALLOWED, CONSTRAINED, Preferences, Reading

VERSION = "W3C TDMRep, Final Community Group Report (w3c/tdm-reservation-protocol 1a547b5)"
MEDIA_TYPE = "application/json"
TDM_PURPOSES = ("data_mining", "ai_training", "ai_generative_training")
"""Text and data mining, as TDMRep reserves it (EU Directive 2019/790 article 4), includes
mining and training models on the mined data, generative or not."""
MAX_RULES = 10_000
MAX_PATTERN_CHARS = 2048


def location(work: str) -> str:
    """The rule's path: the work's page on the node that serves it."""
    return f"/works/{work}"


def render(prefs: Preferences) -> list[dict[str, Any]]:
    """``tdm-reservation`` 0 only when every TDM purpose is allowed to anyone; else 1, with
    ``tdm-policy`` the work's page when a licence or condition could permit it
    (section 5.1)."""
    uses = [prefs.use(p) for p in TDM_PURPOSES]
    rule: dict[str, Any] = {"location": location(prefs.work),
                            "tdm-reservation": 0 if all(u == ALLOWED for u in uses) else 1}
    if rule["tdm-reservation"] == 1 and prefs.page and any(
            u in (ALLOWED, CONSTRAINED) for u in uses):
        rule["tdm-policy"] = prefs.page
    return [rule]


def to_text(prefs: Preferences) -> str:
    return json.dumps(render(prefs), indent=2) + "\n"


def read(data: bytes, path: str | None = None) -> Reading:
    """``tdm-reservation`` 0 imports as a grant of the TDM purposes to anyone; 1 (reserved),
    a missing rule, or any other value imports as nothing (section 5.2)."""
    doc = load_json(data, "the TDMRep document")
    if isinstance(doc, list):
        rule = _rule(doc, path)
    elif isinstance(doc, dict):
        rule = doc
    else:
        raise MalformedError("not a TDMRep document: expected a tdmrep.json array of rules "
                             "or an object with tdm-reservation")
    if rule is None:
        return Reading("tdmrep", {}, (f"no rule of the tdmrep.json matches {path}; TDM "
                                      "reservation unset, nothing is imported",))
    if "tdm-reservation" not in rule:
        raise MalformedError("the TDMRep rule has no tdm-reservation")
    value = rule["tdm-reservation"]
    if value == 0 and value is not False:
        return Reading("tdmrep", {p: () for p in TDM_PURPOSES})
    if value == 1 and value is not True:
        policy = rule.get("tdm-policy")
        why = (f"; its TDM policy {str(policy)[:200]} is not read" if policy else "")
        return Reading("tdmrep", {}, (f"TDM rights are reserved{why}: nothing is imported",))
    return Reading("tdmrep", {}, (f"tdm-reservation {quoted(value, 42)} is neither 0 nor 1: "
                                  "nothing is imported",))


def _rule(rules: list[Any], path: str | None) -> dict[str, Any] | None:
    if not 1 <= len(rules) <= MAX_RULES:
        raise MalformedError(f"a tdmrep.json has 1 to {MAX_RULES} rules, not {len(rules)}")
    for n, r in enumerate(rules):
        if not isinstance(r, dict) or not isinstance(r.get("location"), str) or len(
                r["location"]) > MAX_PATTERN_CHARS:
            raise MalformedError(f"tdmrep.json rule {n} is not an object with a location")
    if path is None:
        if len(rules) > 1:
            raise MalformedError(f"the tdmrep.json has {len(rules)} rules: give --location "
                                 "PATH, the path of the work on that server")
        return dict(rules[0])
    return next((dict(r) for r in rules if _matches(r["location"], path)), None)


def _matches(pattern: str, path: str) -> bool:
    """robots.txt matching: a prefix, ``*`` any characters, ``$`` the end."""
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(re.escape(part) for part in body.split("*"))
    return re.match(regex + ("$" if anchored else ""), path) is not None

"""What a consent or a licence grants, in words: the words of ``status`` (specs/cli.md section
3.4), used as well by ``receipt show`` and ``verify`` of the receipt of a ``consent grant`` or a
``licence offer`` (sections 3.6 and 3.12), so that a receipt says what it grants as ``status``
says it. Pure: no ledger, no key is read (the caller names keys: ``status`` adds the name of
one of your keys)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..core.events import ANYONE, Event
from ..core.money import format_amount
from ..core.timefmt import format_time, parse_time


def plain(key: str) -> str:
    """A key as it is, ``anyone`` for the grantee of a grant to every key."""
    return "anyone" if key == ANYONE else key


def describe_terms(terms: Mapping[str, Any]) -> str:
    """A licence's terms in words: fee, royalty, territories, terms URI."""
    parts = []
    fee = terms.get("fee")
    parts.append(f"fee {format_amount(fee['amount'], fee['currency'])}" if fee else "no fee")
    if "royalty_bps" in terms:
        parts.append(f"royalty {terms['royalty_bps'] / 100:.2f}%")
    territories = terms.get("territories")
    parts.append("territories " + ", ".join(territories) if territories else "worldwide")
    if "terms_uri" in terms:
        parts.append(f"terms {terms['terms_uri']}")
    return ", ".join(parts)


def grant_words(purposes: Sequence[str], grantee: str, until: int | None,
                who: Callable[[str], str] = plain) -> str:
    """``PURPOSES to WHO[ until TIME]``: a consent grant as ``status`` lists it."""
    end = f" until {format_time(until)}" if until else ""
    return f"{', '.join(purposes)} to {who(grantee)}{end}"


def licence_words(purposes: Sequence[str], licensee: str, terms: Mapping[str, Any],
                  who: Callable[[str], str] = plain) -> str:
    """``PURPOSES to WHO: TERMS``: a licence as ``status`` lists it."""
    return f"{', '.join(purposes)} to {who(licensee)}: {describe_terms(terms)}"


def span_words(start: int | None, until: int | None) -> str:
    """``from TIME until TIME`` of a licence (either may be absent: ``from now on`` when
    neither is given, it is in force from its acceptance on)."""
    span = []
    if start is not None:
        span.append(f"from {format_time(start)}")
    if until is not None:
        span.append(f"until {format_time(until)}")
    return " ".join(span) if span else "from its acceptance on, no end"


def event_words(event: Event) -> tuple[str, str] | None:
    """(label, words) of what a consent or licence event grants or ends (specs/cli.md
    sections 3.6 and 3.12); None for any other event. Read from the signed body alone: a
    receipt of ``licence accept`` names the offer it accepts, whose receipt says its terms."""
    body, type_ = event.body, event.type
    if type_ == "consent.grant":
        words = grant_words(_strings(body.get("purposes")), str(body.get("grantee")),
                            _time(body.get("until")))
        if body.get("until") is None:
            words += ", no end"
        conditions = _strings(body.get("conditions"))
        if conditions:
            words += f"; conditions: {', '.join(conditions)}"
        return "grants", f"consent: {words}"
    if type_ == "licence.offer":
        terms = {k: body[k] for k in ("fee", "royalty_bps", "territories", "terms_uri")
                 if k in body}
        words = licence_words(_strings(body.get("purposes")), str(body.get("licensee")), terms)
        words += f"; {span_words(_time(body.get('from')), _time(body.get('until')))}"
        expires = _time(body.get("offer_expires"))
        words += (f"; the offer lapses unless accepted before {format_time(expires)}"
                  if expires is not None else "; the offer does not lapse")
        return "offers", f"a licence (in force once the licensee accepts it): {words}"
    if type_ == "consent.revoke":
        return "revokes", f"the consent granted in event {body.get('grant')}"
    if type_ == "licence.accept":
        return "accepts", (f"the licence offered in event {body.get('offer')} (its receipt "
                           "says its terms)")
    if type_ == "licence.terminate":
        reason = body.get("reason")
        return "ends", (f"the licence (or open offer) of event {body.get('licence')}"
                        + (f"; reason: {reason}" if reason else ""))
    return None


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


def _time(value: Any) -> int | None:
    """An event's time member (``YYYY-MM-DDTHH:MM:SSZ``, checked when the event was parsed)
    as seconds; None when absent."""
    return parse_time(value) if isinstance(value, str) else None

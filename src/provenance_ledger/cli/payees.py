"""``--payee KEY=PERCENT``: a work's royalty split as ``anchor`` and ``transfer`` take it
(specs/cli.md section 2.2; the ``payees`` type of specs/events.md section 6)."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from ..core.events import BASIS_POINTS, MAX_LIST_ITEMS
from ..errors import MalformedError, quoted
from .session import DEFAULT_KEY, Session

PayeeOpt = Annotated[list[str] | None, typer.Option(
    "--payee", metavar="KEY=PERCENT",
    help="A payee of the work's royalties and fees and its share, e.g. --payee alice=60 "
         "--payee ed25519:...=40 (a key name or public key; shares with at most two "
         "decimals, a '%' optional, adding up to 100). Repeat for each payee. Without it "
         "the controller is paid everything.", show_default=False)]

_PERCENT = re.compile(r"(100|[0-9]{1,2})(?:\.([0-9]{1,2}))?%?")
"""A share as people write it: ``60``, ``33.33``, and with a percent sign, ``60%``."""

_NUMBER = re.compile(r"[+-]?[0-9]*\.?[0-9]+%?")
"""A number that is no share (``150``, ``-5``, ``33.333``): told the range."""

_GIVE = "give KEY=PERCENT, e.g. alice=60 or ed25519:...=33.33"


def parse_payees(s: Session, texts: list[str] | None) -> list[dict[str, Any]] | None:
    """The ``payees`` member of ``texts`` (None: no option given), or one line naming
    ``--payee`` and what is wrong."""
    if not texts:
        return None
    if len(texts) > MAX_LIST_ITEMS:
        raise MalformedError(f"--payee: at most {MAX_LIST_ITEMS} payees")
    payees: list[dict[str, Any]] = []
    for text in texts:
        who, sep, share = text.rpartition("=")
        m = _PERCENT.fullmatch(share.strip())
        bps = int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0")) if m else None
        if sep and who.strip() and (bps is None and _NUMBER.fullmatch(share.strip())
                                    or bps is not None and bps > BASIS_POINTS):
            raise MalformedError(f"--payee {quoted(text)}: a share is a percent from 0 to "
                                 f"100, with at most two decimals: {_GIVE}")
        if not sep or not who.strip() or bps is None:
            raise MalformedError(f"--payee {quoted(text)}: {_GIVE}")
        payees.append({"key": _key(s, who.strip(), text), "share_bps": bps})
    keys = [p["key"] for p in payees]
    if len(set(keys)) != len(keys):
        raise MalformedError("--payee: a key is named twice")
    total = sum(p["share_bps"] for p in payees)
    if total != BASIS_POINTS:
        raise MalformedError(f"--payee: the shares add up to {total / 100:g}%, not 100%")
    return payees


def _key(s: Session, who: str, text: str) -> str:
    if who == DEFAULT_KEY and not s.home.keys.exists(who):
        return s.signing_key(None).public.text  # made on first use, as a write makes it
    return s.key_option(who, f"--payee {text!r}")

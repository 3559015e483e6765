"""The words of an error a user reads: the rules and the event checks of core/ name event types
(``consent.grant must be signed by ...``) and body fields (``body.reason must be 1 to 1024
characters``), as the log and its receipts do; the CLI's error boundary (cli/main.py) says the
command (``consent grant must be signed by ...``) and the option (``--reason must be ...``)
instead (specs/cli.md section 1, errors: bad input names the option, never an event field).

Only the line printed changes: what is signed, kept in receipts, or given as a decision's
reason is core's, word for word."""

from __future__ import annotations

import re

from ..errors import ConflictError, LedgerError, MalformedError, RuleError

COMMANDS = {
    "work.register": "anchor",
    "work.transfer": "transfer",
    "consent.grant": "consent grant",
    "consent.revoke": "consent revoke",
    "licence.offer": "licence offer",
    "licence.accept": "licence accept",
    "licence.terminate": "licence terminate",
    "dataset.disclose": "dataset disclose",
    "usage.report": "usage report",
    "payment.record": "payment record",
    "payment.ack": "payment ack",
    "payment.dispute": "payment dispute",
    "identity.attest": "identity attest",
    "identity.revoke": "identity revoke",
    "key.rotate": "key rotate",
    "key.recovery": "key recovery",
    "key.compromised": "key compromised",
}
"""Each event type's command (specs/cli.md section 2)."""

OPTIONS = {
    "title": "--title",
    "payees": "--payee",
    "to": "--to",
    "grantee": "--to",
    "licensee": "--to",
    "purposes": "--purpose",
    "until": "--until",
    "from": "--from",
    "conditions": "--condition",
    "fee": "--fee",
    "royalty_bps": "--royalty-bps",
    "territories": "--territory",
    "terms_uri": "--terms-uri",
    "offer_expires": "--expires",
    "reason": "--reason",
    "name": "--name",
    "url": "--url",
    "registry_id": "--registry-id",
    "member": "--member",
    "model": "--model",
    "version": "--version",
    "reference": "--reference",
    "period": "--period",
    "units": "--units",
    "revenue": "--revenue",
    "amount": "--amount",
    "threshold": "--threshold",
    "association": "--association",
    "since": "--since",
}
"""The option that gives each body field a command line sets (fields no option gives, such as
``size`` or ``prev``, keep their names)."""

_TYPE = re.compile(r"(?<![\w./-])(" + "|".join(re.escape(t) for t in COMMANDS) + r")(?![\w-])")
"""An event type as a word of its own: not inside a path or file name
(``<work>-consent.grant-<id>.json``), a URL or a longer name."""

_FIELD = re.compile(r"^body\.([a-z_]+)(?![\w.-])")
"""A body field named as core's checks name it (``body.reason ...``) at the start of the
message: the check of an event this command made of its options. A field of an event read
from a file (``key submit FILE``: ``request ...: body.to ...``) stays as it is: no option
gave it."""


_UNREGISTERED = re.compile(r"^work sha256:[0-9a-f]{64} is not registered$")
"""The rules' refusal of an event about a work no registration names (rules.md R1)."""

UNREGISTERED_HINT = ("on this ledger: anchor it first (provenance anchor FILE), or, if it was "
                     "anchored on a node, give that node's --node URL")


def user_words(error: LedgerError) -> str:
    """The message of ``error`` in the CLI's words: a refusal of the rules or of the event
    checks with its event types as commands and its body fields as options; every other
    error as it is."""
    message = str(error)
    if not isinstance(error, (RuleError, MalformedError, ConflictError)):
        return message
    if isinstance(error, RuleError) and _UNREGISTERED.match(message):
        return f"{message} {UNREGISTERED_HINT}"
    message = _TYPE.sub(lambda m: COMMANDS[m.group(1)], message)
    return _FIELD.sub(lambda m: OPTIONS.get(m.group(1), m.group(0)), message)

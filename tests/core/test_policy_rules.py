"""The policy rules every caller of ``parse_policy`` gets (specs/receipts.md sections 1 and 4):
each witness key named once, no log's key as a witness's, and a log key of type 0x01 only, so
that ``verify`` and ``receipt upgrade`` refuse the same policies."""

from __future__ import annotations

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.note import NoteSigner
from provenance_ledger.core.policy import Policy, parse_policy
from provenance_ledger.errors import MalformedError

LOG = NoteSigner("example.org/log", PrivateKey.from_seed(bytes([1]) * 32))
WITNESS = NoteSigner("example.org/w", PrivateKey.from_seed(bytes([2]) * 32), cosigner=True)
LOG_AS_WITNESS = NoteSigner("example.org/log", PrivateKey.from_seed(bytes([1]) * 32),
                            cosigner=True)


def test_a_policy_with_distinct_witness_keys_is_read() -> None:
    text = (f"log {LOG.verifier.to_vkey()}\nwitness w {WITNESS.verifier.to_vkey()}\n"
            "quorum w\n")
    assert parse_policy(text).describe() == "witness w must cosign"


@pytest.mark.parametrize(("lines", "message"), [
    ([f"witness a {WITNESS.verifier.to_vkey()}", f"witness b {WITNESS.verifier.to_vkey()}",
      "group g 2 a b", "quorum g"],
     "policy names one witness key twice, as a and b: it would count one cosignature twice "
     "toward the quorum"),
    ([f"witness me {LOG_AS_WITNESS.verifier.to_vkey()}", "quorum me"],
     "policy witness me has the key of a log line: a log cannot witness its own checkpoints"),
])
def test_a_policy_that_would_count_one_signer_twice_is_refused(lines: list[str],
                                                              message: str) -> None:
    text = "\n".join([f"log {LOG.verifier.to_vkey()}", *lines]) + "\n"
    with pytest.raises(MalformedError) as e:
        parse_policy(text)
    assert str(e.value) == message


def test_a_log_key_is_type_0x01() -> None:
    assert Policy.for_log_key(LOG.verifier.to_vkey()).logs == (LOG.verifier,)
    with pytest.raises(MalformedError, match=r"is not a log key \(type 0x01\)"):
        Policy.for_log_key(WITNESS.verifier.to_vkey())

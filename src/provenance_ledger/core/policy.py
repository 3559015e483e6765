"""Trust policies in the C2SP tlog-policy text format (draft), for offline verifiers.

specs/receipts.md section 4. Lines::

    log <vkey> [<url>]
    witness <name> <vkey> [<url>]
    group <name> all|any|<k> <member> [<member> ...]
    quorum <name>|none
    attester <key> [<name>]

``attester`` lines (specs/rules.md section 8) name the keys whose identity attestations the
verifier trusts, as ``ed25519:<hex>``; they take no part in checkpoint trust.

Blank lines and lines starting with ``#`` are ignored. Members are witness or group names
defined on earlier lines. A checkpoint is trusted when a ``log`` key signed it and the quorum
is met by valid cosignatures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ..errors import MalformedError, quoted
from .crypto import PublicKey
from .note import SIG_TYPE_COSIGNATURE_V1, SIG_TYPE_ED25519, Verifier

MAX_POLICY_BYTES = 64 * 1024
MAX_POLICY_LINES = 1024


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed policy; immutable, its mappings read-only."""

    logs: tuple[Verifier, ...]
    witnesses: Mapping[str, Verifier] = field(default_factory=lambda: MappingProxyType({}))
    groups: Mapping[str, Group] = field(default_factory=lambda: MappingProxyType({}))
    quorum: str | None = None
    attesters: tuple[str, ...] = ()  # keys whose identity attestations count (section 8)

    def __post_init__(self) -> None:
        object.__setattr__(self, "witnesses", MappingProxyType(dict(self.witnesses)))
        object.__setattr__(self, "groups", MappingProxyType(dict(self.groups)))

    @classmethod
    def for_log_key(cls, vkey: str) -> Policy:
        """The policy of one log key and no witnesses. A log key is type 0x01 (section 1): a
        cosignature/v1 key would take a witness's cosignature for the log's signature."""
        return cls((Verifier.from_vkey(vkey, SIG_TYPE_ED25519),))

    def satisfied(self, cosigners: set[str], name: str | None = None) -> bool:
        """Is the quorum (or the named group or witness) met by these cosigners?"""
        target = self.quorum if name is None else name
        if target is None:
            return True
        if target in self.witnesses:
            return target in cosigners
        group = self.groups[target]
        met = sum(self.satisfied(cosigners, m) for m in group.members)
        return met >= group.threshold

    def to_text(self) -> str:
        """The policy as text that :func:`parse_policy` reads back to an equal policy: log
        lines, witness lines, groups in definition order (members before the groups that use
        them), then the quorum."""
        lines = [f"log {v.to_vkey()}" for v in self.logs]
        lines += [f"witness {name} {v.to_vkey()}" for name, v in self.witnesses.items()]
        lines += [f"group {g.name} {g.threshold} {' '.join(g.members)}"
                  for g in self.groups.values()]
        lines.append(f"quorum {self.quorum or 'none'}")
        lines += [f"attester {k}" for k in self.attesters]
        return "\n".join(lines) + "\n"

    def describe(self) -> str:
        if self.quorum is None:
            return "no witnesses required"
        g = self.groups.get(self.quorum)
        if g is None:
            return f"witness {self.quorum} must cosign"
        return f"{g.threshold} of {len(g.members)} of group {g.name} must cosign"


def parse_policy(text: str) -> Policy:
    """Parse a policy; every error names its line."""
    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise MalformedError(f"policy is larger than {MAX_POLICY_BYTES} bytes")
    lines = text.splitlines()
    if len(lines) > MAX_POLICY_LINES:
        raise MalformedError(f"policy has more than {MAX_POLICY_LINES} lines")
    reader = _Reader()
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            reader.read(line.split(), line)
        except MalformedError as e:
            raise MalformedError(f"policy line {n}: {e}") from e
    if not reader.logs:
        raise MalformedError("policy names no log key")
    if not reader.seen_quorum:
        raise MalformedError("policy has no quorum line (write 'quorum none' for no witnesses)")
    _one_name_per_witness(reader.logs, reader.witnesses)
    return Policy(tuple(reader.logs), reader.witnesses, reader.groups, reader.quorum,
                  tuple(reader.attesters))


def _one_name_per_witness(logs: list[Verifier], witnesses: Mapping[str, Verifier]) -> None:
    """A policy names each witness key once, and no log's key as a witness's (section 4):
    under two names, one cosignature would satisfy both, and a quorum of two could be met by
    one witness; a log's key as a witness's would let the log meet a quorum alone."""
    keys = {v.public_key.raw for v in logs}
    names: dict[bytes, str] = {}
    for name, w in witnesses.items():
        if w.public_key.raw in keys:
            raise MalformedError(f"policy witness {name} has the key of a log line: a log "
                                 "cannot witness its own checkpoints")
        other = names.setdefault(w.public_key.raw, name)
        if other != name:
            raise MalformedError(f"policy names one witness key twice, as {other} and {name}: "
                                 "it would count one cosignature twice toward the quorum")


@dataclass(slots=True)
class _Reader:
    logs: list[Verifier] = field(default_factory=list)
    witnesses: dict[str, Verifier] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    quorum: str | None = None
    seen_quorum: bool = False
    attesters: list[str] = field(default_factory=list)

    def _new_name(self, name: str) -> str:
        if name in self.witnesses or name in self.groups:
            raise MalformedError(f"name {quoted(name)} is defined twice")
        return name

    def read(self, words: list[str], line: str) -> None:
        kind = words[0]
        if kind == "log" and len(words) in (2, 3):
            self.logs.append(Verifier.from_vkey(words[1], SIG_TYPE_ED25519))
        elif kind == "witness" and len(words) in (3, 4):
            name = self._new_name(words[1])
            self.witnesses[name] = Verifier.from_vkey(words[2], SIG_TYPE_COSIGNATURE_V1)
        elif kind == "group" and len(words) >= 4:
            name, k, members = self._new_name(words[1]), words[2], tuple(words[3:])
            for m in members:
                if m not in self.witnesses and m not in self.groups:
                    raise MalformedError(f"group member {quoted(m)} is not defined above")
            if len(set(members)) != len(members):
                raise MalformedError("a group lists a member twice")
            if k == "all":
                threshold = len(members)
            elif k == "any":
                threshold = 1
            elif k.isascii() and k.isdigit() and 1 <= int(k) <= len(members):
                threshold = int(k)
            else:
                raise MalformedError(f"threshold {quoted(k)} is not all, any or 1..{len(members)}")
            self.groups[name] = Group(name, threshold, members)
        elif kind == "quorum" and len(words) == 2:
            if self.seen_quorum:
                raise MalformedError("quorum is given twice")
            self.seen_quorum = True
            if words[1] != "none":
                if words[1] not in self.witnesses and words[1] not in self.groups:
                    raise MalformedError(
                        f"quorum {quoted(words[1])} is not a defined witness or group")
                self.quorum = words[1]
        elif kind == "attester" and len(words) in (2, 3):
            key = PublicKey.from_text(words[1]).text
            if key in self.attesters:
                raise MalformedError(f"attester {key} is given twice")
            self.attesters.append(key)
        else:
            raise MalformedError(f"cannot read {quoted(line, 62)}")

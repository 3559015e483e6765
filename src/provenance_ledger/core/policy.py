"""Trust policies in the C2SP tlog-policy text format (draft), for offline verifiers.

specs/receipts.md section 4. Lines::

    log <vkey> [<url>]
    witness <name> <vkey> [<url>]
    group <name> all|any|<k> <member> [<member> ...]
    quorum <name>|none

Blank lines and lines starting with ``#`` are ignored. Members are witness or group names
defined on earlier lines. A checkpoint is trusted when a ``log`` key signed it and the quorum
is met by valid cosignatures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import MalformedError
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
    logs: tuple[Verifier, ...]
    witnesses: dict[str, Verifier] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    quorum: str | None = None

    @classmethod
    def for_log_key(cls, vkey: str) -> Policy:
        return cls((Verifier.from_vkey(vkey),))

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

    def describe(self) -> str:
        if self.quorum is None:
            return "no witnesses required"
        g = self.groups.get(self.quorum)
        if g is None:
            return f"witness {self.quorum} must cosign"
        return f"{g.threshold} of {len(g.members)} of group {g.name} must cosign"


def parse_policy(text: str) -> Policy:
    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise MalformedError(f"policy is larger than {MAX_POLICY_BYTES} bytes")
    lines = text.splitlines()
    if len(lines) > MAX_POLICY_LINES:
        raise MalformedError(f"policy has more than {MAX_POLICY_LINES} lines")
    logs: list[Verifier] = []
    witnesses: dict[str, Verifier] = {}
    groups: dict[str, Group] = {}
    quorum: str | None = None
    seen_quorum = False
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()

        def fail(why: str, n: int = n) -> MalformedError:
            return MalformedError(f"policy line {n}: {why}")

        kind = words[0]
        if kind == "log" and len(words) in (2, 3):
            v = Verifier.from_vkey(words[1])
            if v.sig_type != SIG_TYPE_ED25519:
                raise fail("a log key must be an Ed25519 note key (type 0x01)")
            logs.append(v)
        elif kind == "witness" and len(words) in (3, 4):
            name = words[1]
            if name in witnesses or name in groups:
                raise fail(f"name {name!r} is defined twice")
            v = Verifier.from_vkey(words[2])
            if v.sig_type != SIG_TYPE_COSIGNATURE_V1:
                raise fail("a witness key must be a cosignature/v1 key (type 0x04)")
            witnesses[name] = v
        elif kind == "group" and len(words) >= 4:
            name, k, members = words[1], words[2], tuple(words[3:])
            if name in witnesses or name in groups:
                raise fail(f"name {name!r} is defined twice")
            for m in members:
                if m not in witnesses and m not in groups:
                    raise fail(f"group member {m!r} is not defined above")
            if len(set(members)) != len(members):
                raise fail("a group lists a member twice")
            if k == "all":
                threshold = len(members)
            elif k == "any":
                threshold = 1
            elif k.isascii() and k.isdigit() and 1 <= int(k) <= len(members):
                threshold = int(k)
            else:
                raise fail(f"threshold {k!r} is not all, any or 1..{len(members)}")
            groups[name] = Group(name, threshold, members)
        elif kind == "quorum" and len(words) == 2:
            if seen_quorum:
                raise fail("quorum is given twice")
            seen_quorum = True
            if words[1] != "none":
                if words[1] not in witnesses and words[1] not in groups:
                    raise fail(f"quorum {words[1]!r} is not a defined witness or group")
                quorum = words[1]
        else:
            raise fail(f"cannot read {line[:60]!r}")
    if not logs:
        raise MalformedError("policy names no log key")
    if not seen_quorum:
        raise MalformedError("policy has no quorum line (write 'quorum none' for no witnesses)")
    # Witness names in cosignatures are key names; index them by key name too.
    return Policy(tuple(logs), witnesses, groups, quorum)

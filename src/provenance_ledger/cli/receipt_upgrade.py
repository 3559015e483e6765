"""``provenance receipt upgrade FILE...``: give kept receipts a newer, better-cosigned checkpoint
of their own log, as ``ots upgrade`` completes a timestamp (specs/receipts.md section 10,
specs/cli.md section 3.13).

For each file, in the order of receipts.md section 10:

1. read it strictly and verify it with the log key it holds (the only key used);
2. fetch the node's newest checkpoint and verify its log signature with that key;
3. verify that it extends the receipt's checkpoint (same size: same root; larger: an RFC 9162
   consistency proof). A failure is evidence of a fork: the file is kept as it is. When the
   node reports witnesses that refuse its latest checkpoint (its
   ``Provenance-Refusing-Witnesses`` header, specs/node.md section 9), the log may have
   forked: that is said, naming them as the node's word, and the file is kept as it is;
4. take the newest checkpoint of the node, from its latest back to the receipt's own size, that
   is better cosigned than the receipt's (with ``--policy``: meets the quorum when the old one
   did not, or has more valid cosignatures; without: more cosignature lines, unverified);
   none: the receipt is already up to date;
5. fetch a fresh inclusion proof of each event at that size and verify it;
6. verify the whole new receipt as ``verify`` does, then replace the file atomically.

Nothing the node says is trusted: an upgrade changes the checkpoint and the proofs, never the
event, the leaf or the log. Leaves out the local ledger, which no witness cosigns.
"""

from __future__ import annotations

import json
import os
import stat
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..core.current import DECISION_RECEIPT_FORMAT, STATE_RECEIPT_V2_FORMAT
from ..core.merkle import leaf_hash, verify_consistency, verify_inclusion
from ..core.note import SIG_TYPE_ED25519, Checkpoint, SignedNote, Verifier
from ..core.policy import MAX_POLICY_BYTES, Policy, parse_policy
from ..core.receipt import (
    MAX_RECEIPT_BYTES,
    MAX_STATE_RECEIPT_BYTES,
    RECEIPT_FORMAT,
    STATE_RECEIPT_FORMAT,
    Receipt,
    StateReceipt,
    check_decoded_event,
    check_decoded_state,
    load_receipt_json,
    verify_checkpoint_note,
    verify_receipt,
    verify_state_receipt,
)
from ..core.witness import full_path, prefix_root
from ..errors import (
    LedgerError,
    MalformedError,
    PeerError,
    VerificationError,
    error_line,
    quoted,
)
from ..ledger.files import read_bounded, write_atomic
from .progress import Bars
from .session import NODE_ENV, Session, TimeoutOpt, emit_json

if TYPE_CHECKING:
    from ..node.client import NodeClient

MAX_CHECKPOINTS_BACK = 16
"""Checkpoints of the node looked at, newest first, for one better cosigned than a receipt's."""
COSIGNATURE_BYTES = 8 + 64  # a cosignature/v1 signature: big-endian time, Ed25519 signature

EXIT_DOES_NOT_VERIFY = 1
EXIT_BAD_INPUT = 2


class Status(StrEnum):
    """What became of one file (specs/cli.md section 3.13)."""

    UPGRADED = "upgraded"
    UP_TO_DATE = "up-to-date"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Cosigned:
    """The cosignatures a checkpoint note carries, as an upgrade counts them."""

    names: tuple[str, ...]
    """With a policy: the policy's witnesses whose cosignature verifies. Without: the names
    on cosignature lines (unverified: no witness key is known)."""
    met: bool | None = None
    """Whether the policy's quorum is met; None without a policy."""

    def better_than(self, other: Cosigned) -> bool:
        """Meets the quorum when the other does not, or (as good on that) has more names."""
        return (self.met is True, len(self.names)) > (other.met is True, len(other.names))


@dataclass(frozen=True, slots=True)
class Result:
    """One file's outcome."""

    file: Path
    status: Status
    kind: str | None = None
    origin: str | None = None
    sizes: tuple[int, int] | None = None  # tree size before, after
    before: Cosigned | None = None
    after: Cosigned | None = None
    error: str | None = None
    code: int = 0  # the exit code this file asks for
    refusing: tuple[str, ...] = ()  # the witnesses the node reports refuse its checkpoint

    def to_json(self, verified: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"file": str(self.file), "status": str(self.status)}
        if self.kind is not None:
            out["kind"] = self.kind
            out["origin"] = self.origin
        if self.sizes is not None:
            out["tree_size"] = {"before": self.sizes[0], "after": self.sizes[1]}
        if self.before is not None and self.after is not None:
            out["cosigners"] = {"before": list(self.before.names),
                                "after": list(self.after.names)}
            out["cosignatures_verified"] = verified
            if self.before.met is not None:
                out["quorum_met"] = {"before": self.before.met, "after": self.after.met}
        if self.error is not None:
            out["error"] = self.error
            out["does_not_verify"] = self.code == EXIT_DOES_NOT_VERIFY
        if self.refusing:
            out["refusing_witnesses"] = list(self.refusing)
        return out

    def line(self) -> str:
        if self.status is Status.FAILED:
            return f"failed: {self.file}: {self.error}"
        assert self.sizes is not None and self.before is not None and self.after is not None
        quorum = "" if self.after.met is None else (
            "; quorum met" if self.after.met else "; quorum not met")
        unverified = "" if self.after.met is not None else " (not verified: no --policy)"
        cosigners = ", ".join(self.after.names) or "none"
        if self.status is Status.UP_TO_DATE:
            return (f"already up to date: {self.file}: checkpoint {self.sizes[0]}, no "
                    f"checkpoint of the node is better cosigned; cosignatures: {cosigners}"
                    f"{unverified}{quorum}")
        was = ", ".join(self.before.names) or "none"
        return (f"upgraded: {self.file}: checkpoint {self.sizes[0]} -> {self.sizes[1]}, "
                f"cosignatures: {cosigners} (before: {was}){unverified}{quorum}")


# -- the kept file ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Kept:
    """A receipt or state receipt file as read: what an upgrade keeps (the log key, the
    events, a state receipt's informative state) and what it replaces (checkpoint, proofs)."""

    kind: str  # "receipt" | "state-receipt"
    data: dict[str, Any]
    log_key: str
    note: str
    leaves: tuple[tuple[int, bytes], ...]  # (leaf index, leaf), in the file's order
    indent: int | None  # how the file was written: indented (-o) or compact (kept receipts)

    @classmethod
    def parse(cls, raw: bytes) -> Kept:
        data = load_receipt_json(raw, MAX_STATE_RECEIPT_BYTES)
        fmt = data.get("format") if isinstance(data, dict) else None
        indent = 2 if raw.lstrip().startswith(b"{\n") else None
        if fmt == STATE_RECEIPT_FORMAT:
            sr = StateReceipt.from_json(data)
            return cls("state-receipt", data, sr.log_key, sr.checkpoint,
                       tuple((i, leaf) for i, leaf, _ in sr.events), indent)
        if fmt == RECEIPT_FORMAT:
            if len(raw) > MAX_RECEIPT_BYTES:
                raise MalformedError(f"receipt is larger than {MAX_RECEIPT_BYTES} bytes")
            r = Receipt.from_json(data)
            return cls("receipt", data, r.log_key, r.checkpoint, ((r.leaf_index, r.leaf),),
                       indent)
        if fmt in (STATE_RECEIPT_V2_FORMAT, DECISION_RECEIPT_FORMAT):
            raise MalformedError(
                "a complete state receipt or a decision receipt proves the state as of its own "
                "checkpoint and is not moved to another: make a current one with 'provenance "
                "receipt WORK --state' or 'provenance may KEY PURPOSE WORK --proof FILE'")
        raise MalformedError(f"its format is neither {RECEIPT_FORMAT} nor "
                             f"{STATE_RECEIPT_FORMAT}")

    def rebuild(self, note: str, proofs: Sequence[tuple[bytes, ...]]) -> dict[str, Any]:
        """The same receipt against ``note``, with ``proofs`` (one per event, in order)."""
        if self.kind == "receipt":
            ((index, leaf),) = self.leaves
            return Receipt(self.log_key, note, index, leaf, proofs[0]).to_json()
        events = tuple((i, leaf, proof)
                       for (i, leaf), proof in zip(self.leaves, proofs, strict=True))
        return StateReceipt(self.log_key, note, str(self.data["work"]), events).to_json(
            self.data.get("state"))


def check(doc: dict[str, Any], log: Verifier) -> Checkpoint:
    """Verify a receipt or state receipt document with the log key, as ``verify`` does
    (receipts.md sections 3 and 5, the quorum apart); its checkpoint."""
    if doc.get("format") == STATE_RECEIPT_FORMAT:
        state = verify_state_receipt(StateReceipt.from_json(doc), [log])
        check_decoded_state(doc, state)
        return state.checkpoint
    verified = verify_receipt(Receipt.from_json(doc), [log])
    check_decoded_event(doc, verified.event)
    return verified.checkpoint


def cosigned(note: str, log: Verifier, policy: Policy | None) -> Cosigned:
    """How ``note`` (signed by ``log``) is cosigned: with a policy, its valid cosignatures by
    the policy's witnesses and whether they meet the quorum; without one, the names on its
    cosignature lines, which nothing here can verify."""
    if policy is not None:
        names = set(verify_checkpoint_note(note, [log], policy.witnesses)[2])
        return Cosigned(tuple(sorted(names)), policy.satisfied(names))
    signed = SignedNote.from_text(note)
    return Cosigned(tuple(sorted({s.name for s in signed.signatures
                                  if not log.matches(s)
                                  and len(s.signature) == COSIGNATURE_BYTES})))


def check_extends(old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """(3) ``new`` extends ``old`` (both signed by the log key), or a
    :class:`VerificationError` saying that the log shows a fork."""
    kept = "the receipt is kept unchanged"
    if new.size == old.size:
        if new.root != old.root:
            raise VerificationError(
                f"refused: the log forked: the node's checkpoint of size {new.size} has "
                f"another root than the receipt's, both signed by the log key (a split view); "
                f"{kept}: keep it as evidence")
        return
    try:
        verify_consistency(old.size, new.size, proof, old.root, new.root)
    except VerificationError as e:
        implied = prefix_root(old.size, new.size, full_path(old.size, old.root, proof),
                              new.root)
        if implied is not None and implied != old.root:
            raise VerificationError(
                f"refused: the log forked: its checkpoint of size {new.size}, signed by its "
                f"log key, holds another tree at size {old.size} than the receipt's checkpoint "
                f"(the consistency proof leads to its root); {kept}: keep it as evidence"
            ) from e
        raise VerificationError(
            f"refused: the node cannot prove that its checkpoint of size {new.size} extends "
            f"the receipt's of size {old.size} ({e}): evidence of a fork; {kept}") from e


# -- the node --------------------------------------------------------------------------------


@dataclass
class Nodes:
    """The node each receipt is upgraded from: ``--node``, else the URL on the policy's
    ``log`` line of the receipt's log key. One client per URL; a URL that could not be
    reached is not asked again."""

    session: Session
    url: str | None
    policy_urls: dict[str, str]
    timeout: float | None
    _clients: dict[str, NodeClient | LedgerError] = field(default_factory=dict)

    def client(self, log_key: str) -> NodeClient:
        url = self.url or self.policy_urls.get(log_key)
        if url is None:
            raise MalformedError("no node to ask for this receipt's log: give --node URL")
        known = self._clients.get(url)
        if known is None:
            known = self._connect(url)
            self._clients[url] = known
        if isinstance(known, LedgerError):
            raise known
        return known

    def _connect(self, url: str) -> NodeClient | LedgerError:
        from ..node.client import NodeClient
        from ..node.fetch import Timeouts

        try:
            return NodeClient(url, self.session.home.path / "nodes",
                              timeouts=Timeouts.of(self.timeout))
        except LedgerError as e:
            return e

    def close(self) -> None:
        for c in self._clients.values():
            if not isinstance(c, LedgerError):
                c.close()


def policy_urls(text: str) -> dict[str, str]:
    """``log <vkey> <url>`` lines of a policy (receipts.md section 4): the URL by log key."""
    urls = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) == 3 and words[0] == "log":
            urls[words[1]] = words[2]
    return urls


# -- one file --------------------------------------------------------------------------------


def upgrade_file(path: Path, nodes: Nodes, policy: Policy | None) -> Result:
    """Upgrade one kept receipt; every failure is the file's result, with its exit code."""
    try:
        return _upgrade(path, nodes, policy)
    except VerificationError as e:
        return Result(path, Status.FAILED, error=error_line(str(e)), code=EXIT_DOES_NOT_VERIFY)
    except LedgerError as e:
        return Result(path, Status.FAILED, error=error_line(str(e)), code=EXIT_BAD_INPUT)


def _upgrade(path: Path, nodes: Nodes, policy: Policy | None) -> Result:
    # (1) the file, verified with the log key it holds.
    raw = read_bounded(path, "receipt", MAX_STATE_RECEIPT_BYTES)
    try:
        kept = Kept.parse(raw)
        log = Verifier.from_vkey(kept.log_key, SIG_TYPE_ED25519)
    except MalformedError as e:
        raise MalformedError(f"not a receipt: {e}") from e
    try:
        old = check(kept.data, log)
    except (MalformedError, VerificationError) as e:
        raise VerificationError(f"the receipt does not verify with its own log key: {e}") from e
    if policy is not None and kept.log_key not in {v.to_vkey() for v in policy.logs}:
        raise MalformedError(f"the policy has no log line for this receipt's log key "
                             f"{kept.log_key}")
    before = cosigned(kept.note, log, policy)
    client = nodes.client(kept.log_key)
    served = client.verifier.to_vkey()
    if served != kept.log_key:
        raise MalformedError(f"the node {client.url} serves log {served}, not this receipt's "
                             f"log {kept.log_key}: give the --node of the receipt's log")
    # (2), (3) the node's newest checkpoint, signed by the receipt's log key, extends the
    # receipt's: whether or not it is better cosigned, a fork is reported.
    from ..node.client import (
        fetch_checkpoint,
        fetch_consistency,
        fetch_inclusion,
        fetch_latest_checkpoint,
    )

    note, refusing = fetch_latest_checkpoint(client)
    latest = _signed(note, log, client.who)
    if latest.size < old.size:
        raise VerificationError(
            f"refused: the node's newest checkpoint has size {latest.size}, below the "
            f"receipt's {old.size}, both signed by the log key: a log never shrinks (rolled "
            "back, or a fork); the receipt is kept unchanged")
    check_extends(old, latest, fetch_consistency(client, old.size, latest.size)
                  if latest.size > old.size else ())
    if refusing:  # the node's word: shown, never trusted; the file is kept as it is
        return Result(path, Status.FAILED, error=error_line(witnesses_refuse(
            path, refusing, latest.size)), code=EXIT_DOES_NOT_VERIFY, refusing=refusing)
    # (4) the newest checkpoint, down to the receipt's size, that is better cosigned.
    cp, after = latest, cosigned(note, log, policy)
    for _ in range(MAX_CHECKPOINTS_BACK - 1):
        if after.better_than(before) or cp.size <= old.size:
            break
        earlier_note = fetch_checkpoint(client, at_most=cp.size - 1)
        earlier = _signed(earlier_note, log, client.who)
        if earlier.size >= cp.size:
            raise PeerError(client.who, f"GET /checkpoint?at_most={cp.size - 1} answered the "
                            f"checkpoint of size {earlier.size}")
        if earlier.size < old.size:
            break
        if earlier.size == old.size:
            check_extends(old, earlier, ())
        cp, note, after = earlier, earlier_note, cosigned(earlier_note, log, policy)
    if not after.better_than(before):
        return Result(path, Status.UP_TO_DATE, kept.kind, old.origin, (old.size, old.size),
                      before, before)
    if old.size < cp.size < latest.size:
        check_extends(old, cp, fetch_consistency(client, old.size, cp.size))
    # (5) fresh inclusion proofs at the chosen size.
    proofs = []
    for index, leaf in kept.leaves:
        proof = fetch_inclusion(client, index, cp.size)
        try:
            verify_inclusion(index, cp.size, leaf_hash(leaf), proof, cp.root)
        except VerificationError as e:
            raise VerificationError(f"refused: the node's inclusion proof of entry {index} at "
                                    f"size {cp.size} does not verify ({e}); the receipt is kept "
                                    "unchanged") from e
        proofs.append(proof)
    # (6) the whole new receipt verifies; only then is the file replaced.
    doc = kept.rebuild(note, proofs)
    check(doc, log)
    _replace(path, doc, kept.indent)
    return Result(path, Status.UPGRADED, kept.kind, old.origin, (old.size, cp.size), before,
                  after)


def witnesses_refuse(path: Path, names: Sequence[str], size: int) -> str:
    """The reason of a file kept because the node reports that ``names`` refuse its latest
    checkpoint, of ``size`` (specs/cli.md section 3.13): what the node says, what it means,
    what to do."""
    one = len(names) == 1
    who, verb, they, hold = (("witness", "refuses", "it", "holds") if one else
                             ("witnesses", "refuse", "they", "hold"))
    return (f"refused: the node reports that {who} {', '.join(names)} {verb} its latest "
            f"checkpoint (size {size}): {they} {hold} another checkpoint of this log of that "
            f"size, or {hold} the log as faulty, so the log may have forked (a split view); "
            "the receipt is kept unchanged, and may not hold in a dispute: get the witness's "
            "evidence from its operator (provenance node evidence --json > evidence.json), "
            f"check the receipt with provenance verify {path} --log-key KEY --evidence "
            "evidence.json, and ask the node's operator")


def _signed(note: str, log: Verifier, who: str) -> Checkpoint:
    """A checkpoint of the node, signed by the receipt's log key."""
    try:
        return verify_checkpoint_note(note, [log])[0]
    except MalformedError as e:
        raise PeerError(who, f"its checkpoint does not parse: {e}") from e
    except VerificationError as e:
        raise VerificationError(f"refused: the node's checkpoint is not signed by the "
                                f"receipt's log key ({e}); the receipt is kept unchanged") from e


def _replace(path: Path, doc: dict[str, Any], indent: int | None) -> None:
    """Write the upgraded receipt whole in place of the old one (ledger/files.py), with the
    old file's permissions; a symbolic link named is followed and its target replaced."""
    target = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except OSError as e:
        raise LedgerError(f"cannot read {path}: {e.strerror}") from e
    if not os.access(target, os.W_OK):
        raise LedgerError(f"cannot replace {path}: it is not writable")
    text = json.dumps(doc, indent=indent, ensure_ascii=False) + "\n"
    write_atomic(target, text.encode("utf-8"), mode=mode)


# -- the command -----------------------------------------------------------------------------


def upgrade(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(
        metavar="FILE...", help="Kept receipts or state receipts.", show_default=False)],
    node: Annotated[str | None, typer.Option(
        "--node", envvar=NODE_ENV, show_envvar=True,
        help="The node of the receipts' log (default: the URL on the policy's log line).")
    ] = None,
    policy: Annotated[Path | None, typer.Option(
        help="Trust policy (C2SP tlog-policy): count only its witnesses' valid cosignatures, "
             "and upgrade when the new checkpoint meets its quorum and the old did not.")
    ] = None,
    timeout: TimeoutOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Replace the checkpoint and proofs of kept receipts by a newer, better-cosigned one.

    For each FILE, the node's checkpoint must be signed by the log key the receipt holds and
    extend the receipt's (a consistency proof); otherwise the log forked and the file is kept.
    So is it when the node reports witnesses that refuse its checkpoint (the log may have
    forked). One line per file: upgraded, already up to date, or failed with the reason. Exit
    0 when every file is upgraded or up to date, 1 when any does not verify (a fork) or
    witnesses refuse, 2 on bad input.

    Example: provenance receipt upgrade page-013.receipt.json --node http://127.0.0.1:8380
    """
    session = Session.from_ctx(ctx)
    pol, urls = None, {}
    if policy is not None:
        text = read_bounded(policy, "policy", MAX_POLICY_BYTES).decode("utf-8", "replace")
        pol, urls = parse_policy(text), policy_urls(text)
    if node is None and not urls:
        raise MalformedError("give --node URL: a receipt does not record where its log is "
                             "served (a --policy log line with a URL would)")
    if node is not None and not node.startswith(("http://", "https://")):
        raise MalformedError(f"--node {quoted(node)} must be an http:// or https:// URL")
    nodes = Nodes(session, node, urls, timeout)
    results: list[Result] = []
    try:
        with Bars.for_output(as_json) if len(files) > 1 else Bars(False) as bars:
            for n, path in enumerate(files, 1):
                result = upgrade_file(path, nodes, pol)
                results.append(result)
                if not as_json:
                    bars.echo(result.line(), err=result.status is Status.FAILED)
                bars("upgrading receipts", n, len(files))
    finally:
        nodes.close()
    counts = Counter(r.status for r in results)
    if as_json:
        emit_json({"summary": {str(s): counts[s] for s in Status if counts[s]},
                   "files": [r.to_json(pol is not None) for r in results]})
    elif len(results) > 1:
        typer.echo(f"{len(results)} receipts: {counts[Status.UPGRADED]} upgraded, "
                   f"{counts[Status.UP_TO_DATE]} already up to date, "
                   f"{counts[Status.FAILED]} failed")
    code = max((r.code for r in results), default=0)
    if code:
        raise typer.Exit(code)

"""What every command shares: the data directory, the ledger, signing keys, output.

Commands build one :class:`Session` from the global options; it opens the ledger and loads keys
only when asked, so read-only commands never create keys.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..core import rules
from ..core.crypto import PrivateKey, PublicKey
from ..core.current import STATE_RECEIPT_V2_FORMAT, VerifiedStateV2, verify_state_receipt_v2
from ..core.encoding import load_json
from ..core.events import Event, SignedEvent, full_work_id, sign_event, work_id_of
from ..core.keystate import KeyLookup
from ..core.receipt import Receipt
from ..core.rules import WorkState
from ..core.similarity import DEFAULT_DISTANCE
from ..errors import LedgerError, MalformedError, NotFoundError, quoted
from ..ledger import Home, Ledger, default_home
from ..ledger.files import private_folder, receipt_path, write_atomic
from ..ledger.folder import (
    REGISTER,
    Content,
    FileResult,
    Payees,
    Status,
    read_content,
    register_body,
    registered,
)
from ..ledger.home import check_private_key_file
from ..ledger.similarity import SimilarityIndex, code_of
from .numbers import seconds
from .progress import MapBuildReport

if TYPE_CHECKING:
    from ..node.client import NodeClient

PASSPHRASE_ENV = "PROVENANCE_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
DEFAULT_KEY = "default"


NODE_ENV = "PROVENANCE_NODE"

NodeOpt = Annotated[str | None, typer.Option(
    "--node", envvar=NODE_ENV, show_envvar=True,
    help="Use the ledger node at this URL instead of the local ledger; its answers are "
         "verified against its log key, pinned on first contact.")]
MAX_TIMEOUT_S = 86_400.0  # the longest --timeout, in seconds
timeout_seconds = seconds("--timeout", MAX_TIMEOUT_S)
"""``--timeout SECONDS`` of every command that talks to a node or peers (section 1.3)."""

TimeoutOpt = Annotated[float | None, typer.Option(
    "--timeout", metavar="SECONDS", parser=timeout_seconds, show_default=False,
    help="With --node: seconds to wait for the connection and for each part of an answer "
         "(default 10; specs/cli.md section 1.3).")]


_WORK_PREFIX = re.compile(r"(?:sha256:)?[0-9a-fA-F]{0,64}")
"""What a prefix of a work id can be (specs/cli.md section 1, WORK argument)."""

DECODED_WORKS = 100
"""Up to this many works, a state receipt also carries each event decoded and each state, for
people; a larger batch leaves them out (about half its size)."""


@dataclass
class Session:
    home: Home
    _ledger: Ledger | None = field(default=None, repr=False)
    node_url: str | None = None
    _client: NodeClient | None = field(default=None, repr=False)
    node_timeout: float | None = None
    _receipts: Path | None = field(default=None, repr=False)
    _warned_unwitnessed: bool = field(default=False, repr=False)

    def use_node(self, url: str | None, timeout: float | None = None) -> Session:
        """Route this command's reads and writes to a node (None: the local ledger), waiting
        ``timeout`` seconds at most for its connection and each read (None: the default)."""
        self.node_url = url
        self.node_timeout = timeout
        return self

    @property
    def client(self) -> NodeClient:
        if self.node_url is None:
            raise ValueError("no node given")
        if self._client is None:
            from ..node.client import NodeClient
            from ..node.fetch import Timeouts

            self._client = NodeClient(self.node_url, self.home.path / "nodes",
                                      timeouts=Timeouts.of(self.node_timeout))
        return self._client

    @classmethod
    def from_ctx(cls, ctx: typer.Context) -> Session:
        obj = ctx.find_root().obj
        if isinstance(obj, Session):
            return obj
        session = cls(Home(default_home()))
        ctx.find_root().obj = session
        return session

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            if self.home.path.is_dir() and self.home.writable():
                for path, was in self.home.tighten_files():  # made 0600 now: said, once
                    typer.echo(f"warning: {path} was open to others (mode {was:04o}): made "
                               "0600; whoever could read it may have copied it", err=True)
            with MapBuildReport() as report:
                self._ledger = self.home.open_ledger(progress=report)
        return self._ledger

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._ledger is not None:
            self._ledger.close()

    def now(self) -> int:
        return int(time.time())

    def next_second(self) -> None:
        """Return once the clock is past the current whole second, so that an event signed
        next is strictly later than every event signed before this call (times are whole
        seconds: an event of a key in its rotation's second reads as after the rotation,
        specs/rules.md section 9). At most a second."""
        start = self.now()
        while (left := start + 1 - time.time()) > 0:
            time.sleep(left)

    # -- keys --------------------------------------------------------------------------------
    def passphrase(self, prompt: bool = False) -> str | None:
        env = os.environ.get(PASSPHRASE_ENV)
        if env:
            return env
        if prompt and sys.stdin.isatty():
            return getpass.getpass("passphrase for the key: ") or None
        return None

    def signing_key(self, name: str | None) -> PrivateKey:
        """Load the named key; the default key is created on first use."""
        keys = self.home.keys
        name = name or DEFAULT_KEY
        if name == DEFAULT_KEY and not keys.exists(name):
            self.home.ensure()
            try:
                return keys.create(name, self.passphrase())
            except LedgerError:
                if not keys.exists(name):
                    raise  # not another command creating it at the same moment
        if keys.exists(name):  # before a passphrase is asked for a key that would be refused
            check_private_key_file(keys.path(name))
        key = keys.load(name, self.passphrase(prompt=keys.encrypted(name)))
        weak = keys.protection(name)
        if weak.weak:  # it opened: say once that a leaked copy would open easily too
            typer.echo(f"note: key '{name}' is encrypted weakly ({weak.describe()}): a copy "
                       f"that leaks is easy to open; strengthen it with: provenance key "
                       f"passphrase {name}", err=True)
        return key

    def signer_for(self, name: str | None, type_: str, work: str, body: dict[str, Any],
                   keys: KeyLookup | None) -> PrivateKey:
        """The key that signs an event of ``type_`` on ``work``. The default key, when it does
        not exist yet, is made in memory, the event signed with it and put to the rules
        (specs/rules.md section 3, as the log admits it) on the work's state, and the key is
        written only when they take it, and said on stderr: a write the rules refuse leaves
        the home as it was, no key made (specs/cli.md section 1, signing key)."""
        key = self.default_in_memory(name)
        if key is None:
            return self.signing_key(name)
        state = self.state(work)
        event = sign_event(Event(type_, work, state.head if state is not None else None,
                                 key.public.text, self.now(), body), key)
        rules.apply(state, event, keys=keys, strict=True)  # a RuleError: nothing was made
        return self.keep_default(key)

    def default_in_memory(self, name: str | None) -> PrivateKey | None:
        """A new key for ``default`` made in memory when ``name`` is it and it does not exist
        yet (written by :meth:`keep_default` once the write is taken, so that a refused one
        makes nothing); None for any other key."""
        if (name or DEFAULT_KEY) != DEFAULT_KEY or self.home.keys.exists(DEFAULT_KEY):
            return None
        return PrivateKey.generate()

    def keep_default(self, key: PrivateKey) -> PrivateKey:
        """Write ``key`` as the key ``default`` (and its ``.pub``) and say so on stderr; the
        one another command made meanwhile, if it did."""
        self.home.ensure()
        try:
            self.home.keys.create(DEFAULT_KEY, self.passphrase(), key)
        except LedgerError:
            if not self.home.keys.exists(DEFAULT_KEY):
                raise
            return self.signing_key(DEFAULT_KEY)  # another command made it at that moment
        self.say_default_made()
        return key

    def say_default_made(self) -> None:
        """Say, once on stderr, where the signing key ``default`` just made is and that it
        needs a backup (specs/cli.md section 2.1)."""
        from .keys import BACKUP_ADVICE  # cli/keys.py imports this module

        typer.echo(f"note: created your signing key 'default' "
                   f"({self.home.keys.path(DEFAULT_KEY)}, mode 0600): {BACKUP_ADVICE}",
                   err=True)

    def has_ledger(self) -> bool:
        """Whether the local home holds a ledger (``ledger.db``, or a PostgreSQL store named
        in ``store.url`` or asked for): a home without one holds no work, and reading it
        need not make it (a refused write leaves a fresh home untouched)."""
        if self._ledger is not None:
            return True
        try:
            return self.home.db_path.exists() or self.home.store_url() is not None
        except LedgerError:
            return True  # opening it says what is wrong

    def public_key(self, name: str | None) -> str | None:
        """The public key of the named key (default: ``default``), read from its ``.pub`` file
        without the passphrase when there is one; None when the default key does not exist
        yet (it is made on first use), an error for any other missing name."""
        keys = self.home.keys
        name = name or DEFAULT_KEY
        if not keys.exists(name):
            if name == DEFAULT_KEY:
                return None
            keys.load(name)  # raises the usual "no key named ..." error
        pub = keys.path(name).with_suffix(".pub")
        if pub.is_file():
            return parse_public_key(pub.read_text(encoding="ascii", errors="replace"))
        return keys.load(name, self.passphrase(prompt=keys.encrypted(name))).public.text

    def key_option(self, text: str, option: str) -> str:
        """The public key an option or argument names (specs/cli.md section 1, key
        arguments): ``ed25519:<64 hex>``, or the name of one of the user's keys. An error
        names ``option``."""
        t = text.strip()
        if t.startswith("ed25519:"):
            try:
                return parse_public_key(t)
            except MalformedError as e:
                raise MalformedError(f"{option}: {e}") from e
        try:
            public = self.public_key(t) if self.home.keys.exists(t) else None
        except MalformedError:  # not even a possible key name
            public = None
        if public is None:
            raise MalformedError(f"{option}: {quoted(t)} is neither a key "
                                 "(ed25519:<64 hex>) nor the name of one of your keys "
                                 "(provenance key list)")
        return public

    def key_names(self, public: str) -> list[str]:
        """Names of the local keys whose public key is ``public`` (read from ``.pub`` files;
        keys without one are passed over)."""
        names = []
        for name in self.home.keys.names():
            pub = self.home.keys.path(name).with_suffix(".pub")
            try:
                if pub.read_text(encoding="ascii", errors="replace").strip() == public:
                    names.append(name)
            except (OSError, LedgerError):  # unreadable, or a file name that is no key name
                continue
        return names

    # -- works -----------------------------------------------------------------------------
    def resolve_work(self, text: str) -> str:
        """WORK may be a file path (hashed), a full work id or a unique prefix of one
        (specs/cli.md section 1); text that can be none of them names no work."""
        path = Path(text)
        try:
            is_file, is_dir = path.is_file(), path.is_dir()
        except (OSError, ValueError):  # a name too long for a path, or holding a NUL
            is_file = is_dir = False
        if is_file:
            return work_id_of(hash_file(path)[0])
        whole = full_work_id(text)
        if whole is not None:  # a whole id names the work, registered or not
            return whole
        if _WORK_PREFIX.fullmatch(text) is None:  # a mistyped file name, or nothing like one
            if is_dir:
                raise MalformedError(f"{quoted(text)} is a folder: name one of its files, a "
                                     "work id (sha256:<64 hex>) or a hex prefix of one")
            raise NotFoundError(f"no such file {quoted(text)}, and it is no work id "
                                "(sha256:<64 hex>) or hex prefix of one")
        if self.node_url is not None:
            return self.client.resolve_work(text)
        if not self.has_ledger():  # a fresh home holds no work: looking makes nothing
            raise _no_work(text)
        return self.ledger.resolve_work(text)

    def event_work(self, text: str, what: str = "event id") -> tuple[str, str]:
        """(event id, work) of a full event id or a unique hex prefix of one, given as the
        argument ``what`` (``LICENCE``, ``--previous``): text that can be no event id is
        refused in its name, and a work given where an event is asked for is told how to
        find the event (specs/cli.md section 1, event id arguments). A fresh home holds no
        event: the error is the one its ledger would give, and the home is not made (a
        refused write leaves a fresh home untouched)."""
        if _EVENT_PREFIX.fullmatch(text) is None:
            raise MalformedError(_not_an_event_id(text, what))
        if self.node_url is not None:
            event = self.client.receipt(text)["event"]
            return str(event["id"]), str(event["work"])
        if not self.has_ledger():
            raise _no_event(text)
        eid = self.ledger.resolve_event(text)
        return eid, self.ledger.entry_by_id(eid).work

    def state(self, work: str) -> WorkState | None:
        return self.find_state(work)[0]

    def find_state(self, work: str) -> tuple[WorkState | None, NotFoundError | None]:
        """The work's state; or None and, through a node, the node's not-found answer, which
        names the work's registrations on the logs that node mirrors (specs/node.md
        section 6)."""
        if self.node_url is None:
            if not self.has_ledger():
                return None, None
            return self.ledger.proven_state(work), None
        client = self.client  # reaching and pinning the node fail loudly, outside the try
        try:
            return client.verified_state(work)[0], None
        except NotFoundError as e:
            return None, e

    def history(self, work: str) -> list[tuple[int, SignedEvent]]:
        """The work's events, oldest first; none for a work the log does not hold."""
        if self.node_url is not None:
            client = self.client  # reaching and pinning the node fail loudly, outside the try
            try:
                return client.verified_state(work)[1]
            except NotFoundError:
                return []
        if not self.has_ledger():
            return []
        return self.ledger.history(work)

    def registration_receipt(self, work: str) -> tuple[dict[str, Any], SignedEvent]:
        """The receipt (JSON) of the work's registration, and the registration event."""
        history = self.history(work)
        if not history:
            raise NotFoundError(f"no work {work} on this ledger")
        index, event = history[0]
        if self.node_url is not None:
            return self.client.receipt(event.id), event
        return self.ledger.receipt(index).to_json(event), event

    def state_receipt(self, work: str) -> dict[str, Any]:
        """The work's state receipt: complete (v2, specs/receipts.md section 11) once the
        latest checkpoint carries the map line, a proof of absence for a work the log does
        not hold; before that v1."""
        if self.node_url is not None:
            data = self.client.state_receipt(work)
            if data.get("format") == STATE_RECEIPT_V2_FORMAT:
                self.client.check_complete(data, work)  # verified before it is written
            return data
        complete = self.ledger.complete_state_receipt([work])
        if complete is not None:
            return complete.to_json()
        state = self.ledger.state(work)
        return self.ledger.state_receipt(work).to_json(state.to_json() if state else None)

    def complete_state(self, works: list[str]) -> tuple[dict[str, Any], VerifiedStateV2]:
        """One state receipt v2 for ``works`` (through a node: one work at a time is what it
        serves), verified here against the log key before anyone relies on it."""
        if self.node_url is not None:
            if len(works) != 1:
                raise MalformedError("through --node, a state receipt covers one work")
            return self.client.complete_state(works[0])
        complete = self.ledger.complete_state_receipt(works)
        if complete is None:
            raise NotFoundError("this ledger's latest checkpoint carries no map line yet: "
                                "complete state receipts start with its next block")
        doc = complete.to_json(decoded=len(works) <= DECODED_WORKS)
        return doc, verify_state_receipt_v2(complete, [self.ledger.verifier])

    # -- writing -------------------------------------------------------------------------------
    def sign_and_append(
        self, key: PrivateKey, type_: str, work: str, body: dict[str, Any]
    ) -> tuple[SignedEvent, int, Path]:
        state = self.state(work)
        prev = state.head if state is not None else None
        now = self.now()
        event = sign_event(Event(type_, work, prev, key.public.text, now, body), key)
        if self.node_url is not None:
            index, doc = self.client.submit(event)
            path = self.write_receipt_doc(doc, event)
            self.warn_unwitnessed(path)
            return event, index, path
        appended = self.ledger.append(event.leaf, now)
        path = self.write_receipt(self.ledger.receipt(appended.index), event)
        return event, appended.index, path

    def warn_unwitnessed(self, path: Path) -> None:
        """One stderr line, once a command, when the node handed out a receipt short of its
        witness quorum (its witnesses did not answer in time; specs/node.md section 9)."""
        lacking = self.client.lacking
        if lacking is None or self._warned_unwitnessed:
            return
        self._warned_unwitnessed = True
        missing, pending = lacking
        whose = f" (pending: {pending})" if pending else ""
        many = "s" if missing != 1 else ""
        if self.client.refusing:  # a fork: no later checkpoint of this log gets their word
            one = " " not in self.client.refusing
            who, verb, they = (("witness", "refuses", "it holds") if one else
                               ("witnesses", "refuse", "they hold"))
            typer.echo(f"warning: receipt {path} lacks {missing} witness cosignature{many}"
                       f"{whose}: {who} {self.client.refusing} {verb} this log's checkpoint "
                       f"({they} another one of that size, or the log as faulty: a fork or "
                       "split view); receipt upgrade cannot add their "
                       "cosignatures: ask the node's operator, and do not rely on this "
                       "log", err=True)
            return
        typer.echo(f"warning: receipt {path} lacks {missing} witness cosignature{many}"
                   f"{whose}: run 'provenance receipt upgrade {path} --node "
                   f"{self.client.url}' later", err=True)

    def register_content(self, content: Content, title: str | None, key_name: str | None,
                         keep_receipt: bool = False, payees: Payees = None) -> FileResult:
        """Anchor one file's content (specs/rules.md section 5.1): register it, or report the
        key's registration (``exists``, with a receipt of it) or another key's
        (``conflict``). Content registered meanwhile by another run is reported the same
        way. ``keep_receipt``: a receipt already kept is not fetched and written again."""
        key = self.signing_key(key_name)
        state = self.state(content.work)
        if state is None:
            body = register_body(content, title, payees)
            try:
                event, index, path = self.sign_and_append(key, REGISTER, content.work, body)
            except LedgerError:
                state = self.state(content.work)
                if state is None:
                    raise
            else:
                return FileResult(content.path, Status.ANCHORED, content.work, event.id,
                                  index, path, similarity=body.get("similarity"),
                                  title=body.get("title"))
        found = registered(content.path, state, key.public.text)
        if found.status is not Status.EXISTS:
            return found
        kept = receipt_path(self.receipts_folder(), content.work, REGISTER, state.registration)
        kept_index = _kept_index(kept, state.registration) if keep_receipt else None
        if kept_index is not None:
            return replace(found, index=kept_index, receipt=kept)
        doc, event = self.registration_receipt(content.work)
        return replace(found, index=doc["leaf_index"], receipt=self.write_receipt_doc(doc, event))

    def similar_works(self, work: str, actor: str | None = None) -> list[dict[str, Any]]:
        """Registrations of other works whose content code is within ``DEFAULT_DISTANCE`` of
        ``work``'s (specs/cli.md section 2.1), nearest first; ``actor``: only those neither
        registered nor controlled by that key. Through a node: its view across the logs it
        holds (specs/node.md section 6.1)."""
        if self.node_url is not None:
            found = self.client.registrations(work, other_than=actor)["similar"]
        else:
            code = code_of(self.ledger, work)
            if code is None:
                return []
            with SimilarityIndex(self.ledger) as index:
                found = [{"origin": self.ledger.origin, **s.to_json()}
                         for s in index.near(code, DEFAULT_DISTANCE, exclude_work=work,
                                             other_than=actor)]
        return [s for s in found if actor not in (s["registrant"], s["controller"])]

    def receipts_folder(self) -> Path:
        """``<home>/receipts``, made 0700 and cleared of temporary files that killed runs left
        (once per command)."""
        if self._receipts is None:
            self._receipts = private_folder(self.home.receipts)
        return self._receipts

    def write_receipt(self, receipt: Receipt, event: SignedEvent) -> Path:
        return self.write_receipt_doc(receipt.to_json(event), event)

    def write_receipt_doc(self, doc: dict[str, Any], event: SignedEvent) -> Path:
        """Keep a receipt in ``<home>/receipts/``, mode 0600 (specs/cli.md section 1.2)."""
        path = receipt_path(self.receipts_folder(), event.event.work, event.event.type, event.id)
        # Compact JSON: the C encoder is several times faster than an indented dump.
        write_atomic(path, (json.dumps(doc, ensure_ascii=False) + "\n").encode("utf-8"))
        return path


_EVENT_PREFIX = re.compile(r"[0-9a-fA-F]{4,64}")
"""What an event id argument can be (specs/cli.md section 1, event id arguments)."""


_EVENT_ARGUMENTS = {
    "GRANT": "the consent grant's id",
    "OFFER": "the licence offer's id",
    "LICENCE": "the licence's id (its offer's)",
    "PAYMENT": "the payment's id (its payment record's)",
    "ATTESTATION": "the attestation's id",
    "--previous": "the id of the version disclosed before",
}
"""What each event id argument names, in the words of its help."""


def _not_an_event_id(text: str, what: str) -> str:
    """``LICENCE 'a.png' is not an event id: give ...``, and, when ``text`` names a work (a
    file or a work id), where that work's event ids are listed."""
    named = _EVENT_ARGUMENTS.get(what, "an event's id")
    line = (f"{what} {quoted(text)} is not an event id: give {named}, 64 hex digits or a "
            "unique prefix of at least 4")
    try:
        is_work = Path(text).is_file() or full_work_id(text) is not None
    except (OSError, ValueError):  # a name too long for a path, or holding a NUL
        is_work = False
    if is_work:
        line += (f"; {quoted(text)} is a work: 'provenance status {text}' lists its events "
                 "with their ids")
    return line


def _no_event(text: str) -> LedgerError:
    """What ``Ledger.resolve_event`` says of an event id (its form already checked by
    :meth:`Session.event_work`) on a log that holds no event, in its words."""
    return NotFoundError(f"no event {quoted(text)} in this log")


def _no_work(text: str) -> LedgerError:
    """What ``Ledger.resolve_work`` says of the work prefix ``text`` on a ledger that holds no
    work, in its words: too short, else not found."""
    if len(text.removeprefix("sha256:")) < 4:
        return MalformedError(f"work prefix {quoted(text)} is too short (give at least 4 hex "
                              "digits)")
    return NotFoundError(f"no work {quoted(text)} on this ledger")


def _kept_index(path: Path, event_id: str) -> int | None:
    """The entry index in a kept receipt of ``event_id``; None if there is none to trust."""
    try:
        doc = load_json(path.read_bytes(), f"receipt {path}")
    except (OSError, MalformedError):
        return None
    index = doc.get("leaf_index") if isinstance(doc, dict) else None
    event = doc.get("event") if isinstance(doc, dict) else None
    if isinstance(index, int) and isinstance(event, dict) and event.get("id") == event_id:
        return index
    return None


def hash_file(path: Path) -> tuple[str, int, str]:
    """(SHA-256 hex, size in bytes, media type) of a regular file (ledger/folder.py)."""
    content = read_content(path)
    return content.sha256, content.size, content.media_type


def _no_folder(path: Path) -> str | None:
    """What keeps a file from being written at ``path``, in words; None when nothing does
    (specs/cli.md section 1, output files)."""
    folder = path.parent
    if path.is_dir():
        return f"{quoted(str(path))} is a folder: name a file to write"
    if folder.is_dir():
        return None
    above = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if above is not None and not above.is_dir():
        return f"{quoted(str(above))} is a file, not a folder"
    return f"no folder {quoted(str(folder).rstrip(os.sep) + os.sep)} (create it first)"


def output_file(name: str) -> Callable[[str], Path]:
    """The parser of option ``name`` (``-o``, ``--receipt``, ...) naming a file the command
    writes: its folder must exist (it is never created); checked before the command begins,
    so that nothing is done for a file that cannot be written (specs/cli.md section 1, output
    files)."""

    def parse(text: str) -> Path:
        path = Path(text)
        wrong = _no_folder(path)
        if wrong is not None:
            raise MalformedError(f"{name}: {wrong}")
        return path

    return parse


def write_text_atomic(path: Path, text: str) -> None:
    """Write a file the user named whole or not at all (ledger/files.py: a temporary file
    beside it, fsynced and renamed into place), with the default permissions of a new file
    (0644 under the usual umask). Its folder must exist: it is never created (specs/cli.md
    section 1, output files)."""
    wrong = _no_folder(path)
    if wrong is not None:  # its option's parser said so, unless the folder went since
        raise MalformedError(f"cannot write {quoted(str(path))}: {wrong}")
    write_atomic(path, text.encode("utf-8"), mode=None)


def parse_public_key(text: str) -> str:
    """Accept a key as ``ed25519:<hex>``; names a clear error otherwise."""
    return PublicKey.from_text(text.strip()).text


def json_text(value: Any) -> str:
    """``value`` as the indented JSON every ``--json`` prints (specs/cli.md section 3): UTF-8
    as it is, unless a string holds what is not text, such as a file name whose bytes are not
    UTF-8 (held with surrogate escapes): then every non-ASCII character is a ``\\u`` escape,
    so that the output is always valid UTF-8 JSON."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(value, indent=2, ensure_ascii=True)
    return text


def emit_json(value: Any) -> None:
    typer.echo(json_text(value))


def require(condition: bool, message: str) -> None:
    if not condition:
        raise MalformedError(message)



"""``provenance dataset disclose|prove|versions``: commit to a training set on the log and
prove to a creator whether a work is in it (specs/datasets.md, specs/cli.md section 9).

The manifest stays with the developer: only the tree's root and the item count are logged.
The tree's salts come from a secret the developer's key derives again on every run
(specs/datasets.md section 1.3), so nothing new is stored and a re-run finds the same root.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from ..core import dataset
from ..core.crypto import PrivateKey
from ..core.disclosure import DatasetProof
from ..core.encoding import is_text, load_json
from ..core.events import (
    MAX_DATASET_NAME_CHARS,
    MAX_TITLE_CHARS,
    MAX_VERSION_CHARS,
    SignedEvent,
    check_purpose,
)
from ..core.receipt import Receipt
from ..core.timefmt import format_time
from ..errors import MalformedError, NotFoundError, quoted
from ..ledger.files import private_folder, read_bounded, write_atomic
from ..ledger.folder import list_folder
from .progress import Bars
from .session import (
    NodeOpt,
    Session,
    TimeoutOpt,
    emit_json,
    hash_file,
    output_file,
    write_text_atomic,
)

DISCLOSE = "dataset.disclose"
MAX_MANIFEST_LINE_CHARS = 4096
MAX_MANIFEST_ITEMS = 10_000_000
MAX_COMPLIANCE_RECEIPT_BYTES = 256 << 20
DEFAULT_PURPOSE = "ai_training"

KeyOpt = Annotated[str | None, typer.Option(
    "--key", help="Signing key name (default: 'default').")]
NameOpt = Annotated[str, typer.Option("--name", help="The dataset's name.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def register(app: typer.Typer) -> None:
    """Add ``disclose``, ``prove`` and ``versions`` to the ``dataset`` group ``app``."""
    app.command("disclose")(disclose)
    app.command("prove")(prove)
    app.command("versions")(versions)


# -- the manifest ----------------------------------------------------------------------------


def parse_item(text: str, base: Path | None = None) -> str:
    """ITEM as a canonical item id: a ``sha256:`` id, an ISCC code, or a file (hashed)."""
    item = dataset.canonical_item(text)
    if item is not None:
        return item
    path = Path(text) if base is None or Path(text).is_absolute() else base / text
    if path.is_file():
        return "sha256:" + hash_file(path)[0]
    raise MalformedError(f"{quoted(text)} is not a file, a sha256: content id or an ISCC code")


def read_manifest(path: Path, bars: Bars | None = None) -> Iterator[str]:
    """The items of a manifest (specs/datasets.md section 7): one per line, a ``sha256:`` id,
    an ISCC code, a file path (relative to the manifest's folder) or a JSON object with exactly
    one of ``id`` (or ``work``, ``sha256``, as ``dataset check`` reads them), ``iscc``,
    ``path``; empty lines and ``#`` comments are skipped. A folder's items are its files,
    hashed under a ``hashing`` bar (specs/cli.md section 1.4)."""
    if path.is_dir():
        yield from _folder_items(path, bars or Bars(False))
        return
    if not path.exists():
        raise NotFoundError(f"no such folder or manifest: {path}")
    if not path.is_file():
        raise NotFoundError(f"cannot read manifest {path}: not a file")
    base = path.parent
    count = 0
    with path.open("rb") as f:
        for n, raw in enumerate(f, 1):
            where = f"{path} line {n}"
            if len(raw) > MAX_MANIFEST_LINE_CHARS:
                raise MalformedError(f"{where} is longer than {MAX_MANIFEST_LINE_CHARS} bytes")
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError as e:
                raise MalformedError(f"{where} is not UTF-8 text") from e
            if not line or line.startswith("#"):
                continue
            try:
                item = _json_item(line, base) if line.startswith("{") else parse_item(line, base)
            except MalformedError as e:
                raise MalformedError(f"{where}: {e}") from e
            count += 1
            if count > MAX_MANIFEST_ITEMS:
                raise MalformedError(f"{path} has more than {MAX_MANIFEST_ITEMS} items")
            yield item


def _folder_items(root: Path, bars: Bars) -> Iterator[str]:
    """A folder's items (specs/datasets.md section 7): every regular file below it, listed and
    hashed as ``dataset check`` and ``anchor DIR`` do (hidden names ignored; symbolic links,
    special files and empty files left out)."""
    listing = list_folder(root)
    refused = [r for r in listing.skipped if r.error is not None]
    if refused:
        raise NotFoundError(refused[0].error or f"cannot read {refused[0].file}")
    count, total = 0, len(listing.files)
    for n, file in enumerate(listing.files, 1):
        digest, size, _ = hash_file(file)
        bars("hashing", n, total)
        if size == 0:
            continue  # an empty file is nobody's work (specs/cli.md section 3.14)
        count += 1
        if count > MAX_MANIFEST_ITEMS:
            raise MalformedError(f"{root} has more than {MAX_MANIFEST_ITEMS} files")
        yield "sha256:" + digest
    if count == 0:
        raise NotFoundError(f"no files in folder {root} (hidden names, symbolic links, special "
                            "and empty files are left out)")


JSON_ITEM_MEMBERS = ("id", "work", "sha256", "iscc", "path")
"""What a JSON line names, exactly one of: ``id`` or ``work`` (a ``sha256:`` content id),
``sha256`` (64 hex digits, as ``dataset check`` reads it), ``iscc``, ``path``."""


def _json_item(line: str, base: Path) -> str:
    obj = load_json(line, "JSON line")
    if not isinstance(obj, dict):
        raise MalformedError("a JSON line must be an object")
    named = [k for k in JSON_ITEM_MEMBERS if k in obj]
    if len(named) != 1 or not isinstance(obj[named[0]], str):
        raise MalformedError('a JSON line must have exactly one of "id", "iscc", "path" (or '
                             '"work", "sha256", as dataset check reads them) as a string')
    value = obj[named[0]]
    if named[0] == "sha256":
        item = dataset.canonical_item("sha256:" + value)
        if item is None:
            raise MalformedError(f"sha256 {quoted(value)} is not 64 hex digits")
        return item
    if named[0] == "path":
        path = Path(value) if Path(value).is_absolute() else base / value
        if not path.is_file():
            raise MalformedError(f"{quoted(value)} is not a file")
        return "sha256:" + hash_file(path)[0]
    item = dataset.canonical_item(value)
    if item is None or (named[0] == "iscc") != item.startswith("ISCC:"):
        what = "an ISCC code" if named[0] == "iscc" else "a sha256: content id"
        raise MalformedError(f"{quoted(value)} is not {what}")
    return item


# -- shared ----------------------------------------------------------------------------------


def _text_option(value: str, option: str, limit: int) -> str:
    if not 0 < len(value) <= limit or not is_text(value):
        raise MalformedError(f"{option} must be 1 to {limit} characters of text")
    return value


def secret_for(key: PrivateKey, name: str, version: str) -> bytes:
    """The dataset secret (specs/datasets.md section 1.3): derived again from the key on every
    run, so nothing is stored and a re-run finds the same salts."""
    return dataset.secret_from_signature(key.sign(dataset.secret_message(name, version)))


def _build(manifest: Path, secret: bytes, bars: Bars) -> tuple[dataset.Tree, int]:
    """The tree of the manifest's items, and how many of its items named one already
    listed (each item is committed once: specs/datasets.md section 7)."""
    read = 0

    def counted() -> Iterator[str]:
        nonlocal read
        for item in read_manifest(manifest, bars):
            read += 1
            yield item

    tree = dataset.Tree(dataset.entries(secret, counted()))
    return tree, read - len(tree.entries)


def _items(count: int) -> str:
    return f"{count} item" + ("" if count == 1 else "s")


def _level(tree: dataset.Tree, bars: Bars) -> list[bytes | None]:
    """The tree's kept level: the whole tree's hashing (about 0.7 ms an item), under a
    ``committing`` bar counted in items (specs/cli.md section 1.4)."""
    return tree.level(progress=lambda done, total: bars("committing", done, total))


def _versions(session: Session, actor: str, name: str) -> list[tuple[int, SignedEvent]]:
    return [(i, ev) for i, ev in session.history(dataset.series_id(actor, name))
            if ev.event.type == DISCLOSE]


def _receipt(session: Session, index: int, ev: SignedEvent) -> Receipt:
    """The receipt of a disclosure at ``index``: the local ledger's, or the node's (verified
    against its pinned key before it is used)."""
    if session.node_url is not None:
        return Receipt.from_json(session.client.receipt(ev.id))
    return session.ledger.receipt(index)


def _describe(index: int, ev: SignedEvent) -> dict[str, Any]:
    body = ev.event.body
    out: dict[str, Any] = {"version": body["version"], "event": ev.id, "index": index,
                           "at": format_time(ev.event.at), "previous": ev.event.prev,
                           "count": body["count"], "root": body["root"],
                           "purposes": list(body["purposes"])}
    for k in ("model", "compliance"):
        if k in body:
            out[k] = body[k]
    return out


def _level_file(session: Session, actor: str, name: str, version: str) -> Path:
    series = dataset.series_id(actor, name).removeprefix("sha256:")[:16]
    tag = hashlib.sha256(version.encode("utf-8")).hexdigest()[:16]
    return session.home.path / "datasets" / f"{series}-{tag}.level"


def _keep_level(session: Session, actor: str, name: str, version: str,
                upper: list[bytes | None]) -> None:
    """Keep the tree's nodes at depth 16 (2 MiB, mode 0600): a later ``prove`` then hashes
    only the items below one of them. It is a cache, checked by the root of every proof."""
    path = _level_file(session, actor, name, version)
    private_folder(path.parent)
    write_atomic(path, dataset.level_to_bytes(upper))


def _kept_level(session: Session, actor: str, name: str,
                version: str) -> list[bytes | None] | None:
    try:
        data = _level_file(session, actor, name, version).read_bytes()
        return dataset.level_from_bytes(data)
    except (OSError, MalformedError):
        return None  # none kept, or not usable: the whole tree is hashed instead


MAX_KEYS_ASKED = 20
"""How many other local keys a missing dataset is looked up under, for the hint."""


def _no_dataset(session: Session, name: str, actor: str, option: str) -> NotFoundError:
    """No version of ``name`` by ``actor``: when another of the local keys disclosed it (a
    developer who disclosed with ``--key lab`` and proves without it), the error names that
    key and the option that selects it (``--key`` for ``prove``, ``--by`` for ``versions``)."""
    message = f"no dataset {quoted(name)} disclosed by {actor} on this ledger"
    for other in session.home.keys.names()[:MAX_KEYS_ASKED]:
        try:
            public = session.home.keys.path(other).with_suffix(".pub").read_text(
                encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if public != actor and public.startswith("ed25519:") and _versions(
                session, public, name):
            return NotFoundError(f"{message}; your key {quoted(other)} disclosed it: add "
                                 f"{option} {other}")
    return NotFoundError(message)


# -- commands --------------------------------------------------------------------------------


def disclose(
    ctx: typer.Context,
    manifest: Annotated[Path, typer.Argument(
        metavar="MANIFEST", help="The set: a folder (every file, hashed as dataset check "
                                 "does), or a manifest of one file path, sha256: id or ISCC "
                                 "code a line (or JSON Lines with one of id, work, sha256, "
                                 "iscc, path).", show_default=False)],
    name: NameOpt,
    version: Annotated[str, typer.Option("--version", help="This version's name.",
                                         show_default=False)],
    model: Annotated[str | None, typer.Option(help="The model trained on it.")] = None,
    purpose: Annotated[list[str] | None, typer.Option(
        "--purpose", metavar="PURPOSE",
        help=f"What the set is used for (repeatable; default {DEFAULT_PURPOSE}).",
        show_default=False)] = None,
    previous: Annotated[str | None, typer.Option(
        help="Event id of the previous version; checked to be the latest one.")] = None,
    compliance_receipt: Annotated[Path | None, typer.Option(
        "--compliance-receipt", help="A compliance receipt (dataset check --receipt) whose "
                                     "digest is logged with the disclosure.")] = None,
    key: KeyOpt = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Log a commitment to MANIFEST's items as version VERSION of dataset NAME.

    Only the tree's root and the item count are logged; the manifest stays private.
    A new version of a name you disclosed before names the previous one. Running it again
    for a version already disclosed with the same items appends nothing.

    Example: provenance dataset disclose train.txt --name corpus --version 2026-01
    """
    session = Session.from_ctx(ctx).use_node(node, timeout)
    _text_option(name, "--name", MAX_DATASET_NAME_CHARS)
    _text_option(version, "--version", MAX_VERSION_CHARS)
    if model is not None:
        _text_option(model, "--model", MAX_TITLE_CHARS)
    purposes = list(dict.fromkeys(purpose or [DEFAULT_PURPOSE]))
    for p in purposes:
        try:
            check_purpose(p, "--purpose")
        except MalformedError as e:
            raise MalformedError(f"--purpose: {e}") from e
    digest = None
    if compliance_receipt is not None:
        digest = "sha256:" + hashlib.sha256(read_bounded(
            compliance_receipt, "compliance receipt", MAX_COMPLIANCE_RECEIPT_BYTES)).hexdigest()
    unsaved = session.default_in_memory(key)  # written only once the disclosure is made
    signer = unsaved or session.signing_key(key)
    actor = signer.public.text
    asked = purposes if purpose else None
    if session.node_url is not None or session.home.db_path.exists():
        # before the items are hashed (minutes at 10^6): a version is logged once; a home
        # with no ledger yet (nothing is created for a refusal) has no version
        for _, ev in _versions(session, actor, name):
            if ev.event.body["version"] == version:
                _same_terms(ev, model, asked, digest)
    secret = secret_for(signer, name, version)
    with Bars.for_output(as_json) as bars:
        tree, folded = _build(manifest, secret, bars)
        upper = _level(tree, bars)
    root, count = dataset.root_of_level(upper).hex(), len(tree.entries)
    chain = _versions(session, actor, name)
    for index, ev in chain:
        if ev.event.body["version"] != version:
            continue
        _same_terms(ev, model, asked, digest)
        if ev.event.body["root"] != root or ev.event.body["count"] != count:
            raise MalformedError(f"version {quoted(version)} of dataset {quoted(name)} is already "
                                 f"disclosed, with other items (event {ev.id})")
        _keep_level(session, actor, name, version, upper)
        path = session.write_receipt_doc(_receipt(session, index, ev).to_json(ev), ev)
        _report(as_json, "exists", index, ev, path)
        return
    head = chain[-1][1].id if chain else None
    if previous is not None:
        if head is None:
            raise MalformedError(f"--previous: dataset {quoted(name)} has no version yet")
        if session.event_work(previous, "--previous")[0] != head:
            raise MalformedError(f"--previous: the latest version of {quoted(name)} is "
                                 f"{quoted(chain[-1][1].event.body['version'])} (event {head})")
    body: dict[str, Any] = {"name": name, "version": version, "purposes": purposes,
                            "root": root, "count": count}
    if model is not None:
        body["model"] = model
    if digest is not None:
        body["compliance"] = digest
    if unsaved is not None and session.keep_default(unsaved) is not unsaved:
        raise MalformedError("another command made your key 'default' meanwhile: run this "
                             "one again to disclose with it")
    if folded:  # said, not folded silently (once nothing was refused): count is of distinct items
        what = "file" if manifest.is_dir() else "line"  # a folder's: the same content
        typer.echo(f"note: {folded} duplicate {what}{'' if folded == 1 else 's'} of "
                   f"{manifest} folded into the item already listed: each item is committed "
                   f"once ({_items(count)})", err=True)
    event, index, path = session.sign_and_append(
        signer, DISCLOSE, dataset.series_id(actor, name), body)
    _keep_level(session, actor, name, version, upper)
    _report(as_json, "disclosed", index, event, path)


def _same_terms(ev: SignedEvent, model: str | None, purposes: list[str] | None,
                digest: str | None) -> None:
    """A re-run for a version already disclosed (specs/cli.md section 2) logs nothing, so an
    option it gives that the logged version does not carry (another ``--model``,
    ``--purpose`` or ``--compliance-receipt``) would be silently dropped: refused instead,
    naming the option and what the version was logged with."""
    body = ev.event.body
    what = (f"version {quoted(body['version'])} of dataset {quoted(body['name'])} is already "
            f"disclosed (event {ev.id})")
    again = ("a version is logged once: disclose the items as a new version (--version NEW) "
             "to log")
    if model is not None and body.get("model") != model:
        logged = f"model {quoted(body['model'])}" if "model" in body else "no model"
        raise MalformedError(f"--model: {what} with {logged}; {again} model {quoted(model)}")
    if purposes is not None and set(purposes) != set(body["purposes"]):
        raise MalformedError(f"--purpose: {what} for {', '.join(body['purposes'])}; {again} "
                             f"purposes {', '.join(purposes)}")
    if digest is not None and body.get("compliance") != digest:
        logged = (f"compliance receipt {body['compliance']}" if "compliance" in body
                  else "no compliance receipt")
        raise MalformedError(f"--compliance-receipt: {what} with {logged}; {again} this "
                             f"receipt's digest {digest}")


def _report(as_json: bool, status: str, index: int, ev: SignedEvent, path: Path) -> None:
    body = ev.event.body
    if as_json:
        emit_json({"status": status, **_describe(index, ev), "name": body["name"],
                   "key": ev.event.actor, "receipt": str(path)})
        return
    if status == "exists":
        typer.echo(f"already disclosed: {body['name']} version {body['version']} "
                   f"(event {ev.id}, entry {index}); nothing appended")
    else:
        typer.echo(f"disclosed {body['name']} version {body['version']}: "
                   f"{_items(body['count'])}")
        typer.echo(f"  root:     {body['root']}")
        typer.echo(f"  event:    {ev.id} (entry {index})")
        if ev.event.prev is not None:
            typer.echo(f"  previous: {ev.event.prev}")
    typer.echo(f"  receipt:  {path}")


def prove(
    ctx: typer.Context,
    manifest: Annotated[Path, typer.Argument(
        metavar="MANIFEST", help="The manifest (or folder) of the disclosed version.",
        show_default=False)],
    item: Annotated[str, typer.Argument(
        metavar="ITEM", help="A file, a sha256: content id or an ISCC code.",
        show_default=False)],
    name: NameOpt,
    version: Annotated[str | None, typer.Option(
        "--version", help="The version to prove against (default: the latest).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="FILE", parser=output_file("--out"),
        help="Write the proof here (default: standard output).")] = None,
    key: KeyOpt = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a proof that ITEM is, or is not, in a disclosed version of dataset NAME.

    MANIFEST must be that version's manifest: its root is checked against the logged one.
    The proof reveals ITEM's answer and the item count, nothing about the other items;
    anyone checks it offline with `provenance verify`.

    Example: provenance dataset prove train.txt page-012.png --name corpus --out proof.json
    """
    session = Session.from_ctx(ctx).use_node(node, timeout)
    wanted = parse_item(item)
    signer = session.signing_key(key)
    chain = _versions(session, signer.public.text, name)
    if not chain:
        raise _no_dataset(session, name, signer.public.text, "--key")
    if version is None:
        index, ev = chain[-1]
    else:
        found = [(i, e) for i, e in chain if e.event.body["version"] == version]
        if not found:
            have = ", ".join(quoted(e.event.body["version"]) for _, e in chain)
            raise NotFoundError(f"--version: dataset {quoted(name)} has no version "
                                f"{quoted(version)} (it has {have})")
        index, ev = found[0]
    body = ev.event.body
    secret = secret_for(signer, name, body["version"])
    upper = _kept_level(session, signer.public.text, name, body["version"])
    path, count = None, 0
    if upper is not None:
        # Only the items below the item's depth-16 node are salted and hashed; the path's
        # root checks them and the kept level (specs/datasets.md section 8).
        bucket, count = dataset.bucket_entries(
            secret, read_manifest(manifest), dataset.item_key(wanted.encode("ascii")))
        path = dataset.prove(dataset.Tree(bucket), secret, wanted, upper)
    if path is None or path.root().hex() != body["root"]:
        with Bars.for_output(as_json) as bars:  # no kept level, or not this tree's
            tree, _ = _build(manifest, secret, bars)
            path, count = dataset.prove(tree, secret, wanted, _level(tree, bars)), len(
                tree.entries)
    # The path's root is the tree's root (its siblings cover every other item), so this
    # checks the manifest without building the tree twice.
    if path.root().hex() != body["root"] or count != body["count"]:
        raise MalformedError(f"{manifest} is not the manifest of {quoted(name)} version "
                             f"{quoted(body['version'])}: its items do not give the disclosed root")
    receipt = _receipt(session, index, ev)
    doc = DatasetProof(path, receipt).to_json(receipt.to_json(ev))
    answer = "is" if path.salt is not None else "is not"
    line = f"{wanted} {answer} in dataset {name} version {body['version']}"
    if out is None:
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        typer.echo(line, err=True)
        return
    write_text_atomic(out, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    if as_json:
        emit_json({"item": wanted, "answer": path.answer, "name": name,
                   "version": body["version"], "event": ev.id, "proof": str(out)})
        return
    typer.echo(f"{line}: proof written to {out}")


def versions(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The dataset's name.",
                                        show_default=False)],
    by: Annotated[str | None, typer.Option(
        "--by", help="The developer's key: ed25519:... or one of your key names (default: your own "
             "key).")] = None,
    key: KeyOpt = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List every disclosed version of dataset NAME by a key, oldest first.

    Each version names the previous one; ask the developer for a proof against each.

    Example: provenance dataset versions corpus --by ed25519:...
    """
    session = Session.from_ctx(ctx).use_node(node, timeout)
    actor = session.key_option(by, "--by") if by is not None else session.public_key(key)
    if actor is None:
        raise MalformedError("give the developer's key: --by KEY")
    chain = _versions(session, actor, name)
    if as_json:
        emit_json({"name": name, "key": actor, "versions": [_describe(i, e) for i, e in chain]})
        return
    if not chain:
        raise _no_dataset(session, name, actor, "--by")
    typer.echo(f"dataset {name} by {actor}: {len(chain)} version{'s' * (len(chain) != 1)}")
    for i, ev in chain:
        d = _describe(i, ev)
        typer.echo(f"  {d['version']}: {_items(d['count'])}, {d['at']}, event {ev.id} "
                   f"(entry {i})" + (f", model {d['model']}" if "model" in d else "")
                   + (f", compliance receipt {d['compliance']}" if "compliance" in d else ""))

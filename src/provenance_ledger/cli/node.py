"""``provenance node``: run a ledger node, trust peers, mirror and witness them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..core.timefmt import format_time
from ..errors import MalformedError, quoted
from .numbers import seconds, whole
from .session import emit_json, timeout_seconds

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..node.config import NodeConfig, Peer
    from ..node.fetch import Timeouts

app = typer.Typer(
    help="Run a ledger node that mirrors and cosigns its peers' logs.\n\n"
    "Example: provenance node init --home ./node-a --origin ledger.example.org/a",
    no_args_is_help=True)

HomeOpt = Annotated[Path, typer.Option("--home", help="The node's data directory.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
PeerTimeoutOpt = Annotated[float | None, typer.Option(
    "--timeout", metavar="SECONDS", parser=timeout_seconds, show_default=False,
    help="Seconds to wait for each peer's connection and for each part of its answer "
         "(default 10; specs/cli.md section 1.3).")]


def _max_mirror_interval() -> float:
    from ..node.config import MAX_MIRROR_INTERVAL

    return MAX_MIRROR_INTERVAL


def _max_witness_timeout() -> float:
    from ..node.config import MAX_WITNESS_TIMEOUT_S

    return MAX_WITNESS_TIMEOUT_S


MirrorIntervalOpt = Annotated[int | None, typer.Option(
    "--mirror-interval", metavar="SECONDS", show_default=False, parser=whole(
        "--mirror-interval", 0, _max_mirror_interval, unit="seconds", note="0: off"),
    help="Seconds between the mirroring rounds node serve runs by itself (default 60; "
         "0: none, only node sync).")]


FreshnessOpt = Annotated[str | None, typer.Option(
    "--freshness-interval", metavar="DURATION", show_default=False,
    help="With witnesses listed: have the latest checkpoint cosigned again once its "
         "cosignatures are this old, though no event arrived (default 5m; 60s to 24h, such "
         "as 300, 300s, 5m, 1h; off or 0: never; specs/node.md section 9.2).")]


def _freshness(value: str | None) -> int | None:
    """--freshness-interval, as seconds, checked with the words of the option."""
    from ..node.config import parse_freshness_interval

    return None if value is None else parse_freshness_interval(value)


@app.command()
def init(
    ctx: typer.Context,
    home: HomeOpt,
    origin: Annotated[str, typer.Option(help="The log's origin, e.g. ledger.example.org/a.")],
    listen: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1:8380",
    mirror_interval: MirrorIntervalOpt = None,
    freshness_interval: FreshnessOpt = None,
    store: Annotated[str | None, typer.Option(
        "--store", help="Keep the log in this PostgreSQL database (postgresql://...) instead "
        "of the home's SQLite file.")] = None,
    tiles: Annotated[str | None, typer.Option(
        "--tiles", metavar="DIR", help="Also write the log as C2SP tlog-tiles to this folder "
        "(relative: in the home), for a static web server to serve.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a node: its log key, witness key, node.toml and database.

    Run again on a node home with the options it was made with (those given), it changes
    nothing and says so; with other options it is an error that names them.

    Example: provenance node init --home ./node-a --origin ledger.example.org/a
    """
    from ..node import init_node, node_keys
    from ..node.config import (
        DEFAULT_FRESHNESS_INTERVAL,
        DEFAULT_MIRROR_INTERVAL,
        config_path,
        foreign_files,
        parse_listen,
    )
    from ..store.postgres import check_url, redact

    interval = mirror_interval
    freshness = _freshness(freshness_interval)
    parse_listen(listen, "--listen")  # before anything is made
    if store is not None:
        check_url(store)
    if config_path(home).is_file():  # run again (specs/cli.md section 2.4)
        source = ctx.get_parameter_source("listen")
        given = source is not None and source.name != "DEFAULT"
        _initialised(home, origin, listen if given else None, interval, freshness, store,
                     tiles, as_json)
        return
    if tiles and Path(tiles).is_absolute():  # as node config --tiles: made, checked writable
        from ..node.tiles import check_folder

        check_folder(Path(tiles), "--tiles")
    others = foreign_files(home)
    config = init_node(home, origin, listen, mirror_interval=(
        DEFAULT_MIRROR_INTERVAL if interval is None else interval), freshness_interval=(
        DEFAULT_FRESHNESS_INTERVAL if freshness is None else freshness), store=store,
        tiles=tiles or "")
    keys = node_keys(home)
    shown = "sqlite" if store is None else redact(store)  # never the password
    if others:  # a folder that held other files: said, and left as they are
        named = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5
                                         else "")
        typer.echo(f"note: {home} already held other files ({named}); they are left as they "
                   "are, and the folder is now 0700", err=True)
    _show_node(home, config, shown, keys, "created", as_json)


def _show_node(home: Path, config: NodeConfig, shown: str, keys: dict[str, str], status: str,
               as_json: bool) -> None:
    """What ``node init`` prints: of the node it made (``status`` ``created``), or of the
    node a second run found (``exists``, first line ``already initialised: ...``)."""
    if as_json:
        emit_json({"home": str(home), "origin": config.origin, "listen": config.listen,
                   "mirror_interval": config.mirror_interval,
                   "freshness_interval": config.freshness_interval, "store": shown,
                   "tiles": config.tiles or None, **keys, "status": status})
        return
    if status == "created":
        typer.echo(f"node {config.origin} created in {home}, serving on {config.listen}")
    else:
        typer.echo(f"already initialised: node {config.origin} in {home}, serving on "
                   f"{config.listen}")
    typer.echo(f"  store:       {shown}")
    typer.echo(f"  log key:     {keys['log']}")
    typer.echo(f"  witness key: {keys['witness']}")
    typer.echo(f"  re-cosigning: {_every(config.freshness_interval)}")
    if config.tiles:
        typer.echo(f"  tiles:       {config.tiles} (C2SP tlog-tiles, written as blocks commit)")


def _initialised(home: Path, origin: str, listen: str | None, interval: int | None,
                 freshness: int | None, store: str | None, tiles: str | None,
                 as_json: bool) -> None:
    """``node init`` run on a node home: nothing is changed. The options given (``None``:
    not given) must say what the home has, else the error names each that does not, and
    how to change the setting (specs/cli.md section 2.4)."""
    from ..ledger import Home
    from ..node import load_config, node_keys
    from ..store.postgres import redact

    config = load_config(home)
    kept = Home(home).store_url()
    if config.origin != origin:  # a log's origin is in every checkpoint it signed
        raise MalformedError(
            f"--origin: {home} is the node {config.origin} already, not {quoted(origin, 80)}: "
            "a node's origin never changes (make the node "
            f"{quoted(origin, 80)} in another folder)")
    change = f"change it with provenance node config --home {home}"
    differ = []
    if listen is not None and listen != config.listen:
        differ.append(f"--listen: the node serves on {config.listen}, not {listen} "
                      f"({change} --listen {listen})")
    if interval is not None and interval != config.mirror_interval:
        differ.append(f"--mirror-interval: the node mirrors every {config.mirror_interval} s, "
                      f"not {interval} ({change} --mirror-interval {interval})")
    if freshness is not None and freshness != config.freshness_interval:
        differ.append(f"--freshness-interval: the node's is {config.freshness_interval} s, "
                      f"not {freshness} ({change} --freshness-interval {freshness})")
    if tiles is not None and tiles != config.tiles:
        now = (f"writes its tiles to {config.tiles}" if config.tiles else "writes no tiles")
        differ.append(f"--tiles: the node {now}, not to {quoted(tiles, 80)} ({change} --tiles "
                      f"{quoted(tiles, 80)})")
    if store is not None and store != kept:
        held = "the home's SQLite file" if kept is None else redact(kept)
        other = ("another password" if kept is not None and redact(kept) == redact(store)
                 else redact(store))
        differ.append(f"--store: the node keeps its log in {held}, not {other} (a node's store "
                      "is chosen when it is made)")
    if differ:
        raise MalformedError(f"{home} is the node {config.origin} already, made with other "
                             f"settings: {'; '.join(differ)}")
    _show_node(home, config, "sqlite" if kept is None else redact(kept), node_keys(home),
               "exists", as_json)
    typer.echo("nothing changed", err=True)


def _restart_note(home: Path, what: str) -> None:
    """Say on stderr that a running ``node serve`` uses a change only from its next start
    (it reads node.toml when it starts: specs/cli.md section 5)."""
    from ..node.shards import is_serving

    if is_serving(home):
        typer.echo(f"note: node serve is running on {home}: restart it to use {what} (it reads "
                   "node.toml when it starts)", err=True)


def _every(seconds: int) -> str:
    """When the latest checkpoint is cosigned again, in words (specs/node.md section 9.2)."""
    return (f"once the latest cosignatures are {seconds} s old (needs witnesses)" if seconds
            else "off (cosigned only after new blocks)")


# -- node config: mirroring inside serve (specs/node.md section 4.1) ---------------------------


@app.command("config")
def config_command(
    home: HomeOpt,
    mirror_interval: MirrorIntervalOpt = None,
    freshness_interval: FreshnessOpt = None,
    tiles: Annotated[str | None, typer.Option(
        "--tiles", metavar="DIR", show_default=False,
        help="Write the log as C2SP tlog-tiles to this folder (relative: in the home), "
             "from the next start of node serve, which first writes every tile the log "
             "already has.")] = None,
    no_tiles: Annotated[bool, typer.Option(
        "--no-tiles", help="Stop writing tiles (the folder is left as it is).")] = False,
    listen: Annotated[str | None, typer.Option(
        "--listen", metavar="HOST:PORT", show_default=False,
        help="The address node serve listens on.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the node's settings; --mirror-interval changes how often node serve mirrors,
    --freshness-interval after how long it has its latest checkpoint cosigned again, --tiles
    where it writes the log as static tiles (--no-tiles: nowhere), --listen the address it
    serves on.

    A serving node reads node.toml when it starts: restart it to use a new setting.

    Example: provenance node config --home ./node-a --mirror-interval 300
    --freshness-interval 10m --tiles public/tiles
    """
    from ..node import load_config
    from ..node.config import (
        parse_listen,
        set_freshness_interval,
        set_listen,
        set_mirror_interval,
        set_tiles,
    )

    interval = mirror_interval
    freshness = _freshness(freshness_interval)  # all checked before any is written
    if tiles is not None and no_tiles:
        raise MalformedError("give --tiles DIR or --no-tiles, not both")
    if tiles is not None and not tiles.strip():
        raise MalformedError("--tiles needs a folder (--no-tiles: none)")
    if listen is not None:
        parse_listen(listen, "--listen")
    config = load_config(home)
    if tiles is not None or no_tiles:
        config = set_tiles(home, tiles)  # the folder checked before node.toml is written
    if interval is not None:
        config = set_mirror_interval(home, interval)
    if freshness is not None:
        config = set_freshness_interval(home, freshness)
    if listen is not None:
        config = set_listen(home, listen)
    if (tiles, no_tiles, interval, freshness, listen) != (None, False, None, None, None):
        _restart_note(home, "the new settings")
    if as_json:
        emit_json({"origin": config.origin, "listen": config.listen,
                   "witness_name": config.witness_name,
                   "mirror_interval": config.mirror_interval,
                   "freshness_interval": config.freshness_interval,
                   "tiles": config.tiles or None,
                   "peers": [p.origin for p in config.peers],
                   "witnesses": [w.name for w in config.witnesses]})
        return
    every = (f"every {config.mirror_interval} s while serving" if config.mirror_interval
             else "off (node sync only)")
    typer.echo(f"origin           {config.origin}")
    typer.echo(f"listen           {config.listen}")
    typer.echo(f"witness name     {config.witness_name}")
    typer.echo(f"mirroring        {every}")
    typer.echo(f"re-cosigning     {_every(config.freshness_interval)}")
    typer.echo("tiles            " + (f"{config.tiles} (C2SP tlog-tiles, written as blocks "
                                      "commit)" if config.tiles else "off"))
    typer.echo(f"peers            {len(config.peers)}")
    typer.echo(f"witnesses        {len(config.witnesses)}")


# -- end of node config -------------------------------------------------------------------------


@app.command()
def keys(
    home: HomeOpt,
    as_json: JsonOpt = False,
    only: Annotated[str | None, typer.Option(
        "--only", metavar="log|witness",
        help="Print only that key, alone on its line (for a shell variable).")] = None,
) -> None:
    """Print the node's log verifier key and witness (cosigning) key.

    Example: provenance node keys --home ./node-a --json
    """
    from ..node import node_keys

    k = node_keys(home)
    if only is not None:
        if only not in k:
            raise MalformedError(f"--only takes 'log' or 'witness', not {quoted(only, 42)}")
        typer.echo(k[only])
        return
    if as_json:
        emit_json(k)
        return
    typer.echo(f"log     {k['log']}")
    typer.echo(f"witness {k['witness']}")


peer_app = typer.Typer(help="Trust other nodes' logs.\n\n"
                       "Example: provenance node peer add --home ./node-a --origin O --url U "
                       "--vkey V", no_args_is_help=True)
app.add_typer(peer_app, name="peer")


@peer_app.command("add")
def peer_add(
    home: HomeOpt,
    origin: Annotated[str, typer.Option(help="The peer log's origin.")],
    url: Annotated[str, typer.Option(help="The peer node's base URL.")],
    vkey: Annotated[str, typer.Option(help="The peer's log verifier key.")],
    witness_vkey: Annotated[str | None, typer.Option(
        help="The peer's witness key: its cosignatures are then kept on this log.")] = None,
    tiles: Annotated[str | None, typer.Option(
        "--tiles", metavar="URL", help="The peer's C2SP tiles URL: mirror its log from there "
        "(cosignatures still go to --url).")] = None,
) -> None:
    """Trust a peer's log: mirror it, check it and cosign it.

    Example: provenance node peer add --home ./node-a --origin ledger.example.org/b
    --url http://127.0.0.1:8381 --vkey "ledger.example.org/b+1a2b3c4d+AV..."
    """
    from ..core.note import SIG_TYPE_COSIGNATURE_V1, SIG_TYPE_ED25519, check_key_name
    from ..node import add_peer
    from ..node.config import check_url, check_vkey

    # Each option checked on its own first, so that an error names it (as witness add does).
    check_key_name(origin, "--origin")
    url = check_url(url, "--url")  # as node.toml keeps it, so that a repeat compares equal
    if tiles is not None:
        tiles = check_url(tiles, "--tiles")
    check_vkey(vkey, "--vkey", origin, SIG_TYPE_ED25519, name_option="--origin")
    if witness_vkey is not None:
        check_vkey(witness_vkey, "--witness-vkey", None, SIG_TYPE_COSIGNATURE_V1)
    from ..node import load_config
    from ..node.config import Peer

    given = Peer(origin, url, vkey, witness_vkey, tiles)
    known = next((p for p in load_config(home).peers if p.origin == origin), None)
    if known is not None:  # run again (specs/cli.md section 2.4)
        _known_peer(home, known, given)
        return
    add_peer(home, origin, url, vkey, witness_vkey, tiles)
    typer.echo(f"peer {origin} added")
    _restart_note(home, "this peer")


def _known_peer(home: Path, known: Peer, given: Peer) -> None:
    """``node peer add`` for an origin that is a peer already: the same peer is a repeat,
    which changes nothing; another URL or key is an error that names what differs."""
    _configured("peer", known.origin, home, "peer remove", f"already a peer: {known.origin} at "
                f"{known.url}", (("--url", known.url, given.url),
                                 ("--vkey", known.vkey, given.vkey),
                                 ("--witness-vkey", known.witness_vkey, given.witness_vkey),
                                 ("--tiles", known.tiles, given.tiles)))


def _configured(what: str, name: str, home: Path, remove: str, same: str,
                fields: Sequence[tuple[str, str | None, str | None]]) -> None:
    """A ``node ... add`` run again (specs/cli.md section 2.4): with the settings ``fields``
    (option, configured value, given value) all equal it prints ``same`` and changes nothing;
    otherwise it is an error naming each option that differs and how to change it."""
    differ = [f"{option} {'none' if has is None else quoted(has, 120)}"
              f" (not {'none' if gives is None else quoted(gives, 120)})"
              for option, has, gives in fields if has != gives]
    if differ:
        raise MalformedError(
            f"{what} {name} is configured already, with {', '.join(differ)}: to change it, run "
            f"provenance node {remove} {name} --home {home}, then this command again")
    typer.echo(same)
    typer.echo("nothing changed", err=True)

@peer_app.command("remove")
def peer_remove(
    home: HomeOpt,
    origin: Annotated[str, typer.Argument(help="The origin of the peer to stop trusting.")],
) -> None:
    """Stop trusting a peer: it is no longer mirrored, cosigned or asked.

    Its mirror and what the witness recorded of it (cosigned sizes, evidence) are kept.

    Example: provenance node peer remove ledger.example.org/b --home ./node-a
    """
    from ..errors import NotFoundError
    from ..node import load_config, remove_peer

    known = [p.origin for p in load_config(home).peers]
    if origin not in known:
        listed = ", ".join(known[:5]) + (", ..." if len(known) > 5 else "")
        raise NotFoundError(f"no peer {quoted(origin)} in {home / 'node.toml'} ("
                            + (f"peers: {listed}" if known else "it has no peers") + ")")
    remove_peer(home, origin)
    typer.echo(f"peer {origin} removed")
    _restart_note(home, "the peers left")


@peer_app.command("list")
def peer_list(home: HomeOpt, as_json: JsonOpt = False) -> None:
    """List the configured peers.

    Example: provenance node peer list --home ./node-a
    """
    from ..node import load_config

    peers = load_config(home).peers
    if as_json:
        emit_json([{"origin": p.origin, "url": p.url, "vkey": p.vkey,
                    "witness_vkey": p.witness_vkey, "tiles": p.tiles} for p in peers])
        return
    for p in peers:
        typer.echo(f"{p.origin:<32} {p.url}")


witness_app = typer.Typer(
    help="Witnesses this node asks to cosign each new checkpoint before it hands out "
    "receipts (any C2SP tlog-witness; specs/node.md section 9).\n\n"
    "Example: provenance node witness add --home ./node-a --name b --url U --vkey V",
    no_args_is_help=True)
app.add_typer(witness_app, name="witness")


@witness_app.command("add")
def witness_add(
    home: HomeOpt,
    name: Annotated[str, typer.Option(
        help="This node's name for the witness (letters, digits, '.', '_', '-').")],
    url: Annotated[str, typer.Option(
        help="The witness's base URL; add-checkpoint is POSTed to URL/add-checkpoint.")],
    vkey: Annotated[str, typer.Option(
        help="The witness's cosignature/v1 verifier key (a node's: node keys --only "
             "witness).")],
) -> None:
    """Ask one more witness to cosign every new checkpoint (read by node serve at start).

    Example: provenance node witness add --home ./node-a --name b
    --url http://127.0.0.1:8381 --vkey "ledger.example.org/b/witness+5e6f7a8b+BG..."
    """
    from ..core.note import SIG_TYPE_COSIGNATURE_V1
    from ..node.config import WITNESS_LABEL, add_witness, check_url, check_vkey

    # Each option checked on its own first, so that an error names it.
    if not WITNESS_LABEL.fullmatch(name):
        raise MalformedError(f"--name {quoted(name)} must be 1 to 64 letters, digits, '.', '_' "
                             "or '-', starting with a letter or digit")
    url = check_url(url, "--url")  # as node.toml keeps it, so that a repeat compares equal
    check_vkey(vkey, "--vkey", None, SIG_TYPE_COSIGNATURE_V1)
    from ..node import load_config

    known = next((w for w in load_config(home).witnesses if w.name == name), None)
    if known is not None:  # run again (specs/cli.md section 2.4)
        _configured("witness", name, home, "witness remove", f"already a witness: {name} at "
                    f"{known.url}", (("--url", known.url, url), ("--vkey", known.vkey, vkey)))
        return
    config = add_witness(home, name, url, vkey)
    typer.echo(f"witness {name} added; a receipt waits for {config.quorum} of "
               f"{len(config.witnesses)} witnesses")
    _restart_note(home, "this witness")


@witness_app.command("list")
def witness_list(home: HomeOpt, as_json: JsonOpt = False) -> None:
    """List the witnesses, the quorum and the timeout.

    Example: provenance node witness list --home ./node-a --json
    """
    from ..node import load_config

    config = load_config(home)
    if as_json:
        emit_json({"quorum": config.quorum, "timeout": config.witnessing.timeout,
                   "witnesses": [{"name": w.name, "url": w.url, "vkey": w.vkey}
                                 for w in config.witnesses]})
        return
    for w in config.witnesses:
        typer.echo(f"{w.name:<16} {w.url:<32} {w.vkey}")
    typer.echo(f"quorum {config.quorum} of {len(config.witnesses)}, timeout "
               f"{config.witnessing.timeout:g} s")


@witness_app.command("remove")
def witness_remove(
    home: HomeOpt,
    name: Annotated[str, typer.Argument(help="The witness's name, as listed.",
                                        show_default=False)],
) -> None:
    """Stop asking a witness.

    Example: provenance node witness remove --home ./node-a b
    """
    from ..node.config import remove_witness

    remove_witness(home, name)
    typer.echo(f"witness {name} removed")
    _restart_note(home, "the witnesses left")


@witness_app.command("policy")
def witness_policy(
    home: HomeOpt,
    quorum: Annotated[int | None, typer.Option(
        "--quorum", metavar="N", show_default=False, parser=whole(
            "--quorum", 0, unit="witnesses", note="0: hand a receipt out at once"),
        help="How many of the witnesses must cosign before a receipt is handed out "
             "(0: hand it out at once; default: all of them).")] = None,
    all_witnesses: Annotated[bool, typer.Option(
        "--all", help="Require every witness listed (the default), now and as the list "
                      "grows.")] = False,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", metavar="SECONDS", show_default=False,
        parser=seconds("--timeout", _max_witness_timeout),
        help="Seconds a receipt waits for the quorum before it is handed out without "
             "(default 5).")] = None,
) -> None:
    """Set how many witnesses must cosign, and how long a receipt waits for them.

    Example: provenance node witness policy --home ./node-a --quorum 2 --timeout 5
    """
    from ..node import load_config
    from ..node.config import set_witnessing

    if quorum is None and timeout is None and not all_witnesses:
        raise MalformedError("give --quorum N, --all or --timeout SECONDS")
    if quorum is not None and all_witnesses:
        raise MalformedError("give either --quorum N or --all, not both")
    config = load_config(home)
    if quorum is not None and quorum > len(config.witnesses):
        raise MalformedError(f"--quorum {quoted(quorum)} is more than the {len(config.witnesses)} "
                             "witnesses listed (node witness add)")
    config = set_witnessing(home, quorum, timeout, all_witnesses)
    typer.echo(f"a receipt waits for {config.quorum} of {len(config.witnesses)} witnesses, "
               f"at most {config.witnessing.timeout:g} s")
    _restart_note(home, "this policy")


@app.command()
def serve(
    home: HomeOpt,
    listen: Annotated[str | None, typer.Option(
        help="Override the address from node.toml (host:port).")] = None,
    timeout: PeerTimeoutOpt = None,
) -> None:
    """Serve the node's HTTP API (OpenAPI at /openapi.json) until SIGTERM or Ctrl-C.

    First asks the peers what they hold of this node's log, and refuses to start (exit 2)
    when one holds a checkpoint the log lost: a node restored from an old backup must not
    sign a fork (specs/node.md section 8).

    Example: provenance node serve --home ./node-a
    """
    import logging

    from ..node.config import parse_listen
    from ..node.fetch import Timeouts
    from ..node.logs import configure_logging
    from ..node.server import serve as run

    host, port = parse_listen(listen, "--listen") if listen else (None, None)
    _check_writable(home)
    _check_tiles_folder(home)
    unasked = _rollback_check(home, Timeouts.of(timeout))
    configure_logging()
    for error in unasked:
        logging.getLogger("provenance_ledger.node.rollback").warning(
            "rollback check: peer not asked", extra={"fields": {"error": error}})
    try:
        run(home, host, port, peer_timeouts=Timeouts.of(timeout))
    except KeyboardInterrupt:  # Ctrl-C after the graceful shutdown: the way it was asked
        # to stop, not an error (specs/cli.md section 1.1: exit 130, nothing more said)
        raise SystemExit(130) from None


def _check_writable(home: Path) -> None:
    """A home this process cannot write (a read-only mount, a copy) is one line before the
    node serves: it appends to its log and keeps witness.db there."""
    from ..errors import StorageError
    from ..ledger import Home
    from ..node import load_config

    load_config(home)  # a folder that is no node home says so first
    if not Home(home).writable():
        raise StorageError(f"node serve writes to its home, and {home} cannot be written "
                           "(a read-only mount or copy?): serve it from a folder this user "
                           "may write")


def _check_tiles_folder(home: Path) -> None:
    """A ``tiles`` folder that cannot be written is one line before the node serves."""
    from ..node import load_config
    from ..node.config import tiles_dir
    from ..node.tiles import check_folder

    folder = tiles_dir(home, load_config(home))
    if folder is not None:
        check_folder(folder)


def _rollback_check(home: Path, timeouts: Timeouts) -> list[str]:
    """Refuse (StorageError) when a peer holds a checkpoint this log lost; return why the
    peers that could not be asked were not (specs/node.md section 8)."""
    from ..node import load_config
    from ..node.config import open_node_ledger
    from ..node.rollback import refuse_rollback
    from ..node.shards import finish_rotation

    finish_rotation(home)  # a rotation cut short is completed before the log is opened
    config = load_config(home)
    ledger = open_node_ledger(home, config)
    try:
        views = refuse_rollback(config, ledger, timeouts)
    finally:
        ledger.close()
    return [v.error for v in views if v.error is not None]


@app.command()
def sync(home: HomeOpt, as_json: JsonOpt = False, timeout: PeerTimeoutOpt = None) -> None:
    """One mirroring round against every peer: verify, store, cosign, deliver.

    Exit 1 when a peer could not be mirrored or is faulty; the round goes on with the other
    peers and names those that failed. Refuses (exit 2) when a peer holds a checkpoint of
    this node's own log that the log lost (specs/node.md section 8).

    Example: provenance node sync --home ./node-a --timeout 5
    """
    from ..node import load_config, node_witness
    from ..node.autosync import round_lock
    from ..node.fetch import Timeouts
    from ..node.mirror import sync_all
    from .progress import Bars

    timeouts = Timeouts.of(timeout)
    for error in _rollback_check(home, timeouts):
        typer.echo(f"warning: rollback check: {error}", err=True)
    config = load_config(home)
    def waiting() -> None:
        typer.echo(f"waiting for the mirroring round node serve is running on {home} (or "
                   "another node sync: one round at a time)", err=True)

    with (round_lock(home, wait=True, on_wait=waiting), node_witness(home) as witness,
          Bars.for_output(as_json) as bars):
        results = sync_all(home, config, witness, int(time.time()), timeouts=timeouts,
                           progress=bars)
    failed = [r.origin for r in results if r.status in ("error", "faulty")]
    if as_json:
        emit_json([r.to_json() for r in results])
    else:
        for r in results:
            extra = f" ({r.detail})" if r.detail else ""
            flags = ", cosigned" if r.cosigned else ""
            flags += ", delivered" if r.delivered else ""
            typer.echo(f"{r.origin}: {r.status} {r.old_size} -> {r.new_size}{flags}{extra}")
        if failed:
            typer.echo(f"{len(failed)} of {len(results)} peers failed: {', '.join(failed)}")
    if failed:
        raise typer.Exit(1)


@app.command()
def evidence(home: HomeOpt, as_json: JsonOpt = False) -> None:
    """Show split-view evidence held by this node and the origins marked faulty.

    Example: provenance node evidence --home ./node-a --json
    """
    from ..ledger import Home
    from ..node import Evidence, load_config
    from ..node.config import witness_db_path
    from ..node.status import records_witness

    load_config(home)  # a folder that is no node home says so first
    readonly = not Home(home).writable()  # a read-only mount, a copy handed to an auditor
    items: list[Evidence] = []
    faulty: dict[str, int] = {}
    if not readonly or witness_db_path(home).is_file():  # else it never witnessed: nothing
        with records_witness(home, readonly) as witness:  # the log unopened: it may be away
            items = witness.evidence()
            faulty = witness.faulty_origins()
    if as_json:
        emit_json({"faulty": sorted(faulty), "evidence": [e.to_json() for e in items]})
        return
    if not items:
        typer.echo("no evidence: every origin seen so far is consistent")
    for e in items:
        typer.echo(f"{e.origin}: {e.kind} recorded {format_time(e.at)}: {e.detail}")
    for origin in sorted(faulty):
        typer.echo(f"faulty: {origin} (mirroring stopped)")


@app.command()
def status(home: HomeOpt, as_json: JsonOpt = False) -> None:
    """Show how the node stands: is node serve running, its log's size, how far each witness
    has cosigned it, how far each peer is mirrored and cosigned, and the evidence it holds.

    With its PostgreSQL database unreachable, shows what the home holds, then says so (exit
    2).

    Example: provenance node status --home ./node-a
    """
    from ..node.status import node_status

    st = node_status(home)
    if as_json:
        emit_json(st)
    else:
        _show_status(home, st)
    if st["store_error"] is not None:
        typer.echo(f"error: the node's database {st['store']} cannot be reached, so its log's "
                   f"size and checkpoint are not shown ({st['store_error']}); the rest is "
                   "read from the home", err=True)
        raise typer.Exit(2)


def _show_status(home: Path, st: dict[str, Any]) -> None:
    """``node status`` in words (specs/cli.md section 2.3)."""
    running = "node serve is running" if st["serving"] else "node serve is not running"
    typer.echo(f"node         {st['origin']} ({running})")
    typer.echo(f"listen       {st['listen']}")
    typer.echo(f"store        {st['store']}")
    typer.echo(f"log key      {st['keys']['log']}")
    typer.echo(f"witness key  {st['keys']['witness']}")
    if st["store_error"] is not None:
        typer.echo("log          unknown: its database cannot be reached")
    else:
        typer.echo(f"log          {_entries(st['size'])}, latest checkpoint "
                   f"{st['checkpoint_at'] or 'none yet'}")
    evidence_file = "evidence.json"
    for e in st["log_evidence"][:1]:
        typer.echo(f"FORKED       this log's key signed a checkpoint this log does not hold "
                   f"({e['kind']} recorded {e['at']}): another copy of this home, or a thief "
                   "of log.key, signs another history; witnesses refuse its checkpoints")
        typer.echo(f"  evidence: {home / 'witness.db'}; node evidence --home {home} --json "
                   f"> {evidence_file}")
    cosigners = st["cosigners"]
    typer.echo(f"cosigned     a receipt waits for {st['quorum']} of the "
               f"{sum(c['kind'] == 'witness' for c in cosigners)} witnesses listed")
    for c in cosigners:
        done = (f"up to {c['cosigned_size']:,}, {c['cosigned_at']}"
                if c["cosigned_size"] is not None else "nothing yet")
        if c["refused"] is not None:
            done += (f"; REFUSED size {c['refused']['size']:,} ({c['refused']['at']}): it holds "
                     "another checkpoint of this log of that size, or holds it as faulty (a "
                     "fork or split view: its node evidence shows it)")
        typer.echo(f"  {c['name'] + ' (' + c['kind'] + ')':<36} {done}")
    typer.echo(f"peers        {len(st['peers'])}")
    for p in st["peers"]:
        cosigned = (f"cosigned {p['cosigned_size']:,} ({p['cosigned_at']})"
                    if p["cosigned_size"] is not None else "not cosigned yet")
        where = ("not mirrored yet" if p["mirrored_size"] is None else
                 f"mirrored {p['mirrored_size']:,} ({p['mirrored_at']})") + ", " + cosigned
        if p["mirrored_size"] is None and p["cosigned_size"] is None:
            where = "not mirrored yet"
        if p["faulty"] or p["evidence"]:
            first = p["evidence"][0] if p["evidence"] else None
            what = ("a fault" if first is None else
                    f"{first['kind']} recorded {first['at']}")
            typer.echo(f"  {p['origin']:<36} FAULTY: {what}, mirroring stopped; {where}")
            typer.echo(f"    evidence: {len(p['evidence'])} in {home / 'witness.db'}, served "
                       f"at http://{st['listen']}/evidence?origin={p['origin']}")
            typer.echo(f"    what to do: node evidence --home {home} --json > {evidence_file}, "
                       f"then provenance verify RECEIPT --log-key {p['vkey']} --evidence "
                       f"{evidence_file} refuses its receipts; give the file to its users "
                       "and its operator")
        else:
            typer.echo(f"  {p['origin']:<36} {where}")
    typer.echo("evidence     " + ("none" if not st["evidence"] else
                                  f"{st['evidence']} (node evidence --home {home})"))


def _entries(n: int) -> str:
    return f"{n:,} entr{'y' if n == 1 else 'ies'}"


# -- node shard: period shards (specs/node.md section 10) -------------------------------------

shard_app = typer.Typer(
    help="Rotate the node to a new log (a new origin, e.g. per year); the old one is frozen, "
    "still served and verifiable.\n\n"
    "Example: provenance node shard rotate --home ./node-a --origin ledger.example.org/a/2026",
    no_args_is_help=True)
app.add_typer(shard_app, name="shard")


@shard_app.command("rotate")
def shard_rotate(
    home: HomeOpt,
    origin: Annotated[str, typer.Option(
        help="The new log's origin, one this node has never used, e.g. "
             "ledger.example.org/a/2026.")],
    as_json: JsonOpt = False,
) -> None:
    """Freeze the current log at its latest checkpoint and start a new, empty log.

    The node must be stopped (start it again afterwards). The log key stays the same; the
    frozen log stays served under /shards/<id> (a log in PostgreSQL is copied out into
    shards/<id>/ledger.db, a SQLite file, and the database made the new log). Tell the
    node's witnesses and peers the new origin (specs/node.md section 10).

    Example: provenance node shard rotate --home ./node-a --origin ledger.example.org/a/2026
    """
    from ..node.shards import rotate
    from .progress import Bars

    with Bars.for_output(as_json) as bars:  # a log in PostgreSQL is copied out, row by row
        manifest = rotate(home, origin, int(time.time()), bars)
    frozen = manifest.frozen[-1]
    if as_json:
        emit_json({"current": manifest.current, "frozen": frozen.to_json()})
        return
    typer.echo(f"frozen {frozen.origin} at size {frozen.final_size} (shard {frozen.id})")
    typer.echo(f"now logging as {manifest.current}")
    typer.echo("  restart the node; add the new origin to its witnesses and peers (keep the "
               "old one until they have cosigned its final checkpoint)")


@shard_app.command("list")
def shard_list(home: HomeOpt, as_json: JsonOpt = False) -> None:
    """List the node's logs: the current one and the frozen shards, newest first.

    Example: provenance node shard list --home ./node-a --json
    """
    from ..node import load_config
    from ..node.shard_manifest import load_manifest
    from ..node.shards import finish_rotation

    finish_rotation(home)
    manifest = load_manifest(home, load_config(home).origin)
    if as_json:
        emit_json({"current": manifest.current,
                   "current_first_at": manifest.current_first_at,
                   "frozen": [s.to_json() for s in reversed(manifest.frozen)]})
        return
    typer.echo(f"{manifest.current:<40} current")
    for s in reversed(manifest.frozen):
        typer.echo(f"{s.origin:<40} frozen {format_time(s.frozen_at)}, size {s.final_size}, "
                   f"shard {s.id}")

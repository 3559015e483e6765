"""A ledger node: HTTP service, witness cosigning and split-view evidence (DESIGN.md "Nodes").

Plain functions for the CLI: :func:`init_node`, :func:`load_config`, :func:`add_peer`,
:func:`remove_peer`, :func:`node_keys` (node/config.py); :func:`node_witness` (the witness
for one command: evidence, faulty origins, local cosigning), :func:`verify_evidence`
(core/evidence.py, re-exported).

The HTTP service is one module per unit: :mod:`.logs` (JSON lines, access log),
:mod:`.hotpath` (``GET /proof/inclusion`` ahead of FastAPI), :mod:`.reads` (read snapshots),
:mod:`.sequencer` (queued submissions integrated in blocks), :mod:`.node` (what a running node
holds), :mod:`.app` (the routes, ``create_app``, ``node_app``) and :mod:`.server`
(``make_server``, ``serve``). Their names are re-exported here lazily (on first use), so that
commands which never serve do not load FastAPI and uvicorn.
"""
# ruff: noqa: E402 (the imports follow the mark below)

import sys

# httpx loads its own command-line tool (rich, pygments, click: about 60 ms of every command
# that talks to a node, and of a node's start) when those are installed, as they are here; no
# part of this package runs it. Marked missing, httpx defines a stand-in and goes on.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

from ..core.evidence import Evidence, verify_evidence
from ..core.witness import add_checkpoint_body
from ..lazy import exports
from .config import (
    NodeConfig,
    Peer,
    add_peer,
    init_node,
    load_config,
    node_keys,
    remove_peer,
)
from .witness import Witness, node_witness, open_witness

_SERVICE = {"create_app": "app", "node_app": "app", "make_server": "server", "serve": "server",
            "configure_logging": "logs", "HotReads": "hotpath", "Sequencer": "sequencer",
            "Node": "node"}
"""Service names and their module, imported on first use."""


__getattr__ = exports(__name__, _SERVICE)


__all__ = ["Evidence", "HotReads", "Node", "NodeConfig", "Peer", "Sequencer", "Witness",
           "add_checkpoint_body", "add_peer", "configure_logging", "create_app", "init_node",
           "load_config", "make_server", "node_app", "node_keys", "node_witness", "open_witness",
           "remove_peer", "serve", "verify_evidence"]

"""A ledger node: HTTP service, witness cosigning and split-view evidence (DESIGN.md "Nodes").

Plain functions for the CLI: :func:`init_node`, :func:`load_config`, :func:`add_peer`,
:func:`node_keys` (node/config.py); :func:`serve` and :func:`create_app` (node/service.py);
:func:`open_witness` and :func:`verify_evidence` (node/witness.py).
"""

from .config import (
    NodeConfig,
    Peer,
    add_peer,
    init_node,
    load_config,
    node_keys,
    remove_peer,
)
from .service import create_app, make_server, serve
from .witness import Evidence, Witness, add_checkpoint_body, open_witness, verify_evidence

__all__ = ["Evidence", "NodeConfig", "Peer", "Witness", "add_checkpoint_body", "add_peer",
           "create_app", "init_node", "load_config", "make_server", "node_keys", "open_witness",
           "remove_peer", "serve", "verify_evidence"]

"""A ledger node: HTTP service, witness cosigning and split-view evidence (DESIGN.md "Nodes").

Plain functions for the CLI: :func:`init_node`, :func:`load_config`, :func:`add_peer`,
:func:`remove_peer`, :func:`node_keys` (node/config.py); :func:`node_witness` (the witness
for one command: evidence, faulty origins, local cosigning), :func:`verify_evidence`
(node/witness.py). The HTTP service (``create_app``, ``make_server``,
``serve``) lives in :mod:`provenance_ledger.node.service` and is not imported here, so that
commands which never serve do not load FastAPI and uvicorn.
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
from .witness import (
    Evidence,
    Witness,
    add_checkpoint_body,
    node_witness,
    open_witness,
    verify_evidence,
)

__all__ = ["Evidence", "NodeConfig", "Peer", "Witness", "add_checkpoint_body", "add_peer",
           "init_node", "load_config", "node_keys", "node_witness", "open_witness", "remove_peer",
           "verify_evidence"]

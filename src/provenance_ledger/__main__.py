"""``python -m provenance_ledger``: the ``provenance`` command (specs/cli.md)."""

from .cli.main import main

main()

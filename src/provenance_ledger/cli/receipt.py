"""The ``receipt`` group (specs/cli.md): ``get`` (the default: ``provenance receipt WORK``),
``show`` and ``upgrade``, from the modules that implement them."""

from __future__ import annotations

from . import receipt_show, receipt_upgrade, verify

app = receipt_show.app
app.command(receipt_show.DEFAULT_COMMAND)(verify.receipt)
app.command("show")(receipt_show.show)
app.command("upgrade")(receipt_upgrade.upgrade)

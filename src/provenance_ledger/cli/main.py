"""The ``provenance`` app and its one error boundary.

Exit codes: 0 success (and "allowed" for ``may``); 1 a negative answer (``may``: not allowed,
``verify``/``log audit``: does not verify); 2 any other error, usage errors included. Every
error is one line on stderr; tracebacks are never shown (locals can hold private keys).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import LedgerError, VerificationError
from ..ledger import Home
from . import keys, log, rights, verify
from .anchor import anchor
from .session import Session

EXIT_NEGATIVE = 1
EXIT_ERROR = 2

app = typer.Typer(
    name="provenance",
    help="Anchor creative works and record consent and licences in a tamper-evident log.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _options(
    ctx: typer.Context,
    home: Annotated[Path | None, typer.Option(
        "--home", envvar="PROVENANCE_HOME", show_envvar=True,
        help="Data directory of the embedded ledger [default: ~/.provenance].")] = None,
) -> None:
    if home is not None:
        ctx.obj = Session(Home(home.expanduser()))


app.command()(anchor)
app.command()(rights.transfer)
app.command()(rights.status)
app.command()(rights.may)
app.command()(verify.receipt)
app.command()(verify.verify)
app.add_typer(rights.consent_app, name="consent")
app.add_typer(rights.licence_app, name="licence")
app.add_typer(keys.app, name="key")
app.add_typer(log.app, name="log")


def main() -> None:
    """Console entry point: run the app, turn every error into one line and an exit code.

    Usage errors are typer's own (a usage line and exit 2); everything the library raises is
    caught here, the one error boundary of the CLI.
    """
    try:
        app()
    except VerificationError as e:
        _fail(str(e), EXIT_NEGATIVE)
    except LedgerError as e:
        _fail(str(e), EXIT_ERROR)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except OSError as e:
        _fail(f"{e.strerror or e}" + (f": {e.filename}" if e.filename else ""), EXIT_ERROR)


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    sys.exit(code)

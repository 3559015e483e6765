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
from . import keys, log, node, rights, verify
from .anchor import anchor
from .session import Session

EXIT_NEGATIVE = 1
EXIT_ERROR = 2

app = typer.Typer(
    name="provenance",
    help="Anchor creative works and record consent and licences in a tamper-evident log.\n\n"
    "Example: provenance anchor page-012.png",
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
        help="Data directory of the embedded ledger (default ~/.provenance).")] = None,
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
app.add_typer(node.app, name="node")


def main() -> None:
    """Console entry point: run the app, turn every error into one line and an exit code.

    Usage errors and everything the library raises are caught here, the one error boundary of
    the CLI, and printed as one line.
    """
    try:
        rc = app(standalone_mode=False)
    except VerificationError as e:
        _fail(str(e), EXIT_NEGATIVE)
    except LedgerError as e:
        _fail(str(e), EXIT_ERROR)
    except typer.Abort:
        _fail("aborted", EXIT_ERROR)
    except typer.TyperException as e:  # usage errors of typer's command-line parser
        ctx = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
            typer.echo(ctx.get_help(), err=True)
            sys.exit(EXIT_ERROR)
        message = e.format_message() if hasattr(e, "format_message") else str(e)
        where = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        _fail(" ".join(str(message).split()) + where, EXIT_ERROR)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (e.g. `| head`): end quietly, as Unix tools do
        sys.exit(141)
    except OSError as e:
        _fail(f"{e.strerror or e}" + (f": {e.filename}" if e.filename else ""), EXIT_ERROR)
    sys.exit(rc if isinstance(rc, int) else 0)


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    sys.exit(code)

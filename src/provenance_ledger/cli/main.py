"""The ``provenance`` app and its one error boundary.

Exit codes: 0 success (and "allowed" for ``may``); 1 a negative answer (``may``: not allowed,
``verify``/``log audit``: does not verify); 2 any other error, usage errors included. Every
error is one line on stderr; tracebacks are never shown (locals can hold private keys).
"""

from __future__ import annotations

import copy
import inspect
import io
import os
import re
import sys
from collections.abc import Iterable
from difflib import get_close_matches
from importlib import import_module
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.core import Command as FrameworkCommand
from typer._click.exceptions import BadOptionUsage
from typer._click.parser import _OptionParser
from typer.core import TyperArgument, TyperGroup, TyperOption

from ..errors import LedgerError, VerificationError, error_line, quoted
from . import coercion
from .session import Session

DISTRIBUTION = "provenance-ledger"
HOME_OPTION = "--home"

EXIT_NEGATIVE = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
INTERRUPTED = "interrupted (Ctrl-C): run the same command again to finish what it began"

app = typer.Typer(
    name="provenance",
    help="Anchor creative works and record consent and licences in a tamper-evident log.\n\n"
    "Example: provenance anchor page-012.png",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"{DISTRIBUTION} {version(DISTRIBUTION)}")
        except PackageNotFoundError as e:  # run from a source tree that was never installed
            raise LedgerError(f"{DISTRIBUTION} is not installed: no version to show") from e
        raise typer.Exit()


@app.callback()
def _options(
    ctx: typer.Context,
    home: Annotated[Path | None, typer.Option(
        HOME_OPTION, envvar="PROVENANCE_HOME", show_envvar=True,
        help="Data directory of the embedded ledger (default ~/.provenance). Accepted before "
             "the command, after it, or between a group and its command.")] = None,
    show_version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True,
        help="Print the version and exit.")] = False,
) -> None:
    if home is not None:
        _use_home(ctx, home)


def _use_home(ctx: Any, home: Path) -> None:
    """``--home DIR``, wherever it was given: the session every command then uses."""
    from ..ledger import Home

    ctx.find_root().obj = Session(Home(home.expanduser()))


COMMANDS: dict[str, tuple[str, str]] = {
    "anchor": ("anchor", "anchor"),
    "transfer": ("rights", "transfer"),
    "status": ("rights", "status"),
    "may": ("rights", "may"),
    "works": ("listing", "works"),
    "offers": ("listing", "offers"),
    "verify": ("verify", "verify"),
    "receipt": ("receipt", "app"),
    "consent": ("rights", "consent_app"),
    "licence": ("rights", "licence_app"),
    "key": ("keys", "app"),
    "identity": ("identity", "app"),
    "log": ("log", "app"),
    "node": ("node", "app"),
    "dataset": ("dataset", "app"),
    # vocabularies (specs/vocabularies.md section 8)
    "export": ("vocab", "export"),
    "import": ("vocab", "import_"),
    # usage, payments, royalties (specs/royalties.md section 5)
    "usage": ("payments", "usage_app"),
    "payment": ("payments", "payment_app"),
    "royalties": ("payments", "royalties"),
}
"""Every command of the app, in the order of its help: name -> (module of cli/, its command
function or typer group). Only the command a line names is imported (README "Speed": the
CLI's start-up); ``--help``, completion and unknown names load them all."""


_registered: set[str] = set()


def _register(names: Iterable[str]) -> None:
    for name in (n for n in names if n not in _registered):
        _registered.add(name)
        module, attr = COMMANDS[name]
        target = getattr(import_module(f"{__package__}.{module}"), attr)
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=name)
        else:
            app.command(name)(target)


def _named(argv: list[str]) -> str | None:
    """The command ``argv`` (the arguments after the program's name) runs, when it is one of
    ``COMMANDS`` and no help or completion is asked for at the top; else None."""
    args = iter(argv)
    for arg in args:
        if arg == HOME_OPTION:
            next(args, None)
        elif not arg.startswith("-"):
            return arg if arg in COMMANDS else None
        elif not arg.startswith(HOME_OPTION + "="):
            return None
    return None


def _flag_type(self: TyperOption, ctx: Any) -> str | None:
    """A flag takes no value, so its help shows none (typer's rich help shows ``<bool>``)."""
    if self.is_flag and not self.count:
        return None
    return _option_type(self, ctx)


_option_type = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]


def _one_value_type(self: TyperArgument, ctx: Any) -> str | None:
    """An argument that takes several values shows what one is (``FILE...  <Path>``; its name
    says it repeats), not the Python type of the list (typer's rich help: ``<list[Path]>``)."""
    shown = _argument_type(self, ctx)
    if shown is not None and shown.startswith("<list[") and shown.endswith("]>"):
        return f"<{shown[len('<list['):-len(']>')]}>"
    return shown


_argument_type = TyperArgument.display_type_rich
TyperArgument.display_type_rich = _one_value_type  # type: ignore[method-assign,assignment]


# -- the framework's parser, told what the error boundary needs ---------------------------------

_NEGATIVE = re.compile(r"-[0-9]")
"""The start of a negative number (``-1``, ``-2.5``); no option of the app is a dash and a
digit."""


def _negative_numbers(process: Any) -> Any:
    def _process_opts(self: Any, arg: str, state: Any) -> None:
        """A negative number given as an argument (``log proof -1``) is that argument, which
        its parser then refuses in its own words, not an unknown option ``-1``."""
        number = _NEGATIVE.match(arg) and arg[:2] not in self._short_opt
        if number and self.allow_interspersed_args:  # a command's, not a group's, line
            state.largs.append(arg)
            return
        process(self, arg, state)

    return _process_opts


_VALUE_WORDS = {"CUR": "currency"}
"""The words of a metavar that name a value otherwise than in lower case (``AMOUNT CUR``)."""


def _once_and_whole(take: Any) -> Any:
    def _get_value_from_state(self: Any, option_name: str, option: Any, state: Any) -> Any:
        """An option that takes one value (not ``multiple``, not a flag) given twice is
        refused, not the last one kept (``--fee 100 EUR --fee 200 USD``); a flag given twice
        is harmless and kept. An option that takes several values (``--fee AMOUNT
        CURRENCY``) is refused when one of the words it would take is an option (``--fee
        100 --until 2028-01-01``: a value left out), not given that option as its value."""
        seen: dict[str, str] = state.__dict__.setdefault("provenance_typed", {})
        if option.action == "store" and option.dest in state.opts:
            first = seen.get(option.dest, option_name)
            raise _mistake(self, option_name, f"{option_name} given twice: give it once"
                           if first == option_name else
                           f"{first} and {option_name} are one option, given twice: "
                           "give it once")
        if option.nargs > 1:
            words = str(option.obj.metavar or "").split()
            for i, word in enumerate(state.rargs[:option.nargs]):
                if _is_option(self, word):
                    name = words[i] if i < len(words) else "VALUE"
                    what = _VALUE_WORDS.get(name, name.lower())
                    article = "an" if what[:1] in "aeiou" else "a"
                    shown = f" ({' '.join(words)})" if words else ""
                    raise _mistake(self, option_name,
                                   f"{option_name} takes {option.nargs} values{shown}: "
                                   f"{quoted(word)} is an option, not {article} {what}")
        seen[option.dest] = option_name
        return take(self, option_name, option, state)

    return _get_value_from_state


def _is_option(parser: Any, word: str) -> bool:
    """Whether ``word`` of a command line is an option (``--key``, ``-o``, ``--until=T``),
    not a value: a negative number (``-5``) and ``-`` are values."""
    if len(word) < 2 or not word.startswith("-") or word == "--":
        return False
    return not (_NEGATIVE.match(word) and word[:2] not in parser._short_opt)


def _mistake(parser: Any, option_name: str, said: str) -> Exception:
    """A usage error of ``option_name`` that the error boundary says as ``said``."""
    e = BadOptionUsage(option_name, said, ctx=parser.ctx)
    e.said = said  # type: ignore[attr-defined]
    return e


def _knowing_the_command(parse: Any) -> Any:
    def parse_args(self: Any, ctx: Any, args: list[str]) -> Any:
        """Every usage error of a command line carries its context (the parser raises the one
        for an option without its value with none), and the one for arguments the command does
        not take carries them (``unexpected``): the error boundary names them
        (:func:`_usage`)."""
        given = list(args)
        try:
            return parse(self, ctx, args)
        except typer.TyperException as e:
            if getattr(e, "ctx", None) is None:
                e.ctx = ctx  # type: ignore[attr-defined]
            if str(e).startswith("Got unexpected extra argument"):  # parse again: what is left
                _, left, _ = self.make_parser(ctx).parse_args(given)
                e.unexpected = left  # type: ignore[attr-defined]
            raise

    return parse_args


def _knowing_the_name(resolve: Any) -> Any:
    def resolve_command(self: Any, ctx: Any, args: list[str]) -> Any:
        """An unknown command's error carries the name the user gave (``unknown``)."""
        try:
            return resolve(self, ctx, args)
        except typer.TyperException as e:
            if args and getattr(e, "ctx", None) is ctx and str(e).startswith("No such command"):
                e.unknown = args[0]  # type: ignore[attr-defined]
            raise

    return resolve_command


_OptionParser._process_opts = _negative_numbers(  # type: ignore[method-assign]
    _OptionParser._process_opts)
_OptionParser._get_value_from_state = _once_and_whole(  # type: ignore[method-assign]
    _OptionParser._get_value_from_state)
FrameworkCommand.parse_args = _knowing_the_command(  # type: ignore[method-assign]
    FrameworkCommand.parse_args)
TyperGroup.resolve_command = _knowing_the_name(  # type: ignore[method-assign]
    TyperGroup.resolve_command)
coercion.install()


def command(argv: list[str] | None = None) -> Any:
    """The click command of the app: with only the command that ``argv`` (a command line's
    arguments) names, when it names one; else with every command. ``--home`` is accepted
    after every command too, and between a group and its command: each command and group
    without an option of that name gets a copy of the app's, which sets the session; a
    command with its own (``node ...``: the node's data directory) takes the app's value when
    it is given before the command instead (specs/cli.md section 1)."""
    name = None if argv is None else _named(argv)
    _register([name] if name is not None else COMMANDS)
    root = typer.main.get_command(app)
    (home,) = (p for p in root.params if HOME_OPTION in getattr(p, "opts", ()))
    _home_after(root, home)
    _summaries(root)
    return root


def _metavars(command: Any) -> None:
    """Arguments shown in usage lines and help as the specs and errors name them (``WORK``,
    not the framework's ``{work}``), unless a command names one otherwise."""
    for param in command.params:
        if isinstance(param, TyperArgument) and param.metavar is None and param.name:
            param.metavar = param.name.upper()


def _summaries(group: Any) -> None:
    """Help as prose: each paragraph of a command's help flows as one (typer's rich help keeps
    the docstring's line breaks, mid-sentence, and then wraps again at the terminal's width),
    and each command's line in its group's list is its first paragraph. A paragraph of lines
    that start with ``- ``, ``* `` or a space (a list, a block) keeps its lines."""
    for sub in getattr(group, "commands", {}).values():
        _metavars(sub)
        if sub.help:
            sub.help = "\n\n".join(_flowing(p) for p in inspect.cleandoc(sub.help).split("\n\n"))
            if sub.short_help is None:
                sub.short_help = sub.help.split("\n\n")[0]
        _summaries(sub)


def _flowing(paragraph: str) -> str:
    lines = paragraph.splitlines()
    if any(line.startswith(("- ", "* ", " ")) for line in lines[1:]) or paragraph.startswith("\b"):
        return paragraph
    return " ".join(" ".join(lines).split())


def _home_after(group: Any, home: Any) -> None:
    for sub in getattr(group, "commands", {}).values():
        if hasattr(sub, "commands"):  # a group: --home between it and its command too
            if not any(HOME_OPTION in getattr(p, "opts", ()) for p in sub.params):
                sub.params.append(_after_copy(home, _own_help(sub)))
            _home_after(sub, home)
            continue
        own = next((p for p in sub.params if HOME_OPTION in getattr(p, "opts", ())), None)
        if own is None:
            sub.params.append(_after_copy(home))
        elif own.required:
            own.required = False
            own.callback = _from_before(own.callback)


_BETWEEN = "provenance.home"
"""Where the root context's ``meta`` keeps the ``--home`` given after a group's name (the
latest one), for a command of that group with a ``--home`` of its own (:func:`_from_before`)."""


def _own_help(group: Any) -> str | None:
    """The help of the ``--home`` that the commands of ``group`` have of their own (``node``:
    the node's data directory), if they have one."""
    for sub in getattr(group, "commands", {}).values():
        own = next((p for p in sub.params if HOME_OPTION in getattr(p, "opts", ())), None)
        found = _own_help(sub) if own is None else str(own.help or "") or None
        if found is not None:
            return found
    return None


def _after_copy(home: Any, shown: str | None = None) -> Any:
    """The app's ``--home`` as a command's or a group's option (``provenance log key --home
    DIR``, ``provenance log --home DIR key``): given there only (no environment variable,
    which the app's own option reads), it replaces the session."""
    option = copy.copy(home)
    option.envvar = None
    option.show_envvar = False
    option.expose_value = False
    option.is_eager = True  # before the other options' callbacks, which may read the session
    if shown is not None:
        option.help = shown

    def use(ctx: Any, _param: Any, value: Path | None) -> None:
        if value is not None:
            _use_home(ctx, value)
            ctx.find_root().meta[_BETWEEN] = value

    option.callback = use
    return option


def _from_before(callback: Any) -> Any:
    """A required ``--home`` of a command that also takes the app's, given before it or
    between its group and it (``provenance node --home DIR status``)."""

    def value(ctx: Any, param: Any, given: Path | None) -> Any:
        if given is None:
            root = ctx.find_root()
            before = root.meta.get(_BETWEEN) or root.params.get("home")
            if before is None or (_BETWEEN not in root.meta and root.get_parameter_source(
                    "home").name != "COMMANDLINE"):
                raise typer.BadParameter("give the data directory: --home DIR (before or "
                                         "after the command)", ctx=ctx, param=param)
            given = Path(before)
        return callback(ctx, param, given) if callback is not None else given

    return value


def main() -> None:
    """Console entry point: run the app, turn every error into one line and an exit code.

    Usage errors and everything the library raises are caught here, the one error boundary of
    the CLI, and printed as one bounded line (:func:`_fail`), whatever the exception says.
    """
    _quiet_when_closed()
    try:
        rc = command(sys.argv[1:])(standalone_mode=False, prog_name="provenance")
    except VerificationError as e:
        _fail(str(e), EXIT_NEGATIVE)
    except LedgerError as e:  # a refusal of core's in the command's words (cli/errwords.py)
        from .errwords import user_words

        _fail(user_words(e), EXIT_ERROR)
    except typer.Abort:
        _fail("aborted", EXIT_ERROR)
    except typer.TyperException as e:  # usage errors of typer's command-line parser
        ctx = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError":  # a group alone: its help, shown once
            if e.format_message().strip():  # (the framework's rich help printed it already)
                typer.echo(e.format_message(), err=True)
            sys.exit(EXIT_ERROR)
        message = _in_our_words(e) or _usage(e, ctx) or e.format_message()
        where = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        _fail(" ".join(str(message).split()) + where, EXIT_ERROR)
    except KeyboardInterrupt:
        _fail(INTERRUPTED, EXIT_INTERRUPTED)
    except OSError as e:
        _fail(f"{e.strerror or e}" + (f": {e.filename}" if e.filename else ""), EXIT_ERROR)
    if rc == EXIT_INTERRUPTED:  # typer's answer to Ctrl-C: said, as every other stop is
        _fail(INTERRUPTED, EXIT_INTERRUPTED)
    sys.exit(rc if isinstance(rc, int) else 0)


class _Reader(io.RawIOBase):
    """Standard output (or error) whose reader may go away (``provenance verify ... | head
    -1``): what is written after it did is dropped, so the command ends as it would have,
    with its own exit code, not with an error of its own output (the framework would exit 1,
    which reads as "does not verify")."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self.gone = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data: Any) -> int:
        size = len(memoryview(data).cast("B"))
        if self.gone:
            return size
        try:
            return os.write(self._fd, data)
        except BrokenPipeError:
            self.gone = True
            return size


def _quiet_when_closed() -> None:
    """Standard output and error as :class:`_Reader` s, with the encoding and buffering they
    have (standard error is read too when it goes to the same pipe: ``2>&1 | head``)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        try:
            fd = stream.fileno()
            stream.flush()
        except (AttributeError, OSError, ValueError):  # not a file (a test's capture)
            continue
        setattr(sys, name, io.TextIOWrapper(
            io.BufferedWriter(_Reader(fd)), encoding=stream.encoding, errors=stream.errors,
            line_buffering=stream.line_buffering,
            write_through=getattr(stream, "write_through", False)))


_BOUNDS = {"greater_than_equal": "{} or more", "greater_than": "above {}",
           "less_than_equal": "{} or less", "less_than": "below {}"}
"""The framework's range errors, in words: what the value is not."""


def _in_our_words(e: Exception) -> str | None:
    """A bad value of an option or argument as ``<name>: <what is wrong>``, the option's name
    first, as every other bad input is said (specs/cli.md section 1, errors), instead of the
    framework's ``Invalid value for '<name>': ...``. Options and arguments that take a number
    read it with a parser of cli/numbers.py, which says what is expected; one that does not
    is still told in these words, not in the words of the framework's validator
    (``Input should be a valid integer``). None for every other usage error."""
    param = getattr(e, "param", None)
    if type(e) is not typer.BadParameter or param is None:  # not MissingParameter either
        return None
    opts = [o for o in getattr(param, "opts", ()) if o.startswith("-")]
    name = max(opts, key=len) if opts else (param.metavar or str(param.name).upper())
    errors = getattr(e.__cause__, "errors", None)  # the framework's validation error
    found = errors()[0] if callable(errors) and errors() else {}
    kind, value = str(found.get("type", "")), found.get("input")
    if kind.startswith("int_"):
        return f"{name}: {quoted(value)} is not a whole number"
    if kind.startswith("float_"):
        return f"{name}: {quoted(value)} is not a number"
    if kind in _BOUNDS:
        limits = found.get("ctx") or {}
        return f"{name}: {quoted(value)} is not " + _BOUNDS[kind].format(*limits.values())
    return f"{name}: {e.message}"


def _usage(e: Exception, ctx: Any) -> str | None:
    """A command line the command does not take, in our words (specs/cli.md section 1, usage
    errors): the argument named as the documentation names it (``WORK``), an option as the
    user types it, and what it takes, in the words of its help. None for any other error."""
    kinds = {k.__name__ for k in type(e).__mro__}
    command = getattr(ctx, "command", None)
    params = command.get_params(ctx) if command is not None else []
    param = getattr(e, "param", None)
    said = getattr(e, "said", None)
    if said is not None:  # the parser's own words (_once_and_whole)
        return str(said)
    if "MissingParameter" in kinds and param is not None:
        return f"missing {_shown(param, many='')}{_takes(param)}"
    if "NoSuchOption" in kinds:
        typed = str(getattr(e, "option_name", ""))
        options = [o for p in params if not getattr(p, "hidden", False)
                   for o in (*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ()))]
        return f"unknown option {quoted(typed)}" + (_did_you_mean(typed, options, "--")
                                                    or _synonym(typed, params))
    if "BadOptionUsage" in kinds:
        typed = str(getattr(e, "option_name", ""))
        option = next((p for p in params if typed in (*getattr(p, "opts", ()),
                                                      *getattr(p, "secondary_opts", ()))), None)
        if option is None:
            return None
        if getattr(option, "is_flag", False) or getattr(option, "count", False):
            return f"{typed} takes no value"
        n = option.nargs
        return f"{typed} needs {'a value' if n == 1 else f'{n} values'}{_takes(option)}"
    if hasattr(e, "unexpected") and command is not None:
        extra = [str(a) for a in e.unexpected]
        arguments = [_shown(p) if p.required else f"[{_shown(p)}]"
                     for p in params if p.param_type_name == "argument"]
        takes = " ".join(arguments) if arguments else "no arguments"
        return (f"unexpected argument{'s' if len(extra) > 1 else ''} "
                f"{', '.join(quoted(a) for a in extra)}: {ctx.command_path} takes {takes}")
    names = [n for n, c in getattr(command, "commands", {}).items() if not c.hidden]
    if hasattr(e, "unknown") and names:
        typed = str(e.unknown)
        return f"unknown command {quoted(typed)}" + (_did_you_mean(typed, names, "")
                                                     or f": use one of {', '.join(names)}")
    if names and str(e) == "Missing command.":
        return f"missing command: use one of {', '.join(names)}"
    return None


def _shown(param: Any, many: str = "...") -> str:
    """An option by its longest name (``--out``, not ``-o``), an argument as the documentation
    names it: its metavar, else its name in capitals (``WORK``), followed by ``many`` when it
    takes any number of values (``FILE...``)."""
    opts = [o for o in getattr(param, "opts", ()) if o.startswith("-")]
    if param.param_type_name == "option" and opts:
        return str(max(opts, key=len))
    name = str(param.metavar or str(param.name).upper()).removesuffix("...")
    return name + (many if param.nargs == -1 else "")


_SENTENCE_END = re.compile(r"(?<=\.)\s+(?=[A-Z])")
"""Where a sentence of a help text ends (``e.g. ai_training`` goes on)."""


def _takes(param: Any) -> str:
    """``: <what the parameter takes>``, the first sentence of its help (without its label
    when that is the parameter's name: ``Purpose: ...`` of ``--purpose``); empty when it has
    no help."""
    help_text = " ".join(str(param.help or "").split())
    text = _SENTENCE_END.split(help_text, maxsplit=1)[0].rstrip(".")
    label, colon, rest = text.partition(": ")
    if colon and label.lower() == str(param.name).lower():
        text = rest
    if text[:1].isupper() and not text[1:2].isupper():  # "File path" -> "file path", not ISCC
        text = text[0].lower() + text[1:]
    return f": {text}" if text else ""


_SYNONYMS = {
    "--key": ("--as", "--by"), "--as": ("--key", "--by"), "--by": ("--key", "--as"),
    "--user": ("--as", "--key"), "--signer": ("--key",), "--signing-key": ("--key",),
}
"""Options a user brings from another command for the same thing: the key is ``--key`` where
a command signs with it, ``--as`` where it asks about its use, ``--by`` where it lists what a
key did (specs/cli.md section 1)."""


def _synonym(typed: str, params: list[Any]) -> str:
    """``: did you mean --as (the user's key: ...)?`` when ``typed`` is another command's
    name for an option this command has (each such option, when it has several); empty
    otherwise."""
    found = []
    for name in _SYNONYMS.get(typed, ()):
        param = next((p for p in params if name in getattr(p, "opts", ())), None)
        if param is not None and not getattr(param, "hidden", False):
            takes = _takes(param).removeprefix(": ")
            found.append(name + (f" ({takes})" if takes else ""))
    return f": did you mean {' or '.join(found)}?" if found else ""


def _did_you_mean(typed: str, names: list[str], prefix: str) -> str:
    """``: did you mean --title?`` for the names close to ``typed`` (each compared without the
    ``prefix`` they all share, so that ``--`` alone makes no two options alike); empty when
    none is, or when ``typed`` lacks the prefix."""
    if not typed.startswith(prefix):
        return ""
    bare = {n[len(prefix):]: n for n in names if n.startswith(prefix)}
    close = [bare[m] for m in get_close_matches(typed[len(prefix):], list(bare))]
    if not close:
        return ""
    return ": did you mean " + (" or ".join([", ".join(close[:-1]), close[-1]]) if len(close) > 1
                                else close[0]) + "?"


def _fail(message: str, code: int) -> None:
    """Print ``message`` as the one ``error:`` line, whatever it holds: at most
    ``MAX_ERROR_CHARS`` characters, control characters and line breaks escaped
    (errors.error_line), and exit with ``code``."""
    typer.echo(f"error: {error_line(message)}", err=True)
    sys.exit(code)

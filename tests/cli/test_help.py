"""``--help`` for every command, and shell completion.

The command tree is read from the typer app itself, so a new command is covered without
editing this file. Every command's help is rendered in process, by the app's click command as
the console script runs it (the same text, byte for byte: a subprocess per command would only
add its start-up); the app's own help, ``-h`` and completion are asked of the real console
script. The tree is walked by duck typing (a group has ``commands``, an option has ``opts``):
typer >= 0.26 builds it from its own vendored copy of click, whose classes are not ``click``'s.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from provenance_ledger.cli.main import command
from tests.cli.conftest import run, user_home

ROOT = command()


def _walk(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command below ``command`` (groups and their subcommands), as argument paths."""
    found = [path] if path else []
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += _walk(sub, (*path, name))
    return found


def _command(path: tuple[str, ...]) -> Any:
    command: Any = ROOT
    for name in path:
        command = command.commands[name]
    return command


def _has_json(command: Any) -> bool:
    return any("--json" in getattr(p, "opts", ()) for p in command.params)


COMMANDS = _walk(ROOT)


def test_the_tree_has_every_documented_command() -> None:
    assert {" ".join(p) for p in COMMANDS} >= {
        "anchor", "transfer", "status", "may", "receipt", "verify",
        "consent", "consent grant", "consent revoke",
        "licence", "licence offer", "licence accept", "licence terminate",
        "key", "key new", "key list", "key show",
        "log", "log key", "log checkpoint", "log consistency", "log audit",
        "works", "offers", "receipt get", "receipt show",
    }


def _flags(command: Any) -> list[str]:
    return [o for p in command.params if getattr(p, "is_flag", False)
            for o in p.opts if o.startswith("--")]


def help_of(path: tuple[str, ...], home: Path) -> tuple[str, str]:
    """``provenance PATH --help`` rendered in process: (stdout, stderr)."""
    with CliRunner().isolation(env={"NO_COLOR": "1", "PROVENANCE_HOME": str(home)}) as streams:
        with pytest.raises(SystemExit) as done:
            ROOT.main(args=[*path, "--help"], prog_name="provenance")
        assert done.value.code == 0
        return streams[0].getvalue().decode(), streams[1].getvalue().decode()


def test_help_in_process_is_the_console_scripts(tmp_path: Path) -> None:
    path = ("licence", "offer")
    assert help_of(path, tmp_path / "home") == tuple(run(*path, "--help",
                                                         home=tmp_path / "home")[1:])


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_help_has_an_example_and_flags_take_no_value(
    path: tuple[str, ...], tmp_path: Path
) -> None:
    out, err = help_of(path, tmp_path / "home")
    assert err == ""
    assert f"provenance {' '.join(path)}" in out  # the usage line
    # Arguments are named as the specs and the error lines name them: `WORK`, never `work`.
    usage = " ".join(re.split(r"\n\s*\n", out.split("Usage:", 1)[1], maxsplit=1)[0].split())
    for param in _command(path).params:
        if type(param).__name__ == "TyperArgument":
            shown = param.metavar or param.name.upper()
            assert shown.isupper() and shown in usage, usage
            assert f"{{{param.name}}}" not in usage, usage
    assert "Example" in out, f"no example in `provenance {' '.join(path)} --help`"
    if _has_json(_command(path)):
        assert "--json" in out
    # A flag's line shows no value: `--json  Print JSON.`, never `--json  <bool>  ...`.
    assert "<bool>" not in out
    # A repeatable option shows what one value is (`--purpose PURPOSE`), not a Python type.
    assert "<list[" not in out and "<tuple[" not in out
    for flag in [*_flags(_command(path)), "--help"]:
        (line,) = [x for x in out.splitlines() if re.match(f"│ +{flag} ", x)]
        assert not re.search(re.escape(flag) + r"(\s+-\w)?\s+<", line), line
    if path and not getattr(_command(path), "commands", None):  # --home after any command
        assert "--home" in out
    assert not (tmp_path / "home").exists()  # asking for help creates nothing


GROUPS = [p for p in [(), *COMMANDS] if getattr(_command(p), "commands", None)]


@pytest.mark.parametrize("path", GROUPS, ids=[" ".join(p) or "provenance" for p in GROUPS])
def test_a_groups_command_list_gives_each_summary_as_one_paragraph(
    path: tuple[str, ...], tmp_path: Path
) -> None:
    # Wide enough that no summary wraps: each command is one row of the panel, its help's
    # first paragraph whole (the docstring's own line breaks are not kept there).
    with CliRunner().isolation(env={"NO_COLOR": "1", "COLUMNS": "1000",
                                    "PROVENANCE_HOME": str(tmp_path / "home")}) as streams:
        with pytest.raises(SystemExit):
            ROOT.main(args=[*path, "--help"], prog_name="provenance")
        out = streams[0].getvalue().decode()
    panel = out.split("Commands ", 1)[1].split("╰", 1)[0]
    rows = [x.strip("│ ") for x in panel.splitlines()[1:]]
    group = _command(path)
    assert len(rows) == len(group.commands)
    for name, sub in group.commands.items():
        (row,) = [x for x in rows if x.split()[0] == name]
        first = " ".join(sub.help.split("\n\n")[0].split())
        assert row.split(None, 1)[1] == first


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_help_paragraphs_flow_as_prose(path: tuple[str, ...], tmp_path: Path) -> None:
    # Wide enough that nothing wraps: each paragraph of the help is one line, not broken
    # where the docstring's source lines end (a list's lines stay as they are).
    with CliRunner().isolation(env={"NO_COLOR": "1", "COLUMNS": "2000",
                                    "PROVENANCE_HOME": str(tmp_path / "home")}) as streams:
        with pytest.raises(SystemExit):
            ROOT.main(args=[*path, "--help"], prog_name="provenance")
        out = streams[0].getvalue().decode()
    lines = {x.strip() for x in out.splitlines()}
    for paragraph in _command(path).help.split("\n\n"):
        if not any(x.startswith(("- ", "* ", " ")) for x in paragraph.splitlines()[1:]):
            assert " ".join(paragraph.split()) in lines, paragraph


def test_the_apps_own_help(tmp_path: Path) -> None:
    out = run("--help", home=tmp_path / "home").out
    assert "<bool>" not in out
    (line,) = [x for x in out.splitlines() if re.match("│ +--version ", x)]
    assert line.split("--version", 1)[1].split() == ["Print", "the", "version", "and", "exit.",
                                                    "│"]
    assert "--home" in out and "<path>" in out  # an option that takes a value shows it


def test_commands_that_report_have_json() -> None:
    with_json = {" ".join(p) for p in COMMANDS if _has_json(_command(p))}
    assert with_json >= {
        "anchor", "transfer", "status", "may", "verify",
        "consent grant", "consent revoke",
        "licence offer", "licence accept", "licence terminate",
        "key new", "key list", "key show", "log audit",
        "works", "offers", "receipt show",
    }


def test_no_arguments_shows_the_commands(tmp_path: Path) -> None:
    # no_args_is_help: the usage and command list, with click's usage-error exit code.
    result = run(home=tmp_path / "home", ok_codes=(0, 2))
    text = result.out + result.err
    for name in ("anchor", "verify", "consent", "licence", "log"):
        assert name in text


def test_short_help_option(tmp_path: Path) -> None:
    out = run("licence", "offer", "-h", home=tmp_path / "home").out
    assert "Example" in out
    assert "--fee" in out


def test_show_completion(tmp_path: Path) -> None:
    result = run("--show-completion", home=tmp_path / "home", in_bash=True)
    assert "complete -o default -F _provenance_completion provenance" in result.out


def test_install_completion_writes_only_below_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = run("--install-completion", home=home, in_bash=True)
    assert "bash completion installed" in result.out
    script = user_home(home) / ".bash_completions" / "provenance.sh"
    assert "_PROVENANCE_COMPLETE=complete_bash" in script.read_text()
    assert str(script) in (user_home(home) / ".bashrc").read_text()


def test_bash_completion_script(tmp_path: Path) -> None:
    # typer's own completion protocol: _PROVENANCE_COMPLETE=source_<shell>.
    result = run(home=tmp_path / "home", env={"_PROVENANCE_COMPLETE": "source_bash"})
    assert "complete -o default -F _provenance_completion provenance" in result.out
    assert "_PROVENANCE_COMPLETE=complete_bash" in result.out


def test_zsh_completion_script(tmp_path: Path) -> None:
    result = run(home=tmp_path / "home", env={"_PROVENANCE_COMPLETE": "source_zsh"})
    assert result.out.lstrip().startswith("#compdef provenance")
    assert "_PROVENANCE_COMPLETE=complete_zsh" in result.out


@pytest.mark.parametrize(("words", "expected"), [
    ("provenance lo", {"log"}),
    ("provenance licence ", {"offer", "accept", "terminate"}),
    ("provenance log c", {"checkpoint", "consistency"}),
])
def test_bash_completion_completes_commands(
    words: str, expected: set[str], tmp_path: Path
) -> None:
    env = {"_PROVENANCE_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split(" ")) - 1)}
    result = run(home=tmp_path / "home", env=env)
    assert set(result.out.split()) == expected


def test_python_dash_m_runs_the_same_command(tmp_path: Path) -> None:
    """``python -m provenance_ledger`` is ``provenance``, named so in its usage errors."""
    import os
    import subprocess
    import sys

    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
    env.update({k: v for k, v in os.environ.items() if k == "PYTHONPATH"})  # the code tested
    done = subprocess.run([sys.executable, "-m", "provenance_ledger", "key", "list",
                           "--bogus"], capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ("error: unknown option '--bogus' (see: provenance key list --help)"
                           "\n")
    version = subprocess.run([sys.executable, "-m", "provenance_ledger", "--version"],
                             capture_output=True, text=True, env=env, timeout=60, check=False)
    assert version.returncode == 0 and version.stdout.startswith("provenance")

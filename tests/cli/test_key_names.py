"""Another party's key given by the name of one of your keys (specs/cli.md section 1, key
arguments): `--to studio` means the public key of your key `studio`, as `dataset check --as`
and `--attester` always did; a name that is no key of yours is one error line naming the
option, and nothing is appended."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import (
    assert_one_error_line,
    new_key,
    run,
    run_json,
    stored_sizes,
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_to_and_may_take_a_key_name(home: Path, tmp_path: Path) -> None:
    page = tmp_path / "page-012.png"
    page.write_bytes(b"Chapter 1, page 12\n")
    run("anchor", page, home=home)
    studio = new_key("studio", home)
    assert run("may", "studio", "ai_training", page, home=home, ok_codes=(1,)).code == 1
    run("consent", "grant", page, "--purpose", "ai_training", "--to", "studio", home=home)
    allowed = run("may", "studio", "ai_training", page, home=home)
    assert allowed.out.startswith("allowed: consent granted to this key for ai_training")
    run("licence", "offer", page, "--to", " studio ", "--purpose", "ai_inference", home=home)
    status = run_json("status", page, "--json", home=home)
    assert [g["grantee"] for g in status["grants"]] == [studio]
    assert [x["licensee"] for x in status["licences"]] == [studio]
    assert len(run_json("works", "--controller", "default", "--json", home=home)) == 1
    run("transfer", page, "--to", "studio", home=home)
    assert run_json("status", page, "--json", home=home)["controller"] == studio
    assert len(run_json("works", "--controller", "studio", "--json", home=home)) == 1


@pytest.mark.parametrize(("args", "message"), [
    (("consent", "grant", "{page}", "--purpose", "ai_training", "--to", "nobody"),
     "--to: 'nobody' is neither a key (ed25519:<64 hex>) nor the name of one of your keys "
     "(provenance key list)"),
    (("licence", "offer", "{page}", "--purpose", "ai_training", "--to", "ed25519:12ab"),
     "--to: key 'ed25519:12ab' is not of the form ed25519:<64 hex>"),
    (("transfer", "{page}", "--to", "../default"),
     "--to: '../default' is neither a key"),
    (("may", "nobody", "ai_training", "{page}"),
     "KEY: 'nobody' is neither a key"),
    (("works", "--controller", "nobody"),
     "--controller: 'nobody' is neither a key"),
])
def test_a_name_that_is_no_key_of_yours_names_the_option(
        home: Path, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    page = tmp_path / "page-012.png"
    page.write_bytes(b"Chapter 1, page 12\n")
    run("anchor", page, home=home)
    before = stored_sizes(home)
    result = run(*(a.format(page=page) for a in args), home=home, ok_codes=(2,))
    assert message in assert_one_error_line(result)
    assert stored_sizes(home) == before

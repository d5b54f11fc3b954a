"""The root command lists its subcommands without importing them, and names missing extras."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from eclor.cli import _LazyGroup, _missing_modules, app

runner = CliRunner()


def test_root_help_lists_every_subcommand() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    for name in ("edge", "cloud", "sim", "version"):
        assert f"  {name} " in result.output


def test_root_help_imports_no_subcommand_package() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from eclor.cli import app\n"
        "CliRunner().invoke(app, ['--help'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'edge', 'cloud', 'simulators'}"
        " or m.split('.')[0] in {'pymodbus', 'fastapi', 'sqlalchemy'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version_names_the_contract() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert "wire contract v1" in result.output


def test_edge_info_lists_driver_versions() -> None:
    result = runner.invoke(app, ["edge", "info"])
    assert result.exit_code == 0, result.output
    assert "pymodbus" in result.output


def test_missing_module_detection() -> None:
    assert _missing_modules(("json", "no_such_module_eclor", "no_such_pkg.sub")) == [
        "no_such_module_eclor",
        "no_such_pkg",
    ]


def test_a_subcommand_whose_extra_is_missing_explains_instead_of_failing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import eclor.cli as cli

    fake = cli._Lazy("cloud.cli", "app", "cloud", "cloud things", ("no_such_module_eclor",))
    monkeypatch.setitem(cli._SUBCOMMANDS, "cloud", fake)
    for args in (["cloud", "--help"], ["cloud", "serve", "--config", "x.yaml"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2
        assert "pip install 'eclor[cloud]'" in result.output
        assert "no_such_module_eclor" in result.output
        assert "Traceback" not in result.output
    assert isinstance(typer_group(), _LazyGroup)


def typer_group() -> object:
    import typer

    return typer.main.get_command(app)

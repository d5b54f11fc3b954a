"""The root ``eclor`` command.

Subcommands live in the packages that implement them and are imported only when invoked, so an
edge-only install (``pip install eclor[edge]``) runs ``eclor edge …`` without FastAPI or SQLAlchemy,
and a subcommand whose extra is missing says which extra to install instead of a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

import typer
import typer.core


@dataclass(frozen=True)
class _Lazy:
    module: str
    attribute: str
    extra: str
    help: str
    requires: tuple[str, ...]


_SUBCOMMANDS: dict[str, _Lazy] = {
    "edge": _Lazy(
        "edge.cli",
        "app",
        "edge",
        "Run, inspect and provision a gateway agent.",
        ("pymodbus", "paho.mqtt", "serial"),
    ),
    "cloud": _Lazy(
        "cloud.cli",
        "app",
        "cloud",
        "Run the cloud services and manage the registry.",
        ("fastapi", "sqlalchemy", "paho.mqtt"),
    ),
    "dashboards": _Lazy(
        "cloud.dashboards.cli",
        "app",
        "cloud,dashboards",
        "Grafana boards as code: build, check, push, load history, preview.",
        ("fastapi", "sqlalchemy", "grafana_client", "grafana_foundation_sdk", "matplotlib"),
    ),
    "demo": _Lazy(
        "demo.cli",
        "app",
        "all",
        "Run the whole chain on this machine: territory, edge agents, broker, cloud, API.",
        ("pymodbus", "dali", "fastapi", "sqlalchemy", "paho.mqtt"),
    ),
    "sim": _Lazy(
        "simulators.cli",
        "app",
        "sim",
        "Serve the simulated territory: Modbus and DALI devices.",
        ("pymodbus", "dali", "astral"),
    ),
}


def _missing_modules(names: tuple[str, ...]) -> list[str]:
    missing = []
    for name in names:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(name.split(".")[0])
    return missing


def _missing_extra_command(name: str, lazy: _Lazy, missing: list[str]) -> Any:
    message = (
        f"'eclor {name}' needs the '{lazy.extra}' extra, which is not installed here "
        f"(missing: {', '.join(missing)}).\n"
        f"Install it with:  pip install 'eclor[{lazy.extra}]'"
    )
    explainer = typer.Typer(add_completion=False, add_help_option=False)

    @explainer.command(
        name=name,
        help=f"{lazy.help} [needs: pip install 'eclor[{lazy.extra}]']",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=False,
    )
    def explain(args: list[str] | None = typer.Argument(None, hidden=True)) -> None:
        typer.echo(message, err=True)
        raise typer.Exit(2)

    return typer.main.get_command(explainer)


class _LazyGroup(typer.core.TyperGroup):
    def list_commands(self, ctx: Any) -> list[str]:
        return sorted({*super().list_commands(ctx), *_SUBCOMMANDS})

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        lazy = _SUBCOMMANDS.get(cmd_name)
        if lazy is None:
            return super().get_command(ctx, cmd_name)
        missing = _missing_modules(lazy.requires)
        if missing:
            return _missing_extra_command(cmd_name, lazy, missing)
        sub_app = getattr(importlib.import_module(lazy.module), lazy.attribute)
        command = typer.main.get_command(sub_app)
        command.name = cmd_name
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        # Listing must not import the subcommands (slow, and an extra may be missing).
        rows = {name: lazy.help for name, lazy in _SUBCOMMANDS.items()}
        for name, command in self.commands.items():
            rows[name] = command.get_short_help_str(limit=70)
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows.items()))


app = typer.Typer(
    cls=_LazyGroup,
    help="Eclor telemetry: edge agents, cloud services and simulators for a smart territory.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Eclor telemetry: edge agents, cloud services and simulators for a smart territory."""


@app.command()
def version() -> None:
    """Print the Eclor version and the wire contract version."""
    from eclor.versions import eclor_version
    from eclor.wire import CONTRACT_VERSION

    typer.echo(f"eclor {eclor_version()}, wire contract v{CONTRACT_VERSION}")


def main() -> None:
    app()

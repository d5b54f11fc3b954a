"""``eclor edge``: commands a technician runs on a gateway."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from eclor.versions import eclor_version, version_table
from eclor.wire import CONTRACT_VERSION

app = typer.Typer(help="Run, inspect and provision a gateway agent.", no_args_is_help=True)

_DRIVERS = ["pymodbus", "pyserial", "paho-mqtt", "python-dali", "serialx", "astral"]


@app.callback()
def _group() -> None:
    """Keeps this a command group as commands are added."""


@app.command()
def info() -> None:
    """Show the agent's version, wire contract and driver libraries."""
    table = Table(title=f"eclor edge {eclor_version()}, wire contract v{CONTRACT_VERSION}")
    table.add_column("library")
    table.add_column("version")
    for name, ver in version_table(_DRIVERS):
        table.add_row(name, ver)
    Console().print(table)

"""``eclor cloud``: commands that run and administer the cloud services."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from eclor.versions import eclor_version, version_table
from eclor.wire import CONTRACT_VERSION

app = typer.Typer(help="Run the cloud services and manage the registry.", no_args_is_help=True)

_LIBRARIES = ["paho-mqtt", "fastapi", "uvicorn", "sqlalchemy", "alembic", "apscheduler"]


@app.callback()
def _group() -> None:
    """Keeps this a command group as commands are added."""


@app.command()
def info() -> None:
    """Show the cloud's version, wire contract and service libraries."""
    table = Table(title=f"eclor cloud {eclor_version()}, wire contract v{CONTRACT_VERSION}")
    table.add_column("library")
    table.add_column("version")
    for name, ver in version_table(_LIBRARIES):
        table.add_row(name, ver)
    Console().print(table)

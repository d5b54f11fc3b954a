"""``eclor cloud``: run the cloud services and administer the registry."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from eclor.errors import ConfigError, EclorError
from eclor.versions import eclor_version, version_table
from eclor.wire import CONTRACT_VERSION

app = typer.Typer(help="Run the cloud services and manage the registry.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens: create (the secret is shown once), list, revoke.")
gateway_app = typer.Typer(help="Gateways: enrol (the MQTT password is shown once), list.")
app.add_typer(token_app, name="token")
app.add_typer(gateway_app, name="gateway")
console = Console()
err = Console(stderr=True)

_LIBRARIES = ["paho-mqtt", "fastapi", "uvicorn", "sqlalchemy", "alembic", "apscheduler", "httpx"]
ConfigOption = typer.Option(..., "--config", "-c", help="cloud config YAML")


@app.callback()
def _group() -> None:
    """Run the cloud services and manage the registry."""


@app.command()
def info() -> None:
    """Show the cloud's version, wire contract and service libraries."""
    table = Table(title=f"eclor cloud {eclor_version()}, wire contract v{CONTRACT_VERSION}")
    table.add_column("library")
    table.add_column("version")
    for name, ver in version_table(_LIBRARIES):
        table.add_row(name, ver)
    console.print(table)


def _config(path: Path) -> Any:
    from cloud.config import load_cloud_config

    try:
        return load_cloud_config(path)
    except ConfigError as exc:
        err.print(f"[red]config error[/red] {exc}")
        raise typer.Exit(2) from None


@app.command()
def serve(
    config: Path = ConfigOption,
    role: list[str] = typer.Option(
        [], "--role", help="ingest, api or scheduler (repeatable); all three when not given"
    ),
    embedded_broker: bool = typer.Option(
        False, help="run an MQTT 3.1.1 broker (amqtt) in-process on mqtt.host:mqtt.port"
    ),
    log_level: str = typer.Option("INFO"),
    plain_logs: bool = typer.Option(False, help="human-readable logs instead of JSON lines"),
) -> None:
    """Run the cloud: ingest, API and scheduler, or the roles given."""
    from cloud.runtime import ROLES, CloudRuntime
    from eclor.logs import configure

    cfg = _config(config)
    unknown = set(role) - set(ROLES)
    if unknown:
        err.print(f"unknown role(s) {sorted(unknown)}; choose from {list(ROLES)}")
        raise typer.Exit(2)
    if embedded_broker and cfg.mqtt.protocol != "3.1.1":
        cfg = cfg.model_copy(update={"mqtt": cfg.mqtt.model_copy(update={"protocol": "3.1.1"})})
    configure(log_level, json_lines=not plain_logs)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        broker = None
        if embedded_broker:
            from cloud.broker import EmbeddedBroker

            broker = EmbeddedBroker(cfg.mqtt.host, cfg.mqtt.port)
            await broker.start()
        try:
            await CloudRuntime(cfg, tuple(role) or ROLES).run(stop)
        finally:
            if broker is not None:
                await broker.stop()

    asyncio.run(main())


def _sessions(config: Path) -> Any:
    from cloud.registry.db import make_engine, make_session_factory
    from cloud.registry.migrate import upgrade

    cfg = _config(config)
    engine = make_engine(cfg.registry.url)
    upgrade(engine)
    return make_session_factory(engine)


@token_app.command("create")
def token_create(
    config: Path = ConfigOption,
    name: str = typer.Option(..., help="who or what uses it, e.g. 'grafana' or 'j.dupont'"),
    scope: list[str] = typer.Option(
        ..., help="public, technician, energy-manager or admin (repeatable)"
    ),
    days: int = typer.Option(90, help="days until it expires; 0 for never"),
) -> None:
    """Create an API token and print its secret, this once."""
    from cloud.registry.tokens import create_token

    now = datetime.now(UTC)
    expires = now + timedelta(days=days) if days > 0 else None
    try:
        with _sessions(config).begin() as session:
            issued = create_token(session, name, scope, now=now, expires_at=expires)
            token_id = issued.token.id
            secret = issued.secret
    except (EclorError, ValueError) as exc:
        err.print(f"[red]refused[/red]: {exc}")
        raise typer.Exit(2) from None
    console.print(f"token [bold]{token_id}[/bold] for {name}, scopes {', '.join(scope)}")
    console.print(f"expires: {expires.isoformat() if expires else 'never'}")
    console.print("secret (shown once, store it now):")
    typer.echo(secret)


@token_app.command("list")
def token_list(config: Path = ConfigOption) -> None:
    """List tokens (never their secrets)."""
    from cloud.registry.tokens import list_tokens

    table = Table()
    for column in ("id", "name", "scopes", "expires", "revoked", "last used"):
        table.add_column(column)
    with _sessions(config)() as session:
        for t in list_tokens(session):
            table.add_row(
                t.id,
                t.name,
                ", ".join(sorted(t.scopes)),
                _when(t.expires_at),
                _when(t.revoked_at),
                _when(t.last_used_at),
            )
    console.print(table)


@token_app.command("revoke")
def token_revoke(token_id: str, config: Path = ConfigOption) -> None:
    """Revoke a token at once."""
    from cloud.registry.tokens import revoke_token

    try:
        with _sessions(config).begin() as session:
            revoke_token(session, token_id, now=datetime.now(UTC))
    except EclorError as exc:
        err.print(f"[red]refused[/red]: {exc}")
        raise typer.Exit(2) from None
    console.print(f"token {token_id} revoked")


@gateway_app.command("enrol")
def gateway_enrol(gateway_id: str, config: Path = ConfigOption) -> None:
    """Register a gateway and print its MQTT password, this once."""
    from cloud.registry.gateways import enroll_gateway

    try:
        with _sessions(config).begin() as session:
            password = enroll_gateway(session, gateway_id, now=datetime.now(UTC)).password
    except EclorError as exc:
        err.print(f"[red]refused[/red]: {exc}")
        raise typer.Exit(2) from None
    console.print(f"gateway [bold]{gateway_id}[/bold] enrolled; MQTT username {gateway_id}")
    console.print("MQTT password (shown once):")
    typer.echo(password)


@gateway_app.command("list")
def gateway_list(config: Path = ConfigOption) -> None:
    """List gateways with their status and last contact."""
    from cloud.registry.gateways import list_gateways

    table = Table()
    for column in ("gateway", "status", "last seen", "outbox rows", "revoked"):
        table.add_column(column)
    with _sessions(config)() as session:
        for g in list_gateways(session):
            table.add_row(
                g.id,
                str(g.status),
                _when(g.last_seen_at),
                str(g.outbox_rows or 0),
                "yes" if g.revoked else "",
            )
    console.print(table)


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

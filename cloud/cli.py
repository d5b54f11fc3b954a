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


@app.command()
def derive(
    config: Path = ConfigOption,
    start: datetime = typer.Option(..., "--from", help="start, ISO 8601 with offset"),
    end: datetime = typer.Option(..., "--to", help="end (excluded), ISO 8601 with offset"),
) -> None:
    """Write the derived series (savings, waits, forecasts, traffic levels) for a past period."""
    from rich.progress import Progress

    from cloud.derive import days, derive
    from cloud.scheduler import JOB_MODULES, JobContext
    from cloud.store import open_store
    from eclor.clock import WallClock

    cfg = _config(config)
    if start.tzinfo is None or end.tzinfo is None or not start < end:
        err.print("--from and --to need a UTC offset, and --from must be before --to")
        raise typer.Exit(2)
    sessions = _sessions(config)
    steps = len(list(days(start, end))) * len(JOB_MODULES)

    async def main() -> None:
        store = await open_store(cfg.store, WallClock())
        try:
            with Progress(console=err) as bar:
                task = bar.add_task("deriving", total=steps)

                def advance(module: str, upto: datetime) -> None:
                    bar.update(task, advance=1, description=f"{module} to {upto:%Y-%m-%d %H:%M}")

                context = JobContext(sessions, store, WallClock(), None, cfg)
                await derive(context, start, end, advance)
        finally:
            await store.close()

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
            until = expires.isoformat() if expires else "never"
            detail = f"scopes {', '.join(sorted(scope))}; expires {until}"
            _audit_cli(session, "token create", {"token_id": token_id, "name": name}, detail)
    except (EclorError, ValueError) as exc:
        _audit_refused(config, "token create", {"name": name}, str(exc))
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
            _audit_cli(session, "token revoke", {"token_id": token_id})
    except EclorError as exc:
        _audit_refused(config, "token revoke", {"token_id": token_id}, str(exc))
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
            _audit_cli(session, "gateway enrol", {"gateway_id": gateway_id})
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


# -- enrolment tokens, and the audit of the CLI's security commands (issue 9) -------------------

enrol_app = typer.Typer(help="Enrolment tokens: one-time, short-lived, bound to a site.")
app.add_typer(enrol_app, name="enrol")


@enrol_app.command("create")
def enrol_create(
    config: Path = ConfigOption,
    site: str = typer.Option(..., "--site", help="the site the enrolled gateway joins"),
    gateway_id: str | None = typer.Option(
        None, "--gateway-id", help="the one gateway id it may enrol (default: any)"
    ),
    minutes: int = typer.Option(60, help="minutes until it expires (at most 4320: three days)"),
) -> None:
    """Create a one-time enrolment token and print it, this once."""
    from cloud.registry.enrolment import create_enrolment_token

    now = datetime.now(UTC)
    targets = {"site_id": site, "gateway_id": gateway_id or "*"}
    try:
        with _sessions(config).begin() as session:
            issued = create_enrolment_token(
                session,
                site,
                now=now,
                created_by=_cli_actor(),
                lifetime=timedelta(minutes=minutes),
                gateway_id=gateway_id,
            )
            token_id, expires, secret = issued.token.id, issued.token.expires_at, issued.secret
            detail = f"expires {expires.isoformat()}"
            _audit_cli(session, "enrol create", {**targets, "token_id": token_id}, detail)
    except (EclorError, ValueError) as exc:
        _audit_refused(config, "enrol create", targets, str(exc))
        err.print(f"[red]refused[/red]: {exc}")
        raise typer.Exit(2) from None
    console.print(
        f"enrolment token [bold]{token_id}[/bold] for site {site}, "
        f"gateway {gateway_id or 'any'}, single use, expires {_when(expires)}"
    )
    console.print("token (shown once; give it to the gateway's `POST /api/v1/enrol`):")
    typer.echo(secret)


@enrol_app.command("list")
def enrol_list(
    config: Path = ConfigOption,
    site: str | None = typer.Option(None, "--site", help="only this site's tokens"),
) -> None:
    """List enrolment tokens, newest first (never their secrets)."""
    from cloud.registry.enrolment import list_enrolment_tokens

    table = Table()
    table.add_column("id", no_wrap=True, min_width=16)
    for column in ("site", "gateway", "created by", "expires", "state"):
        table.add_column(column)
    now = datetime.now(UTC)
    with _sessions(config)() as session:
        for t in list_enrolment_tokens(session, site_id=site):
            if t.used_at is not None:
                state = f"used by {t.used_by_gateway} {_when(t.used_at)}"
            elif t.revoked_at is not None:
                state = f"revoked {_when(t.revoked_at)}"
            else:
                state = "expired" if now >= t.expires_at else "usable"
            table.add_row(
                t.id, t.site_id, t.gateway_id or "any", t.created_by, _when(t.expires_at), state
            )
    console.print(table)


@enrol_app.command("revoke")
def enrol_revoke(token_id: str, config: Path = ConfigOption) -> None:
    """Revoke an enrolment token at once."""
    from cloud.registry.enrolment import revoke_enrolment_token

    try:
        with _sessions(config).begin() as session:
            revoke_enrolment_token(session, token_id, now=datetime.now(UTC))
            _audit_cli(session, "enrol revoke", {"token_id": token_id})
    except EclorError as exc:
        _audit_refused(config, "enrol revoke", {"token_id": token_id}, str(exc))
        err.print(f"[red]refused[/red]: {exc}")
        raise typer.Exit(2) from None
    console.print(f"enrolment token {token_id} revoked")


def _audit_cli(session: Any, action: str, targets: dict[str, str], detail: str = "") -> None:
    """Record a CLI action that changed security state, in the transaction that made it."""
    import socket

    from cloud.registry.models import AuditSource
    from cloud.registry.operator_audit import record_action

    record_action(
        session,
        at=datetime.now(UTC),
        source=AuditSource.CLI,
        actor=_cli_actor(),
        method="CLI",
        action=action,
        targets=targets,
        status=0,
        client=socket.gethostname(),
        detail=detail,
    )


def _audit_refused(config: Path, action: str, targets: dict[str, str], reason: str) -> None:
    """Record a refused CLI action (exit code 2) in a transaction of its own; a registry that
    cannot take it is reported, not raised (the refusal is what the user must see)."""
    import socket

    from sqlalchemy.exc import SQLAlchemyError

    from cloud.registry.models import AuditSource
    from cloud.registry.operator_audit import record_action

    try:
        with _sessions(config).begin() as session:
            record_action(
                session,
                at=datetime.now(UTC),
                source=AuditSource.CLI,
                actor=_cli_actor(),
                method="CLI",
                action=action,
                targets=targets,
                status=2,
                client=socket.gethostname(),
                detail=f"refused: {reason}",
            )
    except SQLAlchemyError as exc:
        err.print(f"[yellow]not audited[/yellow]: {type(exc).__name__}")


def _cli_actor() -> str:
    """``user@host`` of whoever runs the command (``sudo``: the invoking user too)."""
    import getpass
    import os
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        user = f"uid{os.getuid()}"
    invoker = os.environ.get("SUDO_USER")
    if invoker and invoker != user:
        user = f"{invoker} (as {user})"
    return f"{user}@{socket.gethostname()}"


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# -- broker security: broker-config, broker-account, gateway revoke (issue 9, part 3) ----------
# The commands live in cloud/broker_config/cli.py; this block puts them on `eclor cloud`.

from cloud.broker_config.cli import broker_account_app, broker_config, gateway_revoke  # noqa: E402

app.command("broker-config")(broker_config)
app.add_typer(broker_account_app, name="broker-account")
gateway_app.command("revoke")(gateway_revoke)

"""Commands of broker security, registered on ``eclor cloud`` by :mod:`cloud.cli`:

- ``eclor cloud broker-config``: write ``mosquitto.conf``, ``passwd`` and ``acl`` from the
  registry, and reload the broker when asked;
- ``eclor cloud broker-account create|list|rotate|revoke``: the cloud services' MQTT accounts;
- ``eclor cloud gateway revoke``: revoke a gateway and, with ``--broker-dir``, regenerate the
  password file and reload the broker, so that it is refused at once.

Exit status 2 for anything refused before a file was written; 1 when the files were written but
the broker could not be reloaded. Passwords are printed once, alone on stdout; never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from eclor.errors import ConfigError, EclorError

if TYPE_CHECKING:
    from cloud.broker_config.generate import Outcome, Reload

T = TypeVar("T")

broker_account_app = typer.Typer(
    help="MQTT accounts of the cloud services: create (the password is shown once), list, "
    "rotate, revoke.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)  # paths and names stay whole, to copy
err = Console(stderr=True, soft_wrap=True)

ConfigOption = typer.Option(..., "--config", "-c", help="cloud config YAML")
BrokerDirOption = typer.Option(
    None,
    "--broker-dir",
    help="a folder written by broker-config: rewrite its passwd and acl from the registry",
)
ReloadPidOption = typer.Option(
    None, "--reload-pid", help="then SIGHUP the broker whose pid is in this file"
)
ReloadPidOfOption = typer.Option(
    None,
    "--reload-pid-of",
    help="then SIGHUP the process of this name (e.g. mosquitto) running the generated config",
)


def broker_config(
    config: Path = ConfigOption,
    out: Path = typer.Option(..., "--out", help="folder for mosquitto.conf, passwd and acl"),
    tls_cert: Path | None = typer.Option(None, help="server certificate (PEM) of the TLS listener"),
    tls_key: Path | None = typer.Option(None, help="its private key (PEM)"),
    ca: Path | None = typer.Option(None, help="CA (PEM) for client certificates"),
    port: int = typer.Option(8883, help="port of the TLS listener"),
    bind: str | None = typer.Option(None, help="address of the TLS listener (default: all)"),
    plain_port: int | None = typer.Option(
        None, help="also a plain-text listener on 127.0.0.1:PORT, for services on this host"
    ),
    require_client_cert: bool = typer.Option(
        False, help="TLS clients must also present a certificate signed by --ca"
    ),
    broker_user: str | None = typer.Option(
        None, help="account the broker runs as; owns the files (default: whoever runs this)"
    ),
    data_dir: Path | None = typer.Option(None, help="persistence folder (default: OUT/data)"),
    credentials_only: bool = typer.Option(
        False, help="rewrite only passwd and acl, keeping OUT/mosquitto.conf as it is"
    ),
    reload_pid: Path | None = ReloadPidOption,
    reload_pid_of: str | None = ReloadPidOfOption,
) -> None:
    """Write the broker's config, password file and ACL from the registry; reload if asked."""
    from cloud.broker_config.conf import BrokerSettings, TlsFiles
    from cloud.broker_config.generate import generate, refresh_credentials

    reload = _reload(reload_pid, reload_pid_of)
    if credentials_only:
        given = [tls_cert, tls_key, ca, bind, plain_port, broker_user, data_dir]
        if any(v is not None for v in given) or require_client_cert:
            _refuse("--credentials-only keeps mosquitto.conf: give no listener or file options")
        outcome = _run(lambda: refresh_credentials(_sessions(config), out, reload))
    else:
        if (tls_cert is None) != (tls_key is None):
            _refuse("--tls-cert and --tls-key go together")
        tls = TlsFiles(tls_cert, tls_key, ca) if tls_cert and tls_key else None
        if tls is None and ca is not None:
            _refuse("--ca needs the TLS listener: give --tls-cert and --tls-key too")
        settings = BrokerSettings(
            out, tls, port, bind, plain_port, require_client_cert, broker_user, data_dir
        )
        outcome = _run(lambda: generate(_sessions(config), settings, reload))
    _report(outcome)


@broker_account_app.command("create")
def account_create(
    name: str = typer.Argument(..., help="the MQTT user name, with a dot: e.g. cloud.ingest"),
    role: str = typer.Option(..., help="ingest or api"),
    config: Path = ConfigOption,
    broker_dir: Path | None = BrokerDirOption,
    reload_pid: Path | None = ReloadPidOption,
    reload_pid_of: str | None = ReloadPidOfOption,
) -> None:
    """Create a service account and print its MQTT password, this once."""
    from cloud.broker_config.accounts import create_service_account

    reload = _broker_refresh(broker_dir, reload_pid, reload_pid_of)
    sessions = _sessions(config)

    def create() -> tuple[list[str], str]:
        with sessions.begin() as session:
            issued = create_service_account(session, name, role, now=datetime.now(UTC))
            return list(issued.account.grants), issued.password

    grants, password = _run(create)
    console.print(f"service account [bold]{name}[/bold] ({role}): {'; '.join(grants)}")
    console.print("MQTT password (shown once, store it now):")
    typer.echo(password)
    _refresh(sessions, broker_dir, reload)


@broker_account_app.command("list")
def account_list(config: Path = ConfigOption) -> None:
    """List service accounts and their grants (never a password or a hash)."""
    from cloud.broker_config.accounts import list_service_accounts

    table = Table()
    for column in ("name", "role", "grants", "password issued", "revoked"):
        table.add_column(column)
    with _sessions(config)() as session:
        for account in list_service_accounts(session):
            table.add_row(
                account.name,
                str(account.role),
                "\n".join(account.grants),
                _when(account.credential_issued_at),
                _when(account.revoked_at),
            )
    console.print(table)


@broker_account_app.command("rotate")
def account_rotate(
    name: str,
    config: Path = ConfigOption,
    broker_dir: Path | None = BrokerDirOption,
    reload_pid: Path | None = ReloadPidOption,
    reload_pid_of: str | None = ReloadPidOfOption,
) -> None:
    """Give a service account a new password and print it, this once. After the broker reloads,
    clients still using the old one are disconnected."""
    from cloud.broker_config.accounts import rotate_service_password

    reload = _broker_refresh(broker_dir, reload_pid, reload_pid_of)
    sessions = _sessions(config)

    def rotate() -> str:
        with sessions.begin() as session:
            return rotate_service_password(session, name, now=datetime.now(UTC))

    password = _run(rotate)
    console.print(f"new MQTT password of {name} (shown once, store it now):")
    typer.echo(password)
    _refresh(sessions, broker_dir, reload)


@broker_account_app.command("revoke")
def account_revoke(
    name: str,
    config: Path = ConfigOption,
    broker_dir: Path | None = BrokerDirOption,
    reload_pid: Path | None = ReloadPidOption,
    reload_pid_of: str | None = ReloadPidOfOption,
) -> None:
    """Revoke a service account; with --broker-dir, the broker refuses it after the reload."""
    from cloud.broker_config.accounts import revoke_service_account

    reload = _broker_refresh(broker_dir, reload_pid, reload_pid_of)
    sessions = _sessions(config)

    def revoke() -> None:
        with sessions.begin() as session:
            revoke_service_account(session, name, now=datetime.now(UTC))

    _run(revoke)
    console.print(f"service account {name} revoked")
    _refresh(sessions, broker_dir, reload)


def gateway_revoke(
    gateway_id: str,
    config: Path = ConfigOption,
    broker_dir: Path | None = BrokerDirOption,
    reload_pid: Path | None = ReloadPidOption,
    reload_pid_of: str | None = ReloadPidOfOption,
) -> None:
    """Revoke a gateway: its password is forgotten. With --broker-dir (and a reload option) the
    broker refuses it at once and drops its connection."""
    from cloud.registry.gateways import revoke_gateway

    reload = _broker_refresh(broker_dir, reload_pid, reload_pid_of)
    sessions = _sessions(config)

    def revoke() -> None:
        with sessions.begin() as session:
            revoke_gateway(session, gateway_id, now=datetime.now(UTC))

    _run(revoke)
    console.print(f"gateway {gateway_id} revoked")
    _refresh(sessions, broker_dir, reload)


# -- helpers ------------------------------------------------------------------------------------


def _sessions(config: Path) -> Any:
    from cloud.config import load_cloud_config
    from cloud.registry.db import make_engine, make_session_factory
    from cloud.registry.migrate import upgrade

    try:
        cfg = load_cloud_config(config)
    except ConfigError as exc:
        err.print(f"[red]config error[/red] {exc}")
        raise typer.Exit(2) from None
    engine = make_engine(cfg.registry.url)
    upgrade(engine)
    return make_session_factory(engine)


def _run(action: Callable[[], T], done: str = "") -> T:
    """Run ``action``; a refusal exits 2 (1 when ``done`` says something already happened, or
    when only the reload failed), naming the reason."""
    from cloud.errors import ReloadError

    try:
        return action()
    except ReloadError as exc:
        err.print(f"[yellow]{done}files written, but the broker was not reloaded[/yellow]: {exc}")
        raise typer.Exit(1) from None
    except (EclorError, ValueError) as exc:
        err.print(f"[red]{done or 'refused: '}[/red]{exc}")
        raise typer.Exit(1 if done else 2) from None


def _reload(pid_file: Path | None, process_name: str | None) -> Reload | None:
    from cloud.broker_config.generate import Reload

    if pid_file is None and process_name is None:
        return None
    if pid_file is not None and process_name is not None:
        _refuse("give --reload-pid or --reload-pid-of, not both")
    return Reload(pid_file, process_name)


def _broker_refresh(
    broker_dir: Path | None, pid_file: Path | None, process_name: str | None
) -> Reload | None:
    reload = _reload(pid_file, process_name)
    if reload is not None and broker_dir is None:
        _refuse("a reload needs --broker-dir, the folder whose files it rewrites")
    return reload


def _refresh(sessions: Any, broker_dir: Path | None, reload: Reload | None) -> None:
    from cloud.broker_config.generate import refresh_credentials

    if broker_dir is None:
        err.print(
            "[yellow]the broker is unchanged[/yellow] until `eclor cloud broker-config "
            "--credentials-only --out DIR` rewrites its files and it reloads"
        )
        return
    done = "the registry is changed, but "
    _report(_run(lambda: refresh_credentials(sessions, broker_dir, reload), done))


def _report(outcome: Outcome) -> None:
    names = "mosquitto.conf, passwd, acl" if outcome.conf_written else "passwd, acl"
    console.print(
        f"wrote {names} in {outcome.folder}: gateways {outcome.gateways}, "
        f"service accounts {outcome.service_accounts}"
    )
    for skipped in outcome.skipped:
        err.print(f"[yellow]left out[/yellow] gateway {skipped.gateway_id}: {skipped.reason}")
    if outcome.reloaded_pid is not None:
        console.print(f"broker reloaded (SIGHUP to pid {outcome.reloaded_pid})")


def _refuse(message: str) -> NoReturn:
    err.print(f"[red]refused[/red]: {message}")
    raise typer.Exit(2)


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

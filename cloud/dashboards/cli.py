"""``eclor dashboards``: build, check, push and preview the Grafana boards.

``build`` regenerates ``dashboards/*.json`` and the provisioning YAML from the Python source;
``check`` fails when the committed files differ from a fresh build; ``push`` writes the data
sources, folder and boards into a Grafana through its HTTP API (``--dry-run`` prints the diff);
``load`` writes a history file of ``eclor sim backfill`` into InfluxDB; ``preview`` renders a PNG
per panel from the boards' own queries against an InfluxDB.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from cloud.dashboards.errors import DashboardError

log = logging.getLogger(__name__)

app = typer.Typer(
    help="Grafana boards as code: build, check, push, load history, preview.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

OutOption = Annotated[
    Path | None,
    typer.Option("--out", help="Boards folder (default: the repository's dashboards/)."),
]
InfluxUrl = Annotated[str, typer.Option("--influx-url", help="InfluxDB HTTP URL (v1 API).")]
Database = Annotated[str, typer.Option("--database", help="InfluxDB database.")]


def _fail(error: Exception) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(2)


@app.command()
def build(out: OutOption = None) -> None:
    """Write dashboards/*.json and dashboards/provisioning/ from the Python source of truth."""
    from cloud.dashboards.build import build as run_build

    try:
        changed = run_build(out)
    except DashboardError as error:
        raise _fail(error) from error
    typer.echo(f"{len(changed)} file(s) written" if changed else "up to date")


@app.command()
def check(out: OutOption = None) -> None:
    """Fail (exit 1) when the committed files differ from what build writes."""
    from cloud.dashboards.build import default_dir, rendered

    root = out or default_dir()
    stale = [
        rel
        for rel, text in rendered().items()
        if not (root / rel).exists() or (root / rel).read_text(encoding="utf-8") != text
    ]
    for rel in stale:
        typer.echo(f"stale: {root / rel}", err=True)
    if stale:
        raise typer.Exit(1)
    typer.echo("boards up to date and valid")


@app.command()
def push(
    grafana_url: Annotated[str, typer.Option("--grafana-url", help="e.g. http://grafana:3000")],
    token: Annotated[
        str, typer.Option("--token", envvar="GRAFANA_TOKEN", help="Service-account token.")
    ],
    influx_url: Annotated[
        str, typer.Option("--influx-url", help="InfluxDB URL as Grafana reaches it.")
    ],
    database: Database = "eclor",
    influx_user: Annotated[str, typer.Option("--influx-user")] = "",
    influx_password: Annotated[
        str, typer.Option("--influx-password", envvar="ECLOR_INFLUXDB_PASSWORD")
    ] = "",
    prometheus_url: Annotated[
        str | None, typer.Option("--prometheus-url", help="For the Prometheus-only panels.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the diff, write nothing.")
    ] = False,
) -> None:
    """Create or update the data sources, the folder and the boards in a Grafana (idempotent)."""
    from cloud.dashboards.push import Pusher, Settings

    settings = Settings(
        grafana_url,
        token,
        influx_url,
        database,
        influx_user,
        influx_password,
        prometheus_url,
    )
    try:
        changes = Pusher(settings).run(dry_run=dry_run)
    except DashboardError as error:
        raise _fail(error) from error
    for change in changes:
        typer.echo(("would " if dry_run and change.action != "unchanged" else "") + change.line())
        if dry_run and change.diff:
            typer.echo(change.diff)
    written = sum(change.action != "unchanged" for change in changes)
    typer.echo(f"{written} change(s){' planned' if dry_run else ''}")


@app.command()
def load(
    history: Annotated[Path, typer.Argument(help="File of eclor sim backfill (.jsonl or .gz).")],
    influx_url: InfluxUrl,
    database: Database = "eclor",
) -> None:
    """Write a backfill history into InfluxDB, as the ingest would."""
    from cloud.dashboards.load import load_history
    from cloud.store import InfluxSettings, InfluxStore

    async def run() -> int:
        store = await InfluxStore.open(InfluxSettings(url=influx_url, database=database))
        try:
            return await load_history(history, store)
        finally:
            await store.close()

    try:
        count = asyncio.run(run())
    except (DashboardError, OSError) as error:
        raise _fail(error) from error
    typer.echo(f"{count} readings written to {database}")


@app.command()
def preview(
    out: Annotated[Path, typer.Option("--out", help="Folder for the PNG files.")],
    influx_url: InfluxUrl,
    database: Database = "eclor",
    end: Annotated[
        str | None, typer.Option(help="End of the range, ISO 8601 with offset (default: now).")
    ] = None,
    days: Annotated[float, typer.Option(min=0.01, help="Length of the range.")] = 7.0,
    interval: Annotated[str, typer.Option(help="Value of $__interval.")] = "1h",
    var: Annotated[
        list[str] | None,
        typer.Option("--var", help="Preferred variable value, NAME=VALUE (repeatable)."),
    ] = None,
) -> None:
    """Render one PNG per panel from the boards' queries against InfluxDB."""
    from cloud.dashboards.influx import InfluxReader, Range
    from cloud.dashboards.preview import preview as run_preview

    finish = datetime.fromisoformat(end) if end else datetime.now(UTC)
    if finish.tzinfo is None:
        raise typer.BadParameter("needs its UTC offset, e.g. +01:00", param_hint="--end")
    start = finish - timedelta(days=days)
    window = Range(int(start.timestamp() * 1000), int(finish.timestamp() * 1000), interval)
    prefer = {}
    for item in var or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--var")
        prefer[name] = value
    reader = InfluxReader(influx_url, database)
    try:
        result = run_preview(reader, window, out, prefer=prefer)
    except DashboardError as error:
        raise _fail(error) from error
    finally:
        reader.close()
    for path in result.written:
        typer.echo(f"wrote {path}")
    for name in result.empty:
        typer.echo(f"EMPTY {name}")
    for name in result.skipped:
        typer.echo(f"skipped {name}")
    written, empty, skipped = len(result.written), len(result.empty), len(result.skipped)
    typer.echo(f"{written} picture(s), {empty} empty, {skipped} skipped")

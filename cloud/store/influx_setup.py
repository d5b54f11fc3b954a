"""First start on InfluxDB 1.x: the database and its retention policy.

``CREATE DATABASE`` is idempotent. The retention policy is created when missing and altered when
its duration, shard duration or default flag differ from the settings; it is made the database's
default so Grafana panels that name no policy read the same data. Shard durations follow
InfluxDB's own rule: 1 h under 2 days of retention, 1 day up to 180 days, 7 days beyond or forever.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from cloud.store.influxql import StatementResult, quote_ident
from cloud.store.settings import InfluxSettings

Run = Callable[[str], Awaitable[StatementResult]]


def durations(retention_days: int | None) -> tuple[str, str]:
    """``(duration, shard duration)`` as InfluxDB reports them (``720h0m0s``; ``0s`` = forever)."""
    if retention_days is None:
        return "0s", "168h0m0s"
    if retention_days < 2:
        shard_hours = 1
    elif retention_days <= 180:
        shard_hours = 24
    else:
        shard_hours = 168
    return f"{retention_days * 24}h0m0s", f"{shard_hours}h0m0s"


def _influxql_duration(reported: str) -> str:
    return "INF" if reported == "0s" else reported.removesuffix("0m0s")


async def ensure_database(admin: Run, select: Run, settings: InfluxSettings) -> None:
    database = quote_ident(settings.database)
    await admin(f"CREATE DATABASE {database}")
    if settings.retention_policy is None:
        return
    policy = quote_ident(settings.retention_policy)
    duration, shard = durations(settings.retention_days)
    clause = (
        f"DURATION {_influxql_duration(duration)} REPLICATION 1 "
        f"SHARD DURATION {_influxql_duration(shard)} DEFAULT"
    )
    current = _policy_row(await select(f"SHOW RETENTION POLICIES ON {database}"), settings)
    if current is None:
        await admin(f"CREATE RETENTION POLICY {policy} ON {database} {clause}")
    elif current != (duration, shard, True):
        await admin(f"ALTER RETENTION POLICY {policy} ON {database} {clause}")


def _policy_row(result: StatementResult, settings: InfluxSettings) -> tuple[str, str, bool] | None:
    for series in result.series:
        columns = series.columns
        for row in series.values:
            named = dict(zip(columns, row, strict=False))
            if named.get("name") == settings.retention_policy:
                return (
                    str(named.get("duration")),
                    str(named.get("shardGroupDuration")),
                    named.get("default") is True,
                )
    return None

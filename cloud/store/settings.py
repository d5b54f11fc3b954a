"""Store configuration: the ``store:`` section of the cloud's YAML.

Without an ``influxdb`` section the cloud uses the embedded SQLite store. ``docs/data-model.md``
says how to point the InfluxDB backend at InfluxDB 1.x, 2.x or 3.x.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

_Name = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\n\r\x00\"]+$")]


class InfluxSettings(BaseModel):
    """An InfluxDB reached through its v1 HTTP API (``/write``, ``/query``, ``/ping``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    """``http(s)://host:port``; credentials go in ``username``/``password`` or ``token``."""
    database: _Name = "eclor"
    retention_policy: _Name | None = "eclor"
    """Written to and read from explicitly; ``None`` uses the database's default policy."""
    retention_days: Annotated[int, Field(ge=1)] | None = None
    """Kept forever by default: metered kWh back every savings claim (see docs/data-model.md)."""
    create_database: bool = True
    """Create the database and the retention policy (made the default) at start: InfluxDB 1.x.
    Set to false for 2.x/3.x, where a bucket (2.x: and its DBRP mapping) is made beforehand."""
    username: str | None = None
    password: SecretStr | None = None
    token: SecretStr | None = None
    """Sent as ``Authorization: Token …`` (InfluxDB 2.x/3.x v1-compatibility API)."""
    timeout_s: Annotated[float, Field(gt=0)] = 10.0
    gzip: bool = True
    max_lines_per_request: Annotated[int, Field(ge=1, le=100_000)] = 5_000

    @field_validator("url")
    @classmethod
    def _plain_http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not carry credentials: use username/password or token")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or a fragment")
        return url.rstrip("/")

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> Self:
        if self.token is not None and (self.username is not None or self.password is not None):
            raise ValueError("give either token or username/password, not both")
        if self.password is not None and self.username is None:
            raise ValueError("password needs a username")
        return self


class SqliteSettings(BaseModel):
    """The embedded store: one SQLite file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path = Path("eclor-timeseries.sqlite")
    retention_days: Annotated[int, Field(ge=1)] | None = 400
    """Points older than this are refused and pruned: the embedded store has no operator
    watching its disk. 400 days keeps a year-on-year comparison. ``None`` keeps everything."""
    prune_interval_s: Annotated[float, Field(gt=0)] = 3600.0


class StoreSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    influxdb: InfluxSettings | None = None
    sqlite: SqliteSettings = SqliteSettings()

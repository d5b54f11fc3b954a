"""InfluxQL queries built from the catalog, and their Grafana target model.

A :class:`Query` names catalog objects, never bare strings, and renders the InfluxQL Grafana sends
(with ``$timeFilter``, ``$__interval`` and template variables) or, through :func:`substitute`, the
same text with real values, which the tests and ``eclor dashboards preview`` run against InfluxDB.

The foundation SDK has no InfluxDB query model; :class:`InfluxTarget` is one in the SDK's own
``cog`` form (``to_json``/``from_json``, registered as the ``influxdb`` variant), so a panel's
targets round-trip through the SDK like its built-in data sources do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from cloud.dashboards.catalog import Field, Measurement, PromMetric

INFLUX_UID = "eclor-influxdb"
PROMETHEUS_UID = "eclor-prometheus"
INFLUX = DataSourceRef(type_val="influxdb", uid=INFLUX_UID)
PROMETHEUS = DataSourceRef(type_val="prometheus", uid=PROMETHEUS_UID)
TIMEZONE = "Europe/Paris"

ALL = ".*"
"""The value of a variable set to « All » (its ``allValue``)."""
Fill = Literal["none", "null", "0", "previous", "linear"]
_VARIABLE = re.compile(r"\$(\w+)")


@dataclass(frozen=True)
class Column:
    """``fn("field") [op] AS "alias"``; ``fn=""`` selects the raw field."""

    field: Field
    fn: str = "mean"
    alias: str = ""
    op: str = ""
    """Arithmetic after the function, e.g. ``* $tariff`` (the unit then comes from the query)."""
    prefix: str = ""
    """Arithmetic before it, e.g. ``100 * (1 - `` (build field names in it from the catalog)."""

    def render(self) -> str:
        inner = f'"{self.field.name}"'
        expr = f"{self.fn}({inner})" if self.fn else inner
        return f'{self.prefix}{expr}{f" {self.op}" if self.op else ""} AS "{self.name}"'

    @property
    def name(self) -> str:
        return self.alias or self.field.name


@dataclass(frozen=True)
class Query:
    """One InfluxQL SELECT of one measurement; all its columns share :attr:`unit`."""

    measurement: Measurement
    columns: tuple[Column, ...]
    filters: dict[str, str]
    """tag → template variable: ``"tag" =~ /^$var$/``."""
    group_by: tuple[str, ...] = ()
    every: str | None = "$__interval"
    fill: Fill = "none"
    where: tuple[str, ...] = ()
    unit: str | None = None
    """Overrides the columns' catalog unit (a cost in € from kWh × tariff)."""
    table: bool = False
    alias: str = ""

    def __post_init__(self) -> None:
        for column in self.columns:
            if self.measurement.fields.get(column.field.name) != column.field:
                raise ValueError(
                    f"column {column.field.name!r} is not a field of {self.measurement.name!r}"
                    " in the catalog"
                )
        units = {column.field.unit for column in self.columns}
        if self.unit is None and len(units) != 1:
            raise ValueError(f"query on {self.measurement.name!r} mixes units {sorted(units)}")
        for tag in (*self.filters, *self.group_by):
            if tag not in self.measurement.tags:
                raise ValueError(f"{tag!r} is not a tag of {self.measurement.name!r}")

    @property
    def effective_unit(self) -> str:
        return self.unit or self.columns[0].field.unit

    def influxql(self) -> str:
        select = ", ".join(column.render() for column in self.columns)
        conditions = [f'"{tag}" =~ /^${var}$/' for tag, var in self.filters.items()]
        conditions += [*self.where, "$timeFilter"]
        text = f'SELECT {select} FROM "{self.measurement.name}" WHERE {" AND ".join(conditions)}'
        groups = [f"time({self.every})"] if self.every else []
        groups += [f'"{tag}"' for tag in self.group_by]
        if groups:
            text += f" GROUP BY {', '.join(groups)}"
        if self.every:
            text += f" fill({self.fill})"
        if self.every and self.every[0].isdigit() and self.every.endswith("d"):
            text += f" tz('{TIMEZONE}')"
        return text


@dataclass(frozen=True)
class PromQuery:
    """A PromQL expression over one Prometheus-only metric."""

    metric: PromMetric
    expr: str
    legend: str = ""

    @property
    def effective_unit(self) -> str:
        return self.metric.unit


AnyQuery = Query | PromQuery


def substitute(text: str, values: dict[str, str], start_ms: int, end_ms: int, interval: str) -> str:
    """Grafana's substitution for the InfluxDB data source, with one value per variable."""
    text = text.replace("$timeFilter", f"time >= {start_ms}ms AND time < {end_ms}ms")
    text = text.replace("$__interval", interval)

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"no value for template variable ${name} in {text!r}")
        value = values[name]
        return value if value == ALL or _is_number(value) else re.escape(value)

    return _VARIABLE.sub(one, text)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class InfluxTarget(cogvariants.Dataquery):
    """A raw InfluxQL target of Grafana's InfluxDB data source."""

    def __init__(
        self,
        ref_id: str = "",
        query: str = "",
        result_format: str = "time_series",
        alias: str = "",
        datasource: DataSourceRef | None = None,
    ) -> None:
        self.ref_id = ref_id
        self.query = query
        self.result_format = result_format
        self.alias = alias
        self.datasource = datasource

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "refId": self.ref_id,
            "query": self.query,
            "rawQuery": True,
            "resultFormat": self.result_format,
        }
        if self.alias:
            payload["alias"] = self.alias
        if self.datasource is not None:
            payload["datasource"] = self.datasource
        return payload

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        known = {"refId", "query", "rawQuery", "resultFormat", "alias", "datasource"}
        unknown = set(data) - known
        if unknown or data.get("rawQuery") is not True:
            raise ValueError(f"InfluxDB target with unknown keys {sorted(unknown)} or not raw")
        source = data.get("datasource")
        return cls(
            ref_id=str(data["refId"]),
            query=str(data["query"]),
            result_format=str(data["resultFormat"]),
            alias=str(data.get("alias", "")),
            datasource=DataSourceRef.from_json(source) if source is not None else None,
        )


class InfluxTargetBuilder(cogbuilder.Builder[cogvariants.Dataquery]):
    def __init__(self, target: InfluxTarget) -> None:
        self._internal = target

    def build(self) -> cogvariants.Dataquery:
        return self._internal


def register() -> None:
    """Teach the SDK's runtime to read InfluxDB targets (call before ``Dashboard.from_json``)."""
    cogruntime.register_dataquery_variant(
        cogruntime.DataqueryConfig(identifier="influxdb", from_json_hook=InfluxTarget.from_json)
    )

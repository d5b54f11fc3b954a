"""A board: template variables and panel specs, built into a foundation-SDK dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.models.dashboard import (
    Dashboard,
    DashboardCursorSync,
    Panel,
    RowPanel,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from cloud.dashboards.catalog import Measurement
from cloud.dashboards.panels import PanelSpec, build_panel
from cloud.dashboards.query import ALL, INFLUX, TIMEZONE

SCHEMA_VERSION = 41
"""Grafana 11.6's dashboard schema version (the SDK's default)."""


@dataclass(frozen=True)
class TagVariable:
    """A cascading choice: the values of ``tag`` in ``measurement`` under the choices above."""

    name: str
    label: str
    measurement: Measurement
    tag: str
    filters: dict[str, str]
    """tag → variable of an upper level, e.g. ``{"commune": "commune"}``."""

    def __post_init__(self) -> None:
        for tag in (self.tag, *self.filters):
            if tag not in self.measurement.tags:
                raise ValueError(
                    f"variable ${self.name}: {tag!r} is not a tag of {self.measurement.name!r}"
                )

    def influxql(self) -> str:
        text = f'SHOW TAG VALUES FROM "{self.measurement.name}" WITH KEY = "{self.tag}"'
        if self.filters:
            text += " WHERE " + " AND ".join(
                f'"{tag}" =~ /^${var}$/' for tag, var in self.filters.items()
            )
        return text


@dataclass(frozen=True)
class TextVariable:
    """A free value typed on the board (the tariff in €/kWh)."""

    name: str
    label: str
    default: str
    description: str


Variable = TagVariable | TextVariable


@dataclass(frozen=True)
class Board:
    uid: str
    title: str
    description: str
    variables: tuple[Variable, ...]
    panels: tuple[PanelSpec, ...]
    time_from: Literal["now-24h", "now-2d", "now-7d", "now-30d"] = "now-7d"
    ahead_h: int = 0
    """Hours shown after now (a forecast's future slots): the range ends at ``now+<h>h``."""

    @property
    def time_to(self) -> str:
        return f"now+{self.ahead_h}h" if self.ahead_h else "now"

    def build(self) -> Dashboard:
        builder = (
            dash.Dashboard(self.title)
            .uid(self.uid)
            .description(self.description)
            .tags(["eclor"])
            .timezone(TIMEZONE)
            .time(self.time_from, self.time_to)
            .refresh("5m")
            .editable()
            .tooltip(DashboardCursorSync.CROSSHAIR)
        )
        for variable in self.variables:
            builder.with_variable(_variable(variable))
        for panel_id, spec in enumerate(self.panels, start=1):
            builder.with_panel(build_panel(spec, panel_id))
        built = builder.build()
        _flow(built.panels or [])
        return built


def _flow(panels: list[Panel | RowPanel]) -> None:
    """Left to right, wrapping at 24 columns; a row is as tall as its tallest panel."""
    x = y = row_height = 0
    for panel in panels:
        grid = panel.grid_pos
        assert grid is not None
        if x + grid.w > 24:
            x, y, row_height = 0, y + row_height, 0
        grid.x, grid.y = x, y
        x += grid.w
        row_height = max(row_height, grid.h)


def _variable(variable: Variable) -> dash.QueryVariable | dash.TextBoxVariable:
    if isinstance(variable, TextVariable):
        return (
            dash.TextBoxVariable(variable.name)
            .label(variable.label)
            .description(variable.description)
            .default_value(variable.default)
            .current(VariableOption(selected=True, text=variable.default, value=variable.default))
        )
    return (
        dash.QueryVariable(variable.name)
        .label(variable.label)
        .datasource(INFLUX)
        .query(variable.influxql())
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(ALL)
    )

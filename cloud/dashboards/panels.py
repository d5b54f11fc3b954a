"""Panel specifications and their foundation-SDK builders.

A :class:`PanelSpec` is what a board declares: a French title, the kind of visualisation, its
queries (catalog-built) and thresholds. :func:`build_panel` turns it into the SDK's builder with
the unit of each query (from the catalog) set as the default or as a per-query override.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus, stat, statetimeline, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    DynamicConfigValue,
    Threshold,
    ThresholdsMode,
)

from cloud.dashboards.query import (
    INFLUX,
    PROMETHEUS,
    AnyQuery,
    InfluxTarget,
    InfluxTargetBuilder,
    PromQuery,
    Query,
)

Kind = Literal["lines", "bars", "stat", "table", "states"]
PanelBuilder = (
    timeseries.Panel | stat.Panel | table.Panel | statetimeline.Panel  # the SDK's builders
)
REF_IDS = "ABCDEFGHIJ"


@dataclass(frozen=True)
class PanelSpec:
    title: str
    kind: Kind
    queries: tuple[AnyQuery, ...]
    thresholds: tuple[tuple[float, str], ...]
    """Steps above the green base: ``((80, "orange"), (95, "red"))``."""
    width: int = 12
    height: int = 8
    description: str = ""
    base: str = "green"
    """Colour below the first step (``red`` when low is bad, as for a power factor)."""
    time_from: str | None = None
    """Grafana's relative time of the panel, e.g. ``now/M`` (this month so far)."""

    def __post_init__(self) -> None:
        kinds = {isinstance(q, PromQuery) for q in self.queries}
        if not self.queries or len(kinds) != 1:
            raise ValueError(f"panel {self.title!r}: one or more queries of one data source")
        if not 1 <= self.width <= 24:
            raise ValueError(f"panel {self.title!r}: width {self.width} outside 1–24")

    @property
    def prometheus(self) -> bool:
        return isinstance(self.queries[0], PromQuery)

    @property
    def datasource(self) -> DataSourceRef:
        return PROMETHEUS if self.prometheus else INFLUX


def build_panel(spec: PanelSpec, panel_id: int) -> PanelBuilder:
    panel = _empty(spec.kind)
    panel.id(panel_id).title(spec.title).span(spec.width).height(spec.height)
    panel.datasource(spec.datasource)
    description = spec.description
    if spec.prometheus:
        description = (description + " " if description else "") + "(source : Prometheus)"
    if description:
        panel.description(description)
    if spec.time_from:
        panel.time_from(spec.time_from)
    panel.unit(spec.queries[0].effective_unit)
    panel.thresholds(_thresholds(spec.base, spec.thresholds))
    for index, query in enumerate(spec.queries):
        ref = REF_IDS[index]
        panel.with_target(_target(query, ref))
        if query.effective_unit != spec.queries[0].effective_unit:
            panel.override_by_query(ref, [DynamicConfigValue("unit", query.effective_unit)])
    return panel


def _empty(kind: Kind) -> PanelBuilder:
    if kind == "lines":
        return timeseries.Panel().draw_style(common.GraphDrawStyle.LINE).fill_opacity(10)
    if kind == "bars":
        return timeseries.Panel().draw_style(common.GraphDrawStyle.BARS).fill_opacity(80)
    if kind == "stat":
        reduce = common_builders.ReduceDataOptions().calcs(["lastNotNull"])
        return stat.Panel().reduce_options(reduce)
    if kind == "table":
        return table.Panel()
    return statetimeline.Panel()


def _thresholds(base: str, steps: tuple[tuple[float, str], ...]) -> dash.ThresholdsConfig:
    values = [Threshold(value=None, color=base)]
    values += [Threshold(value=value, color=color) for value, color in steps]
    return dash.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(values)


def _target(query: AnyQuery, ref: str) -> cogbuilder.Builder[Dataquery]:
    if isinstance(query, Query):
        target = InfluxTarget(
            ref_id=ref,
            query=query.influxql(),
            result_format="table" if query.table else "time_series",
            alias=query.alias,
            datasource=INFLUX,
        )
        return InfluxTargetBuilder(target)
    builder = prometheus.Dataquery().expr(query.expr).ref_id(ref).datasource(PROMETHEUS)
    if query.legend:
        builder.legend_format(query.legend)
    return builder

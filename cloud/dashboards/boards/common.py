"""Variables and query shorthands shared by the boards."""

from __future__ import annotations

from cloud.dashboards.board import TagVariable, TextVariable
from cloud.dashboards.catalog import ENERGY, LIGHTING, TRAFFIC, WASTE_CENTRE, Field, Measurement
from cloud.dashboards.query import Column, Fill, Query

COMMUNE = TagVariable("commune", "Commune", ENERGY, "commune", {})
CABINET = TagVariable("cabinet", "Armoire", ENERGY, "gateway", {"commune": "commune"})
GROUP = TagVariable("group", "Groupe d'éclairage", LIGHTING, "group", {"gateway": "cabinet"})
WASTE_COMMUNE = TagVariable("commune", "Commune", WASTE_CENTRE, "commune", {})
WASTE_SITE = TagVariable("site", "Déchetterie", WASTE_CENTRE, "gateway", {"commune": "commune"})
TRAFFIC_COMMUNE = TagVariable("commune", "Commune", TRAFFIC, "commune", {})
STATION = TagVariable("station", "Station de comptage", TRAFFIC, "gateway", {"commune": "commune"})
TARIFF = TextVariable(
    "tariff", "Tarif (€/kWh)", "0.2016", "Prix du kWh TTC appliqué aux coûts (modifiable)"
)
CABINET_FILTERS = {"commune": "commune", "gateway": "cabinet"}


def q(
    measurement: Measurement,
    *columns: Column,
    filters: dict[str, str] | None = None,
    by: tuple[str, ...] = ("gateway",),
    every: str | None = "$__interval",
    fill: Fill = "none",
    unit: str | None = None,
    table: bool = False,
) -> Query:
    return Query(
        measurement,
        columns,
        CABINET_FILTERS if filters is None else filters,
        by,
        every,
        fill,
        unit=unit,
        table=table,
    )


def col(field: Field, fn: str = "mean", alias: str = "", op: str = "", prefix: str = "") -> Column:
    return Column(field, fn, alias, op, prefix)

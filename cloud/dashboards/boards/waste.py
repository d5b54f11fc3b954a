"""Déchetteries: wait level and minutes, vehicles on site, forecast vs actual, attendance."""

from __future__ import annotations

from cloud.dashboards.board import Board
from cloud.dashboards.boards.common import WASTE_COMMUNE, WASTE_SITE, col, q
from cloud.dashboards.catalog import WASTE_ATTENDANCE, WASTE_CENTRE, WASTE_FORECAST, WASTE_WAIT
from cloud.dashboards.panels import PanelSpec

_SITE = {"commune": "commune", "site": "site"}
_RAW = {"commune": "commune", "gateway": "site"}

PANELS = (
    PanelSpec(
        "Attente estimée (min)",
        "lines",
        (q(WASTE_WAIT, col(WASTE_WAIT["wait_min"], alias="attente"), filters=_SITE, by=("site",)),),
        ((10, "orange"), (20, "red")),
    ),
    PanelSpec(
        "Niveau d'affluence",
        "states",
        (
            q(
                WASTE_WAIT,
                col(WASTE_WAIT["level"], "last", "niveau"),
                filters=_SITE,
                by=("site",),
            ),
        ),
        ((1, "blue"),),
    ),
    PanelSpec(
        "Véhicules sur site",
        "lines",
        (
            q(
                WASTE_WAIT,
                col(WASTE_WAIT["on_site"], "max", "sur_site"),
                filters=_SITE,
                by=("site",),
            ),
        ),
        ((6, "orange"), (8, "red")),
    ),
    PanelSpec(
        "Véhicules en file d'attente (détecteur)",
        "lines",
        (q(WASTE_CENTRE, col(WASTE_CENTRE["queue_count"], "max", "file"), filters=_RAW),),
        ((3, "orange"), (6, "red")),
    ),
    PanelSpec(
        "Attente prévue et observée (min)",
        "lines",
        (
            q(
                WASTE_FORECAST,
                col(WASTE_FORECAST["wait_min"], alias="prevue"),
                filters={"site": "site"},
                by=("site",),
            ),
            q(
                WASTE_WAIT,
                col(WASTE_WAIT["wait_min"], alias="observee"),
                filters=_SITE,
                by=("site",),
            ),
        ),
        ((10, "orange"), (20, "red")),
        width=24,
        description="La prévision couvre les 6 prochaines heures (créneaux de 15 min).",
    ),
    PanelSpec(
        "Fréquentation par jour (véhicules)",
        "bars",
        (
            q(
                WASTE_ATTENDANCE,
                col(WASTE_ATTENDANCE["vehicles"], "sum", "vehicules"),
                filters=_SITE,
                by=("site",),
                every="1d",
            ),
        ),
        ((150, "orange"), (250, "red")),
        width=24,
    ),
)

BOARD = Board(
    uid="eclor-decheteries",
    title="Déchetteries — Affluence et attente",
    description="Attente, véhicules sur site, prévision contre réalité, fréquentation quotidienne.",
    variables=(WASTE_COMMUNE, WASTE_SITE),
    panels=PANELS,
    time_from="now-2d",
    ahead_h=6,
)

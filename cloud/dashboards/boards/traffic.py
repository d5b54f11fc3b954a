"""Trafic: flow, occupancy, speed and DATEX II level per station and lane; daily profiles."""

from __future__ import annotations

from cloud.dashboards.board import Board
from cloud.dashboards.boards.common import STATION, TRAFFIC_COMMUNE, col, q
from cloud.dashboards.catalog import TRAFFIC, TRAFFIC_LEVEL, lane
from cloud.dashboards.panels import PanelSpec

_LEVEL = {"gateway": "station"}
_RAW = {"commune": "commune", "gateway": "station"}
_BY_LANE = ("gateway", "device", "lane")

PANELS = (
    PanelSpec(
        "Débit par voie (véh/h)",
        "lines",
        (
            q(
                TRAFFIC_LEVEL,
                col(TRAFFIC_LEVEL["flow_vph"], alias="debit"),
                filters=_LEVEL,
                by=_BY_LANE,
            ),
        ),
        ((600, "orange"), (900, "red")),
    ),
    PanelSpec(
        "Taux d'occupation par voie (%)",
        "lines",
        (
            q(
                TRAFFIC_LEVEL,
                col(TRAFFIC_LEVEL["occupancy_pct"], alias="occupation"),
                filters=_LEVEL,
                by=_BY_LANE,
            ),
        ),
        ((15, "yellow"), (30, "orange"), (50, "red")),
    ),
    PanelSpec(
        "Vitesse moyenne par voie (km/h, boucles doubles)",
        "lines",
        (
            q(
                TRAFFIC_LEVEL,
                col(TRAFFIC_LEVEL["speed_kmh"], alias="vitesse"),
                filters=_LEVEL,
                by=_BY_LANE,
            ),
        ),
        ((20, "green"),),
        base="orange",
    ),
    PanelSpec(
        "État du trafic (DATEX II)",
        "states",
        (
            q(
                TRAFFIC_LEVEL,
                col(TRAFFIC_LEVEL["level"], "last", "etat"),
                filters=_LEVEL,
                by=_BY_LANE,
            ),
        ),
        ((1, "blue"),),
    ),
    PanelSpec(
        "Profil horaire : véhicules par heure, voies 1 et 2",
        "bars",
        (
            q(
                TRAFFIC,
                col(lane(1, "interval_count"), "sum", "voie_1"),
                col(lane(2, "interval_count"), "sum", "voie_2"),
                filters=_RAW,
                by=("gateway", "device"),
                every="1h",
            ),
        ),
        ((600, "orange"), (900, "red")),
        width=24,
        description="Somme des comptages par période sur chaque heure : profils journaliers.",
    ),
    PanelSpec(
        "Occupation mesurée des boucles, voies 1 et 2 (%)",
        "lines",
        (
            q(
                TRAFFIC,
                col(lane(1, "occupancy_pct"), alias="voie_1"),
                col(lane(2, "occupancy_pct"), alias="voie_2"),
                filters=_RAW,
                by=("gateway", "device"),
            ),
        ),
        ((15, "yellow"), (30, "orange"), (50, "red")),
        width=24,
    ),
)

BOARD = Board(
    uid="eclor-trafic",
    title="Trafic — Boucles de comptage",
    description="Débit, occupation, vitesse et état DATEX II par station et par voie.",
    variables=(TRAFFIC_COMMUNE, STATION),
    panels=PANELS,
    time_from="now-7d",
)

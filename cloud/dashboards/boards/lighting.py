"""Exploitation de l'éclairage: levels per group, command origin, DALI, alarms, energy vs level."""

from __future__ import annotations

from cloud.dashboards.board import Board
from cloud.dashboards.boards.common import CABINET, COMMUNE, GROUP, col, q
from cloud.dashboards.catalog import CABINET as CABINET_M
from cloud.dashboards.catalog import DALI, ENERGY, EVENT, LIGHTING
from cloud.dashboards.panels import PanelSpec

_GROUP_BY = {"gateway": "cabinet", "group": "group"}

PANELS = (
    PanelSpec(
        "Niveau commandé par groupe (%)",
        "lines",
        (
            q(
                LIGHTING,
                col(LIGHTING["target_pct"], "last", "niveau"),
                filters=_GROUP_BY,
                by=("gateway", "group"),
                fill="previous",
            ),
        ),
        ((80, "orange"), (100, "red")),
    ),
    PanelSpec(
        "Origine de la commande (programme, dérogation, détection)",
        "states",
        (
            q(
                LIGHTING,
                col(LIGHTING["source"], "last", "origine"),
                filters=_GROUP_BY,
                by=("gateway", "group"),
            ),
        ),
        ((1, "blue"),),
    ),
    PanelSpec(
        "Programme actif par groupe",
        "table",
        (
            q(
                LIGHTING,
                col(LIGHTING["program"], "last", "programme"),
                filters=_GROUP_BY,
                by=("gateway", "group"),
                every=None,
                table=True,
            ),
        ),
        ((1, "blue"),),
        width=8,
    ),
    PanelSpec(
        "Niveau mesuré des luminaires DALI (%)",
        "lines",
        (
            q(
                DALI,
                col(DALI["level_pct"], "mean", "niveau"),
                filters=_GROUP_BY,
                by=("gateway", "device"),
            ),
        ),
        ((80, "orange"), (100, "red")),
        width=16,
    ),
    PanelSpec(
        "Défauts lampe des luminaires DALI",
        "states",
        (
            q(
                DALI,
                col(DALI["lamp_failure"], "last", "defaut_lampe"),
                filters=_GROUP_BY,
                by=("gateway", "device"),
            ),
        ),
        ((1, "red"),),
    ),
    PanelSpec(
        "Puissance des luminaires DALI (W)",
        "lines",
        (q(DALI, col(DALI["power_w"]), filters=_GROUP_BY, by=("gateway", "device")),),
        ((60, "orange"), (80, "red")),
    ),
    PanelSpec(
        "Alarmes : dernier état par équipement et type",
        "table",
        (
            q(
                EVENT,
                col(EVENT["active"], "last", "active"),
                filters={"gateway": "cabinet"},
                by=("gateway", "device", "kind", "severity"),
                every=None,
                table=True,
            ),
        ),
        ((1, "red"),),
        width=24,
        description="Une ligne par alarme (lampFailure, lampUnexpectedOn, contactorError, "
        "cabinetDoorOpen…) ; « true » = alarme ouverte.",
    ),
    PanelSpec(
        "Porte de l'armoire ouverte",
        "states",
        (q(CABINET_M, col(CABINET_M["door_open"], "last", "porte_ouverte")),),
        ((1, "red"),),
    ),
    PanelSpec(
        "Contacteur 1 fermé (retour auxiliaire)",
        "states",
        (q(CABINET_M, col(CABINET_M["contactor_1_closed"], "last", "contacteur_1")),),
        ((1, "blue"),),
    ),
    PanelSpec(
        "Puissance mesurée et niveau commandé",
        "lines",
        (
            q(ENERGY, col(ENERGY["power_total_w"], alias="puissance")),
            q(
                LIGHTING,
                col(LIGHTING["target_pct"], "last", "niveau_commande"),
                filters=_GROUP_BY,
                by=("gateway", "group"),
                fill="previous",
            ),
        ),
        ((3000, "orange"), (3500, "red")),
        width=24,
        description="La puissance doit suivre le niveau commandé ; un écart signale un défaut.",
    ),
)

BOARD = Board(
    uid="eclor-eclairage",
    title="Éclairage public — Exploitation",
    description="Niveaux par groupe, programmes et dérogations, luminaires DALI, alarmes.",
    variables=(COMMUNE, CABINET, GROUP),
    panels=PANELS,
    time_from="now-24h",
)

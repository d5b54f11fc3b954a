"""Consommation: kWh per day per cabinet, commune and territory, baseline and savings, cost."""

from __future__ import annotations

from cloud.dashboards.board import Board
from cloud.dashboards.boards.common import CABINET, COMMUNE, GROUP, TARIFF, col, q
from cloud.dashboards.catalog import BURNING, ENERGY, SAVINGS
from cloud.dashboards.panels import PanelSpec

_KWH = ENERGY["energy_import_kwh"]
_ACTUAL = SAVINGS["actual_kwh"]
_BASELINE = SAVINGS["baseline_kwh"]
# The cabinet choice already cascades from the commune; savings' own commune tag is the INSEE code.
_SAVINGS_BY = {"gateway": "cabinet"}

PANELS = (
    PanelSpec(
        "Économies du territoire sur la période (%)",
        "stat",
        (
            q(
                SAVINGS,
                col(
                    _ACTUAL,
                    "sum",
                    "economies_pct",
                    op=f'/ sum("{_BASELINE.name}"))',
                    prefix="100 * (1 - ",
                ),
                filters=_SAVINGS_BY,
                by=(),
                every=None,
                unit="percent",
            ),
        ),
        ((50, "orange"), (70, "blue")),
        base="red",
        width=8,
        height=4,
        description="1 − Σ réel / Σ référence, toutes armoires choisies ; objectif 70 %.",
    ),
    PanelSpec(
        "Consommation du mois en cours (kWh)",
        "stat",
        (q(SAVINGS, col(_ACTUAL, "sum", "kWh"), filters=_SAVINGS_BY, by=(), every=None),),
        ((3000, "orange"), (5000, "red")),
        width=8,
        height=4,
        time_from="now/M",
        description="Armoires choisies, du 1er du mois à maintenant.",
    ),
    PanelSpec(
        "Coût du mois en cours (€, au tarif choisi)",
        "stat",
        (
            q(
                SAVINGS,
                col(_ACTUAL, "sum", "cout_eur", op="* $tariff"),
                filters=_SAVINGS_BY,
                by=(),
                every=None,
                unit="currencyEUR",
            ),
        ),
        ((600, "orange"), (1000, "red")),
        width=8,
        height=4,
        time_from="now/M",
    ),
    PanelSpec(
        "Consommation par jour et par armoire (kWh, compteur)",
        "bars",
        (q(ENERGY, col(_KWH, "spread", "kWh"), every="1d"),),
        ((60, "orange"), (100, "red")),
        description="Écart du compteur d'énergie importée sur chaque jour local (Europe/Paris).",
    ),
    PanelSpec(
        "Coût par jour et par armoire (€, au tarif choisi)",
        "bars",
        (
            q(
                ENERGY,
                col(_KWH, "spread", "cout_eur", op="* $tariff"),
                every="1d",
                unit="currencyEUR",
            ),
        ),
        ((12, "orange"), (20, "red")),
    ),
    PanelSpec(
        "Consommation et référence du territoire (kWh/jour)",
        "bars",
        (
            q(
                SAVINGS,
                col(_BASELINE, "sum", "reference_kwh"),
                col(_ACTUAL, "sum", "reel_kwh"),
                filters=_SAVINGS_BY,
                by=(),
                every="1d",
            ),
        ),
        ((150, "orange"), (250, "red")),
        description="Référence avant travaux et consommation réelle (série savings).",
    ),
    PanelSpec(
        "Économies par armoire et par jour (%)",
        "lines",
        (q(SAVINGS, col(SAVINGS["savings_pct"]), filters=_SAVINGS_BY, every="1d"),),
        ((50, "orange"), (70, "blue")),
        base="red",
    ),
    PanelSpec(
        "Consommation par commune (kWh/jour)",
        "bars",
        (q(SAVINGS, col(_ACTUAL, "sum", "kWh"), filters=_SAVINGS_BY, by=("commune",), every="1d"),),
        ((150, "orange"), (250, "red")),
    ),
    PanelSpec(
        "Durée d'allumage par groupe (h/jour)",
        "bars",
        (
            q(
                BURNING,
                col(BURNING["burning_h"], "sum", "heures"),
                filters={"gateway": "cabinet", "group": "group"},
                by=("gateway", "group"),
                every="1d",
            ),
        ),
        ((14, "orange"), (16, "red")),
    ),
    PanelSpec(
        "Facteur de puissance par armoire",
        "lines",
        (q(ENERGY, col(ENERGY["power_factor_total"], alias="cos_phi")),),
        ((0.85, "orange"), (0.92, "green")),
        base="red",
    ),
    PanelSpec(
        "Équilibre des phases : puissance par phase (W)",
        "lines",
        (
            q(
                ENERGY,
                col(ENERGY["power_l1_w"], alias="L1"),
                col(ENERGY["power_l2_w"], alias="L2"),
                col(ENERGY["power_l3_w"], alias="L3"),
            ),
        ),
        ((1500, "orange"), (2500, "red")),
    ),
)

BOARD = Board(
    uid="eclor-consommation",
    title="Éclairage public — Consommation et économies",
    description="kWh, coût, référence et économies, heures d'allumage, qualité de l'alimentation.",
    variables=(COMMUNE, CABINET, GROUP, TARIFF),
    panels=PANELS,
    time_from="now-30d",
)

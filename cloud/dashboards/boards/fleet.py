"""Santé du parc: gateways online, outbox, evictions, unreachable devices, poll errors per device;
ingest figures from Prometheus."""

from __future__ import annotations

from cloud.dashboards.board import Board, TagVariable
from cloud.dashboards.boards.common import col, q
from cloud.dashboards.catalog import (
    DEVICE_STATUS,
    GATEWAY_STATUS,
    INGEST_DEAD_LETTERS,
    INGEST_POINTS,
)
from cloud.dashboards.panels import PanelSpec
from cloud.dashboards.query import PromQuery

GATEWAY = TagVariable("gateway", "Passerelle", GATEWAY_STATUS, "gateway", {})
_F = {"gateway": "gateway"}

PANELS = (
    PanelSpec(
        "Passerelles en ligne",
        "states",
        (q(GATEWAY_STATUS, col(GATEWAY_STATUS["online"], "last", "en_ligne"), filters=_F),),
        ((1, "green"),),
        base="red",
        width=24,
    ),
    PanelSpec(
        "Lectures en attente dans la boîte d'envoi",
        "lines",
        (q(GATEWAY_STATUS, col(GATEWAY_STATUS["outbox_rows"], "max", "en_attente"), filters=_F),),
        ((10_000, "orange"), (100_000, "red")),
    ),
    PanelSpec(
        "Âge de la plus ancienne lecture non acquittée",
        "lines",
        (
            q(
                GATEWAY_STATUS,
                col(GATEWAY_STATUS["outbox_oldest_age_s"], "max", "age"),
                filters=_F,
            ),
        ),
        ((600, "orange"), (3600, "red")),
    ),
    PanelSpec(
        "Lectures évincées (boîte d'envoi pleine)",
        "lines",
        (q(GATEWAY_STATUS, col(GATEWAY_STATUS["outbox_evicted"], "max", "evincees"), filters=_F),),
        ((1, "red"),),
    ),
    PanelSpec(
        "Équipements injoignables par passerelle",
        "lines",
        (
            q(
                GATEWAY_STATUS,
                col(GATEWAY_STATUS["devices_unreachable"], "max", "injoignables"),
                filters=_F,
            ),
        ),
        ((1, "red"),),
    ),
    PanelSpec(
        "Erreurs de lecture par équipement",
        "bars",
        (
            q(
                DEVICE_STATUS,
                # the agent's counter restarts at 0 with it: count only the increases
                col(
                    DEVICE_STATUS["errors"],
                    "max",
                    "erreurs",
                    op=")",
                    prefix="non_negative_difference(",
                ),
                filters=_F,
                by=("gateway", "device"),
            ),
        ),
        ((1, "orange"), (10, "red")),
        width=8,
        description="Erreurs de lecture Modbus par équipement et par intervalle, d'après les "
        "messages de statut des passerelles (mesure device_status).",
    ),
    PanelSpec(
        "Débit d'ingestion (points/s)",
        "lines",
        (PromQuery(INGEST_POINTS, f"sum(rate({INGEST_POINTS.name}[5m]))", "points/s"),),
        ((5_000, "orange"), (20_000, "red")),
        width=8,
    ),
    PanelSpec(
        "Messages mis de côté (lettres mortes, par heure)",
        "bars",
        (
            PromQuery(
                INGEST_DEAD_LETTERS,
                f"sum by (reason) (increase({INGEST_DEAD_LETTERS.name}[1h]))",
                "{{reason}}",
            ),
        ),
        ((1, "red"),),
        width=8,
    ),
)

BOARD = Board(
    uid="eclor-parc",
    title="Santé du parc — Passerelles et ingestion",
    description="État des passerelles (messages de statut) et de l'ingestion (Prometheus).",
    variables=(GATEWAY,),
    panels=PANELS,
    time_from="now-24h",
)

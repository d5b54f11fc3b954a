"""Santé du parc: gateways online, outbox, evictions, unreachable devices; Prometheus figures."""

from __future__ import annotations

from cloud.dashboards.board import Board, TagVariable
from cloud.dashboards.boards.common import col, q
from cloud.dashboards.catalog import (
    EDGE_POLL_ERRORS,
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
        "Erreurs de lecture par équipement (par minute)",
        "lines",
        (
            PromQuery(
                EDGE_POLL_ERRORS,
                f"sum by (device, kind) (rate({EDGE_POLL_ERRORS.name}[5m])) * 60",
                "{{device}} {{kind}}",
            ),
        ),
        ((1, "orange"), (10, "red")),
        width=8,
        description="Compteur des agents de passerelle : Prometheus doit collecter leur /metrics "
        "(health.host joignable, 127.0.0.1:9108 par défaut).",
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

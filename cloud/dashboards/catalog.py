"""The one source of truth for the names and units the boards use.

Every measurement, tag and field a board queries is declared here once, with its Grafana unit and
French label; the boards reference these objects (never a bare string), so renaming a field here
changes every query and breaks the tests that check the committed JSON, the device profiles and the
real InfluxDB results (see docs/dashboards.md).

Names follow ``docs/data-model.md`` (raw readings, ``gateway_status``, ``event``) and the lighting
and residents contracts (derived series written by the cloud jobs; ``lighting`` and ``dali`` by
the edge).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["float", "int", "bool", "str"]
Producer = Literal["edge", "ingest", "cloud.savings", "cloud.residents", "cloud.lighting"]


@dataclass(frozen=True)
class Field:
    name: str
    unit: str
    """Grafana unit id (``kwatth``, ``percent``, ``velocitykmh``, …)."""
    label: str
    kind: Kind = "float"


@dataclass(frozen=True)
class Measurement:
    name: str
    tags: tuple[str, ...]
    producer: Producer
    fields: dict[str, Field] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Field:
        try:
            return self.fields[name]
        except KeyError:
            raise KeyError(f"measurement {self.name!r} has no field {name!r}") from None


def _measurement(
    name: str, tags: tuple[str, ...], producer: Producer, *fields: Field
) -> Measurement:
    return Measurement(name, tags, producer, {f.name: f for f in fields})


_RAW_TAGS = ("gateway", "device", "commune")
LANES = (1, 2, 3, 4)
LaneSuffix = Literal["interval_count", "occupancy_pct", "speed_kmh"]


def _lane_field(lane: int, suffix: LaneSuffix) -> Field:
    """A per-lane field of ``traffic`` (``laneN_…``)."""
    units = {"interval_count": "none", "occupancy_pct": "percent", "speed_kmh": "velocitykmh"}
    labels = {
        "interval_count": "Véhicules par période",
        "occupancy_pct": "Occupation (%)",
        "speed_kmh": "Vitesse (km/h)",
    }
    kind: Kind = "int" if suffix == "interval_count" else "float"
    return Field(f"lane{lane}_{suffix}", units[suffix], f"Voie {lane} — {labels[suffix]}", kind)


ENERGY = _measurement(
    "energy",
    _RAW_TAGS,
    "edge",
    Field("energy_import_kwh", "kwatth", "Énergie importée (kWh)"),
    Field("power_total_w", "watt", "Puissance active totale (W)"),
    Field("power_l1_w", "watt", "Puissance phase 1 (W)"),
    Field("power_l2_w", "watt", "Puissance phase 2 (W)"),
    Field("power_l3_w", "watt", "Puissance phase 3 (W)"),
    Field("current_l1_a", "amp", "Courant phase 1 (A)"),
    Field("current_l2_a", "amp", "Courant phase 2 (A)"),
    Field("current_l3_a", "amp", "Courant phase 3 (A)"),
    Field("power_factor_total", "none", "Facteur de puissance"),
)
CABINET = _measurement(
    "cabinet",
    _RAW_TAGS,
    "edge",
    Field("door_open", "bool_on_off", "Porte ouverte", "bool"),
    Field("contactor_1_closed", "bool_on_off", "Contacteur 1 fermé", "bool"),
    Field("dim_setpoint_pct", "percent", "Consigne de gradation (%)", "int"),
)
TRAFFIC = _measurement(
    "traffic",
    _RAW_TAGS,
    "edge",
    Field("lane_count", "none", "Nombre de voies", "int"),
    Field("interval_s", "s", "Période d'intégration (s)", "int"),
    *(
        _lane_field(lane, suffix)
        for lane in LANES
        for suffix in ("interval_count", "occupancy_pct", "speed_kmh")
    ),
)
WASTE_CENTRE = _measurement(
    "waste_centre",
    _RAW_TAGS,
    "edge",
    Field("queue_count", "none", "Véhicules en file", "int"),
    Field("capacity", "none", "Capacité (véhicules)", "int"),
)
GATEWAY_STATUS = _measurement(
    "gateway_status",
    ("gateway",),
    "ingest",
    Field("online", "bool_on_off", "En ligne", "bool"),
    Field("outbox_rows", "none", "Lectures en attente", "int"),
    Field("outbox_evicted", "none", "Lectures évincées", "int"),
    Field("outbox_oldest_age_s", "s", "Âge de la plus ancienne lecture non acquittée (s)"),
    Field("devices_unreachable", "none", "Équipements injoignables", "int"),
)
DEVICE_STATUS = _measurement(
    "device_status",
    ("gateway", "device"),
    "ingest",
    Field("state", "string", "État", "str"),
    Field("errors", "none", "Erreurs de lecture (cumul depuis le démarrage de l'agent)", "int"),
    Field("last_ok_age_s", "s", "Depuis la dernière lecture réussie (s)"),
)
EVENT = _measurement(
    "event",
    ("gateway", "device", "kind", "severity"),
    "ingest",
    Field("active", "bool_on_off", "Actif", "bool"),
    Field("detail", "string", "Détail", "str"),
)
SAVINGS = _measurement(
    "savings",
    ("gateway", "site", "commune"),
    "cloud.savings",
    Field("baseline_kwh", "kwatth", "Référence (kWh)"),
    Field("actual_kwh", "kwatth", "Consommation (kWh)"),
    Field("savings_pct", "percent", "Économies (%)"),
    Field("lit_hours_h", "h", "Heures d'allumage (h)"),
)
BURNING = _measurement(
    "burning",
    ("gateway", "group"),
    "cloud.savings",
    Field("burning_h", "h", "Durée d'allumage (h)"),
    Field("mean_level_pct", "percent", "Niveau moyen (%)"),
)
LIGHTING = _measurement(
    "lighting",
    ("gateway", "device", "group"),
    "edge",
    Field("target_pct", "percent", "Niveau commandé (%)"),
    Field("lit", "bool_on_off", "Allumé", "bool"),
    Field("source", "string", "Origine de la commande", "str"),
    Field("program", "string", "Programme", "str"),
)
DALI = _measurement(
    "dali",
    ("gateway", "device", "line", "group"),
    "edge",
    Field("level_pct", "percent", "Niveau mesuré (%)"),
    Field("lamp_failure", "bool_on_off", "Défaut lampe", "bool"),
    Field("gear_failure", "bool_on_off", "Défaut ballast", "bool"),
    Field("power_w", "watt", "Puissance (W)"),
    Field("energy_wh", "watth", "Énergie (Wh)"),
    Field("operating_hours_h", "h", "Heures de fonctionnement (h)"),
)
WASTE_WAIT = _measurement(
    "waste_wait",
    ("site", "commune"),
    "cloud.residents",
    Field("wait_min", "m", "Attente estimée (min)"),
    Field("on_site", "none", "Véhicules sur site", "int"),
    Field("queue", "none", "Véhicules en file", "int"),
    Field("level", "string", "Niveau d'affluence", "str"),
    Field("open", "bool_on_off", "Ouvert", "bool"),
)
WASTE_ATTENDANCE = _measurement(
    "waste_attendance",
    ("site", "commune"),
    "cloud.residents",
    Field("vehicles", "none", "Véhicules par jour", "int"),
)
WASTE_FORECAST = _measurement(
    "waste_forecast",
    ("site",),
    "cloud.residents",
    Field("wait_min", "m", "Attente prévue (min)"),
    Field("level", "string", "Niveau prévu", "str"),
)
TRAFFIC_LEVEL = _measurement(
    "traffic_level",
    ("gateway", "device", "lane", "segment"),
    "cloud.residents",
    Field("flow_vph", "none", "Débit (véh/h)"),
    Field("occupancy_pct", "percent", "Taux d'occupation (%)"),
    Field("speed_kmh", "velocitykmh", "Vitesse moyenne (km/h)"),
    Field("level", "string", "État DATEX II", "str"),
)

MEASUREMENTS: tuple[Measurement, ...] = (
    ENERGY,
    CABINET,
    TRAFFIC,
    WASTE_CENTRE,
    GATEWAY_STATUS,
    DEVICE_STATUS,
    EVENT,
    SAVINGS,
    BURNING,
    LIGHTING,
    DALI,
    WASTE_WAIT,
    WASTE_ATTENDANCE,
    WASTE_FORECAST,
    TRAFFIC_LEVEL,
)


@dataclass(frozen=True)
class PromMetric:
    """A figure only Prometheus has (the edge and ingest ``/metrics``), never in the store."""

    name: str
    labels: tuple[str, ...]
    unit: str
    label: str


EDGE_POLL_ERRORS = PromMetric(
    "eclor_edge_poll_errors_total", ("device", "kind"), "none", "Erreurs de lecture"
)
INGEST_POINTS = PromMetric("eclor_ingest_points_written_total", (), "none", "Points écrits")
INGEST_DEAD_LETTERS = PromMetric(
    "eclor_ingest_dead_letters_total", ("reason",), "none", "Messages mis de côté"
)
PROM_METRICS = (EDGE_POLL_ERRORS, INGEST_POINTS, INGEST_DEAD_LETTERS)


def lane(lane: int, suffix: LaneSuffix) -> Field:
    """The ``traffic`` field of one lane (1–4)."""
    return TRAFFIC[f"lane{lane}_{suffix}"]

"""The catalog agrees with what produces the data: device profiles, the ingest's status and event
points, and the Prometheus metrics of the edge and the ingest."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import Counter, Gauge

from cloud.dashboards import catalog
from cloud.dashboards.catalog import MEASUREMENTS, PROM_METRICS, Field, Measurement
from cloud.ingest.convert import event_points, status_points
from cloud.ingest.metrics import IngestMetrics
from eclor.wire import DeviceHealth, Event, EventBatch, OutboxHealth, Status
from edge.metrics import EdgeMetrics
from edge.profiles import DataType, Profile, default_profiles_dir, load_profiles

# Profile unit → Grafana unit id.
GRAFANA_UNIT = {
    "V": "volt",
    "A": "amp",
    "W": "watt",
    "kWh": "kwatth",
    "%": "percent",
    "km/h": "velocitykmh",
    "s": "s",
    "Hz": "hertz",
}
PYTHON_TYPE = {"float": float, "int": int, "bool": bool, "str": str}


def _profile_kind(profile_field: Any) -> str:
    if profile_field.type is DataType.BOOL:
        return "bool"
    if profile_field.type is DataType.STRING:
        return "str"
    if profile_field.type in (DataType.FLOAT32, DataType.FLOAT64):
        return "float"
    unscaled = profile_field.scale == 1.0 and profile_field.offset == 0.0
    return "int" if unscaled else "float"


def _profile_fields(profiles: dict[str, Profile], measurement: str) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for profile in profiles.values():
        for f in profile.fields:
            if (f.measurement or profile.measurement) == measurement:
                found.setdefault(f.name, []).append(f)
    return found


RAW = [m for m in MEASUREMENTS if m.producer == "edge" and m.name not in ("lighting", "dali")]


@pytest.mark.parametrize("measurement", RAW, ids=lambda m: m.name)
def test_raw_fields_are_what_the_device_profiles_send(measurement: Measurement) -> None:
    sent = _profile_fields(load_profiles(default_profiles_dir()), measurement.name)
    assert sent, f"no profile writes {measurement.name!r}"
    for field in measurement.fields.values():
        assert field.name in sent, f"{measurement.name}.{field.name}: no profile sends it"
        for profile_field in sent[field.name]:
            assert _profile_kind(profile_field) == field.kind, f"{field.name}: type"
            if profile_field.unit in GRAFANA_UNIT:
                assert GRAFANA_UNIT[profile_field.unit] == field.unit, f"{field.name}: unit"


def test_every_grafana_unit_of_the_profiles_maps_known_units() -> None:
    units = {f.unit for m in MEASUREMENTS for f in m.fields.values()}
    assert units <= {
        *GRAFANA_UNIT.values(),
        "none",
        "bool_on_off",
        "string",
        "h",
        "m",
        "watth",
    }


def test_status_fields_are_what_the_ingest_writes() -> None:
    status = Status(
        gateway="vil-c001",
        state="online",
        time=1_764_370_800_000,
        outbox=OutboxHealth(rows=3, bytes=400, oldest_age_s=12.5, evicted=1),
        devices={"meter": DeviceHealth(state="unreachable", last_ok=1_764_370_700_000)},
    )
    point, device = status_points(status)
    assert point.measurement == catalog.GATEWAY_STATUS.name
    assert tuple(point.tags) == catalog.GATEWAY_STATUS.tags
    _assert_fields(catalog.GATEWAY_STATUS, point.fields)
    assert device.measurement == catalog.DEVICE_STATUS.name
    assert tuple(device.tags) == catalog.DEVICE_STATUS.tags
    _assert_fields(catalog.DEVICE_STATUS, device.fields)


def test_event_fields_and_tags_are_what_the_ingest_writes() -> None:
    event = Event(device="controller", kind="cabinetDoorOpen", time=1, severity="minor", detail="x")
    [point] = event_points(EventBatch(gateway="vil-c001", seq=1, events=[event]))
    assert point.measurement == catalog.EVENT.name
    assert set(point.tags) == set(catalog.EVENT.tags)
    _assert_fields(catalog.EVENT, point.fields)


def _assert_fields(measurement: Measurement, fields: dict[str, Any]) -> None:
    for field in measurement.fields.values():
        assert field.name in fields, f"{measurement.name}.{field.name} not written"
        assert type(fields[field.name]) is PYTHON_TYPE[field.kind], field.name


def _exported() -> dict[str, tuple[str, ...]]:
    """Sample name → label names of every metric the ingest and the edge export."""
    exported: dict[str, tuple[str, ...]] = {}
    for metrics in (IngestMetrics(), EdgeMetrics()):
        for metric in vars(metrics).values():
            if isinstance(metric, Counter):
                exported[f"{metric._name}_total"] = tuple(metric._labelnames)
            elif isinstance(metric, Gauge):
                exported[metric._name] = tuple(metric._labelnames)
    return exported


@pytest.mark.parametrize("metric", PROM_METRICS, ids=lambda m: m.name)
def test_prometheus_metrics_exist_with_their_labels(metric: catalog.PromMetric) -> None:
    exported = _exported()
    assert metric.name in exported, f"{metric.name} is not exported"
    assert sorted(exported[metric.name]) == sorted(metric.labels)


def test_a_field_that_is_not_in_the_catalog_cannot_be_queried() -> None:
    from cloud.dashboards.query import Column, Query

    stray = Field("power_w", "watt", "Puissance")
    with pytest.raises(ValueError, match="not a field of 'energy'"):
        Query(catalog.ENERGY, (Column(stray),), {})
    with pytest.raises(ValueError, match="not a tag"):
        Query(catalog.ENERGY, (Column(catalog.ENERGY["power_total_w"]),), {"site": "site"})
    with pytest.raises(KeyError, match="no field"):
        catalog.ENERGY["import_energy_kwh"]

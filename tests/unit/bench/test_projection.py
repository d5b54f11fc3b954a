"""The 1 million luminaire projection: its arithmetic on fixed figures, and where the figures
come from."""

from __future__ import annotations

import math

import pytest

from bench.cost_growth import poll_interval_s, window_s
from bench.projection import YEAR_S, Assumptions, Measured, measured_from_facts, project

MEASURED = Measured(
    ingest_cpu_us_per_point=40.0,
    influxd_cpu_us_per_point=25.0,
    mosquitto_cpu_us_per_point=2.0,
    tsm_bytes_per_point=18.0,
    influxd_rss_bytes_per_series=1000.0,
    edge_cpu_ms_per_1000_readings=1200.0,
)


def test_rates_follow_from_the_assumptions() -> None:
    values = project(MEASURED, Assumptions()).values
    assert values["gateways"] == 20_000
    assert values["luminaire_points_s"] == pytest.approx(1_000_000 / 900)
    assert values["cabinet_points_s"] == pytest.approx(20_000 * 15 / 900)
    assert values["points_s"] == pytest.approx(1_000_000 / 900 + 20_000 * 15 / 900)
    assert values["peak_points_s"] == pytest.approx(5 * values["points_s"])


def test_workers_and_brokers_from_measured_cpu() -> None:
    values = project(MEASURED, Assumptions()).values
    peak = values["peak_points_s"]
    assert values["ingest_cores"] == pytest.approx(peak * 40e-6)
    assert values["ingest_workers"] == 2  # 0.29 cores: the redundancy floor
    assert values["brokers"] == 2  # 20,000 connections at 10,000 a broker
    heavy = project(
        Measured(500.0, 25.0, 300.0, 18.0, 1000.0, 1200.0), Assumptions(gateways_per_broker=50_000)
    ).values
    assert heavy["ingest_workers"] == math.ceil(peak * 500e-6 / 0.5)
    assert heavy["brokers"] == math.ceil(peak * 300e-6 / 0.5)


def test_influx_sizing() -> None:
    values = project(MEASURED, Assumptions()).values
    assert values["series"] == 1_000_000 + 3 * 20_000
    assert values["index_ram_gb"] == pytest.approx(1_060_000 * 1000 / 1e9)
    field_values_s = 1_000_000 / 900 * 6 + 20_000 * 15 / 900 * 18
    assert values["field_values_s"] == pytest.approx(field_values_s)
    assert values["disk_gb_year"] == pytest.approx(field_values_s * YEAR_S * 18 / 6 / 1e9)
    kept = project(MEASURED, Assumptions(retention_years=3)).values
    assert kept["disk_gb_retained"] == pytest.approx(3 * values["disk_gb_year"])


def test_every_step_is_shown_as_arithmetic() -> None:
    lines = project(MEASURED, Assumptions()).lines
    assert ("gateways", "1,000,000 / 50", "20,000") in lines
    assert all(arithmetic and result for _, arithmetic, result in lines)


def test_measured_prefers_the_multi_worker_ingest_run() -> None:
    facts = {
        "ingest": {"ingest_cpu_us_per_point": 99.0, "influxd_cpu_us_per_point": 9.0,
                   "mosquitto_cpu_us_per_point": 9.0},
        "ingest_workers": {"ingest_cpu_us_per_point": 40.0, "influxd_cpu_us_per_point": 25.0,
                           "mosquitto_cpu_us_per_point": 2.0},
        "projection": {"tsm_bytes_per_point": 18.0, "influxd_rss_bytes_per_series": 1000.0},
        "cost_growth": {"edge_cpu_ms_per_1000_readings": 1200.0},
    }  # fmt: skip
    assert measured_from_facts(facts) == MEASURED
    del facts["ingest_workers"]
    assert measured_from_facts(facts).ingest_cpu_us_per_point == 99.0


def test_missing_figures_are_named() -> None:
    with pytest.raises(ValueError, match=r"tsm_bytes_per_point \(from bench.projection\)"):
        measured_from_facts({"ingest": {}, "cost_growth": {}})


@pytest.mark.parametrize(
    ("meters", "interval", "window"), [(20, 1, 30), (200, 1, 30), (2000, 10, 30), (5000, 25, 75)]
)
def test_cost_growth_scales_the_poll_interval(meters: int, interval: int, window: int) -> None:
    assert poll_interval_s(meters) == interval
    assert window_s(30, interval) == window

"""The wait estimator on hand-made gate minutes: on-site count, Little's law, levels, states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from cloud.registry.models_waste import WasteCentre
from cloud.residents.settings import ResidentsSettings
from cloud.residents.wait import CentreView, GateMinute, Level, WaitTracker, level_of
from eclor.clock import to_epoch_ms

SETTINGS = ResidentsSettings()
OPENING = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)  # Tuesday 09:00 local


def centre(**changes: Any) -> CentreView:
    values: dict[str, Any] = {
        "id": "vil-dech",
        "name": "Déchetterie",
        "commune": "villerupt",
        "latitude": 49.46,
        "longitude": 5.92,
        "timezone": "Europe/Paris",
        "device_id": None,
        "capacity": 8,
        "has_queue_detector": True,
        "poll_interval_s": 60.0,
        "opening_hours": {"tue": [["09:00", "12:00"], ["14:00", "18:00"]]},
        "closed_dates": [],
        "wait_low_min": None,
        "wait_high_min": None,
    }
    values.update(changes)
    return CentreView.of(WasteCentre(**values), SETTINGS)


def feed(
    tracker: WaitTracker, first: int, last: int, entries: int, exits: int, queue: int | None
) -> None:
    """Minutes ``first..last-1`` after opening, each with the same counts."""
    for minute in range(first, last):
        start = to_epoch_ms(OPENING + timedelta(minutes=minute))
        tracker.feed(GateMinute(start, entries, exits, queue, start))


def at(minute: float) -> datetime:
    return OPENING + timedelta(minutes=minute)


@pytest.mark.parametrize(
    ("wait", "level"),
    [(0.0, Level.FLUIDE), (10.0, Level.FLUIDE), (10.1, Level.MODERE), (20.0, Level.MODERE),
     (20.1, Level.CHARGE)],
)  # fmt: skip
def test_levels_follow_the_thresholds(wait: float, level: Level) -> None:
    assert level_of(wait, 10.0, 20.0) is level


def test_a_full_site_with_a_queue_waits_queue_over_throughput() -> None:
    tracker = WaitTracker(centre(), SETTINGS)
    feed(tracker, 0, 8, 1, 0, 0)  # eight in: full
    feed(tracker, 8, 60, 1, 1, 10)  # 60 vehicles/h in and out, ten waiting
    estimate = tracker.estimate(at(60))
    assert estimate.on_site == 8
    assert estimate.queue == 10
    assert estimate.throughput_vph == 60.0
    assert estimate.wait_min == pytest.approx(10 / 1.0, rel=0.15)  # 10 ÷ 1 per minute
    assert estimate.wait_low_min is not None
    assert estimate.wait_high_min is not None
    assert estimate.wait_low_min < estimate.wait_min < estimate.wait_high_min
    assert estimate.level in (Level.FLUIDE, Level.MODERE)
    assert not estimate.stale


def test_a_free_bay_and_no_queue_is_no_wait() -> None:
    tracker = WaitTracker(centre(), SETTINGS)
    feed(tracker, 0, 20, 1, 1, 0)
    feed(tracker, 20, 23, 1, 0, 0)
    estimate = tracker.estimate(at(23))
    assert estimate.on_site == 3
    assert (estimate.wait_min, estimate.wait_low_min, estimate.wait_high_min) == (0.0, 0.0, 0.0)
    assert estimate.level is Level.FLUIDE


def test_nobody_leaving_lately_uses_capacity_over_service_time() -> None:
    tracker = WaitTracker(centre(), SETTINGS)
    feed(tracker, 0, 8, 1, 0, 0)
    feed(tracker, 8, 12, 0, 0, 6)  # full, six waiting, nobody has left yet
    estimate = tracker.estimate(at(12))
    assert estimate.throughput_vph == 0.0
    assert estimate.wait_min is not None
    # with no exit seen, the departure rate leans on 8 bays ÷ 12 min = 0.67/min: about 9 min
    assert 5.0 < estimate.wait_min < 15.0


def test_the_count_restarts_at_each_opening_and_never_goes_negative() -> None:
    tracker = WaitTracker(centre(), SETTINGS)
    feed(tracker, 0, 5, 1, 0, 0)
    assert tracker.estimate(at(5)).on_site == 5
    feed(tracker, 5, 15, 0, 1, 0)  # ten exits for five entries: clamped at 0
    assert tracker.estimate(at(15)).on_site == 0
    afternoon = 5 * 60  # 14:00 local
    feed(tracker, afternoon, afternoon + 2, 1, 0, 0)
    assert tracker.estimate(at(afternoon + 2)).on_site == 2


@pytest.mark.parametrize(
    ("on_site", "level"), [(2, Level.FLUIDE), (6, Level.CHARGE), (8, Level.COMPLET)]
)
def test_without_a_queue_detector_only_a_state(on_site: int, level: Level) -> None:
    tracker = WaitTracker(centre(has_queue_detector=False), SETTINGS)
    feed(tracker, 0, on_site, 1, 0, None)
    estimate = tracker.estimate(at(on_site))
    assert estimate.level is level
    assert estimate.wait_min is None
    assert estimate.queue is None


def test_site_thresholds_override_the_defaults() -> None:
    tracker = WaitTracker(centre(wait_low_min=3.0, wait_high_min=6.0), SETTINGS)
    feed(tracker, 0, 8, 1, 0, 0)
    feed(tracker, 8, 60, 1, 1, 10)
    assert tracker.estimate(at(60)).level is Level.CHARGE  # about 10 min > 6


def test_nothing_read_since_opening_is_unknown() -> None:
    tracker = WaitTracker(centre(), SETTINGS)
    estimate = tracker.estimate(at(10))
    assert estimate.level is Level.INCONNU
    assert estimate.stale
    assert estimate.observed_at is None


def test_settings_refuse_thresholds_out_of_order() -> None:
    with pytest.raises(ValidationError, match="wait_low_min must be below"):
        ResidentsSettings(wait_low_min=20, wait_high_min=10)
    with pytest.raises(ValidationError, match="traffic bands must rise"):
        ResidentsSettings(traffic_heavy_pct=40)

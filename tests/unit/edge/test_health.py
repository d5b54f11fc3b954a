"""A failing device is logged once at WARNING, then at DEBUG until it recovers."""

from __future__ import annotations

import logging

import pytest

from edge.health import HealthBook
from edge.metrics import EdgeMetrics


def test_log_once_then_debug_until_recovery(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="edge.devices")
    book = HealthBook(EdgeMetrics())
    for _ in range(5):
        book.failed("meter", "timeout", "no answer", breaker_open=True)
    book.ok("meter", 1_764_370_000_000, 0.01, [])
    book.failed("meter", "timeout", "no answer", breaker_open=True)
    levels = [(r.levelname, r.getMessage().split(":")[0]) for r in caplog.records]
    assert levels == [
        ("WARNING", "device failing"),
        *[("DEBUG", "device failing")] * 4,
        ("INFO", "device recovered"),
        ("WARNING", "device failing"),
    ]
    record = book.devices["meter"]
    assert record.errors == 6
    assert record.state == "unreachable"


def test_health_shows_in_metrics_the_whole_time() -> None:
    metrics = EdgeMetrics()
    book = HealthBook(metrics)
    book.failed("meter", "timeout", "no answer", breaker_open=True)
    book.failed("meter", "timeout", "no answer", breaker_open=True)
    sample = metrics.registry.get_sample_value
    assert sample("eclor_edge_poll_errors_total", {"device": "meter", "kind": "timeout"}) == 2
    assert sample("eclor_edge_breaker_open", {"device": "meter"}) == 1
    book.ok("meter", 1_764_370_000_000, 0.02, ["exception 02 (illegal data address) reading x"])
    assert sample("eclor_edge_breaker_open", {"device": "meter"}) == 0
    assert book.snapshot()["meter"].state == "degraded"

"""``eclor_alarms_open{kind}``: open alarms by kind, read from the registry at each scrape, so
every process serving ``/metrics`` shows the same numbers whichever process opened them."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from cloud.alarms.kinds import ALARM_KINDS
from cloud.registry.alarms import count_open_alarms_by_kind

log = logging.getLogger(__name__)
METRIC = "eclor_alarms_open"
_collectors: weakref.WeakKeyDictionary[CollectorRegistry, OpenAlarmsCollector] = (
    weakref.WeakKeyDictionary()
)


class OpenAlarmsCollector(Collector):
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(METRIC, "Open alarms by kind", labels=["kind"])
        try:
            with self.sessions() as session:
                counts = count_open_alarms_by_kind(session)
        except SQLAlchemyError as exc:
            log.warning("open alarms not counted: %s", exc)
            return
        for kind in sorted(ALARM_KINDS | set(counts)):
            family.add_metric([kind], counts.get(kind, 0))
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(METRIC, "Open alarms by kind", labels=["kind"])


def register_open_alarms(registry: CollectorRegistry, sessions: sessionmaker[Session]) -> None:
    """Add the gauge to ``registry`` once; a later call (a restarted runtime) points it at
    ``sessions``."""
    known = _collectors.get(registry)
    if known is not None:
        known.sessions = sessions
        return
    collector = OpenAlarmsCollector(sessions)
    registry.register(collector)
    _collectors[registry] = collector

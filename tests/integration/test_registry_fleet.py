"""Registry: communes, sites, gateways, devices and lighting groups, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cloud.errors import Conflict, NotFound
from cloud.registry import (
    GatewayStatus,
    LightingBackend,
    Site,
    SiteKind,
    add_commune,
    add_device,
    add_lighting_group,
    add_site,
    check_gateway_password,
    enroll_gateway,
    get_device,
    get_gateway,
    get_lighting_group,
    get_site,
    list_devices,
    list_gateways,
    list_lighting_groups,
    list_sites,
    revoke_gateway,
    rotate_gateway_password,
    set_device_tags,
    set_gateway_site,
    set_opening_hours,
    upgrade,
)
from cloud.registry.credentials import hash_secret
from tests.integration.test_registry_db import BACKENDS, clean_sessions, registry_engine

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)
HOURS = {"mon": [["09:00", "12:00"], ["14:00", "18:00"]], "sun": []}


@pytest.fixture(scope="module", params=BACKENDS)
def migrated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    for engine in registry_engine(request, tmp_path_factory.mktemp("registry")):
        upgrade(engine)
        yield engine


@pytest.fixture
def sessions(migrated: Engine) -> Iterator[sessionmaker[Session]]:
    yield from clean_sessions(migrated)


@pytest.fixture
def territory(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Villerupt with a cabinet and a waste centre."""
    with sessions.begin() as s:
        add_commune(s, "57683", "Villerupt")
        add_site(
            s,
            "cab-villerupt-01",
            name="Armoire Mairie",
            commune="57683",
            kind=SiteKind.CABINET,
            latitude=49.467,
            longitude=5.929,
        )
        add_site(
            s,
            "dech-villerupt",
            name="Déchetterie de Villerupt",
            commune="57683",
            kind=SiteKind.WASTE_CENTRE,
            latitude=49.459,
            longitude=5.934,
            opening_hours=HOURS,
        )
    return sessions


def cabinet(
    s: Session,
    site_id: str,
    *,
    commune: str = "57683",
    latitude: float = 49.0,
    timezone: str = "Europe/Paris",
    opening_hours: dict[str, Any] | None = None,
) -> Site:
    return add_site(
        s,
        site_id,
        name="x",
        commune=commune,
        kind=SiteKind.CABINET,
        latitude=latitude,
        longitude=5.9,
        timezone=timezone,
        opening_hours=opening_hours,
    )


# -- communes and sites -------------------------------------------------------------------------


def test_sites_round_trip(territory: sessionmaker[Session]) -> None:
    with territory() as s:
        cabinet = get_site(s, "cab-villerupt-01")
        assert (cabinet.kind, cabinet.timezone, cabinet.opening_hours) == (
            SiteKind.CABINET,
            "Europe/Paris",
            None,
        )
        centre = get_site(s, "dech-villerupt")
        assert centre.opening_hours == HOURS
        assert centre.name == "Déchetterie de Villerupt"
        assert [x.id for x in list_sites(s, kind=SiteKind.WASTE_CENTRE)] == ["dech-villerupt"]
        assert len(list_sites(s, commune="57683")) == 2
        assert list_sites(s, commune="57038") == []


def test_site_checks(territory: sessionmaker[Session]) -> None:
    with territory.begin() as s:
        with pytest.raises(Conflict):
            add_commune(s, "57683", "Villerupt")
        with pytest.raises(ValueError, match="INSEE"):
            add_commune(s, "5768", "Nowhere")
        add_commune(s, "2A004", "Ajaccio")
        with pytest.raises(NotFound, match="commune"):
            cabinet(s, "cab-x", commune="99999")
        with pytest.raises(Conflict, match="already exists"):
            cabinet(s, "dech-villerupt")
        with pytest.raises(ValueError, match="time zone"):
            cabinet(s, "cab-x", timezone="Europe/Villerupt")
        with pytest.raises(ValueError, match="waste centres"):
            cabinet(s, "cab-x", opening_hours=HOURS)
        with pytest.raises(ValueError, match="WGS-84"):
            cabinet(s, "cab-x", latitude=95)
        with pytest.raises(ValueError, match="site id"):
            cabinet(s, "Cab X")
        with pytest.raises(ValueError, match="is not a valid SiteKind"):
            add_site(s, "x", name="x", commune="57683", kind="depot", latitude=0, longitude=0)  # type: ignore[arg-type]
        set_opening_hours(s, "dech-villerupt", {"mon": []})
    with territory() as s:
        assert get_site(s, "dech-villerupt").opening_hours == {"mon": []}


# -- gateways -----------------------------------------------------------------------------------


def test_enrolment_keeps_only_a_hash(territory: sessionmaker[Session]) -> None:
    with territory.begin() as s:
        enrolment = enroll_gateway(s, "cab-01", now=NOW, site_id="cab-villerupt-01")
    assert enrolment.password not in repr(enrolment)
    assert len(enrolment.password) >= 43
    with territory() as s:
        gateway = get_gateway(s, "cab-01")
        assert gateway.mqtt_username == "cab-01"
        assert gateway.credential_hash == hash_secret(enrolment.password)
        assert enrolment.password not in (gateway.credential_hash or "")
        assert (gateway.status, gateway.revoked, gateway.last_seen_at) == (
            GatewayStatus.UNKNOWN,
            False,
            None,
        )
        assert gateway.enrolled_at == NOW
        assert gateway.site_id == "cab-villerupt-01"
        assert check_gateway_password(s, "cab-01", enrolment.password) == gateway
        assert check_gateway_password(s, "cab-01", enrolment.password + "x") is None
        assert check_gateway_password(s, "cab-02", enrolment.password) is None


def test_gateway_conflicts(territory: sessionmaker[Session]) -> None:
    with territory.begin() as s:
        enroll_gateway(s, "cab-01", now=NOW)
        with pytest.raises(Conflict, match="already exists"):
            enroll_gateway(s, "cab-01", now=NOW)
        with pytest.raises(Conflict, match="MQTT username 'cab-01'"):
            enroll_gateway(s, "cab-02", now=NOW, mqtt_username="cab-01")
        with pytest.raises(NotFound, match="site"):
            enroll_gateway(s, "cab-03", now=NOW, site_id="nowhere")
        with pytest.raises(ValueError, match="gateway id"):
            enroll_gateway(s, "Cab/04", now=NOW)
        with pytest.raises(NotFound, match="no gateway 'cab-09'"):
            get_gateway(s, "cab-09")
    with territory() as s:
        assert [g.id for g in list_gateways(s)] == ["cab-01"]


def test_rotate_and_revoke(territory: sessionmaker[Session]) -> None:
    later = NOW.replace(hour=22)
    with territory.begin() as s:
        first = enroll_gateway(s, "cab-01", now=NOW).password
        second = rotate_gateway_password(s, "cab-01", now=later)
    with territory.begin() as s:
        assert check_gateway_password(s, "cab-01", first) is None
        assert check_gateway_password(s, "cab-01", second) is not None
        assert get_gateway(s, "cab-01").credential_issued_at == later
        revoke_gateway(s, "cab-01", now=later)
        revoke_gateway(s, "cab-01", now=later.replace(hour=23))
    with territory.begin() as s:
        gateway = get_gateway(s, "cab-01")
        assert (gateway.revoked, gateway.revoked_at, gateway.credential_hash) == (True, later, None)
        assert check_gateway_password(s, "cab-01", second) is None
        with pytest.raises(Conflict, match="revoked"):
            rotate_gateway_password(s, "cab-01", now=later)


def test_list_gateways_filters(territory: sessionmaker[Session]) -> None:
    with territory.begin() as s:
        enroll_gateway(s, "cab-02", now=NOW, site_id="cab-villerupt-01")
        enroll_gateway(s, "cab-01", now=NOW)
        enroll_gateway(s, "dech-01", now=NOW, site_id="dech-villerupt")
        revoke_gateway(s, "cab-01", now=NOW)
        set_gateway_site(s, "cab-01", "cab-villerupt-01")
    with territory() as s:
        assert [g.id for g in list_gateways(s)] == ["cab-01", "cab-02", "dech-01"]
        assert [g.id for g in list_gateways(s, site_id="cab-villerupt-01")] == ["cab-01", "cab-02"]
        assert [g.id for g in list_gateways(s, include_revoked=False)] == ["cab-02", "dech-01"]
        assert len(list_gateways(s, status=GatewayStatus.UNKNOWN)) == 3
        assert list_gateways(s, status=GatewayStatus.ONLINE) == []


# -- devices and lighting groups ----------------------------------------------------------------


def test_devices(territory: sessionmaker[Session]) -> None:
    with territory.begin() as s:
        enroll_gateway(s, "cab-01", now=NOW)
        enroll_gateway(s, "cab-02", now=NOW)
        add_device(
            s,
            "cab-01",
            "meter-1",
            profile="sdm630",
            unit_id=1,
            now=NOW,
            tags={"phase": "3", "feeder": "rue-carnot"},
            installed_power_before_w=12_400.0,
        )
        add_device(s, "cab-01", "dali.line-1", profile="dali_line", now=NOW)
        add_device(s, "cab-02", "meter-1", profile="iem3155", unit_id=3, now=NOW)
        with pytest.raises(Conflict, match="cab-01/meter-1"):
            add_device(s, "cab-01", "meter-1", profile="sdm630", now=NOW)
        with pytest.raises(NotFound, match="gateway"):
            add_device(s, "cab-09", "meter-1", profile="sdm630", now=NOW)
        with pytest.raises(ValueError, match="device id"):
            add_device(s, "cab-01", "-meter", profile="sdm630", now=NOW)
        with pytest.raises(ValueError, match="unit"):
            add_device(s, "cab-01", "meter-2", profile="sdm630", unit_id=300, now=NOW)
    with territory.begin() as s:
        meter = get_device(s, "cab-01", "meter-1")
        assert (meter.profile, meter.unit_id, meter.installed_power_before_w) == (
            "sdm630",
            1,
            12_400.0,
        )
        assert meter.tags == {"phase": "3", "feeder": "rue-carnot"}
        assert meter.created_at == NOW
        assert meter.health.value == "unknown"
        assert [d.device_id for d in list_devices(s, "cab-01")] == ["dali.line-1", "meter-1"]
        assert [(d.gateway_id, d.device_id) for d in list_devices(s)] == [
            ("cab-01", "dali.line-1"),
            ("cab-01", "meter-1"),
            ("cab-02", "meter-1"),
        ]
        set_device_tags(s, "cab-01", "meter-1", {"phase": "1"})
        with pytest.raises(NotFound, match="device 'cab-01/meter-9'"):
            get_device(s, "cab-01", "meter-9")
    with territory() as s:
        assert get_device(s, "cab-01", "meter-1").tags == {"phase": "1"}


def test_lighting_groups(territory: sessionmaker[Session]) -> None:
    with territory.begin() as s:
        enroll_gateway(s, "cab-01", now=NOW)
        add_lighting_group(
            s,
            "cab-01",
            "main_street",
            name="Rue principale",
            backend=LightingBackend.DALI,
            members=[{"line": "dali-1", "group": 3}],
        )
        add_lighting_group(
            s,
            "cab-01",
            "park",
            name="Parc",
            backend=LightingBackend.CONTACTOR,
            members=[{"coil": 16}],
        )
        with pytest.raises(Conflict):
            add_lighting_group(
                s, "cab-01", "park", name="Parc", backend=LightingBackend.CONTACTOR, members=[]
            )
        with pytest.raises(ValueError, match="is not a valid LightingBackend"):
            add_lighting_group(s, "cab-01", "x", name="x", backend="relay", members=[])  # type: ignore[arg-type]
        with pytest.raises(NotFound):
            add_lighting_group(s, "cab-09", "x", name="x", backend=LightingBackend.DALI, members=[])
        with pytest.raises(ValueError, match="snake_case"):  # programs could not name it
            add_lighting_group(s, "cab-01", "main-street", name="x", backend="dali", members=[])
    with territory() as s:
        groups = list_lighting_groups(s, "cab-01")
        assert [g.group_id for g in groups] == ["main_street", "park"]
        main = get_lighting_group(s, "cab-01", "main_street")
        assert (main.backend, main.members) == (
            LightingBackend.DALI,
            [{"line": "dali-1", "group": 3}],
        )
        assert list_lighting_groups(s, "cab-02") == []

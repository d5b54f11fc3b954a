"""Provisioning's proposals and merge: what a re-run keeps, replaces, adds and drops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge.config import Device, GatewayConfig, Identity, RtuBus, TcpBus
from edge.errors import AnswersError
from edge.profiles import Profile, default_profiles_dir, load_profiles
from edge.provision.answers import DevicesAnswers
from edge.provision.discover import _distinct
from edge.provision.merge import align, build_document, merge_devices
from edge.provision.selection import FoundDevice, Origin, propose
from edge.scan import Candidate, Found

PROFILES: dict[str, Profile] = load_profiles(default_profiles_dir())
RS485 = RtuBus(kind="rtu", name="rs485", port="/dev/ttyUSB0", baudrate=9600)


def found(unit: int, profile: str, bus: str = "rs485") -> FoundDevice:
    return FoundDevice(bus, unit, profile, 1.0, ["voltage_l1_v 230 V"])


def existing(devices: list[dict[str, Any]], **sections: Any) -> GatewayConfig:
    return GatewayConfig.model_validate({
        "gateway": {"id": "gw"},
        "broker": {"host": "mqtt", "keepalive_s": 60, "port": 1883},
        "outbox": {"path": "outbox.sqlite", "max_bytes": "64MiB"},
        "uplink": {"status_interval_s": 60},
        "buses": [
            {"name": "line", "kind": "rtu", "port": "/dev/ttyUSB0"},
            {"name": "lan", "kind": "tcp", "host": "10.0.0.5"},
        ],
        "devices": devices,
        **sections,
    })  # fmt: skip


def test_new_devices_get_ids_from_the_gateway_and_their_role() -> None:
    proposals = propose(
        [found(1, "eastron-sdm630"), found(2, "carlo-gavazzi-em24"),
         found(10, "eclor-cabinet-controller")],
        DevicesAnswers(poll_interval_s=15, tags={"zone": "nord"}), "gw", [], PROFILES,
    )  # fmt: skip
    ids = [p.device.id for p in proposals]
    assert ids == ["gw-meter-1", "gw-meter-2", "gw-ctrl"]
    assert all(p.origin is Origin.NEW for p in proposals)
    assert proposals[0].device.poll_interval_s == 15
    assert proposals[0].device.tags == {"zone": "nord"}


def test_answers_rename_tune_and_exclude_by_address_or_id() -> None:
    answers = DevicesAnswers.model_validate({
        "exclude": ["gw-meter-2"],
        "overrides": {"rs485:1": {"id": "main", "poll_interval_s": 2, "tags": {"circuit": "a"}}},
    })  # fmt: skip
    first, second = propose(
        [found(1, "eastron-sdm630"), found(2, "eastron-sdm630")], answers, "gw", [], PROFILES
    )
    assert (first.device.id, first.device.poll_interval_s, first.device.tags) == (
        "main", 2, {"circuit": "a"}
    )  # fmt: skip
    assert not first.excluded
    assert second.excluded


def test_an_override_key_must_be_bus_and_unit() -> None:
    with pytest.raises(ValueError, match="rs485:1"):
        DevicesAnswers.model_validate({"overrides": {"meter": {"id": "x"}}})


def test_a_device_already_configured_is_kept_as_it_is() -> None:
    old = Device(id="cab-meter", profile="eastron-sdm630", bus="rs485", unit=1,
                 poll_interval_s=3, fields=["voltage_l1_v"])  # fmt: skip
    (proposal,) = propose([found(1, "eastron-sdm630")], DevicesAnswers(), "gw", [old], PROFILES)
    assert proposal.origin is Origin.KEPT
    assert proposal.device == old


def test_another_model_at_the_same_address_replaces_the_entry() -> None:
    old = Device(id="cab-meter", profile="eastron-sdm120", bus="rs485", unit=1)
    (proposal,) = propose([found(1, "eastron-sdm630")], DevicesAnswers(), "gw", [old], PROFILES)
    assert proposal.origin is Origin.REPLACED
    assert proposal.replaces == "cab-meter"
    assert proposal.device.profile == "eastron-sdm630"


def test_a_new_id_never_takes_one_a_kept_device_has() -> None:
    elsewhere = Device(id="gw-meter", profile="eastron-sdm630", bus="lan", unit=1)
    (proposal,) = propose(
        [found(1, "eastron-sdm630")], DevicesAnswers(), "gw", [elsewhere], PROFILES
    )
    assert proposal.device.id == "gw-meter-2"


def test_a_scanned_line_takes_the_answers_name_and_its_devices_follow() -> None:
    config = existing([
        {"id": "m", "profile": "eastron-sdm630", "bus": "line", "unit": 1},
        {"id": "g", "profile": "eclor-gate-controller", "bus": "lan", "unit": 1},
    ])  # fmt: skip
    aligned = align(config, [RS485])
    assert [b.name for b in aligned.buses] == ["lan", "rs485"]
    assert [(d.id, d.bus) for d in aligned.devices] == [("m", "rs485"), ("g", "lan")]
    assert aligned.scanned == {"rs485"}


def test_a_scanned_bus_cannot_take_the_name_of_another_line() -> None:
    config = existing([])
    other = TcpBus(kind="tcp", name="line", host="10.0.0.9")
    with pytest.raises(AnswersError, match="already names another line"):
        align(config, [other])


def test_a_device_the_scan_did_not_find_is_kept_unless_excluded() -> None:
    config = existing([
        {"id": "m1", "profile": "eastron-sdm630", "bus": "line", "unit": 1},
        {"id": "m2", "profile": "eastron-sdm630", "bus": "line", "unit": 2},
        {"id": "m3", "profile": "eastron-sdm630", "bus": "line", "unit": 3},
        {"id": "g", "profile": "eclor-gate-controller", "bus": "lan", "unit": 1},
    ])  # fmt: skip
    aligned = align(config, [RS485])
    answers = DevicesAnswers(exclude=["m3"])
    proposals = propose(
        [found(1, "eastron-sdm630"), found(5, "eastron-sdm120")], answers, "gw",
        aligned.devices, PROFILES,
    )  # fmt: skip
    devices, notes = merge_devices(aligned, proposals, answers, PROFILES)
    assert [d.id for d in devices] == ["m1", "m2", "g", "gw-meter-5"]
    assert notes.kept == ["m1 (rs485:1)"]
    assert notes.not_found == ["m2 (rs485:2)"], "a bus not scanned says nothing about g"
    assert notes.dropped == ["m3 (rs485:3)"]
    assert notes.added == ["gw-meter-5 (rs485:5)"]


def test_the_document_keeps_the_other_sections_and_the_broker_tuning() -> None:
    config = existing([])
    document = build_document(
        config,
        Identity(id="gw", site="s", commune="thil", latitude=49.0, longitude=5.0),
        {"host": "mqtt.new", "port": 8883, "username": "gw", "password_file": "gw.secret"},
        Path("outbox.sqlite"),
        [RS485],
        [Device(id="m", profile="eastron-sdm630", bus="rs485", unit=1)],
        health_port=0,
    )
    assert list(document) == [
        "gateway", "broker", "outbox", "uplink", "health", "buses", "devices"
    ]  # fmt: skip
    assert document["broker"] == {"keepalive_s": 60, "host": "mqtt.new", "port": 8883,
                                  "username": "gw", "password_file": "gw.secret"}  # fmt: skip
    assert document["outbox"] == {"path": "outbox.sqlite", "max_bytes": 64 * 1024**2}
    assert document["uplink"] == {"status_interval_s": 60}
    assert document["health"] == {"port": 0}
    assert document["buses"] == [{"name": "rs485", "kind": "rtu", "port": "/dev/ttyUSB0",
                                  "baudrate": 9600, "parity": "N", "stopbits": 1,
                                  "timeout_ms": 500}]  # fmt: skip
    assert document["devices"] == [{"id": "m", "profile": "eastron-sdm630", "bus": "rs485",
                                    "unit": 1, "poll_interval_s": 10}]  # fmt: skip
    assert GatewayConfig.model_validate(document).devices[0].id == "m"


def test_a_tcp_device_answering_every_unit_id_is_proposed_once() -> None:
    bus = TcpBus(kind="tcp", name="lan", host="10.0.0.5")

    def answer(unit: int, serial: int) -> Found:
        best = Candidate("eastron-sdm630", 1.0, ())
        return Found(bus, unit, (best,), {"serial_number": serial})

    problems: list[str] = []
    kept = _distinct([answer(1, 42), answer(2, 42), answer(3, 43)], problems)
    assert [f.unit for f in kept] == [1, 3]
    assert problems == [
        "unit 2 answers as unit 1 does (same eastron-sdm630, same identity): one device "
        "answering several unit ids, kept once"
    ]

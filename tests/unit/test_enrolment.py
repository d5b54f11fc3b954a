"""Enrolment tokens and the operator audit without a database: token shape, what the audit
keeps of what it is given (secrets redacted, values cut), the API's enrol settings and config."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy.orm import Session

from cloud.api.routes.enrol import EnrolRequest
from cloud.config import load_cloud_config
from cloud.registry.enrolment import PREFIX, split_enrolment_token
from cloud.registry.models import NAME_LENGTH, AuditSource
from cloud.registry.operator_audit import MAX_TARGET_VALUE, REDACTED, record_action, redact
from eclor.errors import ConfigError

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
TOKEN_ID = "0123456789abcdef"
SECRET = "Tb0PmfIayh6VVa18vJkBfM4aXVLfHQ0c0eV4-LpS_YI"


@pytest.mark.parametrize(
    ("presented", "parts"),
    [
        (f"{PREFIX}{TOKEN_ID}_{SECRET}", (TOKEN_ID, SECRET)),
        (f"{PREFIX}{TOKEN_ID}_", ("", "")),
        (f"{PREFIX}{TOKEN_ID}", ("", "")),
        (f"{PREFIX}0123456789ABCDEF_{SECRET}", ("", "")),  # ids are lower-case hex
        (f"{PREFIX}0123456789abcde_{SECRET}", ("", "")),
        (f"eclor_{TOKEN_ID}_{SECRET}", ("", "")),  # an API token is not an enrolment token
        (f"{PREFIX}{TOKEN_ID}_{'x' * 300}", ("", "")),
        ("", ("", "")),
    ],
)
def test_split_enrolment_token(presented: str, parts: tuple[str, str]) -> None:
    assert split_enrolment_token(presented) == parts


@pytest.mark.parametrize(
    "secret",
    [
        f"eclor_{TOKEN_ID}_{SECRET}",
        f"{PREFIX}{TOKEN_ID}_{SECRET}",
    ],
)
def test_token_shaped_text_is_redacted(secret: str) -> None:
    assert redact(f"Bearer {secret} and more") == f"Bearer {REDACTED} and more"


def _row(
    *,
    at: datetime = NOW,
    actor: str = "ops",
    targets: dict[str, object] | None = None,
    detail: str = "",
) -> dict[str, object]:
    """What record_action makes of its arguments (a session without a database: nothing is
    sent anywhere)."""
    with Session() as session:
        row = record_action(
            session,
            at=at,
            source=AuditSource.API,
            actor=actor,
            method="post",
            action="/api/v1/gateways",
            status=201,
            targets=targets,
            detail=detail,
        )
        return {c: getattr(row, c) for c in ("actor", "method", "action", "targets", "detail")}


def test_the_audit_never_keeps_a_secret() -> None:
    row = _row(
        targets={"gateway_id": "cab-01", "password": "hunter2", "client_secret": "s3"},
        detail=f"tried eclor_{TOKEN_ID}_{SECRET}",
        actor=f"{PREFIX}{TOKEN_ID}_{SECRET}",
    )
    assert row["targets"] == {
        "gateway_id": "cab-01",
        "password": REDACTED,
        "client_secret": REDACTED,
    }
    assert SECRET not in str(row)
    assert row["method"] == "POST"


def test_audit_values_are_cut_to_their_columns() -> None:
    row = _row(
        actor="a" * 1000, targets={"device_id": "d" * 5000, **{f"k{i}": i for i in range(40)}}
    )
    assert len(str(row["actor"])) == NAME_LENGTH
    targets = row["targets"]
    assert isinstance(targets, dict)
    assert len(targets["device_id"]) == MAX_TARGET_VALUE
    assert len(targets) == 16


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        _row(at=NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    "gateway_id", ["Cab-01", "-cab", "cab 01", "c" * 64, "cab/01", "cab+01", ""]
)
def test_the_enrol_body_refuses_a_bad_gateway_id(gateway_id: str) -> None:
    with pytest.raises(ValueError, match="gateway_id"):
        EnrolRequest.model_validate({"token": "x", "gateway_id": gateway_id})


def test_the_enrol_body_refuses_unknown_keys() -> None:
    with pytest.raises(ValueError, match="site"):
        EnrolRequest.model_validate({"token": "x", "gateway_id": "cab-01", "site": "elsewhere"})


def test_config_public_broker_defaults_to_off_with_tls(tmp_path: Path) -> None:
    target = tmp_path / "cloud.yaml"
    target.write_text("api: {port: 8080}\n")
    api = load_cloud_config(target).api
    assert (api.mqtt_public_host, api.mqtt_public_port, api.mqtt_tls, api.mqtt_protocol) == (
        None,
        8883,
        True,
        "5",
    )


def test_config_public_broker(tmp_path: Path) -> None:
    target = tmp_path / "cloud.yaml"
    section = {"mqtt_public_host": "mqtt.eclor.example", "mqtt_public_port": 8884}
    target.write_text(yaml.safe_dump({"api": {**section, "mqtt_protocol": "3.1.1"}}))
    api = load_cloud_config(target).api
    assert (api.mqtt_public_host, api.mqtt_public_port, api.mqtt_protocol) == (
        "mqtt.eclor.example",
        8884,
        "3.1.1",
    )


@pytest.mark.parametrize(
    ("key", "value"), [("mqtt_protocol", "3"), ("mqtt_public_port", 0), ("mqtt_tls", "perhaps")]
)
def test_config_public_broker_refuses_bad_values(tmp_path: Path, key: str, value: object) -> None:
    target = tmp_path / "cloud.yaml"
    target.write_text(yaml.safe_dump({"api": {"mqtt_public_host": "mqtt.example", key: value}}))
    with pytest.raises(ConfigError, match=key):
        load_cloud_config(target)

"""Registry: API tokens (create, verify, expire, revoke) and the command audit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cloud.errors import Conflict, NotFound
from cloud.registry import (
    CommandState,
    Scope,
    attach_result,
    command_state,
    create_token,
    enroll_gateway,
    get_command,
    get_token,
    list_commands,
    list_tokens,
    record_command,
    revoke_token,
    upgrade,
    verify_token,
)
from tests.integration.test_registry_db import BACKENDS, clean_sessions, registry_engine

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


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


# -- API tokens ---------------------------------------------------------------------------------


def test_a_token_is_shown_once_and_stored_hashed(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        issued = create_token(s, "grafana", [Scope.ENERGY_MANAGER, "technician"], now=NOW)
    assert issued.secret.startswith(f"eclor_{issued.token.id}_")
    assert issued.secret not in repr(issued)
    with sessions.begin() as s:
        row = get_token(s, issued.token.id)
        assert row.scopes == ["energy-manager", "technician"]
        assert row.secret_hash.startswith("sha256$")
        secret_part = issued.secret.rsplit("_", 1)[-1]
        assert secret_part not in row.secret_hash
        grant = verify_token(s, issued.secret, now=NOW + MINUTE)
    assert grant is not None
    assert grant.scopes == {Scope.ENERGY_MANAGER, Scope.TECHNICIAN}
    assert (grant.token_id, grant.name, grant.expires_at) == (issued.token.id, "grafana", None)


def test_verification_refuses_anything_else(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        good = create_token(s, "ops", [Scope.ADMIN], now=NOW).secret
        other = create_token(s, "ops-2", [Scope.ADMIN], now=NOW).secret
    token_id = good.split("_")[1]
    wrong_secret = f"eclor_{token_id}_{other.split('_', 2)[2]}"
    for presented in [
        "",
        "Bearer " + good,
        good[:-1],
        good + "x",
        wrong_secret,
        "eclor_" + "0" * 16 + "_" + good.split("_", 2)[2],
        "eclor_short_secret",
        good.replace("eclor_", "eclox_"),
    ]:
        with sessions() as s:
            assert verify_token(s, presented, now=NOW) is None, presented


def test_expired_and_revoked_tokens_are_refused(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        expiring = create_token(s, "temp", ["public"], now=NOW, expires_at=NOW + HOUR)
        revoked = create_token(s, "old", ["admin"], now=NOW - HOUR)
        assert verify_token(s, expiring.secret, now=NOW + HOUR - MINUTE) is not None
        assert verify_token(s, expiring.secret, now=NOW + HOUR) is None
        revoke_token(s, revoked.token.id, now=NOW + MINUTE)
        revoke_token(s, revoked.token.id, now=NOW + HOUR)
        assert verify_token(s, revoked.secret, now=NOW + 2 * MINUTE) is None
        with pytest.raises(NotFound):
            revoke_token(s, "0123456789abcdef", now=NOW)
    with sessions() as s:
        assert get_token(s, revoked.token.id).revoked_at == NOW + MINUTE
        assert [t.name for t in list_tokens(s)] == ["old", "temp"]
        assert [t.name for t in list_tokens(s, include_revoked=False)] == ["temp"]


def test_last_used_is_written_at_most_once_a_minute(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        token = create_token(s, "api", ["public"], now=NOW).secret
    for seconds in (0, 30, 59, 60, 61):
        with sessions.begin() as s:
            assert verify_token(s, token, now=NOW + timedelta(seconds=seconds)) is not None
    with sessions() as s:
        assert [t.last_used_at for t in list_tokens(s)] == [NOW + MINUTE]


def test_token_arguments_are_checked(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        with pytest.raises(ValueError, match="unknown scope 'root'"):
            create_token(s, "x", ["root"], now=NOW)
        with pytest.raises(ValueError, match="at least one scope"):
            create_token(s, "x", [], now=NOW)
        with pytest.raises(ValueError, match="not after"):
            create_token(s, "x", ["public"], now=NOW, expires_at=NOW)
        with pytest.raises(ValueError, match="token name"):
            create_token(s, "  ", ["public"], now=NOW)
        with pytest.raises(ValueError, match="naive"):
            verify_token(s, "eclor_x", now=NOW.replace(tzinfo=None))


# -- command audit ------------------------------------------------------------------------------


def dim(s: Session, command_id: str, at: datetime = NOW, gateway: str = "cab-01") -> None:
    record_command(
        s,
        command_id,
        gateway_id=gateway,
        kind="dim",
        target="group:main-street",
        args={"level_pct": 50, "fade_s": 2.8},
        issued_by="token:ops",
        issued_at=at,
        expires_at=at + 15 * MINUTE,
    )


@pytest.fixture
def fleet(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with sessions.begin() as s:
        enroll_gateway(s, "cab-01", now=NOW)
        enroll_gateway(s, "cab-02", now=NOW)
    return sessions


def test_command_lifecycle(fleet: sessionmaker[Session]) -> None:
    with fleet.begin() as s:
        dim(s, "cmd-1")
        command = get_command(s, "cmd-1")
        assert command_state(command, NOW + MINUTE) is CommandState.PENDING
        assert command_state(command, NOW + 15 * MINUTE) is CommandState.EXPIRED
    with fleet.begin() as s:
        assert attach_result(
            s, "cab-01", "cmd-1", ok=True, at=NOW + MINUTE, detail="", observed={"level_pct": 50}
        )
        assert not attach_result(s, "cab-01", "cmd-1", ok=False, at=NOW + 2 * MINUTE)
    with fleet() as s:
        command = get_command(s, "cmd-1")
        assert (command.result_ok, command.result_at, command.result_observed) == (
            True,
            NOW + MINUTE,
            {"level_pct": 50},
        )
        assert command.args == {"level_pct": 50, "fade_s": 2.8}
        assert (command.issued_by, command.expires_at) == ("token:ops", NOW + 15 * MINUTE)
        assert command_state(command, NOW + HOUR) is CommandState.SUCCEEDED


def test_failed_command(fleet: sessionmaker[Session]) -> None:
    with fleet.begin() as s:
        dim(s, "cmd-1")
        attach_result(s, "cab-01", "cmd-1", ok=False, at=NOW, detail="x" * 5000)
        command = get_command(s, "cmd-1")
    assert command_state(command, NOW) is CommandState.FAILED
    assert command.result_detail == "x" * 1024


def test_command_conflicts_and_unknowns(fleet: sessionmaker[Session]) -> None:
    with fleet.begin() as s:
        dim(s, "cmd-1")
        with pytest.raises(Conflict, match="cmd-1"):
            dim(s, "cmd-1", gateway="cab-02")
        with pytest.raises(NotFound, match="gateway"):
            dim(s, "cmd-2", gateway="cab-09")
        with pytest.raises(NotFound, match="cab-02/cmd-1"):
            attach_result(s, "cab-02", "cmd-1", ok=True, at=NOW)
        with pytest.raises(NotFound):
            attach_result(s, "cab-01", "cmd-9", ok=True, at=NOW)
        with pytest.raises(ValueError, match="expires after"):
            record_command(
                s, "cmd-3", gateway_id="cab-01", kind="dim", target="group:a", args={},
                issued_by="x", issued_at=NOW, expires_at=NOW,
            )  # fmt: skip
        with pytest.raises(ValueError, match="command id"):
            dim(s, "cmd 3")
    with fleet() as s:
        assert get_command(s, "cmd-1").result_ok is None


def test_list_commands(fleet: sessionmaker[Session]) -> None:
    with fleet.begin() as s:
        dim(s, "cmd-1", NOW)
        dim(s, "cmd-2", NOW + MINUTE)
        dim(s, "cmd-3", NOW + 2 * MINUTE, gateway="cab-02")
        attach_result(s, "cab-01", "cmd-2", ok=True, at=NOW + 2 * MINUTE)
    with fleet() as s:
        assert [c.command_id for c in list_commands(s)] == ["cmd-3", "cmd-2", "cmd-1"]
        assert [c.command_id for c in list_commands(s, gateway_id="cab-01")] == ["cmd-2", "cmd-1"]
        assert [c.command_id for c in list_commands(s, without_result=True)] == ["cmd-3", "cmd-1"]
        assert [c.command_id for c in list_commands(s, limit=1)] == ["cmd-3"]

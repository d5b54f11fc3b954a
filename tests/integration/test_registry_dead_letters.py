"""Registry: dead letters (rejected messages kept for diagnosis, bounded)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cloud.registry import (
    add_dead_letter,
    count_dead_letters_by_reason,
    list_dead_letters,
    prune_dead_letters,
    upgrade,
)
from cloud.registry.dead_letters import MAX_PAYLOAD_BYTES
from tests.integration.test_registry_db import BACKENDS, clean_sessions, registry_engine

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


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


def test_a_dead_letter_keeps_a_bounded_copy(sessions: sessionmaker[Session]) -> None:
    big = bytes(range(256)) * 1024  # 256 KiB, not UTF-8
    with sessions.begin() as s:
        add_dead_letter(
            s,
            received_at=NOW,
            topic="eclor/v1/cab-01/telemetry",
            reason="decode_error",
            detail="expected an object (at $.readings[3])",
            payload=big,
        )
        add_dead_letter(
            s, received_at=NOW, topic="eclor/v1/cab-01/event", reason="x", payload=b"{}"
        )
    with sessions() as s:
        small, kept = list_dead_letters(s)
    assert len(kept.payload) == MAX_PAYLOAD_BYTES
    assert kept.payload == big[:MAX_PAYLOAD_BYTES]
    assert (kept.payload_size, kept.truncated) == (len(big), True)
    assert (kept.gateway_guess, kept.reason, kept.received_at) == ("cab-01", "decode_error", NOW)
    assert kept.detail == "expected an object (at $.readings[3])"
    assert (small.payload, small.truncated) == (b"{}", False)


def test_text_from_the_wire_is_cleaned(sessions: sessionmaker[Session]) -> None:
    topic = "eclor/v1/Cab\x00 01/" + "x" * 2000 + "\udcff"
    with sessions.begin() as s:
        add_dead_letter(
            s,
            received_at=NOW,
            topic=topic,
            reason="bad_topic\x00" + "r" * 100,
            detail="d\x00" * 2000,
            payload=b"",
        )
        add_dead_letter(
            s, received_at=NOW, topic="junk", reason="bad_topic", payload=b"", gateway_guess="A/B"
        )
    with sessions() as s:
        explicit, letter = list_dead_letters(s)
    assert letter.gateway_guess is None
    assert explicit.gateway_guess is None
    assert "\x00" not in letter.topic
    assert len(letter.topic) == 512
    assert letter.reason.startswith("bad_topic\ufffd")
    assert len(letter.reason) == 64
    assert "\x00" not in letter.detail
    assert len(letter.detail) == 1024


def test_list_count_and_prune(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        for i in range(5):
            add_dead_letter(
                s,
                received_at=NOW + i * MINUTE,
                topic=f"eclor/v1/cab-0{i % 2}/telemetry",
                reason="unknown_gateway" if i % 2 else "decode_error",
                payload=b"x",
            )
        with pytest.raises(ValueError, match="reason"):
            add_dead_letter(s, received_at=NOW, topic="t", reason=" ", payload=b"")
    with sessions.begin() as s:
        everything = list_dead_letters(s)
        assert [d.received_at for d in everything] == [NOW + i * MINUTE for i in (4, 3, 2, 1, 0)]
        first_page = list_dead_letters(s, limit=2)
        second_page = list_dead_letters(s, limit=2, before_id=first_page[-1].id)
        assert [d.id for d in first_page + second_page] == [d.id for d in everything[:4]]
        assert len(list_dead_letters(s, reason="unknown_gateway")) == 2
        assert len(list_dead_letters(s, gateway="cab-00")) == 3
        assert count_dead_letters_by_reason(s) == {"decode_error": 3, "unknown_gateway": 2}
        assert count_dead_letters_by_reason(s, since=NOW + 3 * MINUTE) == {
            "decode_error": 1,
            "unknown_gateway": 1,
        }
        assert prune_dead_letters(s, received_before=NOW + 2 * MINUTE) == 2
    with sessions() as s:
        assert len(list_dead_letters(s)) == 3

"""Registry, on SQLite and PostgreSQL: enrolment tokens (shown once, hashed, single use even
under concurrency, expiry, revocation, site and gateway binding, re-enrolment rotating the
password) and the operator audit's storage and paging."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cloud.errors import Conflict, NotFound
from cloud.registry import (
    SiteKind,
    add_commune,
    add_site,
    check_gateway_password,
    enroll_gateway,
    get_gateway,
    revoke_gateway,
    upgrade,
)
from cloud.registry.enrolment import (
    MAX_LIFETIME,
    PREFIX,
    Redeemed,
    Refusal,
    Refused,
    create_enrolment_token,
    get_enrolment_token,
    list_enrolment_tokens,
    redeem_enrolment_token,
    revoke_enrolment_token,
)
from cloud.registry.models import AuditSource, Gateway
from cloud.registry.operator_audit import audit_page, record_action
from tests.integration.test_registry_db import BACKENDS, clean_sessions, registry_engine

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
SITE = "cab-thil-04"
OTHER_SITE = "cab-vil-01"


@pytest.fixture(scope="module", params=BACKENDS)
def migrated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    for engine in registry_engine(request, tmp_path_factory.mktemp("registry")):
        upgrade(engine)
        yield engine


@pytest.fixture
def sessions(migrated: Engine) -> Iterator[sessionmaker[Session]]:
    for factory in clean_sessions(migrated):
        with factory.begin() as s:
            add_commune(s, "57672", "Thil")
            for site in (SITE, OTHER_SITE):
                add_site(
                    s,
                    site,
                    name=site,
                    commune="57672",
                    kind=SiteKind.CABINET,
                    latitude=49.47,
                    longitude=5.91,
                )
        yield factory


def issue(
    sessions: sessionmaker[Session],
    site: str = SITE,
    *,
    gateway_id: str | None = None,
    lifetime: timedelta = timedelta(hours=1),
) -> str:
    with sessions.begin() as s:
        issued = create_enrolment_token(
            s, site, now=NOW, created_by="ops", lifetime=lifetime, gateway_id=gateway_id
        )
        return issued.secret


def redeem(
    sessions: sessionmaker[Session], token: str, gateway_id: str, at: datetime = NOW
) -> Redeemed | Refused:
    with sessions.begin() as s:
        return redeem_enrolment_token(s, token, gateway_id, now=at)


def redeemed(outcome: Redeemed | Refused) -> Redeemed:
    assert isinstance(outcome, Redeemed), outcome
    return outcome


def refusal(outcome: Redeemed | Refused) -> Refusal:
    assert isinstance(outcome, Refused), outcome
    return outcome.reason


# -- creation -----------------------------------------------------------------------------------


def test_a_token_is_shown_once_and_stored_hashed(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        issued = create_enrolment_token(
            s, SITE, now=NOW, created_by="j.dupont@ops", gateway_id="cab-new-01"
        )
    assert issued.secret.startswith(f"{PREFIX}{issued.token.id}_")
    assert issued.secret not in repr(issued)
    with sessions() as s:
        row = get_enrolment_token(s, issued.token.id)
        secret = issued.secret.rsplit("_", 1)[1]
        assert row.secret_hash.startswith("sha256$")
        assert secret not in row.secret_hash
        assert (row.site_id, row.gateway_id, row.created_by) == (SITE, "cab-new-01", "j.dupont@ops")
        assert row.expires_at == NOW + timedelta(hours=1)
        assert row.used_at is None


def test_creation_refusals(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        with pytest.raises(NotFound, match="site"):
            create_enrolment_token(s, "nowhere", now=NOW, created_by="ops")
        with pytest.raises(ValueError, match="gateway id"):
            create_enrolment_token(s, SITE, now=NOW, created_by="ops", gateway_id="Bad Id")
        for lifetime in (timedelta(0), -timedelta(minutes=1), MAX_LIFETIME + timedelta(seconds=1)):
            with pytest.raises(ValueError, match="lifetime"):
                create_enrolment_token(s, SITE, now=NOW, created_by="ops", lifetime=lifetime)
        with pytest.raises(ValueError, match="naive"):
            create_enrolment_token(s, SITE, now=NOW.replace(tzinfo=None), created_by="ops")
    with sessions() as s:
        assert list_enrolment_tokens(s) == []


# -- redemption ---------------------------------------------------------------------------------


def test_a_token_enrols_a_gateway_at_its_site_once(sessions: sessionmaker[Session]) -> None:
    token = issue(sessions)
    done = redeemed(redeem(sessions, token, "cab-new-01"))
    assert (done.site_id, done.rotated) == (SITE, False)
    with sessions() as s:
        gateway = get_gateway(s, "cab-new-01")
        assert gateway.site_id == SITE
        assert check_gateway_password(s, "cab-new-01", done.enrolment.password) is not None
        row = get_enrolment_token(s, done.token_id)
        assert (row.used_at, row.used_by_gateway) == (NOW, "cab-new-01")
    again = redeem(sessions, token, "cab-new-01", NOW + timedelta(seconds=1))
    assert again == Refused(Refusal.USED, done.token_id)
    assert refusal(redeem(sessions, token, "cab-new-02")) is Refusal.USED


def test_concurrent_redemptions_one_wins(sessions: sessionmaker[Session]) -> None:
    token = issue(sessions)
    start = threading.Barrier(6)

    def attempt(n: int) -> Redeemed | Refused:
        start.wait()
        return redeem(sessions, token, f"cab-race-{n}")

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(attempt, range(6)))
    winners = [o for o in outcomes if isinstance(o, Redeemed)]
    assert len(winners) == 1
    assert {refusal(o) for o in outcomes if o is not winners[0]} == {Refusal.USED}
    with sessions() as s:
        assert get_enrolment_token(s, winners[0].token_id).used_by_gateway == (
            winners[0].enrolment.gateway.id
        )
        enrolled = [n for n in range(6) if s.get(Gateway, f"cab-race-{n}")]
        assert len(enrolled) == 1


def test_a_redemption_waiting_on_another_finds_the_token_used(
    sessions: sessionmaker[Session],
) -> None:
    """The second redemption reads the token as unused, then waits for the first transaction
    (PostgreSQL: on the row; SQLite: at BEGIN) and must not enrol its gateway."""
    token = issue(sessions)
    with sessions.begin() as first:
        redeemed(redeem_enrolment_token(first, token, "cab-first", now=NOW))
        with ThreadPoolExecutor(1) as pool:
            second = pool.submit(redeem, sessions, token, "cab-second")
            time.sleep(0.5)
            assert not second.done(), "the second redemption should wait for the first"
            first.commit()
            outcome = second.result(timeout=30)
    assert refusal(outcome) is Refusal.USED
    with sessions() as s:
        with pytest.raises(NotFound):
            get_gateway(s, "cab-second")
        assert get_gateway(s, "cab-first").site_id == SITE


def test_expiry(sessions: sessionmaker[Session]) -> None:
    token = issue(sessions, lifetime=timedelta(minutes=10))
    expires = NOW + timedelta(minutes=10)
    assert refusal(redeem(sessions, token, "cab-late", expires)) is Refusal.EXPIRED
    assert refusal(redeem(sessions, token, "cab-late", expires + timedelta(days=1))) is (
        Refusal.EXPIRED
    )
    redeemed(redeem(sessions, token, "cab-in-time", expires - timedelta(microseconds=1)))


def test_a_revoked_token_is_refused(sessions: sessionmaker[Session]) -> None:
    token = issue(sessions)
    token_id = token[len(PREFIX) :].split("_")[0]
    with sessions.begin() as s:
        revoke_enrolment_token(s, token_id, now=NOW)
    with sessions.begin() as s:
        revoke_enrolment_token(s, token_id, now=NOW + timedelta(hours=1))
    with sessions() as s:
        assert get_enrolment_token(s, token_id).revoked_at == NOW
    assert redeem(sessions, token, "cab-new-01") == Refused(Refusal.REVOKED, token_id)
    with sessions.begin() as s, pytest.raises(NotFound):
        revoke_enrolment_token(s, "0123456789abcdef", now=NOW)


def test_wrong_unknown_and_malformed_tokens_are_invalid(sessions: sessionmaker[Session]) -> None:
    token = issue(sessions)
    forged = token[: token.rindex("_") + 1] + "A" * 43
    for presented in (forged, f"{PREFIX}0123456789abcdef_{'A' * 43}", "eclor-enrol", ""):
        assert redeem(sessions, presented, "cab-new-01") == Refused(Refusal.INVALID)
    redeemed(redeem(sessions, token, "cab-new-01"))


def test_a_token_bound_to_a_gateway_enrols_only_that_one(sessions: sessionmaker[Session]) -> None:
    token = issue(sessions, gateway_id="cab-new-01")
    assert refusal(redeem(sessions, token, "cab-new-02")) is Refusal.OTHER_GATEWAY
    assert redeemed(redeem(sessions, token, "cab-new-01")).enrolment.gateway.id == "cab-new-01"


def test_a_token_never_takes_a_gateway_of_another_site(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        enroll_gateway(s, "cab-vil-01", now=NOW, site_id=OTHER_SITE)
        enroll_gateway(s, "cab-nowhere", now=NOW)
    token = issue(sessions)
    for gateway in ("cab-vil-01", "cab-nowhere"):
        with sessions() as s, pytest.raises(Conflict, match="another site"):
            redeem_enrolment_token(s, token, gateway, now=NOW)
    with sessions() as s:  # rolled back: the token is unused, the gateway untouched
        assert get_gateway(s, "cab-vil-01").site_id == OTHER_SITE
        assert list_enrolment_tokens(s)[0].used_at is None
    redeemed(redeem(sessions, token, "cab-thil-new"))


def test_re_enrolment_at_the_same_site_rotates_the_password(
    sessions: sessionmaker[Session],
) -> None:
    first = redeemed(redeem(sessions, issue(sessions), "cab-new-01"))
    later = NOW + timedelta(hours=2)
    second = redeemed(
        redeem(sessions, issue(sessions, lifetime=timedelta(hours=3)), "cab-new-01", later)
    )
    assert second.rotated
    assert second.enrolment.password != first.enrolment.password
    with sessions() as s:
        assert check_gateway_password(s, "cab-new-01", first.enrolment.password) is None
        assert check_gateway_password(s, "cab-new-01", second.enrolment.password) is not None
        gateway = get_gateway(s, "cab-new-01")
        assert (gateway.enrolled_at, gateway.credential_issued_at) == (NOW, later)


def test_a_revoked_gateway_stays_revoked(sessions: sessionmaker[Session]) -> None:
    redeemed(redeem(sessions, issue(sessions), "cab-new-01"))
    with sessions.begin() as s:
        revoke_gateway(s, "cab-new-01", now=NOW)
    token = issue(sessions)
    with sessions() as s, pytest.raises(Conflict, match="revoked"):
        redeem_enrolment_token(s, token, "cab-new-01", now=NOW)


def test_a_bad_gateway_id_is_a_value_error(sessions: sessionmaker[Session]) -> None:
    token = issue(sessions)
    with sessions() as s, pytest.raises(ValueError, match="gateway id"):
        redeem_enrolment_token(s, token, "Not/An/Id", now=NOW)


def test_tokens_list_newest_first_by_site(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        for minutes, site in enumerate((SITE, OTHER_SITE, SITE)):
            at = NOW + timedelta(minutes=minutes)
            create_enrolment_token(s, site, now=at, created_by="ops")
    with sessions() as s:
        assert [t.site_id for t in list_enrolment_tokens(s)] == [SITE, OTHER_SITE, SITE]
        mine = list_enrolment_tokens(s, site_id=SITE)
        assert [t.created_at for t in mine] == [NOW + timedelta(minutes=2), NOW]


# -- operator audit -----------------------------------------------------------------------------


def test_audit_pages_newest_first(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        for n in range(5):
            record_action(
                s,
                at=NOW + timedelta(seconds=n),
                source=AuditSource.API,
                actor="ops",
                token_id="a" * 16 if n % 2 else "b" * 16,
                method="POST",
                action="/api/v1/gateways/{gateway_id}/devices",
                targets={"gateway_id": f"cab-{n}"},
                status=201,
                client="2001:db8::1",
            )
    with sessions() as s:
        page, more = audit_page(s, before=None, limit=2)
        assert more
        assert [r.targets["gateway_id"] for r in page] == ["cab-4", "cab-3"]
        rest, more = audit_page(s, before=page[-1].id, limit=10)
        assert not more
        assert [r.targets["gateway_id"] for r in rest] == ["cab-2", "cab-1", "cab-0"]
        assert rest[0].at == NOW + timedelta(seconds=2)
        assert rest[0].client == "2001:db8::1"
        odd, _ = audit_page(s, before=None, limit=10, token_id="a" * 16)
        assert [r.targets["gateway_id"] for r in odd] == ["cab-3", "cab-1"]

"""Enrolment tokens: a gateway enrols itself with a one-time token an operator created for it.

A token reads ``eclor-enrol_<id>_<secret>`` (the prefix tells it from an API token): the id (16
hex characters) is public and finds the row, the secret (256 bits) is stored only as a hash and
compared in constant time (:mod:`cloud.registry.credentials`). It is shown once, at creation.

A token is **bound to a site** (the gateway it enrols joins that site) and optionally **to one
gateway id**; it is **short-lived** (:data:`MAX_LIFETIME` at most) and **single use**: redeeming
claims it with one conditional ``UPDATE … WHERE used_at IS NULL AND revoked_at IS NULL AND
expires_at > now``, so of two concurrent redemptions exactly one matches a row, on SQLite
(writers queue behind ``BEGIN IMMEDIATE``) as on PostgreSQL (the second ``UPDATE`` waits for the
first transaction and then finds the row used).

Redeeming (:func:`redeem_enrolment_token`) either enrols a new gateway at the token's site, or,
when the gateway already exists **at that same site** and is not revoked, gives it a new MQTT
password (the old one stops working): provisioning can be run again safely with a fresh token. A
gateway of another site (or of none), or a revoked one, is a :class:`~cloud.errors.Conflict`:
an enrolment token never moves a gateway between sites, takes over one that no operator placed
at its site, or undoes a revocation. Any exception leaves the token unused once the caller rolls
its transaction back (it is claimed in the same transaction), so a technician can correct a typo
and retry.

A refused token is a value (:class:`Refusal`), not an exception: the API answers the first four
kinds alike, so a caller cannot tell an unknown token from a used, expired or revoked one.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cloud.errors import Conflict
from cloud.registry._rows import (
    check_aware,
    check_gateway_id,
    check_name,
    insert,
    require,
    rowcount,
)
from cloud.registry.credentials import UNUSABLE_HASH, hash_secret, new_secret, secret_matches
from cloud.registry.gateways import Enrolment, enroll_gateway, rotate_gateway_password
from cloud.registry.models import NAME_LENGTH, EnrolmentToken, Gateway, Site

PREFIX = "eclor-enrol_"
ID_BYTES = 8
DEFAULT_LIFETIME = timedelta(hours=1)
MAX_LIFETIME = timedelta(days=3)
"""Long enough to hand a token to a technician the day before a visit, short enough that a
forgotten one soon stops mattering."""
MAX_TOKEN_LENGTH = 200
"""Longer strings are refused without a database lookup."""


class Refusal(enum.StrEnum):
    """Why a presented enrolment token was refused."""

    INVALID = "invalid"
    """Malformed, unknown id, or wrong secret."""
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"
    OTHER_GATEWAY = "other_gateway"
    """A valid token bound to another gateway id than the one asked for (not used up)."""


@dataclass(frozen=True)
class IssuedEnrolmentToken:
    """A new enrolment token's row and the token itself, shown this once and never stored."""

    token: EnrolmentToken
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Redeemed:
    """A redeemed token: the gateway and its new MQTT password (shown once, never stored)."""

    token_id: str
    site_id: str
    enrolment: Enrolment
    rotated: bool
    """True when the gateway existed and got a new password, False when it was enrolled."""


@dataclass(frozen=True)
class Refused:
    """A refused token; ``token_id`` is set when it names a real token (for the audit)."""

    reason: Refusal
    token_id: str | None = None


def create_enrolment_token(
    session: Session,
    site_id: str,
    *,
    now: datetime,
    created_by: str,
    lifetime: timedelta = DEFAULT_LIFETIME,
    gateway_id: str | None = None,
) -> IssuedEnrolmentToken:
    """A token enrolling one gateway (``gateway_id``, or any) at ``site_id``, valid for
    ``lifetime`` from ``now``. :class:`NotFound` for an unknown site; :class:`ValueError` for a
    bad id or a lifetime outside (0, :data:`MAX_LIFETIME`]."""
    check_aware("now", now)
    check_name("created_by", created_by, NAME_LENGTH)
    if gateway_id is not None:
        check_gateway_id(gateway_id)
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        most = MAX_LIFETIME // timedelta(minutes=1)
        raise ValueError(
            f"lifetime of {lifetime.total_seconds() / 60:g} minutes: more than 0, at most {most}"
        )
    require(session, Site, site_id, "site")
    token_id = secrets.token_hex(ID_BYTES)
    secret = new_secret()
    row = EnrolmentToken(
        id=token_id,
        secret_hash=hash_secret(secret),
        site_id=site_id,
        gateway_id=gateway_id,
        created_by=created_by,
        created_at=now,
        expires_at=now + lifetime,
    )
    insert(session, row, "enrolment token", token_id)
    return IssuedEnrolmentToken(row, f"{PREFIX}{token_id}_{secret}")


def redeem_enrolment_token(
    session: Session, presented: str, gateway_id: str, *, now: datetime
) -> Redeemed | Refused:
    """Enrol ``gateway_id`` with the token ``presented`` (module doc), claiming the token.

    :class:`ValueError` for a bad gateway id; :class:`Conflict` when the gateway exists at
    another site or at none, is revoked, or its MQTT username is taken. On any exception the
    caller rolls back, which leaves the token unused."""
    check_aware("now", now)
    check_gateway_id(gateway_id)
    row = _find(session, presented)
    if row is None:
        return Refused(Refusal.INVALID)
    refusal = _refusal(row, gateway_id, now)
    if refusal is not None:
        return Refused(refusal, row.id)
    if not _claim(session, row.id, gateway_id, now):
        return Refused(Refusal.USED, row.id)  # a concurrent redemption won
    enrolment, rotated = _enrol(session, gateway_id, row.site_id, now)
    return Redeemed(row.id, row.site_id, enrolment, rotated)


def revoke_enrolment_token(session: Session, token_id: str, *, now: datetime) -> EnrolmentToken:
    """Refuse the token from now on; revoking twice keeps the first time. A used token stays
    used (revoking it changes nothing it could still do)."""
    row = get_enrolment_token(session, token_id)
    if row.revoked_at is None:
        row.revoked_at = check_aware("now", now)
    return row


def get_enrolment_token(session: Session, token_id: str) -> EnrolmentToken:
    return require(session, EnrolmentToken, token_id, "enrolment token")


def list_enrolment_tokens(
    session: Session, *, site_id: str | None = None, limit: int = 100
) -> list[EnrolmentToken]:
    """Newest first."""
    query = select(EnrolmentToken).order_by(
        EnrolmentToken.created_at.desc(), EnrolmentToken.id.desc()
    )
    if site_id is not None:
        query = query.where(EnrolmentToken.site_id == site_id)
    return list(session.scalars(query.limit(limit)))


def split_enrolment_token(presented: str) -> tuple[str, str]:
    """``(id, secret)`` of a well-formed enrolment token, else ``("", "")``."""
    if len(presented) > MAX_TOKEN_LENGTH or not presented.startswith(PREFIX):
        return "", ""
    token_id, sep, secret = presented[len(PREFIX) :].partition("_")
    hex_digits = set("0123456789abcdef")
    if not sep or len(token_id) != 2 * ID_BYTES or not set(token_id) <= hex_digits or not secret:
        return "", ""
    return token_id, secret


def _find(session: Session, presented: str) -> EnrolmentToken | None:
    """The token's row when its id exists and its secret matches (compared in constant time,
    against a dummy hash when there is no row)."""
    token_id, secret = split_enrolment_token(presented)
    row = session.get(EnrolmentToken, token_id) if token_id else None
    matches = secret_matches(secret, row.secret_hash if row is not None else UNUSABLE_HASH)
    return row if row is not None and matches else None


def _refusal(row: EnrolmentToken, gateway_id: str, now: datetime) -> Refusal | None:
    if row.used_at is not None:
        return Refusal.USED
    if row.revoked_at is not None:
        return Refusal.REVOKED
    if now >= row.expires_at:
        return Refusal.EXPIRED
    if row.gateway_id is not None and row.gateway_id != gateway_id:
        return Refusal.OTHER_GATEWAY
    return None


def _claim(session: Session, token_id: str, gateway_id: str, now: datetime) -> bool:
    """Mark the token used, if it still is usable at this instant (module doc)."""
    result = session.execute(
        update(EnrolmentToken)
        .where(EnrolmentToken.id == token_id)
        .where(EnrolmentToken.used_at.is_(None))
        .where(EnrolmentToken.revoked_at.is_(None))
        .where(EnrolmentToken.expires_at > now)
        .values(used_at=now, used_by_gateway=gateway_id)
        .execution_options(synchronize_session="fetch")
    )
    return rowcount(result) == 1


def _enrol(
    session: Session, gateway_id: str, site_id: str, now: datetime
) -> tuple[Enrolment, bool]:
    gateway = session.get(Gateway, gateway_id)
    if gateway is None:  # the token's site exists: its foreign key keeps it
        try:
            return enroll_gateway(session, gateway_id, now=now, site_id=site_id), False
        except Conflict:  # the username is another gateway's: do not name that one
            raise Conflict("gateway", gateway_id, "its MQTT username is taken") from None
    if gateway.site_id != site_id:
        raise Conflict("gateway", gateway_id, "exists at another site (or at none)")
    password = rotate_gateway_password(session, gateway_id, now=now)  # Conflict when revoked
    return Enrolment(gateway, password), True

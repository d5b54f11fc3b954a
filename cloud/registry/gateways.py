"""Gateways: enrolment, MQTT credentials, revocation, and what the ingest learns about them.

A gateway's MQTT username defaults to its id; the broker ACL lets that username touch only
``eclor/v1/<id>/…``. Its password is a random secret returned once by :func:`enroll_gateway` or
:func:`rotate_gateway_password` and stored hashed (:mod:`cloud.registry.credentials`), and also
in Mosquitto's own hash (``broker_hash``, :mod:`cloud.broker_config.passwords`), made at the same
moment, from which ``eclor cloud broker-config`` writes the broker's password file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from cloud.broker_config.passwords import mosquitto_hash
from cloud.errors import Conflict, NotFound
from cloud.registry._rows import check_aware, check_gateway_id, insert, require, rowcount
from cloud.registry.credentials import (
    UNUSABLE_HASH,
    hash_secret,
    new_secret,
    secret_matches,
)
from cloud.registry.models import Gateway, GatewayStatus, Site


@dataclass(frozen=True)
class Enrolment:
    """A gateway and its MQTT password, which is shown this once and never stored."""

    gateway: Gateway
    password: str = field(repr=False)


def enroll_gateway(
    session: Session,
    gateway_id: str,
    *,
    now: datetime,
    site_id: str | None = None,
    mqtt_username: str | None = None,
) -> Enrolment:
    """Register a gateway with a fresh MQTT password. :class:`Conflict` if the id or the
    username is taken, :class:`NotFound` if the site is unknown."""
    check_gateway_id(gateway_id)
    username = check_gateway_id(mqtt_username or gateway_id)
    check_aware("now", now)
    if site_id is not None:
        require(session, Site, site_id, "site")
    if session.get(Gateway, gateway_id) is not None:
        raise Conflict("gateway", gateway_id, "already exists")
    taken = session.scalar(select(Gateway.id).where(Gateway.mqtt_username == username))
    if taken is not None:
        raise Conflict("gateway", gateway_id, f"MQTT username {username!r} belongs to {taken!r}")
    password = new_secret()
    gateway = Gateway(
        id=gateway_id,
        site_id=site_id,
        mqtt_username=username,
        credential_hash=hash_secret(password),
        broker_hash=mosquitto_hash(password),
        enrolled_at=now,
        credential_issued_at=now,
        revoked=False,
        status=GatewayStatus.UNKNOWN,
    )
    return Enrolment(insert(session, gateway, "gateway", gateway_id), password)


def get_gateway(session: Session, gateway_id: str) -> Gateway:
    return require(session, Gateway, gateway_id, "gateway")


def list_gateways(
    session: Session,
    *,
    site_id: str | None = None,
    status: GatewayStatus | None = None,
    include_revoked: bool = True,
) -> list[Gateway]:
    query = select(Gateway).order_by(Gateway.id)
    if site_id is not None:
        query = query.where(Gateway.site_id == site_id)
    if status is not None:
        query = query.where(Gateway.status == status)
    if not include_revoked:
        query = query.where(Gateway.revoked.is_(False))
    return list(session.scalars(query))


def set_gateway_site(session: Session, gateway_id: str, site_id: str | None) -> Gateway:
    gateway = get_gateway(session, gateway_id)
    if site_id is not None:
        require(session, Site, site_id, "site")
    gateway.site_id = site_id
    return gateway


def rotate_gateway_password(session: Session, gateway_id: str, *, now: datetime) -> str:
    """A new MQTT password for the gateway (the old one stops working); returned this once."""
    gateway = get_gateway(session, gateway_id)
    if gateway.revoked:
        raise Conflict("gateway", gateway_id, "is revoked")
    password = new_secret()
    gateway.credential_hash = hash_secret(password)
    gateway.broker_hash = mosquitto_hash(password)
    gateway.credential_issued_at = check_aware("now", now)
    return password


def revoke_gateway(session: Session, gateway_id: str, *, now: datetime) -> Gateway:
    """Refuse the gateway from now on: its password is forgotten. Revoking twice is harmless."""
    gateway = get_gateway(session, gateway_id)
    if not gateway.revoked:
        gateway.revoked = True
        gateway.revoked_at = check_aware("now", now)
        gateway.credential_hash = None
        gateway.broker_hash = None
    return gateway


def check_gateway_password(session: Session, username: str, password: str) -> Gateway | None:
    """The gateway that ``username`` and ``password`` identify, or ``None`` (unknown user,
    wrong password, revoked gateway); for a broker's authentication hook."""
    gateway = session.scalar(select(Gateway).where(Gateway.mqtt_username == username))
    stored = gateway.credential_hash if gateway is not None else None
    matches = secret_matches(password, stored or UNUSABLE_HASH)
    if gateway is None or stored is None or gateway.revoked or not matches:
        return None
    return gateway


def record_gateway_seen(session: Session, gateway_id: str, at: datetime) -> None:
    """The cloud heard from the gateway at ``at`` (its own clock); ``last_seen_at`` only moves
    forward, so messages handled out of order cannot move it back."""
    check_aware("at", at)
    result = session.execute(
        update(Gateway)
        .where(Gateway.id == gateway_id)
        .where(or_(Gateway.last_seen_at.is_(None), Gateway.last_seen_at < at))
        .values(last_seen_at=at)
        .execution_options(synchronize_session="fetch")
    )
    if rowcount(result) == 0 and session.get(Gateway, gateway_id) is None:
        raise NotFound("gateway", gateway_id)

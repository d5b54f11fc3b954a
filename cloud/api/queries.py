"""Registry reads the API needs beyond :mod:`cloud.registry`: keyset pages and the gateways of a
site or commune. Read-only, on the registry's models, inside the caller's session."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.registry.models import Device, Gateway, GatewayStatus, Site


def gateway_page(
    session: Session,
    *,
    after: str | None,
    limit: int,
    site_id: str | None = None,
    status: GatewayStatus | None = None,
) -> tuple[list[Gateway], bool]:
    """Up to ``limit`` gateways with ids after ``after``, by id; and whether more follow."""
    query = select(Gateway).order_by(Gateway.id).limit(limit + 1)
    if after is not None:
        query = query.where(Gateway.id > after)
    if site_id is not None:
        query = query.where(Gateway.site_id == site_id)
    if status is not None:
        query = query.where(Gateway.status == status)
    rows = list(session.scalars(query))
    return rows[:limit], len(rows) > limit


def device_page(
    session: Session, gateway_id: str, *, after: str | None, limit: int
) -> tuple[list[Device], bool]:
    """Up to ``limit`` devices of a gateway with ids after ``after``; and whether more follow."""
    query = (
        select(Device)
        .where(Device.gateway_id == gateway_id)
        .order_by(Device.device_id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(Device.device_id > after)
    rows = list(session.scalars(query))
    return rows[:limit], len(rows) > limit


def gateways_of_site(session: Session, site_id: str) -> list[str]:
    query = select(Gateway.id).where(Gateway.site_id == site_id).order_by(Gateway.id)
    return list(session.scalars(query))


def gateways_of_commune(session: Session, insee_code: str) -> list[str]:
    query = (
        select(Gateway.id)
        .join(Site, Gateway.site_id == Site.id)
        .where(Site.commune_insee == insee_code)
        .order_by(Gateway.id)
    )
    return list(session.scalars(query))

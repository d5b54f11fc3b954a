"""Communes and sites: where gateways stand."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.registry._rows import check_gateway_id, check_name, insert, require
from cloud.registry.models import NAME_LENGTH, Commune, Site, SiteKind

INSEE_CODE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
"""Five digits, or 2A/2B and three digits for Corsica (e.g. 57683 Villerupt)."""
DEFAULT_TIMEZONE = "Europe/Paris"


def add_commune(session: Session, insee_code: str, name: str) -> Commune:
    if not INSEE_CODE.fullmatch(insee_code):
        raise ValueError(f"INSEE code {insee_code!r}: five digits (2A/2B and three for Corsica)")
    check_name("commune name", name, NAME_LENGTH)
    return insert(session, Commune(insee_code=insee_code, name=name), "commune", insee_code)


def get_commune(session: Session, insee_code: str) -> Commune:
    return require(session, Commune, insee_code, "commune")


def list_communes(session: Session) -> list[Commune]:
    return list(session.scalars(select(Commune).order_by(Commune.insee_code)))


def add_site(
    session: Session,
    site_id: str,
    *,
    name: str,
    commune: str,
    kind: SiteKind,
    latitude: float,
    longitude: float,
    timezone: str = DEFAULT_TIMEZONE,
    opening_hours: Mapping[str, Any] | None = None,
) -> Site:
    """A site; ``site_id`` follows the gateway id rule; ``commune`` is an INSEE code."""
    kind = SiteKind(kind)
    _check_site(site_id, name, kind, latitude, longitude, timezone, opening_hours)
    get_commune(session, commune)
    site = Site(
        id=site_id,
        name=name,
        commune_insee=commune,
        kind=kind,
        latitude=latitude,
        longitude=longitude,
        timezone=timezone,
        opening_hours=None if opening_hours is None else dict(opening_hours),
    )
    return insert(session, site, "site", site_id)


def get_site(session: Session, site_id: str) -> Site:
    return require(session, Site, site_id, "site")


def list_sites(
    session: Session, *, kind: SiteKind | None = None, commune: str | None = None
) -> list[Site]:
    query = select(Site).order_by(Site.id)
    if kind is not None:
        query = query.where(Site.kind == kind)
    if commune is not None:
        query = query.where(Site.commune_insee == commune)
    return list(session.scalars(query))


def set_opening_hours(session: Session, site_id: str, opening_hours: Mapping[str, Any]) -> Site:
    site = get_site(session, site_id)
    _check_opening_hours(site.kind, opening_hours)
    site.opening_hours = dict(opening_hours)
    return site


def _check_site(
    site_id: str,
    name: str,
    kind: SiteKind,
    latitude: float,
    longitude: float,
    timezone: str,
    opening_hours: Mapping[str, Any] | None,
) -> None:
    try:
        check_gateway_id(site_id)
    except ValueError:
        raise ValueError(f"site id {site_id!r}: same rule as a gateway id") from None
    check_name("site name", name, NAME_LENGTH)
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValueError(f"position ({latitude}, {longitude}) is not WGS-84 degrees")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"time zone {timezone!r} is not an IANA zone name") from None
    if opening_hours is not None:
        _check_opening_hours(kind, opening_hours)


def _check_opening_hours(kind: SiteKind, opening_hours: Mapping[str, Any]) -> None:
    if kind is not SiteKind.WASTE_CENTRE:
        raise ValueError(f"opening hours are for waste centres, not a {kind.value} site")

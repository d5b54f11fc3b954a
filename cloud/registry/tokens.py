"""API tokens for the operator API: created with scopes, verified on each request, revoked.

A token reads ``eclor_<id>_<secret>``: the id (16 hex characters) is public and finds the row;
the secret (43 URL-safe characters, 256 bits) is stored only as a hash and compared in constant
time (:mod:`cloud.registry.credentials`). The whole token is returned once, at creation.
``last_used_at`` is written at most once a minute per token, so verification does not turn every
API request into a write.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.registry._rows import check_aware, check_name, insert, require
from cloud.registry.credentials import UNUSABLE_HASH, hash_secret, new_secret, secret_matches
from cloud.registry.models import NAME_LENGTH, ApiToken, Scope

PREFIX = "eclor_"
ID_BYTES = 8
LAST_USED_RESOLUTION = timedelta(minutes=1)
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedToken:
    """A new token's row and the token itself, which is shown this once and never stored."""

    token: ApiToken
    secret: str = field(repr=False)


@dataclass(frozen=True)
class TokenGrant:
    """What a verified token may do."""

    token_id: str
    name: str
    scopes: frozenset[Scope]
    expires_at: datetime | None


def create_token(
    session: Session,
    name: str,
    scopes: Iterable[Scope | str],
    *,
    now: datetime,
    expires_at: datetime | None = None,
) -> IssuedToken:
    """A new token with ``scopes`` (at least one); ``expires_at`` after ``now``, or never."""
    check_name("token name", name, NAME_LENGTH)
    chosen = _scopes(scopes)
    check_aware("now", now)
    if expires_at is not None and check_aware("expires_at", expires_at) <= now:
        raise ValueError(f"expires_at {expires_at.isoformat()} is not after {now.isoformat()}")
    token_id = secrets.token_hex(ID_BYTES)
    secret = new_secret()
    row = ApiToken(
        id=token_id,
        name=name,
        scopes=sorted(s.value for s in chosen),
        secret_hash=hash_secret(secret),
        created_at=now,
        expires_at=expires_at,
    )
    insert(session, row, "API token", token_id)
    return IssuedToken(row, f"{PREFIX}{token_id}_{secret}")


def verify_token(session: Session, presented: str, *, now: datetime) -> TokenGrant | None:
    """The grant of a valid token, or ``None`` for anything else (malformed, unknown, wrong
    secret, expired, revoked), so that the API answers all of those alike."""
    check_aware("now", now)
    token_id, secret = _split(presented)
    row = session.get(ApiToken, token_id) if token_id else None
    matches = secret_matches(secret, row.secret_hash if row is not None else UNUSABLE_HASH)
    refusal = _refusal(row, matches, now)
    if row is None or refusal is not None:
        _log.debug("API token %s refused: %s", token_id or "(malformed)", refusal)
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
    return TokenGrant(row.id, row.name, frozenset(Scope(s) for s in row.scopes), row.expires_at)


def revoke_token(session: Session, token_id: str, *, now: datetime) -> ApiToken:
    """Refuse the token from now on; revoking twice keeps the first time."""
    row = get_token(session, token_id)
    if row.revoked_at is None:
        row.revoked_at = check_aware("now", now)
    return row


def get_token(session: Session, token_id: str) -> ApiToken:
    return require(session, ApiToken, token_id, "API token")


def list_tokens(session: Session, *, include_revoked: bool = True) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(query))


def _scopes(scopes: Iterable[Scope | str]) -> frozenset[Scope]:
    chosen: set[Scope] = set()
    for scope in scopes:
        try:
            chosen.add(Scope(scope))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise ValueError(f"unknown scope {scope!r} (known: {known})") from None
    if not chosen:
        raise ValueError("a token needs at least one scope")
    return frozenset(chosen)


def _split(presented: str) -> tuple[str, str]:
    """``(id, secret)`` of a well-formed token, else ``("", "")``."""
    if not presented.startswith(PREFIX):
        return "", ""
    token_id, sep, secret = presented[len(PREFIX) :].partition("_")
    if not sep or len(token_id) != 2 * ID_BYTES or not secret:
        return "", ""
    return token_id, secret


def _refusal(row: ApiToken | None, matches: bool, now: datetime) -> str | None:
    if row is None:
        return "unknown or malformed"
    if not matches:
        return "wrong secret"
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and now >= row.expires_at:
        return "expired"
    return None

"""Helpers shared by the registry modules: fetch-or-NotFound, insert-or-Conflict, checks."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import CursorResult, Result
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cloud.errors import Conflict, NotFound
from cloud.registry.models import Base
from eclor.wire.names import DEVICE_ID_PATTERN
from eclor.wire.topics import GATEWAY_ID_PATTERN

Row = TypeVar("Row", bound=Base)

_GATEWAY_ID = re.compile(GATEWAY_ID_PATTERN)
_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)


def require(session: Session, model: type[Row], key: Any, kind: str) -> Row:
    """The row of ``model`` with primary key ``key``, or :class:`NotFound`."""
    row = session.get(model, key)
    if row is None:
        raise NotFound(kind, show_key(key))
    return row


def insert(session: Session, row: Row, kind: str, key: Any) -> Row:
    """Add ``row`` and flush it in a SAVEPOINT, so that a duplicate key raises :class:`Conflict`
    and leaves the caller's transaction usable. The caller checks references beforehand."""
    if session.get(type(row), key) is not None:
        raise Conflict(kind, show_key(key), "already exists")
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as error:  # a concurrent insert of the same key, or a unique column
        raise Conflict(
            kind, show_key(key), f"refused by the database: {_first_line(error)}"
        ) from None
    return row


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE or DELETE."""
    return result.rowcount if isinstance(result, CursorResult) else 0


def show_key(key: Any) -> str:
    return "/".join(map(str, key)) if isinstance(key, tuple) else str(key)


def check_gateway_id(gateway_id: str) -> str:
    if not _GATEWAY_ID.fullmatch(gateway_id):
        raise ValueError(
            f"gateway id {gateway_id!r}: 1-63 characters of a-z, 0-9, '-' and '_', starting with "
            "a letter or a digit"
        )
    return gateway_id


def check_device_id(device_id: str) -> str:
    if not _DEVICE_ID.fullmatch(device_id):
        raise ValueError(
            f"device id {device_id!r}: 1-63 characters of A-Z, a-z, 0-9, '_', '.', ':' and '-', "
            "starting with a letter or a digit"
        )
    return device_id


def check_aware(name: str, moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} {moment.isoformat()} is naive: pass an aware UTC datetime")
    return moment


def check_name(what: str, value: str, limit: int) -> str:
    if not value.strip() or len(value) > limit:
        raise ValueError(f"{what} {value!r}: 1-{limit} characters, not only blanks")
    return value


def _first_line(error: IntegrityError) -> str:
    lines = str(error.orig).strip().splitlines()
    return lines[0] if lines else type(error.orig).__name__

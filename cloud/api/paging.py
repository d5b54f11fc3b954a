"""Keyset paging: ``?limit=&cursor=``, a ``next`` link in the body and a ``Link`` header.

A cursor is opaque to clients: base64url of ``1:<last key of the page>``. Pages are ordered by
key, so rows added or removed while a client pages neither repeat nor shift the pages after. The
``next`` link is a relative reference (path and query of this request with the new cursor), right
behind any proxy; absent on the last page.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Query
from starlette.requests import Request

from cloud.api.problems import invalid_param

_VERSION = "1:"
MAX_CURSOR_LENGTH = 200

Limit = Annotated[int | None, Query(ge=1, description="Items per page (default 50, at most 500)")]
Cursor = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_LENGTH, description="The cursor of a `next` link"),
]


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode((_VERSION + key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The key after which the page starts; 422 for a cursor this API did not issue."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(_VERSION) or len(text) == len(_VERSION):
        raise invalid_param("query", "cursor", "not a cursor from a `next` link of this API")
    return text[len(_VERSION) :]


def page_size(limit: int | None, default: int, maximum: int) -> int:
    if limit is None:
        return default
    if limit > maximum:
        raise invalid_param("query", "limit", f"at most {maximum}")
    return limit


def next_link(request: Request, last_key: str | None) -> str | None:
    """This request's path and query with the cursor after ``last_key`` (None: no next page)."""
    if last_key is None:
        return None
    url = request.url.include_query_params(cursor=encode_cursor(last_key))
    return f"{url.path}?{url.query}"


def link_header(next_url: str | None) -> dict[str, str]:
    return {} if next_url is None else {"Link": f'<{next_url}>; rel="next"'}

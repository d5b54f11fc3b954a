"""ETags, 304 and Cache-Control for GET responses.

A cacheable answer is serialised once; its ETag is a hash of those bytes (strong: the API does not
re-encode bodies), and an ``If-None-Match`` that names it (weak comparison, ``*`` included) gets
``304 Not Modified`` with the same ETag and Cache-Control and no body. Operator data sits behind
a bearer token, so every policy is ``private``: browsers may keep it, shared caches must not.

How long a client may reuse an answer without asking follows how often the data changes:

==================  =========  ==================================================================
policy              max-age    why
==================  =========  ==================================================================
``REGISTRY``        15 s       gateways and devices change with status messages (every ~60 s)
``LATEST``          10 s       devices are polled every 5-60 s; a reading is at most a poll old
``ENERGY_OPEN``     60 s       a summary that includes today (or yesterday's late data)
``ENERGY_CLOSED``   3600 s     only past days; they change only when a gateway back from an outage
                               uploads its backlog, so an hour of reuse is harmless
==================  =========  ==================================================================
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

NO_STORE = "no-store"


@dataclass(frozen=True, slots=True)
class CachePolicy:
    max_age_s: int

    @property
    def header(self) -> str:
        return f"private, max-age={self.max_age_s}"


REGISTRY = CachePolicy(15)
LATEST = CachePolicy(10)
ENERGY_OPEN = CachePolicy(60)
ENERGY_CLOSED = CachePolicy(3600)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak comparison, RFC 9110 13.1.2)."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == wanted:
            return True
    return False


def cached_json(
    request: Request,
    model: BaseModel,
    policy: CachePolicy,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """``model`` as JSON with its ETag and ``policy``, or a bodiless 304 when the client has it."""
    body = model.model_dump_json().encode()
    etag = etag_of(body)
    sent = {**(headers or {}), "ETag": etag, "Cache-Control": policy.header}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=sent)
    return Response(body, media_type="application/json", headers=sent)


def uncached_json(
    model: BaseModel, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """``model`` as JSON that no cache may keep (answers carrying a secret, write results)."""
    sent = {**(headers or {}), "Cache-Control": NO_STORE, "Pragma": "no-cache"}
    return Response(
        model.model_dump_json().encode(),
        status_code=status_code,
        media_type="application/json",
        headers=sent,
    )

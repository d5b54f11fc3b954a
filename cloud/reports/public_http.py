"""Answers of the public (tokenless) API: shared caches may keep them.

The operator API's policies (:mod:`cloud.api.caching`) are ``private``; public data is the same
for everyone, so a CDN or a municipal proxy may serve it. ETag and 304 as in the operator API.
Every public answer says ``X-Content-Type-Options: nosniff``: a browser must take JSON and images
for what they are declared, never guess HTML out of a resident's text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from cloud.api.caching import CachePolicy, etag_matches, etag_of

NOSNIFF = {"X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True, slots=True)
class PublicCachePolicy(CachePolicy):
    @property
    def header(self) -> str:
        return f"public, max-age={self.max_age_s}"


ALERTS = PublicCachePolicy(60)
"""Alerts change rarely, but a new one should reach phones within a minute."""
REPORTS = PublicCachePolicy(30)
"""Someone who just reported should find the report in the nearby list soon."""
SERVICES = PublicCachePolicy(3600)
"""The Open311 service list changes with a release."""
PHOTO = PublicCachePolicy(86_400)
"""A public photo copy never changes (its name is new for each upload)."""


def public_bytes(
    request: Request,
    body: bytes,
    media_type: str,
    policy: CachePolicy,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """``body`` with its ETag and ``policy``, or a bodiless 304 when the client has it."""
    etag = etag_of(body)
    sent = {**(headers or {}), **NOSNIFF, "ETag": etag, "Cache-Control": policy.header}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=sent)
    return Response(body, media_type=media_type, headers=sent)


def public_json(
    request: Request,
    model: BaseModel,
    policy: CachePolicy,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = model.model_dump_json().encode()
    return public_bytes(request, body, "application/json", policy, headers)

"""The residents' page at ``/`` and its static assets (:mod:`cloud.web`).

Assets are served under ``/assets/<version>/<name>``, the version being a hash of their bytes: a
browser may keep them a year (``immutable``), and a new release changes their address. The page
itself is revalidated at each visit (``no-cache`` with an ETag), so a new release is seen at once.
Every answer carries a strict Content-Security-Policy: nothing but this origin, no inline script
or style, no frames. Not in the OpenAPI document: these are a page, not API operations.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from fastapi import APIRouter, Request
from starlette.responses import Response

from cloud.api.caching import etag_matches, etag_of
from cloud.api.problems import NOT_FOUND, ApiProblem

router = APIRouter(include_in_schema=False)

ASSETS = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
    "frame-ancestors 'none'"
)
SECURITY = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
}
YEAR = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Site:
    version: str
    page: bytes
    assets: dict[str, bytes]

    @property
    def total_bytes(self) -> int:
        return len(self.page) + sum(len(body) for body in self.assets.values())


@cache
def site() -> Site:
    """The page and assets, read once from the package."""
    folder = resources.files("cloud.web")
    assets = {name: folder.joinpath(name).read_bytes() for name in ASSETS}
    digest = hashlib.sha256(b"".join(assets[name] for name in sorted(assets)))
    version = digest.hexdigest()[:12]
    page = folder.joinpath("index.html").read_bytes().replace(b"{{version}}", version.encode())
    return Site(version, page, assets)


@router.get("/")
async def page(request: Request) -> Response:
    built = site()
    etag = etag_of(built.page)
    headers = {**SECURITY, "ETag": etag, "Cache-Control": "no-cache"}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(built.page, media_type="text/html; charset=utf-8", headers=headers)


@router.get("/assets/{version}/{name}")
async def asset(version: str, name: str) -> Response:
    built = site()
    if version != built.version or name not in ASSETS:
        raise ApiProblem(NOT_FOUND, f"no asset {name!r} in version {version!r}")
    return Response(
        built.assets[name], media_type=ASSETS[name], headers={**SECURITY, "Cache-Control": YEAR}
    )

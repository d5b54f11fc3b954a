"""``GET /api/v1/audit``: the operator audit, newest first, a page at a time (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from cloud.api.audit import AuditEntry, AuditPage
from cloud.api.auth import ADMIN_SCOPES, Principal, require_scope
from cloud.api.caching import CachePolicy, cached_json
from cloud.api.deps import Ctx
from cloud.api.paging import Cursor, Limit, decode_cursor, link_header, next_link, page_size
from cloud.api.problems import invalid_param, problem_responses
from cloud.api.routes import API_PREFIX
from cloud.registry.operator_audit import audit_page

router = APIRouter(prefix=f"{API_PREFIX}/audit", tags=["audit"])
Admin = Annotated[Principal, Depends(require_scope(ADMIN_SCOPES))]
AUDIT = CachePolicy(0)
"""Revalidate every time (ETag): a new action must show at once."""


@router.get(
    "",
    response_model=AuditPage,
    summary="Operator audit",
    description=(
        "Every state-changing operator call, enrolment attempt and security command of the CLI: "
        "who (token id and name, never a secret), when, method, route or command, target ids, "
        "outcome status, client address. Newest first; `token_id` keeps one token's actions. "
        "Scope: admin."
    ),
    responses=problem_responses(401, 403, 422, 429, 503),
)
async def list_audit(
    request: Request,
    ctx: Ctx,
    _: Admin,
    limit: Limit = None,
    cursor: Cursor = None,
    token_id: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    size = page_size(limit, ctx.settings.page_size, ctx.settings.max_page_size)
    after = decode_cursor(cursor)
    if after is not None and not (after.isdigit() and len(after) <= 18):
        raise invalid_param("query", "cursor", "not a cursor from a `next` link of this API")
    before = int(after) if after is not None else None

    def read(session: Session) -> tuple[list[AuditEntry], bool]:
        rows, more = audit_page(session, before=before, limit=size, token_id=token_id)
        return [AuditEntry.of(row) for row in rows], more

    items, more = await ctx.in_registry(read)
    link = next_link(request, str(items[-1].id) if more and items else None)
    return cached_json(request, AuditPage(items=items, next=link), AUDIT, link_header(link))

"""A resident's report as it arrives: JSON, or multipart form fields with optional photos.

:func:`read_report` answers the checked :class:`~cloud.reports.views.ReportDraft` and the photos'
bytes, or raises an :class:`~cloud.api.problems.ApiProblem` naming the refused field:

- another content type → 415;
- a field missing, of the wrong type, too long, out of range or outside the territory → 422
  (``errors[].loc`` is ``["body", "<field>"]``);
- more photos than allowed → 422; a photo over the byte limit → 413 (read no further than one
  byte past the limit); photo types and contents are checked later by
  :func:`cloud.reports.photos.check_photo`.

Nothing is stored here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from cloud.api.deps import ApiSettings
from cloud.api.problems import INVALID, TOO_LARGE, ApiProblem, InvalidParam, ProblemKind
from cloud.reports.views import ReportDraft

UNSUPPORTED = ProblemKind("unsupported-media-type", 415, "Unsupported media type")
PHOTO_FIELD = "photos"
MAX_FORM_FIELDS = 20
MAX_FIELD_BYTES = 16_384


async def read_report(request: Request, settings: ApiSettings) -> tuple[ReportDraft, list[bytes]]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json":
        return draft_of(_json_object(await request.body()), settings), []
    if media_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return await _read_form(request, settings)
    raise ApiProblem(
        UNSUPPORTED,
        "send the report as application/json, or as multipart/form-data to attach photos",
    )


def draft_of(fields: Mapping[str, Any], settings: ApiSettings) -> ReportDraft:
    """The checked draft of ``fields``, inside the territory's box when one is configured."""
    try:
        draft = ReportDraft.model_validate(dict(fields))
    except ValidationError as error:
        raise validation_problem(error) from None
    bounds = settings.report_bounds
    if bounds is not None:
        west, south, east, north = bounds
        if not south <= draft.lat <= north:
            raise _invalid("lat", f"outside the territory ({south}..{north})")
        if not west <= draft.long <= east:
            raise _invalid("long", f"outside the territory ({west}..{east})")
    return draft


def validation_problem(error: ValidationError) -> ApiProblem:
    errors = [
        InvalidParam(loc=["body", *e["loc"]], msg=e["msg"], type=e["type"])
        for e in error.errors(include_url=False, include_input=False)
    ]
    named = ", ".join(".".join(map(str, e.loc[1:])) or "body" for e in errors[:5])
    return ApiProblem(INVALID, f"{len(errors)} invalid field(s): {named}", errors=errors)


def _invalid(field: str, message: str) -> ApiProblem:
    error = InvalidParam(loc=["body", field], msg=message, type="value_error")
    return ApiProblem(INVALID, f"field {field!r}: {message}", errors=[error])


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise _invalid("body", "not valid JSON") from None
    if not isinstance(value, dict):
        raise _invalid("body", "a JSON object is expected")
    return value


async def _read_form(request: Request, settings: ApiSettings) -> tuple[ReportDraft, list[bytes]]:
    try:
        async with request.form(
            max_files=settings.report_max_photos + 1,
            max_fields=MAX_FORM_FIELDS,
            max_part_size=MAX_FIELD_BYTES,
        ) as form:
            return await _parse_form(form, settings)
    except HTTPException as exc:  # Starlette's multipart limits: too many files, fields, a big part
        field = PHOTO_FIELD if "files" in str(exc.detail) else "body"
        limit = f"at most {settings.report_max_photos} photos"
        raise _invalid(field, f"{exc.detail} ({limit})") from None


async def _parse_form(form: FormData, settings: ApiSettings) -> tuple[ReportDraft, list[bytes]]:
    fields: dict[str, Any] = {}
    uploads: list[UploadFile] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if name != PHOTO_FIELD:
                raise _invalid(name, f"files are taken only in the field {PHOTO_FIELD!r}")
            uploads.append(value)
        elif name == PHOTO_FIELD:
            raise _invalid(PHOTO_FIELD, "a file is expected")
        elif name in fields:
            raise _invalid(name, "given more than once")
        else:
            fields[name] = value
    draft = draft_of({k: v for k, v in fields.items() if v != ""}, settings)
    if len(uploads) > settings.report_max_photos:
        raise _invalid(PHOTO_FIELD, f"at most {settings.report_max_photos} photos")
    if uploads and settings.report_photo_dir is None:
        raise _invalid(PHOTO_FIELD, "this server takes no photos")
    photos = [
        await _read_upload(i, u, settings.report_max_photo_bytes) for i, u in enumerate(uploads)
    ]
    return draft, photos


async def _read_upload(index: int, upload: UploadFile, max_bytes: int) -> bytes:
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        error = InvalidParam(
            loc=["body", PHOTO_FIELD, index], msg=f"at most {max_bytes} bytes", type="too_large"
        )
        raise ApiProblem(
            TOO_LARGE, f"photos[{index}]: larger than {max_bytes} bytes", errors=[error]
        )
    return data

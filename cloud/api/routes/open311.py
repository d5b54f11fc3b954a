"""Open311 GeoReport v2 compatibility layer over the reports."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()

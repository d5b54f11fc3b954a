"""History export for mobility and planning studies (operator API, CSV)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()

"""Energy and savings per cabinet, commune and territory (operator API)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()

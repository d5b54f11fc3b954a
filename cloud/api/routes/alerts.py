"""CAP-shaped alerts: public list, operator create/update/cancel."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()

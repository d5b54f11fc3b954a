"""Lighting programs, overrides and adaptive policies (operator API)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()

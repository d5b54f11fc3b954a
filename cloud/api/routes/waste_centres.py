"""Waste centres with their live wait and forecast (public API)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()

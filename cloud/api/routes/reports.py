"""Residents' dumping reports (public create/list, operator status)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()

"""The residents' page at ``/`` and its static assets."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()

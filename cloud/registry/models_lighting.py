"""Registry tables of lighting control: programs, overrides, adaptive policies."""

from __future__ import annotations

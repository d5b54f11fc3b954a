"""Registry tables of alerts and residents' reports."""

from __future__ import annotations

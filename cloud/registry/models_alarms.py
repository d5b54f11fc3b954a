"""Registry tables of alarms and energy baselines."""

from __future__ import annotations

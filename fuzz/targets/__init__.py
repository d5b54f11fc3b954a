"""Fuzz targets: one module per thing under test, each with ``one_input`` and ``main``."""

from __future__ import annotations

TARGETS = ("wire", "modbus", "config")

"""Registry tables of waste centres (opening hours) and traffic stations."""

from __future__ import annotations

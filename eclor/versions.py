"""Versions of the installed distributions, for `info` commands and status messages."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def installed_version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def eclor_version() -> str:
    return installed_version("eclor") or "0+source"


def version_table(distributions: list[str]) -> list[tuple[str, str]]:
    """``(distribution, version or 'not installed')`` rows, in the order given."""
    return [(name, installed_version(name) or "not installed") for name in distributions]

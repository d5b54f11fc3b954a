"""Alembic environment of the registry (run through :mod:`cloud.registry.migrate`)."""

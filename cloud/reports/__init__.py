"""Residents' reports of illegal dumping: services, validation, photos, public and operator views.

Storage is in :mod:`cloud.registry.reports`; HTTP in :mod:`cloud.api.routes.reports` (our API)
and :mod:`cloud.api.routes.open311` (Open311 GeoReport v2 over the same rows).
"""

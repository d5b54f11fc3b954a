"""CAP 1.2-shaped alerts for residents: the operator's draft, the public view, polygons.

Storage and the message chain (Alert → Update → Cancel) are in :mod:`cloud.registry.alerts`;
the HTTP routes in :mod:`cloud.api.routes.alerts`.
"""

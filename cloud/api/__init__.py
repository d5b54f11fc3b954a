"""The operator API (FastAPI): ``create_app(ApiDeps(...))``.

==========================================================  ======  ===========================
endpoint                                                    scopes  module
==========================================================  ======  ===========================
``GET /healthz``, ``GET /metrics``, ``/docs``,              none    routes/service.py
``/openapi.json``
``GET /api/v1/gateways`` (paged), ``GET …/{gateway_id}``    read    routes/gateways.py
``POST /api/v1/gateways`` → MQTT credentials, once          admin   routes/gateways.py
``GET /api/v1/gateways/{g}/devices`` (paged), ``…/{d}``     read    routes/devices.py
``POST /api/v1/gateways/{g}/devices``                       admin   routes/devices.py
``GET /api/v1/gateways/{g}/devices/{d}/readings/latest``    read    routes/readings.py
``GET /api/v1/{gateways,sites,communes}/{id}/energy/daily`` read    routes/energy.py
==========================================================  ======  ===========================

read = ``technician``, ``energy-manager`` or ``admin`` (:mod:`cloud.api.auth`). The rest:
errors in :mod:`cloud.api.problems`, caching in :mod:`cloud.api.caching`, local days in
:mod:`cloud.api.localdays`, the failure limiter in :mod:`cloud.api.ratelimit`, metrics in
:mod:`cloud.api.metrics`.
"""

from cloud.api.app import create_app
from cloud.api.deps import ApiDeps, ApiSettings
from cloud.api.routes import API_PREFIX

__all__ = ["API_PREFIX", "ApiDeps", "ApiSettings", "create_app"]

"""The alarm kinds the cloud keeps a life cycle for (contract of issue 6)."""

from __future__ import annotations

EDGE_KINDS = frozenset(
    {
        "lampFailure",
        "gearFailure",
        "lampUnexpectedOn",
        "contactorError",
        "powerOutOfTolerance",
        "cabinetDoorOpen",
        "daliLineDown",
        "supplyLoss",
    }
)
"""Raised and cleared by the edge with ``event`` messages."""
GATEWAY_SILENT = "gatewaySilent"
DEVICE_SILENT = "deviceSilent"
CLOUD_KINDS = frozenset({GATEWAY_SILENT, DEVICE_SILENT})
"""Raised and cleared by the cloud's silence check (:mod:`cloud.alarms.silence`)."""
ALARM_KINDS = EDGE_KINDS | CLOUD_KINDS

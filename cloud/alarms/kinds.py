"""The alarm kinds the cloud keeps a life cycle for (contract of issue 6).

Alarms are named with TALQ's camelCase names (``lampFailure``). The wire's name rule
(``eclor.wire.names.NAME_PATTERN``) only admits lower-case snake case, so an edge may send
``lamp_failure``: :func:`canonical_kind` maps both spellings to the TALQ name.
"""

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


def canonical_kind(kind: str) -> str:
    """``lamp_failure`` → ``lampFailure``; a name without ``_`` is returned as it is."""
    if "_" not in kind:
        return kind
    head, *rest = kind.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)

"""Event kinds of the lighting back-ends, as sent on the wire.

The wire admits only lower-case snake case names (``eclor.wire.names.NAME_PATTERN``); the cloud
shows them under their TALQ camelCase names (``cloud.alarms.kinds.canonical_kind``:
``lamp_failure`` → ``lampFailure``).
"""

from __future__ import annotations

LAMP_FAILURE = "lamp_failure"
GEAR_FAILURE = "gear_failure"
DALI_LINE_DOWN = "dali_line_down"
LAMP_UNEXPECTED_ON = "lamp_unexpected_on"
CONTACTOR_ERROR = "contactor_error"
POWER_OUT_OF_TOLERANCE = "power_out_of_tolerance"
CABINET_DOOR_OPEN = "cabinet_door_open"

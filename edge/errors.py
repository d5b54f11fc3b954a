"""Errors of the edge agent.

"The device answered no" (a Modbus exception reply) is a value, not an exception: see
``edge.modbus.result.ExceptionReply``. "The transport failed" is an exception::

    EclorError (eclor.errors)
    ├── ConfigError (eclor.errors)     a gateway config or device profile that cannot be used
    └── EdgeError
        ├── TransportError             a request or its answer was not carried (.bus, .device)
        │   ├── DeviceTimeout          no answer within the device's timeout
        │   └── BusUnavailable         the serial port or TCP endpoint cannot be opened
        ├── DeviceUnavailable          the device's circuit breaker is open (.device, .retry_in_s)
        ├── OutboxError                the outbox cannot store or read (.path)
        │   └── OutboxCorrupt          SQLite integrity check failed on open
        └── CommandRejected            a command that will not be executed (.command_id, .reason)
"""

from __future__ import annotations

from eclor.errors import EclorError


class EdgeError(EclorError):
    """Root of the edge agent's own errors."""


class TransportError(EdgeError):
    def __init__(self, bus: str, device: str | None, reason: str) -> None:
        self.bus = bus
        self.device = device
        self.reason = reason
        where = f"{bus}/{device}" if device else bus
        super().__init__(f"{where}: {reason}")


class DeviceTimeout(TransportError):
    pass


class BusUnavailable(TransportError):
    pass


class DeviceUnavailable(EdgeError):
    def __init__(self, device: str, retry_in_s: float) -> None:
        self.device = device
        self.retry_in_s = retry_in_s
        super().__init__(f"{device}: circuit open, next try in {retry_in_s:.1f} s")


class OutboxError(EdgeError):
    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"outbox {path}: {reason}")


class OutboxCorrupt(OutboxError):
    pass


class CommandRejected(EdgeError):
    def __init__(self, command_id: str, reason: str) -> None:
        self.command_id = command_id
        self.reason = reason
        super().__init__(f"command {command_id}: {reason}")

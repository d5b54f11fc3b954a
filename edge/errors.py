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
        ├── CommandRejected            a command that will not be executed (.command_id, .reason)
        ├── ActuatorError              a lighting back-end did not take a level (.actuator, .reason)
        │   ├── DaliTimeout            a DALI send got no answer in time (USB/serial dongle stuck)
        │   ├── DaliLineUnavailable    the DALI interface cannot be opened or is reconnecting
        │   └── DaliBusFault           the interface answers but the DALI bus carries no frame
        └── ProvisionError             `eclor edge provision` cannot go on (password never shown)
            ├── AnswersError           flags or answers file incomplete or invalid (.problems)
            ├── AgentRunning           an agent already runs on this config: stop it first (.url)
            ├── CloudApiError          the cloud's API could not be used; nothing was written
            │   ├── CloudUnreachable   no HTTP answer: DNS, refused, timeout, TLS (.url, .reason)
            │   ├── NotAnEclorApi      an answer, but not the Eclor API's (.url, .status)
            │   ├── EnrolRefused       the cloud said no: used token, conflict… (.status, .detail)
            │   └── RateLimited        too many attempts: wait (.retry_after_s)
            └── ConfigWriteError       the new config does not validate or cannot be written (.path)
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


class ActuatorError(EdgeError):
    def __init__(self, actuator: str, reason: str) -> None:
        self.actuator = actuator
        self.reason = reason
        super().__init__(f"{actuator}: {reason}")


class DaliTimeout(ActuatorError):
    pass


class DaliLineUnavailable(ActuatorError):
    pass


class DaliBusFault(ActuatorError):
    """No bus power or a short: the gear fall to their SYSTEM FAILURE LEVEL after 550 ms."""


class ProvisionError(EdgeError):
    """Root of the provisioning errors."""


class AnswersError(ProvisionError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class AgentRunning(ProvisionError):
    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            f"an agent is running on this config (it answers on {url}): stop it first "
            "(systemctl stop eclor-edge), then run provision again"
        )


class CloudApiError(ProvisionError):
    """The cloud could not be used; the working config and password file are untouched."""


class CloudUnreachable(CloudApiError):
    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"no answer from the cloud API at {url}: {reason}")


class NotAnEclorApi(CloudApiError):
    def __init__(self, url: str, status: int, reason: str) -> None:
        self.url = url
        self.status = status
        self.reason = reason
        super().__init__(
            f"{url} answered HTTP {status} but is not the Eclor cloud API ({reason}): "
            "check the API URL (e.g. https://api.example.org, without /api/v1)"
        )


class EnrolRefused(CloudApiError):
    def __init__(self, status: int, title: str, detail: str) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        super().__init__(f"the cloud refused the enrolment (HTTP {status} {title}): {detail}")


class RateLimited(CloudApiError):
    def __init__(self, retry_after_s: float | None, detail: str) -> None:
        self.retry_after_s = retry_after_s
        wait = f"; retry in {retry_after_s:.0f} s" if retry_after_s is not None else ""
        super().__init__(f"the cloud is rate limiting enrolment attempts ({detail}){wait}")


class ConfigWriteError(ProvisionError):
    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")

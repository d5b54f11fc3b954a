"""Errors of the cloud services.

Every failure a cloud component raises on purpose is one of these, so a caller can decide by class
alone what to do with the work in hand (retry it, dead-letter it, or answer 400)::

    EclorError                        (eclor.errors)
    └── CloudError                    anything a cloud service raises on purpose
        ├── StoreError                the time-series store (cloud.store)
        │   ├── StoreUnavailable      transient: unreachable, 5xx, 429, auth refused, closed store
        │   │                         → the ingest does not ack and retries later (.reason)
        │   ├── StoreRejected         the data is bad: bad name or value, type conflict, too old
        │   │                         → the ingest dead-letters the batch (.reason, .index)
        │   └── QueryError            a query the store cannot answer: bad window, a function
        │                             that does not fit the field's type (.reason)
        ├── RegistryError             the registry refused an operation (cloud.registry)
        │   ├── NotFound              no such row (.kind, .key)
        │   └── Conflict              the row exists, or its state forbids it (.kind, .key, .reason)
        ├── BrokerConfigError         the broker's files could not be generated or applied
        │   ├── BrokerSettingsError   options that make no usable broker: no listener, a TLS file
        │   │                         missing, unreadable or not matching (.option, .reason)
        │   ├── RegistryContentError  a registry row that cannot go into the files safely
        │   └── ReloadError           the broker could not be told to reload (files are written)
        └── DashboardError            the boards' tooling (cloud.dashboards.errors)
            ├── BoardInvalid          a board breaks the schema or the layout (.board, .problems)
            └── GrafanaError          Grafana refused or could not be reached (.action, .reason)

Add new branches under :class:`CloudError`, one per component, and draw them here.
"""

from __future__ import annotations

from eclor.errors import EclorError


class CloudError(EclorError):
    """Root of the errors raised on purpose by the cloud services."""


class StoreError(CloudError):
    """The time-series store could not do what was asked."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class StoreUnavailable(StoreError):
    """The backend cannot be reached or cannot take the request now; the same request may succeed
    later. Nothing is known to be wrong with the data: do not ack, retry."""


class StoreRejected(StoreError):
    """The backend refused the data itself; retrying the same points fails the same way.

    ``index`` is the position of the first offending point in the batch when it is known (points
    are checked before anything is sent; a server-side refusal does not say which point).
    """

    def __init__(self, reason: str, index: int | None = None) -> None:
        self.index = index
        super().__init__(reason if index is None else f"point {index}: {reason}")
        self.reason = reason


class QueryError(StoreError):
    """A query the store cannot answer as asked (bad arguments, unsupported function for the
    field's type, a result too large). The store itself is fine."""


# -- registry (cloud.registry) ------------------------------------------------------------------


class RegistryError(CloudError):
    """The registry refused an operation; its database's own failures pass as SQLAlchemy's."""


class NotFound(RegistryError):
    """No ``kind`` (gateway, device, API token…) with key ``key``."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"no {kind} {key!r}")


class Conflict(RegistryError):
    """The ``kind`` with key ``key`` already exists, or is in a state that forbids the operation."""

    def __init__(self, kind: str, key: str, reason: str) -> None:
        self.kind = kind
        self.key = key
        self.reason = reason
        super().__init__(f"{kind} {key!r}: {reason}")


# -- broker config (cloud.broker_config) ----------------------------------------------------


class BrokerConfigError(CloudError):
    """Root of the errors of :mod:`cloud.broker_config`."""


class BrokerSettingsError(BrokerConfigError):
    """``option`` (a command-line option or a path) does not allow a working broker config."""

    def __init__(self, option: str, reason: str) -> None:
        self.option = option
        self.reason = reason
        super().__init__(f"{option}: {reason}")


class RegistryContentError(BrokerConfigError):
    """A registry row would break or widen the generated files; nothing was written."""


class ReloadError(BrokerConfigError):
    """The broker was not signalled; the files are written and apply at its next (re)start."""

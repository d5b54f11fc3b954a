"""A :class:`~simulators.state.CabinetState` that notices who writes it.

The cabinet model must tell its own writes (the built-in program) from anyone else's (the Modbus
cabinet controller executing an edge agent's coil or setpoint write), even when a write repeats
the current value. This subclass counts writes of ``contactors`` (item or whole list) and of
``dim_setpoint_pct`` made outside :meth:`WatchedCabinetState.by_model`. Faults (door, stuck
contactor) are not commands and are not counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from simulators.state import CabinetState

_COMMANDS = frozenset({"contactors", "dim_setpoint_pct"})


class _WatchedList(list[bool]):
    def __init__(self, items: Iterable[bool], on_write: Callable[[], None]) -> None:
        super().__init__(items)
        self._on_write = on_write

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(index, value)
        self._on_write()


class WatchedCabinetState(CabinetState):
    """Counts outside writes of commands in :attr:`external_writes`."""

    external_writes: int
    _by_model: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        object.__setattr__(self, "_by_model", True)
        object.__setattr__(self, "external_writes", 0)
        super().__init__(*args, **kwargs)
        object.__setattr__(self, "_by_model", False)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "contactors":
            value = _WatchedList(value, self._noticed)
        object.__setattr__(self, name, value)
        if name in _COMMANDS:
            self._noticed()

    def _noticed(self) -> None:
        if not self._by_model:
            object.__setattr__(self, "external_writes", self.external_writes + 1)

    @contextmanager
    def by_model(self) -> Iterator[None]:
        """Writes inside this block are the model's own."""
        previous = self._by_model
        object.__setattr__(self, "_by_model", True)
        try:
            yield
        finally:
            object.__setattr__(self, "_by_model", previous)

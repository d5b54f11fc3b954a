"""Errors of the DALI line simulator.

Conditions of the simulated line (a failed lamp, an unresponsive gear, a collision) are values,
not exceptions; only a request the line cannot carry out raises::

    DaliSimError
    └── BusDownError    a frame was sent while the bus had no power (``DaliLine.bus_failure()``)
"""

from __future__ import annotations


class DaliSimError(Exception):
    """Root of the errors raised on purpose by the DALI simulator."""


class BusDownError(DaliSimError):
    def __init__(self) -> None:
        super().__init__("the DALI bus has no power: nothing can be transmitted")

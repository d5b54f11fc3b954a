"""Opening a bus for a scan, and asking one unit who it is."""

from __future__ import annotations

import asyncio
import gc
import os
import termios
from collections.abc import Iterable

import serial
from pymodbus.exceptions import ModbusException

from edge.config import RtuBus
from edge.errors import BusUnavailable, DeviceTimeout
from edge.modbus.bus import Client, ModbusBus, make_client
from edge.profiles import Profile, default_profiles_dir, load_profiles
from edge.scan.identify import Recogniser
from edge.scan.results import Found, ScannedBus, bus_label

CONNECT_TIMEOUT_S = 5.0


def shipped_profiles() -> list[Profile]:
    """The profiles Eclor ships (``firmware_configs/profiles``)."""
    return list(load_profiles(default_profiles_dir()).values())


def recogniser_for(profiles: Iterable[Profile] | None) -> Recogniser:
    return Recogniser(shipped_profiles() if profiles is None else profiles)


async def open_bus(config: ScannedBus) -> ModbusBus:
    """A connected bus; :class:`BusUnavailable` saying why when the port or host refuses."""
    client = make_client(config)
    failure = await _connect(client, config)
    if failure is not None:
        client.close()
        raise BusUnavailable(config.name, None, f"cannot open {bus_label(config)}{failure}")
    return ModbusBus(config, client)


async def _connect(client: Client, config: ScannedBus) -> str | None:
    """``None`` once connected, else why not."""
    refused = ""
    try:
        connected = await asyncio.wait_for(client.connect(), CONNECT_TIMEOUT_S)
    except TimeoutError:
        return ": timed out"
    except termios.error as exc:  # pyserial lets the kernel's refusal of a setting through
        refused = str(exc.args[-1])
    except (OSError, ModbusException) as exc:
        return f": {exc}"
    if refused:
        # pymodbus opened the port, then failed to configure it and dropped the half-open port
        # in a reference cycle, still holding its exclusive lock: every later open of the port
        # would fail until the cycle is collected.
        gc.collect()
        return f": the port refuses these settings ({refused})"
    return None if connected else await _why(config)


async def _why(config: ScannedBus) -> str:
    """pymodbus only says "not connected": ask the system why, for the message."""
    if isinstance(config, RtuBus):
        return _why_serial(config)
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(config.host, config.port), CONNECT_TIMEOUT_S
        )
    except TimeoutError:
        return ": timed out"
    except OSError as exc:
        return f": {os.strerror(exc.errno) if exc.errno else exc}"
    writer.close()
    return ""


def _why_serial(config: RtuBus) -> str:
    settings = {"baudrate": config.baudrate, "parity": config.parity, "stopbits": config.stopbits}
    try:
        serial.Serial(config.port, **settings).close()
    except (OSError, termios.error, ValueError) as exc:  # SerialException is an OSError
        return f": {exc}"
    return ""


async def examine(bus: ModbusBus, unit: int, recogniser: Recogniser) -> Found | None:
    """What answers at ``unit``, or ``None`` when nobody does (one timeout)."""
    try:
        identification = await recogniser.identify(bus, unit)
    except DeviceTimeout:
        return None
    return Found(
        bus.config, unit, identification.candidates, identification.identity, identification.probe
    )

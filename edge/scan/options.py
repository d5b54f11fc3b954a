"""What a scan covers: unit ranges, serial line settings to try, TCP endpoints.

Parsers take what a technician types (``1-10,20``, ``9600,19200``, ``N,E``, ``10.0.0.5:502``)
and raise ``ValueError`` with a message fit to print.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Literal, cast

from edge.config import RtuBus, TcpBus
from edge.profiles import Profile

Parity = Literal["N", "E", "O"]
StopBits = Literal[1, 2]
BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
MODBUS_TCP_PORT = 502
SERIAL_UNITS = (1, 247)
TCP_UNITS = (0, 255)
_ENDPOINT = re.compile(
    r"""\[(?P<v6>[0-9A-Fa-f:.]+)\](?::(?P<p6>\d+))?   # [::1] or [::1]:1502
      | (?P<host>[^:\s\[\]]+)(?::(?P<port>\d+))?     # host or host:1502""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class LineSettings:
    """How a serial line is run; Modbus RTU always has 8 data bits."""

    baudrate: int = 9600
    parity: Parity = "N"
    stopbits: StopBits = 1

    def __str__(self) -> str:
        return f"{self.baudrate} 8{self.parity}{self.stopbits}"

    def bus(self, port: str, timeout_ms: int) -> RtuBus:
        return RtuBus(
            kind="rtu",
            name=bus_name(port),
            port=port,
            baudrate=self.baudrate,
            parity=self.parity,
            stopbits=self.stopbits,
            timeout_ms=timeout_ms,
        )


def factory_settings(profiles: Iterable[Profile]) -> list[LineSettings]:
    """The profiles' factory settings, most common first (9600 8N1, then 19200 8E1)."""
    counts = Counter(
        LineSettings(p.serial.baudrate, p.serial.parity, p.serial.stopbits) for p in profiles
    )
    return [setting for setting, _ in counts.most_common()] or [LineSettings()]


def settings_product(
    bauds: Sequence[int], parities: Sequence[Parity], stopbits: Sequence[StopBits]
) -> list[LineSettings]:
    """Every combination, baud rates in the order given, then parities, then stop bits."""
    return [LineSettings(b, p, s) for b, p, s in product(bauds, parities, stopbits)]


def parse_units(text: str, allowed: tuple[int, int] = SERIAL_UNITS) -> list[int]:
    """``"1-10,20"`` → ``[1, ..., 10, 20]``, in the order given, without repeats."""
    low, high = allowed
    units: dict[int, None] = {}
    for part in _items(text, "units"):
        first, dash, last = part.partition("-")
        try:
            start, end = int(first), int(last if dash else first)
        except ValueError:
            raise ValueError(f"not a unit or a range: {part!r} (e.g. 1-247 or 1,2,10-12)") from None
        if not low <= start <= end <= high:
            raise ValueError(f"units {part!r}: must be within {low}-{high}, low to high")
        units.update(dict.fromkeys(range(start, end + 1)))
    return list(units)


def parse_bauds(text: str) -> list[int]:
    bauds = []
    for part in _items(text, "baud rates"):
        if not part.isdigit() or int(part) not in BAUD_RATES:
            raise ValueError(f"baud rate {part!r}: use one of {', '.join(map(str, BAUD_RATES))}")
        bauds.append(int(part))
    return bauds


def parse_parities(text: str) -> list[Parity]:
    parities = [part.upper() for part in _items(text, "parities")]
    for parity in parities:
        if parity not in ("N", "E", "O"):
            raise ValueError(f"parity {parity!r}: use N (none), E (even) or O (odd)")
    return [cast(Parity, p) for p in parities]


def parse_stopbits(text: str) -> list[StopBits]:
    bits = _items(text, "stop bits")
    for part in bits:
        if part not in ("1", "2"):
            raise ValueError(f"stop bits {part!r}: use 1 or 2")
    return [cast(StopBits, int(part)) for part in bits]


def parse_endpoint(text: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` → (host, port); 502 by default."""
    match = _ENDPOINT.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a host or host:port: {text!r}")
    host = match["v6"] or match["host"]
    port = int(match["p6"] or match["port"] or MODBUS_TCP_PORT)
    if not 1 <= port <= 65535:
        raise ValueError(f"{text!r}: port must be within 1-65535")
    return host, port


def tcp_bus(host: str, port: int, timeout_ms: int) -> TcpBus:
    return TcpBus(
        kind="tcp", name=bus_name(f"{host}-{port}"), host=host, port=port, timeout_ms=timeout_ms
    )


def bus_name(text: str) -> str:
    """A valid bus name (as in a gateway config) from a port path or an endpoint."""
    name = re.sub(r"[^a-z0-9_-]+", "-", text.rsplit("/", 1)[-1].lower()).strip("-_")
    return name[:63] or "bus"


def _items(text: str, what: str) -> list[str]:
    items = [part.strip() for part in text.split(",") if part.strip()]
    if not items:
        raise ValueError(f"no {what} given")
    return items

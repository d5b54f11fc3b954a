"""Interactive mode: ask what the answers and the existing config leave open, with defaults.

Every question shows its default (from the flags, the answers file, the existing config, or a
sensible value); Enter takes it. After the scan each device is accepted (Enter), renamed, or
dropped, and a unit the scan could not identify can be given its profile by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TextIO, TypeVar, cast

from pydantic import SecretStr, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.prompt import Confirm, FloatPrompt, Prompt
from rich.table import Table
from rich.text import Text

from eclor.config import config_error
from edge.config import Device
from edge.provision.answers import (
    Answers,
    CloudAnswers,
    DevicesAnswers,
    GatewayAnswers,
    RtuScan,
    TcpScan,
    parse_units,
)
from edge.provision.discover import Unidentified
from edge.provision.selection import FoundDevice, Proposal

T = TypeVar("T")


class _Lines:
    """Lines of a stream as the keyboard gives them: without the line break (rich takes the
    break for an answer and skips the default), and :class:`EOFError` when there are no more."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner

    def readline(self) -> str:
        line = self._inner.readline()
        if not line:
            raise EOFError("the answers on the input ran out")
        return line.rstrip("\r\n")


class Asker:
    """Prompts on ``console``; ``stream`` replaces the keyboard (tests, piped answers)."""

    def __init__(self, console: Console, stream: TextIO | None = None) -> None:
        self.console = console
        self.stream = None if stream is None else cast(TextIO, _Lines(stream))

    def text(self, question: str, default: str | None = None, *, secret: bool = False) -> str:
        hidden = secret and self.stream is None  # getpass reads the terminal, not a stream
        while True:
            kwargs: dict[str, Any] = {"console": self.console, "stream": self.stream}
            if default is not None:
                kwargs["default"] = default
            answer = str(Prompt.ask(question, password=hidden, **kwargs)).strip()
            if answer or default is not None:
                return answer
            self.console.print("[yellow]an answer is needed[/yellow]")

    def number(self, question: str, default: float | None) -> float:
        kwargs: dict[str, Any] = {"console": self.console, "stream": self.stream}
        if default is not None:
            kwargs["default"] = default
        return float(FloatPrompt.ask(question, **kwargs))

    def choice(self, question: str, choices: list[str], default: str) -> str:
        return Prompt.ask(
            question, choices=choices, default=default, console=self.console, stream=self.stream
        )

    def yes(self, question: str, default: bool) -> bool:
        return Confirm.ask(question, default=default, console=self.console, stream=self.stream)

    def parsed(self, question: str, default: str, parse: Callable[[str], T]) -> T:
        """Ask until ``parse`` accepts the answer (it raises ``ValueError`` with the reason)."""
        while True:
            try:
                return parse(self.text(question, default))
            except ValueError as exc:
                self.console.print(f"[red]{escape(str(exc))}[/red]")


def ask_answers(asker: Asker, answers: Answers, has_credentials: bool) -> Answers:
    """Ask for identity, cloud, buses and device defaults until the answers validate."""
    while True:
        data = {
            "gateway": _gateway(asker, answers.gateway).model_dump(),
            "cloud": _cloud(asker, answers.cloud, has_credentials),
            "buses": [b.model_dump() for b in _buses(asker, answers.buses)],
            "devices": _device_defaults(asker, answers.devices).model_dump(),
        }
        try:
            return Answers.model_validate({**answers.model_dump(), **data})
        except ValidationError as exc:
            asker.console.print(f"[red]{escape(str(config_error(exc, 'answers')))}[/red]; again:")


def _gateway(asker: Asker, g: GatewayAnswers) -> GatewayAnswers:
    asker.console.rule("Gateway")
    gateway_id = asker.text("Gateway id (a-z, 0-9, -)", g.id)
    return GatewayAnswers(
        id=gateway_id,
        site=asker.text("Site", g.site or gateway_id),
        commune=asker.text("Commune", g.commune),
        latitude=asker.number("Latitude (WGS84, e.g. 49.4717)", g.latitude),
        longitude=asker.number("Longitude (WGS84, e.g. 5.9078)", g.longitude),
    )


def _cloud(asker: Asker, c: CloudAnswers, has_credentials: bool) -> dict[str, Any]:
    asker.console.rule("Cloud")
    api_url = asker.text("Cloud API URL", c.api_url)
    keep = " (Enter keeps the current credentials)" if has_credentials else ""
    given = "" if c.token is None else c.token.get_secret_value()
    if given:
        token: SecretStr | None = c.token
    else:
        typed = asker.text(f"Enrolment token{keep}", "" if has_credentials else None, secret=True)
        token = SecretStr(typed) if typed else None
    return {"api_url": api_url, "token": token, "ca_file": c.ca_file}


def _buses(asker: Asker, known: Sequence[RtuScan | TcpScan]) -> list[RtuScan | TcpScan]:
    asker.console.rule("Buses to scan")
    for bus in known:
        asker.console.print(f"  {_describe(bus)}", markup=False)
    if known and asker.yes("Scan these buses?", True):
        return list(known)
    buses: list[RtuScan | TcpScan] = []
    while not buses or asker.yes("Another bus?", False):
        buses.append(_bus(asker, len(buses)))
    return buses


def _bus(asker: Asker, index: int) -> RtuScan | TcpScan:
    kind = asker.choice("Serial line or Modbus TCP", ["serial", "tcp"], "serial")
    units = asker.parsed("Unit ids to scan", "1-247", parse_units)
    if kind == "tcp":
        host = asker.text("Host (IP address or name)")
        port = int(asker.number("Port", 502))
        return TcpScan(kind="tcp", host=host, port=port, units=units)
    port_path = asker.text("Serial port", "/dev/ttyUSB0")
    speed = asker.parsed("Baud rate (auto tries the profiles' settings)", "auto", _baud)
    parity = asker.choice("Parity", ["auto", "N", "E", "O"], "auto")
    return RtuScan.model_validate(
        {
            "kind": "rtu",
            "name": "rs485" if index == 0 else f"rs485-{index + 1}",
            "port": port_path,
            "baudrate": speed,
            "parity": None if parity == "auto" else parity,
            "units": units,
        }
    )


def _baud(text: str) -> int | None:
    if text == "auto":
        return None
    if not text.isdigit() or not 300 <= int(text) <= 921_600:
        raise ValueError(f"not a baud rate: {text!r} (e.g. 9600, or auto)")
    return int(text)


def _describe(bus: RtuScan | TcpScan) -> str:
    if isinstance(bus, TcpScan):
        return f"{bus.bus_name}: Modbus TCP {bus.host}:{bus.port}"
    line = f"{bus.baudrate or 'auto'} {bus.parity or 'auto'}"
    return f"{bus.name}: serial {bus.port} ({line})"


def _device_defaults(asker: Asker, d: DevicesAnswers) -> DevicesAnswers:
    asker.console.rule("Devices")
    interval = asker.number("Poll interval for new devices, seconds", d.poll_interval_s)
    shown = ",".join(f"{k}={v}" for k, v in d.tags.items())
    typed = asker.text("Tags for new devices (key=value,…; Enter for none)", shown)
    tags = dict(pair.split("=", 1) for pair in typed.split(",") if "=" in pair)
    return d.model_copy(update={"poll_interval_s": interval, "tags": tags})


def identify_by_hand(
    asker: Asker, unidentified: Sequence[Unidentified], models: list[str]
) -> list[FoundDevice]:
    """Offer a profile for each unit the scan could not identify (Enter skips it)."""
    chosen = []
    for unit in unidentified:
        asker.console.print(f"[yellow]{unit.address}[/yellow] {escape(unit.reason)}")
        for reading in unit.readings[:4]:
            asker.console.print(f"    {reading}", markup=False)
        default = unit.candidates[0][0] if unit.candidates else "skip"
        answer = asker.choice(f"Profile of {unit.address}", ["skip", *models], default)
        if answer != "skip":
            chosen.append(unit.as_found(answer))
    return chosen


def review(asker: Asker, proposals: list[Proposal]) -> list[Proposal]:
    """Show the proposals; accept all, or accept, rename or drop each."""
    asker.console.print(proposals_table(proposals))
    if not proposals or asker.yes("Keep these devices as shown?", True):
        return proposals
    return [_one(asker, p) for p in proposals]


def _one(asker: Asker, proposal: Proposal) -> Proposal:
    default = "d" if proposal.excluded else "a"
    what = asker.choice(
        f"{proposal.found.address} {proposal.device.id}: [a]ccept, [r]ename, [d]rop",
        ["a", "r", "d"],
        default,
    )
    if what == "d":
        return Proposal(proposal.found, proposal.device, proposal.origin, proposal.replaces, True)
    device = proposal.device
    if what == "r":
        while True:
            name = asker.text("New id", device.id)
            try:
                device = Device.model_validate({**device.model_dump(), "id": name})
                break
            except ValidationError:
                asker.console.print("[red]letters, digits and _ . : - only[/red]")
    return Proposal(proposal.found, device, proposal.origin, proposal.replaces, False)


def proposals_table(proposals: Sequence[Proposal]) -> Table:
    table = Table(title="Devices found", title_justify="left")
    for column in ("bus:unit", "model", "sure", "id", "every", "read", "status"):
        table.add_column(column, overflow="fold")
    for p in proposals:
        status = "dropped" if p.excluded else p.origin.value
        if p.replaces:
            status += f" ({p.replaces})"
        cells = (
            p.found.address,
            p.found.profile,
            f"{p.found.confidence:.0%}",
            p.device.id,
            f"{p.device.poll_interval_s:g} s",
            p.found.readings[0] if p.found.readings else "-",
            status,
        )
        table.add_row(*(Text(cell) for cell in cells))
    return table

"""python-dali commands and sequences straight onto a ``DaliLine``: no transport, no bus timing.

For unit tests and for the territory model, which want python-dali's command objects and its
sequences (``dali.memory`` reads, commissioning) without a serial port. It behaves like
python-dali's serial drivers' ``send``: a send-twice command goes out twice, a command with a
device type is preceded by ENABLE DEVICE TYPE, and a collision comes back as a
``BackwardFrameError``. Use the LUBA front-end whenever the protocol itself is under test.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from dali import command, frame, sequences
from dali.gear.general import EnableDeviceType

from simulators.dali.line import DaliLine, Reply


class DirectDriver:
    def __init__(self, line: DaliLine) -> None:
        self.line = line

    def send(self, message: command.Command | Generator[Any, Any, Any]) -> Any:
        """Send one command (its response) or run a sequence (its return value)."""
        if isinstance(message, command.Command):
            return self._send_command(message)
        response = None
        while True:
            try:
                item = message.send(response)
            except StopIteration as done:
                return done.value
            response = None
            if isinstance(item, command.Command):
                response = self._send_command(item)
            elif not isinstance(item, (sequences.sleep, sequences.progress)):
                raise TypeError(f"a sequence yielded {item!r}")

    def _send_command(self, cmd: command.Command) -> command.Response | None:
        if cmd.devicetype != 0:
            self._frame(EnableDeviceType(cmd.devicetype))
        reply = self._frame(cmd)
        if cmd.sendtwice:
            reply = self._frame(cmd, repeat=True)
        if cmd.response is None:
            return None
        return cmd.response(_backward_frame(reply))

    def _frame(self, cmd: command.Command, *, repeat: bool = False) -> Reply:
        return self.line.deliver(cmd.frame.as_integer, len(cmd.frame), repeat=repeat)


def _backward_frame(reply: Reply) -> frame.BackwardFrame | None:
    if reply.collision:
        return frame.BackwardFrameError(255)
    if reply.value is None:
        return None
    return frame.BackwardFrame(reply.value)

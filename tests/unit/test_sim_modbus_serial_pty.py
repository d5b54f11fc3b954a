"""The pty-pair helper the serial-line tests stand on."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.services.serial_pty import SocatMissing, socat_pty_pair


def test_a_missing_socat_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(SocatMissing, match="apt-get install socat"), socat_pty_pair():
        pass


def test_the_two_ends_are_linked_and_removed_afterwards() -> None:
    with socat_pty_pair() as pair:
        a = os.open(pair.master_side, os.O_RDWR | os.O_NOCTTY)
        b = os.open(pair.device_side, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(a, b"\x01\x04")
            received = b""
            while len(received) < 2:
                received += os.read(b, 16)
            assert received == b"\x01\x04"
        finally:
            os.close(a)
            os.close(b)
    assert not Path(pair.master_side).exists()
    assert not Path(pair.device_side).exists()

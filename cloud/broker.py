"""Brokers the cloud can start itself, for small sites and the demo.

- :class:`EmbeddedBroker`: amqtt, in-process. It speaks MQTT 3.1.1 only: clients must be set to
  ``protocol: "3.1.1"`` and there are no shared subscriptions (one ingest worker).
- :class:`MosquittoProcess`: a Mosquitto child process on loopback with a generated config, for
  the demo when Mosquitto is installed. Production runs its own broker with the ACL from
  ``eclor cloud broker-config``.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class BrokerStartError(RuntimeError):
    pass


class EmbeddedBroker:
    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        self.host = host
        self.port = port
        self._broker: Any = None

    async def start(self) -> None:
        from amqtt.broker import Broker

        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "sys_interval": 0,
            "auth": {"allow-anonymous": True, "plugins": ["auth_anonymous"]},
            "topic-check": {"enabled": False},
        }
        self._broker = Broker(config)
        await self._broker.start()
        log.info("embedded MQTT 3.1.1 broker on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


class MosquittoProcess:
    """Anonymous, loopback-only: for the demo on one machine."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.folder = folder
        self.host = host
        self.port = port or free_port(host)
        self._process: asyncio.subprocess.Process | None = None

    @staticmethod
    def available() -> bool:
        return _mosquitto() is not None

    async def start(self) -> None:
        binary = _mosquitto()
        if binary is None:
            raise BrokerStartError("mosquitto is not installed (apt-get install mosquitto)")
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} {self.host}\nallow_anonymous true\npersistence false\n"
            "log_dest stderr\n",
            encoding="utf-8",
        )
        # Mosquitto may drop root for its own user, who cannot write here: we hold the log file.
        with (self.folder / "mosquitto.log").open("ab") as log_file:
            self._process = await asyncio.create_subprocess_exec(
                binary, "-c", str(conf), stdout=asyncio.subprocess.DEVNULL, stderr=log_file
            )
        deadline = time.monotonic() + 10
        while not _answers(self.host, self.port):
            if self._process.returncode is not None or time.monotonic() > deadline:
                raise BrokerStartError(
                    f"mosquitto did not start; see {self.folder / 'mosquitto.log'}"
                )
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            await asyncio.wait_for(self._process.wait(), 10)

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


def _mosquitto() -> str | None:
    return shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (for a broker the demo starts)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False

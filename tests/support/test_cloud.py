"""A small MQTT subscriber that plays the cloud for edge tests: it decodes what gateways send,
keeps it, and acknowledges batches (or holds its acks back when told to)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from eclor.wire import (
    Ack,
    Command,
    CommandResult,
    EventBatch,
    Status,
    Suffix,
    TelemetryBatch,
    decode_for_topic,
    encode,
    parse_topic,
    topic,
)


@dataclass
class Received:
    telemetry: list[TelemetryBatch] = field(default_factory=list)
    events: list[EventBatch] = field(default_factory=list)
    results: list[CommandResult] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    arrival: dict[int, float] = field(default_factory=dict)  # seq → monotonic time of first arrival


class CloudStandIn:
    def __init__(self, host: str, port: int, *, ack: bool = True) -> None:
        self.ack_enabled = ack
        self.received = Received()
        self.acked: set[int] = set()
        self._lock = threading.Lock()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"cloud-{id(self)}")
        self._client.on_message = self._on_message
        self._client.on_connect = self._on_connect
        self._client.reconnect_delay_set(0.1, 0.5)
        self._client.connect(host, port)
        self._client.loop_start()

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        # Subscribing here, not once, so the stand-in follows a broker restart like a real cloud.
        for suffix in ("telemetry", "event", "cmd/result", "status"):
            client.subscribe(f"eclor/v1/+/{suffix}", qos=1)

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        where = parse_topic(msg.topic)
        message = decode_for_topic(where, msg.payload)
        with self._lock:
            if isinstance(message, TelemetryBatch):
                self.received.telemetry.append(message)
            elif isinstance(message, EventBatch):
                self.received.events.append(message)
            elif isinstance(message, CommandResult):
                self.received.results.append(message)
            elif isinstance(message, Status):
                self.received.statuses.append(message)
                return
            seq = message.seq  # type: ignore[union-attr]
            self.received.arrival.setdefault(seq, time.monotonic())
            if self.ack_enabled:
                self.acked.add(seq)
                ack = Ack(gateway=where.gateway_id, seqs=[seq])
                client.publish(topic(where.gateway_id, Suffix.ACK), encode(ack), qos=1)

    def send_command(self, gateway: str, command: Command) -> None:
        self._client.publish(topic(gateway, Suffix.CMD), encode(command), qos=1).wait_for_publish(5)

    def seqs(self) -> list[int]:
        """Sequence numbers of every batch received, duplicates included, in arrival order."""
        with self._lock:
            batches = [*self.received.telemetry, *self.received.events, *self.received.results]
            return [b.seq for b in batches]

    def readings(self) -> list[tuple[int, str, str, dict[str, object]]]:
        """Every reading received, as (time, device, measurement, fields), duplicates included."""
        with self._lock:
            return [
                (r.time, r.device, r.measurement, dict(r.fields))
                for batch in self.received.telemetry
                for r in batch.readings
            ]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        raise AssertionError(f"condition not met within {timeout} s")

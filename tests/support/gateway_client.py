"""A bare MQTT client that plays a gateway: publishes wire messages, collects acks."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from eclor.wire import Ack, Reading, Suffix, TelemetryBatch, decode, encode, topic


class GatewayClient:
    def __init__(self, port: int, gateway: str) -> None:
        self.gateway = gateway
        self.acked: list[int] = []
        self._lock = threading.Lock()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{gateway}")
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        self._client.subscribe(topic(gateway, Suffix.ACK), qos=1)
        self._client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.acked.extend(decode(Ack, msg.payload).seqs)

    def acks(self) -> set[int]:
        with self._lock:
            return set(self.acked)

    def publish_raw(self, suffix: str, payload: bytes, gateway: str | None = None) -> None:
        where = f"eclor/v1/{gateway or self.gateway}/{suffix}"
        self._client.publish(where, payload, qos=1).wait_for_publish(5)

    def send(self, seq: int, readings: list[Reading]) -> None:
        batch = TelemetryBatch(gateway=self.gateway, seq=seq, readings=readings)
        self.publish_raw("telemetry", encode(batch))

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()

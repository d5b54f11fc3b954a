"""The cloud's MQTT client: paho on its own network thread, a bounded hand-off to asyncio.

Ingest workers subscribe to ``$share/<group>/…`` when a group is set, so several workers split the
gateways' stream (MQTT 5 shared subscriptions; Mosquitto 2, EMQX, HiveMQ and VerneMQ have them).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from cloud.ingest.inbound import Inbound
from cloud.ingest.metrics import IngestMetrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MqttSettings:
    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None
    protocol: str = "5"  # "3.1.1" for brokers without MQTT 5 (no shared subscriptions then)


class CloudMqtt:
    def __init__(
        self,
        settings: MqttSettings,
        client_id: str,
        subscriptions: list[str],
        metrics: IngestMetrics,
        inbox_size: int = 1000,
    ) -> None:
        self._settings = settings
        self._subscriptions = subscriptions
        self._metrics = metrics
        self._loop = asyncio.get_running_loop()
        self.inbox: asyncio.Queue[Inbound] = asyncio.Queue(maxsize=inbox_size)
        self.connected = asyncio.Event()
        protocol = mqtt.MQTTv5 if settings.protocol == "5" else mqtt.MQTTv311
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
        client.suppress_exceptions = True
        client.enable_logger(logging.getLogger("paho.cloud"))
        if settings.username:
            client.username_pw_set(settings.username, settings.password)
        if settings.tls:
            context = ssl.create_default_context(
                cafile=str(settings.ca_file) if settings.ca_file else None
            )
            client.tls_set_context(context)
        client.reconnect_delay_set(1, 30)
        client.max_queued_messages_set(10_000)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client

    def start(self) -> None:
        self._client.connect_async(self._settings.host, self._settings.port, keepalive=30)
        self._client.loop_start()

    async def stop(self) -> None:
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)

    def publish(self, topic: str, payload: bytes) -> bool:
        """False when not connected: an ack lost that way makes the edge send its batch again."""
        if not self._client.is_connected():
            return False
        info = self._client.publish(topic, payload, qos=1)
        return info.rc is MQTTErrorCode.MQTT_ERR_SUCCESS

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("broker refused the connection: %s", reason)
            return
        for topic in self._subscriptions:
            client.subscribe(topic, qos=1)
        self._metrics.connected.set(1)
        self._loop.call_soon_threadsafe(self.connected.set)
        log.info("ingest connected to %s:%d", self._settings.host, self._settings.port)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object
    ) -> None:
        self._metrics.connected.set(0)
        self._loop.call_soon_threadsafe(self.connected.clear)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self._loop.call_soon_threadsafe(
            self._deliver, Inbound(message.topic, bytes(message.payload))
        )

    def _deliver(self, message: Inbound) -> None:
        try:
            self.inbox.put_nowait(message)
        except asyncio.QueueFull:
            # The edge sends it again when no ack comes: dropping here loses nothing.
            self._metrics.refused.labels("inbox_full").inc()

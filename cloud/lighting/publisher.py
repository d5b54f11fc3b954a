"""The MQTT connection of the API and scheduler roles: publishes commands and programs.

paho runs its network loop on its own thread; :meth:`MqttPublisher.publish` may be called from
the event loop (paho's publish is thread-safe and only queues the packet). QoS 1 throughout, so
the broker takes a command once it is sent; a publish while disconnected is refused (False) rather
than queued, so the caller can answer 503 instead of letting a command arrive late.
"""

from __future__ import annotations

import logging
import ssl
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from cloud.ingest.mqtt import MqttSettings

log = logging.getLogger(__name__)


class MqttPublisher:
    """Publish-only MQTT client; :meth:`start` connects in the background and reconnects."""

    def __init__(self, settings: MqttSettings, client_id: str) -> None:
        self._settings = settings
        protocol = mqtt.MQTTv5 if settings.protocol == "5" else mqtt.MQTTv311
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
        client.suppress_exceptions = True
        client.enable_logger(logging.getLogger("paho.cloud.publisher"))
        if settings.username:
            client.username_pw_set(settings.username, settings.password)
        if settings.tls:
            cafile = str(settings.ca_file) if settings.ca_file else None
            client.tls_set_context(ssl.create_default_context(cafile=cafile))
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        self._client = client
        self.connected = threading.Event()

    def start(self) -> None:
        self._client.connect_async(self._settings.host, self._settings.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect and join paho's thread (blocking: call it through ``asyncio.to_thread``)."""
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: bytes, retain: bool) -> bool:
        """QoS 1; False when not connected or paho refused the packet."""
        if not self._client.is_connected():
            return False
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        return info.rc is MQTTErrorCode.MQTT_ERR_SUCCESS

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("broker refused the publisher: %s", reason)
            return
        self.connected.set()
        log.info("publisher connected to %s:%d", self._settings.host, self._settings.port)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object
    ) -> None:
        self.connected.clear()

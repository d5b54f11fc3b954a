"""The MQTT link: one paho-mqtt client, a supervised network thread, and a bounded hand-off to
asyncio.

paho's network loop runs on a thread that this class owns and watches: connection failures back
off exponentially with jitter; an exception escaping a callback or the loop is logged with its
traceback and the loop goes on; the asyncio side can see the thread's heartbeat and restarts it if
it ever dies. TLS, when on, always verifies the server and never falls back to plain text.
Downlink messages reach asyncio through a bounded queue; when it is full a message is dropped and
counted (acks and commands are idempotent and retried by their senders).
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.config import Broker
from edge.metrics import EdgeMetrics

log = logging.getLogger(__name__)
SESSION_EXPIRY_S = 3600


@dataclass(frozen=True, slots=True)
class Downlink:
    topic: str
    payload: bytes


class MqttLink:
    def __init__(
        self,
        client_id: str,
        broker: Broker,
        password: str | None,
        will: tuple[str, bytes],
        subscriptions: list[str],
        metrics: EdgeMetrics,
        inbox_size: int = 256,
    ) -> None:
        self._broker = broker
        self._subscriptions = subscriptions
        self._metrics = metrics
        self._loop = asyncio.get_running_loop()
        self.inbox: asyncio.Queue[Downlink] = asyncio.Queue(maxsize=inbox_size)
        self.connected = asyncio.Event()
        self.disconnected = asyncio.Event()
        self.disconnected.set()
        self.heartbeat = time.monotonic()
        self._stop = threading.Event()
        self._v5 = broker.protocol == "5"
        self._client = self._make_client(client_id, password, will)
        self._thread: threading.Thread | None = None
        self._socket_open = False  # touched by the network thread only
        self._closing = False

    def _make_client(
        self, client_id: str, password: str | None, will: tuple[str, bytes]
    ) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if self._v5 else mqtt.MQTTv311,
            clean_session=None if self._v5 else False,
        )
        client.suppress_exceptions = True  # a failing callback is logged by paho, the loop goes on
        client.enable_logger(logging.getLogger("paho"))
        if self._broker.username:
            client.username_pw_set(self._broker.username, password)
        tls = self._broker.tls
        if tls.enabled:
            context = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
            context.check_hostname = True
            context.verify_mode = ssl.CERT_REQUIRED
            if tls.cert_file and tls.key_file:
                context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
            client.tls_set_context(context)
        topic, payload = will
        client.will_set(topic, payload, qos=1, retain=True)
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(2000)
        # paho writes a publish straight to the socket unless it thinks an external loop owns the
        # socket: publishing from the event loop while this class's thread also writes interleaved
        # large packets (Mosquitto: "malformed packet"). With this hook only the network thread
        # writes; paho wakes it through its socket pair.
        client.on_socket_register_write = _network_thread_writes
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    # -- thread --------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="mqtt-link", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        delay = self._broker.reconnect_min_s
        first = True
        while not self._stop.is_set():
            self.heartbeat = time.monotonic()
            try:
                if not self._socket_open:
                    self._connect(first)
                    first = False
                    self._socket_open = True
                rc = self._client.loop(timeout=0.2)
                if rc is MQTTErrorCode.MQTT_ERR_SUCCESS:
                    if self._client.is_connected():
                        delay = self._broker.reconnect_min_s
                    continue
                self._socket_open = False
                if self._closing:
                    return
                raise ConnectionError(mqtt.error_string(rc))
            except (OSError, ssl.SSLError, ConnectionError, ValueError) as exc:
                self._socket_open = False
                log.warning("broker connection failed: %s; retry in %.1f s", exc, delay)
            except Exception:  # the supervisor must outlive any bug below it
                self._socket_open = False
                log.exception("MQTT network loop failed; it goes on")
            self._stop.wait(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self._broker.reconnect_max_s)

    def _connect(self, first: bool) -> None:
        if not first:
            self._client.reconnect()
        elif self._v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            self._client.connect(
                self._broker.host,
                self._broker.port,
                keepalive=self._broker.keepalive_s,
                clean_start=False,
                properties=props,
            )
        else:
            self._client.connect(
                self._broker.host, self._broker.port, keepalive=self._broker.keepalive_s
            )

    async def stop(self, last_words: tuple[str, bytes] | None = None) -> None:
        """Publish ``last_words`` (retained) if connected, disconnect cleanly, stop the thread."""
        if last_words is not None and self._client.is_connected():
            info = self._client.publish(last_words[0], last_words[1], qos=1, retain=True)
            await asyncio.to_thread(info.wait_for_publish, 2.0)
        self._closing = True
        self._client.disconnect()
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5.0)

    # -- publishing ----------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        """Hand a QoS 1 message to paho; False when not connected (nothing is queued then)."""
        if not self._client.is_connected():
            return False
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        return info.rc is MQTTErrorCode.MQTT_ERR_SUCCESS

    # -- callbacks (network thread) --------------------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("broker refused the connection: %s", reason)
            return
        for topic in self._subscriptions:
            client.subscribe(topic, qos=1)
        self._metrics.reconnects.inc()
        self._metrics.connected.set(1)
        self._loop.call_soon_threadsafe(self._set_connected, True)
        log.info("connected to %s:%d", self._broker.host, self._broker.port)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object
    ) -> None:
        self._socket_open = False
        self._metrics.connected.set(0)
        self._loop.call_soon_threadsafe(self._set_connected, False)
        if not self._closing:
            log.warning("disconnected from the broker: %s", reason)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self._loop.call_soon_threadsafe(
            self._deliver, Downlink(message.topic, bytes(message.payload))
        )

    # -- asyncio side ----------------------------------------------------------------------------

    def _set_connected(self, up: bool) -> None:
        if up:
            self.disconnected.clear()
            self.connected.set()
        else:
            self.connected.clear()
            self.disconnected.set()

    def _deliver(self, message: Downlink) -> None:
        try:
            self.inbox.put_nowait(message)
        except asyncio.QueueFull:
            self._metrics.rejected_messages.labels("inbox_full").inc()
            log.warning("downlink inbox full; dropped a message on %s", message.topic)


def _network_thread_writes(client: mqtt.Client, userdata: object, sock: object) -> None:
    """paho's "register write" hook, deliberately empty: see :meth:`MqttLink._make_client`."""

"""MQTT publish/subscribe on paho-mqtt (MQTT 5), and ``mqtt.publish``.

Each published message carries the step's idempotency key as the MQTT 5 user property
``idempotency-key`` and, in JSON payloads, as the field ``idempotency_key`` (in OPC UA JSON: the
``MessageId``), so subscribers can drop a message a retry sent twice.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self
from urllib.parse import unquote, urlsplit

import orjson
from paho.mqtt import client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import BaseModel, Field, field_validator

from crmos.connectors.actions import Params
from crmos.connectors.base import SettingsLike, compensation_key, connector_settings
from crmos.connectors.redact import register_secret
from crmos.connectors.uajson import ua_data_message
from crmos.core.errors import PermanentError, TransientError
from crmos.core.ids import new_id
from crmos.sagas import StepContext

KEY_PROPERTY = "idempotency-key"


@dataclass(frozen=True, slots=True)
class MqttMessage:
    """A received message."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return orjson.loads(self.payload)


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker is, from ``mqtt://[USER:PASS@]HOST:PORT`` (``mqtts://`` for TLS)."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """Parse a broker URL; :class:`PermanentError` when it is not one."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise PermanentError("mqtt", f"'{url}' is not mqtt://HOST:PORT or mqtts://HOST:PORT")
        tls = parts.scheme == "mqtts"
        password = unquote(parts.password) if parts.password else None
        register_secret(password)
        username = unquote(parts.username) if parts.username else None
        return cls(parts.hostname, parts.port or (8883 if tls else 1883), tls, username, password)


class Subscription:
    """Messages on one topic filter, in arrival order."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self._queue: queue.Queue[MqttMessage] = queue.Queue()

    def put(self, message: MqttMessage) -> None:
        """Called from the client's network thread."""
        self._queue.put(message)

    def get(self, timeout: float) -> MqttMessage:
        """The next message; :class:`TimeoutError` when none arrives within ``timeout`` s."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no message on '{self.topic}' within {timeout}s") from None


class MqttClient:
    """A connected MQTT 5 client; use as a context manager (connects, then disconnects)."""

    def __init__(self, url: str, *, client_id: str | None = None, timeout_s: float = 10.0) -> None:
        self.address = BrokerAddress.parse(url)
        self.timeout_s = timeout_s
        self.target = f"mqtt://{self.address.host}:{self.address.port}"
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or new_id("crmos-"),
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if self.address.username:
            self._client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            self._client.tls_set()
        self._connected = threading.Event()
        self._refusal: str | None = None
        self._subscriptions: list[Subscription] = []
        self._acks: dict[int, threading.Event] = {}
        self._acks_lock = threading.Lock()  # a SUBACK may arrive before subscribe() returns
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe

    def __enter__(self) -> Self:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> Self:
        """Connect and wait for the broker's CONNACK."""
        try:
            self._client.connect(self.address.host, self.address.port, keepalive=30)
        except OSError as exc:
            raise TransientError(self.target, f"cannot connect: {exc}") from exc
        self._client.loop_start()
        if not self._connected.wait(self.timeout_s):
            self.close()
            raise TransientError(self.target, f"no CONNACK within {self.timeout_s}s")
        if self._refusal is not None:
            self.close()
            raise PermanentError(self.target, f"broker refused the connection: {self._refusal}")
        return self

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()

    def publish(
        self,
        topic: str,
        payload: bytes | str | Mapping[str, Any],
        *,
        qos: int = 1,
        retain: bool = False,
        user_properties: Mapping[str, str] | None = None,
    ) -> None:
        """Publish and, for QoS 1 and 2, wait until the broker acknowledged it."""
        data = orjson.dumps(payload) if isinstance(payload, Mapping) else payload
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        if user_properties:
            props.UserProperty = list(user_properties.items())
        info = self._client.publish(topic, data, qos=qos, retain=retain, properties=props)
        try:
            info.wait_for_publish(self.timeout_s)
        except (RuntimeError, ValueError) as exc:
            raise TransientError(self.target, f"publish to '{topic}' failed: {exc}") from exc
        if not info.is_published():
            raise TransientError(self.target, f"no PUBACK for '{topic}' within {self.timeout_s}s")

    def subscribe(self, topic: str, qos: int = 1) -> Subscription:
        """Subscribe and wait for the SUBACK; messages arrive in the returned subscription."""
        subscription = Subscription(topic)
        self._subscriptions.append(subscription)
        acked = threading.Event()
        with self._acks_lock:
            result, mid = self._client.subscribe(topic, qos=qos)
            if result != paho.MQTT_ERR_SUCCESS or mid is None:
                raise TransientError(self.target, f"subscribe to '{topic}' failed: {result}")
            self._acks[mid] = acked
        if not acked.wait(self.timeout_s):
            raise TransientError(self.target, f"no SUBACK for '{topic}' within {self.timeout_s}s")
        return subscription

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._refusal = str(reason)
        self._connected.set()

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, codes: Any, props: Any) -> None:
        with self._acks_lock:
            event = self._acks.pop(mid, None)
        if event is not None:
            event.set()

    def _on_message(self, client: Any, userdata: Any, message: paho.MQTTMessage) -> None:
        props = getattr(message.properties, "UserProperty", None) or []
        received = MqttMessage(
            message.topic, bytes(message.payload), message.qos, bool(message.retain), dict(props)
        )
        for subscription in self._subscriptions:
            if paho.topic_matches_sub(subscription.topic, message.topic):
                subscription.put(received)


class PublishParams(Params):
    """A message to publish; ``format: opcua`` wraps ``payload`` as an OPC UA ``ua-data``."""

    topic: str = Field(min_length=1, description="Topic (no wildcards).")
    payload: dict[str, Any] | str = Field(description="JSON object, or text as is.")
    format: Literal["json", "opcua"] = Field(default="json", description="Payload shape.")
    qos: Literal[0, 1, 2] = Field(default=1, description="MQTT quality of service.")
    retain: bool = Field(default=False, description="Keep as the topic's retained message.")
    publisher_id: str = Field(default="crmos", description="OPC UA PublisherId.")
    writer_id: int = Field(default=1, ge=0, description="OPC UA DataSetWriterId.")

    @field_validator("topic")
    @classmethod
    def _no_wildcards(cls, topic: str) -> str:
        if "#" in topic or "+" in topic:
            raise ValueError("a topic to publish to cannot hold the wildcards # or +")
        return topic


class MqttPublish:
    """``mqtt.publish``: publish one message to the broker from settings.

    Compensation clears a retained message (an empty retained publish); a plain message, once
    delivered, cannot be taken back.
    """

    name: ClassVar[str] = "mqtt.publish"
    params: ClassVar[type[BaseModel]] = PublishParams

    def __init__(self, settings: SettingsLike) -> None:
        config = connector_settings(settings)
        self.url, self.timeout_s = config.mqtt_url, config.timeout_s

    def execute(self, ctx: StepContext, params: BaseModel) -> dict[str, Any]:
        """Publish (and wait for the broker's acknowledgement at QoS 1 and 2)."""
        assert isinstance(params, PublishParams)
        key = ctx.idempotency_key
        payload = shaped_payload(params, key)
        with MqttClient(self.url, timeout_s=self.timeout_s) as client:
            client.publish(
                params.topic,
                payload,
                qos=params.qos,
                retain=params.retain,
                user_properties={KEY_PROPERTY: key},
            )
        return {
            "topic": params.topic,
            "qos": params.qos,
            "retain": params.retain,
            "idempotency_key": key,
        }

    def compensate(self, ctx: StepContext, params: BaseModel, result: dict[str, Any]) -> None:
        """Clear the retained message this step left; nothing otherwise."""
        assert isinstance(params, PublishParams)
        if not params.retain:
            return
        with MqttClient(self.url, timeout_s=self.timeout_s) as client:
            client.publish(
                params.topic,
                b"",
                qos=1,
                retain=True,
                user_properties={KEY_PROPERTY: compensation_key(ctx.idempotency_key)},
            )


def shaped_payload(params: PublishParams, key: str) -> str | dict[str, Any]:
    """The payload as sent: OPC UA ``ua-data``, JSON with the key, or text as given."""
    if params.format == "opcua":
        if not isinstance(params.payload, dict):
            raise PermanentError("mqtt.publish", "format opcua needs an object payload")
        return ua_data_message(
            params.payload,
            message_id=key,
            publisher_id=params.publisher_id,
            writer_id=params.writer_id,
        )
    if isinstance(params.payload, dict):
        return {**params.payload, "idempotency_key": key}
    return params.payload

"""One connection to the broker (paho-mqtt 2.x), kept up forever, with a handler per topic.

paho runs the network loop in its own thread and reconnects by itself (1 s, doubling to 5 s),
also when the first connection fails; connecting gives up after 5 s, so a cut link is retried
every few seconds rather than every two minutes of TCP timeouts. Subscriptions are made again
on every connection. Handlers run on paho's thread: they must be quick (queue the work).

A broker that cannot be reached and a refused connection (wrong credentials, an ACL) are said
in words, once per change, in the log and in `last_error`; with MQTT 5, so is a publish the
broker refused (3.1.1 drops those silently).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from homelab_hub.remote.config import BrokerConfig

log = logging.getLogger(__name__)

_SESSION_EXPIRY_S = 7 * 24 * 3600  # a hub's queued alerts survive a week of it being down


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int
    generation: int  # which connection it came on (acks of an older one are void)


Handler = Callable[[Message], None]


def _refusal_hint(reason: str) -> str:
    low = reason.lower()
    if "password" in low or "authori" in low or "identifier" in low:
        return (
            f"{reason}: check the user name and password (the broker's password_file) and that the "
            "broker's acl_file lets this user connect"
        )
    return reason


class BrokerLink:
    def __init__(
        self,
        config: BrokerConfig,
        *,
        client_id: str,
        label: str,
        will: tuple[str, bytes] | None = None,
        persistent: bool = False,
        manual_ack: bool = False,
        on_connect: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.client_id = client_id
        self.label = label  # who we are, for log lines: "worker garage-pi", "hub"
        self._on_connect_cbs: list[Callable[[], None]] = [on_connect] if on_connect else []
        self._persistent = persistent
        self._manual_ack = manual_ack
        self._handlers: list[tuple[str, int, Handler, bool]] = []
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self.generation = 0
        self.last_error = ""
        self.connected_since: float | None = None
        self.disconnected_since: float | None = time.time()
        self.refused_publishes = 0
        self._refused: dict[int, str] = {}
        self._closed = False
        v5 = config.protocol == "5"
        self._v5 = v5
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else not persistent,
            manual_ack=manual_ack,
        )
        self._client.connect_timeout = 5.0
        self._client.reconnect_delay_set(1, 5)
        self._client.max_inflight_messages_set(20)
        if config.username:
            self._client.username_pw_set(config.username, config.password)
        if will is not None:
            self._client.will_set(will[0], will[1], qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_message = self._on_message
        self._client.on_publish = self._on_publish

    # -- life cycle -------------------------------------------------------------------------
    def subscribe(self, topic_filter: str, handler: Handler, qos: int = 1, *, acks: bool = False) -> None:
        """Call ``handler`` for messages on ``topic_filter`` (now and after every reconnect).
        With ``acks`` (and a link made with manual_ack) the handler acknowledges each message
        itself with `ack`, once it is safe (stored); otherwise it is acknowledged on return."""
        with self._lock:
            self._handlers.append((topic_filter, qos, handler, acks))
        if self.connected.is_set():
            self._client.subscribe(topic_filter, qos=qos)

    def subscribe_connect(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on paho's thread) after every successful connection."""
        self._on_connect_cbs.append(callback)
        if self.connected.is_set():
            callback()

    def start(self) -> None:
        """Connect in the background; never raises for a broker that is not there."""
        kwargs: dict[str, Any] = {"keepalive": self.config.keepalive_s}
        if self._v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = _SESSION_EXPIRY_S if self._persistent else 0
            kwargs.update(clean_start=not self._persistent, properties=props)
        assert self.config.host
        self._client.connect_async(self.config.host, self.config.port, **kwargs)
        self._client.loop_start()

    def close(self, timeout: float = 2.0) -> None:
        """Disconnect cleanly (the broker then sends no will) and stop the loop."""
        self._closed = True
        try:
            self._client.disconnect()
        except Exception:  # never connected
            pass
        deadline = time.monotonic() + timeout
        while self.connected.is_set() and time.monotonic() < deadline:
            time.sleep(0.02)
        self._client.loop_stop()

    # -- sending ----------------------------------------------------------------------------
    def publish(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> bool:
        """Queue a message; False when not connected (QoS 0 then goes nowhere). Never raises."""
        if not self.connected.is_set():
            return False
        try:
            info = self._client.publish(topic, payload, qos=qos, retain=retain)
        except (ValueError, OSError) as exc:  # an oversized payload, a closed socket
            log.warning("%s: publish to %s failed: %s", self.label, topic, exc)
            return False
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def publish_acked(
        self, topic: str, payload: bytes, *, timeout: float = 10.0, retain: bool = False
    ) -> bool:
        """Publish with QoS 1 and wait for the broker's acknowledgement. True only when the
        broker took it (False: not connected, timed out, or refused, with last_error said)."""
        if not self.connected.is_set():
            return False
        try:
            info = self._client.publish(topic, payload, qos=1, retain=retain)
        except (ValueError, OSError) as exc:
            log.warning("%s: publish to %s failed: %s", self.label, topic, exc)
            return False
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return False
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError):
            return False
        if not info.is_published():
            return False
        with self._lock:
            refused = self._refused.pop(info.mid, None)
        if refused is not None:
            self._set_error(f"the broker refused a message on {topic}: {refused} (its acl_file)")
            return False
        return True

    def ack(self, message: Message) -> None:
        """Acknowledge a message taken with manual_ack, if its connection is still the current one."""
        if self._manual_ack and message.qos > 0 and message.generation == self.generation:
            self._client.ack(message.mid, message.qos)

    # -- paho's thread -------------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if getattr(reason, "is_failure", False) or (isinstance(reason, int) and reason != 0):
            self._set_error(
                f"broker {self.config.address} refused {self.label}: {_refusal_hint(str(reason))}"
            )
            return
        with self._lock:
            self.generation += 1
            handlers = list(self._handlers)
        for topic_filter, qos, _, _ in handlers:
            client.subscribe(topic_filter, qos=qos)
        self.connected_since = time.time()
        self.disconnected_since = None
        if self.last_error:
            log.info("%s: connected to broker %s again", self.label, self.config.address)
        else:
            log.info("%s: connected to broker %s", self.label, self.config.address)
        self.last_error = ""
        self.connected.set()
        for callback in list(self._on_connect_cbs):
            try:
                callback()
            except Exception:
                log.exception("%s: on-connect step failed", self.label)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        # paho calls this while handling the connect's OSError (it passes no exception)
        exc = sys.exc_info()[1]
        why = f" ({exc})" if exc is not None else ""
        self._set_error(f"cannot reach the broker {self.config.address}{why}; retrying")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        # the reason is said before the link reads as down: whoever sees it down also sees why
        was = self.connected.is_set()
        if was:
            self.disconnected_since = time.time()
            self.connected_since = None
            if not self._closed:
                self._set_error(f"lost the broker {self.config.address} ({reason}); reconnecting")
        self.connected.clear()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        if getattr(reason, "is_failure", False):
            self.refused_publishes += 1
            with self._lock:
                self._refused[mid] = str(reason)
                if len(self._refused) > 1000:
                    self._refused.pop(next(iter(self._refused)))

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        message = Message(msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain), msg.mid, self.generation)
        with self._lock:
            handlers = [(h, a) for f, _, h, a in self._handlers if mqtt.topic_matches_sub(f, msg.topic)]
        for handler, _ in handlers:
            try:
                handler(message)
            except Exception:  # one bad message must not stop the loop
                log.exception("%s: handling a message on %s failed", self.label, msg.topic)
        if not any(acks for _, acks in handlers):
            self.ack(message)

    def _set_error(self, error: str) -> None:
        if error != self.last_error:
            log.error("%s: %s", self.label, error)
        self.last_error = error

"""How the hub listens: the uvicorn server both `homelab-hub serve` and the tests run, with
limits uvicorn does not set by itself.

uvicorn has no timeout for a request head or body and no cap on connections, so a client
that opens connections and sends half a request each (slowloris) holds them forever; with the
descriptor limit reached the hub stops accepting anyone. `GuardedH11Protocol` closes a
connection whose head is not complete within ``server.header_timeout_s`` or whose body makes
no progress for ``server.body_timeout_s``, and at ``server.max_connections`` evicts the
connection that has waited longest for its head to make room for the new one. The timers live
here, on the event loop's own clock, rather than as a timeout around every ``receive()`` in
the app (which cost a sixth of a quick call's CPU). A connection that switches to WebSocket
leaves this protocol: both timers are cleared then (the body timer, armed on the upgrade
request, used to cut every live WebSocket after 30 s).
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from homelab_hub.config import HubConfig
from homelab_hub.errors import ConfigError

log = logging.getLogger(__name__)

# A WebSocket command is a few hundred bytes (64 camera names at most); uvicorn's default of
# 16 MiB let one message hold the event loop for seconds while parsed and 20 unfinished
# fragments add 320 MB to the process. A bigger message closes the socket with 1009.
WS_MAX_MESSAGE_BYTES = 8 * 1024


class GuardedH11Protocol(H11Protocol):
    max_connections = 1000
    header_timeout_s = 10.0
    body_timeout_s = 30.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.max_connections and not self._evict_one():
            log.warning(
                "refusing a connection: %d connections are open (server.max_connections)",
                len(self.connections),
            )
            self.transport = transport  # connection_lost, which abort() brings, closes it again
            transport.abort()
            return
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._awaiting_head_since = 0.0
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.get_protocol() is not self:
            return  # upgraded to a WebSocket while handling this data
        state = self.conn.their_state
        if state is not h11.IDLE:
            self._disarm_head_timer()
        if state is h11.SEND_BODY:
            self._arm_body_timer()
        else:
            self._disarm_body_timer()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        # From here the WebSocket protocol owns the transport; this one's timers would only
        # close a healthy socket later.
        self._disarm_head_timer()
        self._disarm_body_timer()
        super().handle_websocket_upgrade(event)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state in (h11.IDLE, h11.DONE):
            self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        self._disarm_body_timer()
        super().connection_lost(exc)

    # -- head timer and eviction ----------------------------------------------------------
    @property
    def awaiting_head(self) -> bool:
        return getattr(self, "_head_timer", None) is not None

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._awaiting_head_since = self.loop.time()
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def _arm_body_timer(self) -> None:
        self._disarm_body_timer()
        self._body_timer: asyncio.TimerHandle | None = self.loop.call_later(
            self.body_timeout_s, self._body_timed_out
        )

    def _disarm_body_timer(self) -> None:
        timer = getattr(self, "_body_timer", None)
        if timer is not None:
            timer.cancel()
            self._body_timer = None

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self.conn.their_state is h11.SEND_BODY and not self.transport.is_closing():
            log.info("closing a connection whose request body stalled for %.0f s", self.body_timeout_s)
            self.transport.close()

    def _evict_one(self) -> bool:
        waiting = [c for c in self.connections if isinstance(c, GuardedH11Protocol) and c.awaiting_head]
        if not waiting:
            return False
        victim = min(waiting, key=lambda c: c._awaiting_head_since)
        victim._disarm_head_timer()
        victim.transport.abort()
        # abort() calls connection_lost soon, not now: forget it at once so the count is right.
        self.connections.discard(victim)
        return True


def connection_cap(configured: int) -> int:
    """``server.max_connections``, capped at half the soft descriptor limit: the other half is
    for the database, logs, model files and camera streams."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return configured
    return max(4, min(configured, soft // 2))


def protocol_class(config: HubConfig) -> type[GuardedH11Protocol]:
    return type(
        "HubH11Protocol",
        (GuardedH11Protocol,),
        {
            "max_connections": connection_cap(config.server.max_connections),
            "header_timeout_s": config.server.header_timeout_s,
            "body_timeout_s": config.server.body_timeout_s,
        },
    )


def uvicorn_config(app: Any, config: HubConfig, **overrides: Any) -> uvicorn.Config:
    """The uvicorn settings of a hub (host, port and the guarded protocol from ``config``)."""
    options: dict[str, Any] = {
        "host": config.server.host,
        "port": config.server.port,
        "log_config": None,
        "lifespan": "on",
        "http": protocol_class(config),
        "timeout_keep_alive": 5,
        # The WebSocket carries JPEGs, which deflate cannot shrink: compressing every frame for
        # every viewer was most of the live grid's CPU with ten viewers (benchmarks/camera_live.py).
        "ws_per_message_deflate": False,
        "ws_max_size": WS_MAX_MESSAGE_BYTES,
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)


def check_bind(config: HubConfig, tokens_exist: bool) -> None:
    """Raises ConfigError when the hub would listen beyond loopback without any API token."""
    if not config.is_loopback and not tokens_exist:
        raise ConfigError(
            f"refusing to listen on {config.server.host}: no API tokens exist. Create one with "
            "`homelab-hub token create NAME`, or bind to 127.0.0.1."
        )

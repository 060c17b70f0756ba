"""Live streams (the camera WebSocket, MJPEG, MCP's SSE): how many each caller may hold, and
their end when the credential that opened them ends.

A stream outlives the request that checked its credential: before this, an agent could open a
thousand MJPEG streams (each a connection, none evictable, so everyone else got "connection
reset"), and a revoked token or a signed-out browser kept watching. Each stream now takes a
`StreamLease` from the hub's one `StreamRegistry`: at most ``server.max_streams_per_agent``
per agent and ``server.max_streams`` in all (kept below ``server.max_connections``, so that
health and the admin always find a connection), the one over answered 429 or, on a
WebSocket, closed with the reason. `StreamRegistry.sweep` runs after every credential
refresh (every 2 s) and at sign-out, and cancels the streams whose credential has ended.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from homelab_hub.errors import HubError, TooManyStreams, Unauthorized
from homelab_hub.server.auth import Credential
from homelab_hub.tools.registry import Identity

log = logging.getLogger(__name__)

LEASE_KEY = "hub_stream"
# WebSocket close codes: 4401 like an HTTP 401 (the credential ended), 1013 "try again later".
CLOSE_CREDENTIAL_ENDED = 4401
CLOSE_TOO_MANY = 1013


@dataclass(eq=False)
class StreamLease:
    identity: Identity
    credential: Credential
    registry: StreamRegistry
    ended: str = ""  # why the stream was ended from outside; "" while it may run
    _cancel: Callable[[], None] | None = field(default=None, repr=False)

    def alive(self) -> bool:
        """False once the stream was ended or its credential no longer holds (checked now,
        not at the next sweep: a WebSocket checks this before each command)."""
        return not self.ended and self.registry.alive(self.credential)

    def end(self, reason: str) -> None:
        if not self.ended:
            self.ended = reason
            if self._cancel is not None:
                self._cancel()


class StreamRegistry:
    def __init__(self, *, per_agent: int, total: int, alive: Callable[[Credential], bool]) -> None:
        self.per_agent = per_agent
        self.total = total
        self.alive = alive
        self._leases: set[StreamLease] = set()

    def open(self, identity: Identity, credential: Credential) -> StreamLease:
        """A lease for one more stream of ``identity``. Raises TooManyStreams."""
        if len(self._leases) >= self.total:
            raise TooManyStreams(
                f"the hub already serves {self.total} live streams (server.max_streams); close one and retry"
            )
        mine = sum(1 for lease in self._leases if lease.identity.agent == identity.agent)
        if mine >= self.per_agent:
            raise TooManyStreams(
                f"agent {identity.agent!r} already holds {mine} live streams "
                f"(server.max_streams_per_agent); close one and retry"
            )
        lease = StreamLease(identity, credential, self)
        self._leases.add(lease)
        return lease

    def release(self, lease: StreamLease) -> None:
        self._leases.discard(lease)

    def count(self, agent: str | None = None) -> int:
        return sum(1 for lease in self._leases if agent is None or lease.identity.agent == agent)

    def sweep(self) -> int:
        """End every stream whose credential has ended; returns how many."""
        ended = [
            lease for lease in list(self._leases) if not lease.ended and not self.alive(lease.credential)
        ]
        for lease in ended:
            log.info("ending a live stream of agent %s: its credential ended", lease.identity.agent)
            lease.end("the credential that opened this stream was revoked or signed out")
        return len(ended)


def current_lease(scope: Scope) -> StreamLease | None:
    lease = scope.get("state", {}).get(LEASE_KEY)
    return lease if isinstance(lease, StreamLease) else None


async def run_stream(
    registry: StreamRegistry,
    identity: Identity,
    credential: Credential,
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    """Run a stream's app under a lease: refused when over the caps, cancelled and closed
    with a reason when the lease is ended."""
    websocket = scope["type"] == "websocket"
    try:
        lease = registry.open(identity, credential)
    except TooManyStreams as exc:
        log.info("refused a live stream: %s", exc.message)
        await _refuse(exc, websocket, receive, send)
        return
    sent: dict[str, bool] = {}

    async def tracking_send(message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            sent["accepted"] = True
        elif kind == "websocket.close":
            sent["closed"] = True
        elif kind == "http.response.start":
            sent["started"] = True
        elif kind == "http.response.body" and not message.get("more_body", False):
            sent["complete"] = True
        await send(message)

    scope.setdefault("state", {})[LEASE_KEY] = lease
    try:
        with anyio.CancelScope() as cancel:
            lease._cancel = cancel.cancel
            await app(scope, receive, tracking_send)
    finally:
        lease._cancel = None
        registry.release(lease)
    if lease.ended:
        await _finish(lease.ended, websocket, sent, send)


async def _refuse(exc: HubError, websocket: bool, receive: Receive, send: Send) -> None:
    if websocket:
        # Accepted, then closed with the reason: a close before the handshake is only a 403
        # to the browser, which cannot tell "too many" from "not allowed".
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": CLOSE_TOO_MANY, "reason": exc.message[:120]})
        return
    await send_error(send, exc)


async def _finish(reason: str, websocket: bool, sent: dict[str, bool], send: Send) -> None:
    # The client may be gone already; there is nothing left to tell it then.
    with contextlib.suppress(Exception):
        if websocket:
            if sent.get("accepted") and not sent.get("closed"):
                await send(
                    {"type": "websocket.close", "code": CLOSE_CREDENTIAL_ENDED, "reason": reason[:120]}
                )
            elif not sent.get("accepted"):
                await send({"type": "websocket.close", "code": CLOSE_CREDENTIAL_ENDED})
        elif not sent.get("started"):
            await send_error(send, Unauthorized(reason))
        elif not sent.get("complete"):
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def send_error(send: Send, exc: HubError) -> None:
    """An HTTP answer with the hub's JSON error envelope, straight on the ASGI channel (for
    the middleware that refuses before any handler runs)."""
    body = exc.envelope()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if exc.status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="homelab-hub"'))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

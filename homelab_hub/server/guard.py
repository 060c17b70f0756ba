"""The hub's front door, one ASGI middleware for every route:

1. Host and Origin checked against the allowed lists (DNS-rebinding guard).
2. Request bodies over ``server.max_body_bytes`` answered 413 (declared or streamed).
3. Bearer token required on /mcp, /sse, /messages and /api (health and the OpenAPI document
   aside) whenever a token exists; the identity it maps to is put on the scope. Without any
   token only loopback clients are served, as agent ``local``.
"""

from __future__ import annotations

import fnmatch
import json
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from homelab_hub.errors import Forbidden, HubError, PayloadTooLarge, Unauthorized
from homelab_hub.server.auth import LOCAL_IDENTITY, TokenCache
from homelab_hub.server.mcp import IDENTITY_KEY
from homelab_hub.server.metrics import HTTP_REQUESTS

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
LOOPBACK_CLIENTS = ("127.0.0.1", "::1", "localhost")
PUBLIC_PATHS = ("/api/health", "/api/openapi.json")
PROTECTED_PREFIXES = ("/mcp", "/sse", "/messages", "/api/", "/metrics")


class _BodyTooLarge(Exception):
    pass


def host_allowed(host: str, patterns: list[str]) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if name in LOOPBACK_HOSTS or host in LOOPBACK_HOSTS:
        return True
    return any(fnmatch.fnmatchcase(host, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def origin_allowed(origin: str, patterns: list[str]) -> bool:
    for scheme in ("http://", "https://"):
        if origin.startswith(scheme) and host_allowed(origin[len(scheme) :], []):
            return True
    return any(fnmatch.fnmatchcase(origin, p) for p in patterns)


class HubGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        tokens: TokenCache | None,
        allowed_hosts: list[str],
        allowed_origins: list[str],
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.allowed_hosts = allowed_hosts
        self.allowed_origins = allowed_origins
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                try:
                    headers = _headers(scope)
                    self._check_origin_and_host(headers)
                    self._authenticate(scope, headers)
                except HubError:
                    await send({"type": "websocket.close", "code": 4401})
                    return
            await self.app(scope, receive, send)
            return
        status_seen: dict[str, int] = {}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen["status"] = message["status"]
            await send(message)

        try:
            headers = _headers(scope)
            self._check_origin_and_host(headers)
            self._check_declared_length(headers)
            self._authenticate(scope, headers)
            await self.app(scope, self._limited(receive), send_wrapper)
        except _BodyTooLarge:
            if "status" not in status_seen:
                await self._reply(send_wrapper, PayloadTooLarge(self._too_large_message()))
        except HubError as exc:
            if "status" not in status_seen:
                headers = {"WWW-Authenticate": 'Bearer realm="homelab-hub"'} if exc.status == 401 else {}
                await self._reply(send_wrapper, exc, headers)
        finally:
            HTTP_REQUESTS.labels(_route_class(scope["path"]), str(status_seen.get("status", 0))).inc()

    # -- checks ---------------------------------------------------------------------------
    def _check_origin_and_host(self, headers: dict[str, str]) -> None:
        host = headers.get("host", "")
        if not host_allowed(host, self.allowed_hosts):
            raise Forbidden(f"Host {host!r} is not allowed; add it to server.allowed_hosts")
        origin = headers.get("origin")
        if origin and not origin_allowed(origin, self.allowed_origins):
            raise Forbidden(f"Origin {origin!r} is not allowed; add it to server.allowed_origins")

    def _check_declared_length(self, headers: dict[str, str]) -> None:
        length = headers.get("content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body_bytes
            except ValueError:
                too_big = False
            if too_big:
                raise PayloadTooLarge(self._too_large_message())

    def _too_large_message(self) -> str:
        return f"request body is larger than the limit of {self.max_body_bytes} bytes (server.max_body_bytes)"

    def _authenticate(self, scope: Scope, headers: dict[str, str]) -> None:
        path = scope["path"]
        if path in PUBLIC_PATHS or not path.startswith(PROTECTED_PREFIXES):
            return
        state = scope.setdefault("state", {})
        header = headers.get("authorization", "")
        cache = self.tokens
        if cache is None or not cache.any_live:
            client = (scope.get("client") or ("", 0))[0]
            if client not in LOOPBACK_CLIENTS:
                raise Unauthorized("this hub has no API tokens and serves loopback clients only")
            state[IDENTITY_KEY] = LOCAL_IDENTITY
            return
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
        identity = cache.verify(token.strip())
        if identity is None:
            raise Unauthorized("invalid or revoked token")
        state[IDENTITY_KEY] = identity

    def _limited(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body_bytes

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge()
            return message

        return wrapped

    async def _reply(self, send: Send, exc: HubError, headers: dict[str, str] | None = None) -> None:
        body = json.dumps({"ok": False, "error": exc.to_dict()}).encode()
        raw_headers: list[Any] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        await send({"type": "http.response.start", "status": exc.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": body})


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _route_class(path: str) -> str:
    for prefix in ("/api/tools", "/api/health", "/api", "/mcp", "/sse", "/messages", "/metrics"):
        if path.startswith(prefix):
            return prefix
    return "other"

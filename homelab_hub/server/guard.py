"""The hub's front door, one ASGI middleware in front of every route:

1. Host and Origin parsed strictly: the Host against the allowed list (DNS-rebinding guard),
   the Origin against the hub's own origin (the scheme, host and port the browser used) and
   ``server.allowed_origins``; a request repeating Host, Origin or Authorization is refused.
2. Request bodies over ``server.max_body_bytes`` answered 413 (declared or streamed). Stalled
   heads and bodies are the listener's to drop (server/serving.py).
3. A credential on the request is always judged: an unknown or revoked bearer token is 401,
   whatever mode the hub is in. What the request presents (bearer identity, browser session,
   loopback client of a tokenless hub, Origin) is put on the scope as a `Caller`; the route's
   own declaration (server/access.py) decides who may use it, and asks for the CSRF token.
4. Every response says ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import fnmatch
import logging
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from homelab_hub.config import is_loopback
from homelab_hub.errors import Forbidden, HubError, InvalidInput, PayloadTooLarge, Unauthorized
from homelab_hub.metrics import HTTP_REQUESTS
from homelab_hub.server.access import CALLER_KEY, STREAMS_KEY, Caller, one_header, request_headers
from homelab_hub.server.auth import TokenCache
from homelab_hub.server.session_store import BrowserSession
from homelab_hub.server.sessions import SessionCache, cookie_name
from homelab_hub.server.streams import StreamRegistry, send_error

log = logging.getLogger(__name__)

# Headers whose meaning is ambiguous when repeated: which one did the guard check, which one
# does the app read? Refused rather than guessed.
SINGLE_HEADERS = ("host", "origin", "authorization")
_DEFAULT_PORTS = {"http": 80, "https": 443}

# RFC 3986 reg-name characters (no userinfo '@', no path) and a numeric port.
_REG_NAME = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=%-]+$")
_PORT = re.compile(r"^[0-9]{1,5}$")


class _BodyTooLarge(Exception):
    pass


def parse_host(value: str) -> tuple[str, int | None] | None:
    """``host[:port]`` as sent in a Host header (or an Origin's authority), or None when it is
    not one: ``localhost:80@evil.com`` and ``127.0.0.1:evil.com`` are not hosts."""
    value = value.strip()
    if not value:
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[: end + 1], value[end + 1 :]
        if not re.fullmatch(r"\[[0-9A-Fa-f:.]+\]", name):
            return None
    else:
        name, sep, rest = value.partition(":")
        rest = sep + rest
        if not _REG_NAME.match(name):
            return None
    if not rest:
        return name.lower(), None
    if not rest.startswith(":") or not _PORT.match(rest[1:]) or not 0 < int(rest[1:]) < 65536:
        return None
    return name.lower(), int(rest[1:])


def host_allowed(host: str, patterns: list[str]) -> bool:
    parsed = parse_host(host)
    if parsed is None:
        return False
    name, port = parsed
    if is_loopback(name):
        return True
    full = f"{name}:{port}" if port is not None else name
    return any(fnmatch.fnmatchcase(full, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def origin_allowed(origin: str, patterns: list[str], own: tuple[str, str] | None = None) -> bool:
    """Whether a browser's Origin may use the hub: the hub's own origin, given as ``(scheme,
    Host header)`` of the request, or one of ``patterns`` (``server.allowed_origins``). Any
    other origin is refused, loopback ones included: a page on another port of 127.0.0.1 is
    another site (another local web app, or an attacker's)."""
    mine = _origin_key(*own) if own is not None else None
    if mine is not None and _origin_key(*_split_origin(origin)) == mine:
        return True
    return any(fnmatch.fnmatchcase(origin, p) for p in patterns)


def _split_origin(origin: str) -> tuple[str, str]:
    scheme, sep, authority = origin.partition("://")
    return (scheme, authority) if sep else ("", "")


def _origin_key(scheme: str, authority: str) -> tuple[str, str, int] | None:
    scheme = {"ws": "http", "wss": "https"}.get(scheme.lower(), scheme.lower())
    if scheme not in _DEFAULT_PORTS or "/" in authority:
        return None
    parsed = parse_host(authority)
    if parsed is None:
        return None
    name, port = parsed
    return scheme, name, port if port is not None else _DEFAULT_PORTS[scheme]


class HubGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        tokens: TokenCache | None,
        sessions: SessionCache | None = None,
        streams: StreamRegistry | None = None,
        allowed_hosts: list[str],
        allowed_origins: list[str],
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.sessions = sessions
        self.streams = streams
        self.allowed_hosts = allowed_hosts
        self.allowed_origins = allowed_origins
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            try:
                headers = request_headers(scope)
                self._check_origin_and_host(scope, headers)
                self._judge(scope, headers)
            except HubError:
                await send({"type": "websocket.close", "code": 4401})
                return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status_seen: dict[str, int] = {}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen["status"] = message["status"]
                # No response is to be sniffed into another type (a JSON error read as HTML,
                # an image as script).
                message = {**message, "headers": [*message.get("headers", []), _NOSNIFF]}
            await send(message)

        try:
            headers = request_headers(scope)
            self._check_origin_and_host(scope, headers)
            self._check_declared_length(headers)
            self._judge(scope, headers)
            await self.app(scope, self._limited(receive), send_wrapper)
        except _BodyTooLarge:
            if "status" not in status_seen:
                await send_error(send_wrapper, PayloadTooLarge(self._too_large_message()))
        except HubError as exc:
            if "status" not in status_seen:
                await send_error(send_wrapper, exc)
        finally:
            HTTP_REQUESTS.labels(_route_class(scope["path"]), str(status_seen.get("status", 0))).inc()

    # -- checks ---------------------------------------------------------------------------
    def _check_origin_and_host(self, scope: Scope, headers: dict[str, list[str]]) -> None:
        for name in SINGLE_HEADERS:
            if len(headers.get(name, ())) > 1:
                raise InvalidInput(f"the {name.title()} header appears more than once; send it once")
        host = one_header(headers, "host")
        if not host_allowed(host, self.allowed_hosts):
            raise Forbidden(f"Host {host!r} is not allowed; add it to server.allowed_hosts")
        origin = one_header(headers, "origin")
        if origin and not origin_allowed(origin, self.allowed_origins, (scope.get("scheme", "http"), host)):
            raise Forbidden(f"Origin {origin!r} is not allowed; add it to server.allowed_origins")

    def _check_declared_length(self, headers: dict[str, list[str]]) -> None:
        length = one_header(headers, "content-length")
        if length:
            try:
                too_big = int(length) > self.max_body_bytes
            except ValueError:
                too_big = False
            if too_big:
                raise PayloadTooLarge(self._too_large_message())

    def _too_large_message(self) -> str:
        return f"request body is larger than the limit of {self.max_body_bytes} bytes (server.max_body_bytes)"

    def _judge(self, scope: Scope, headers: dict[str, list[str]]) -> None:
        """Put what the request presents on the scope (see `Caller`); the route decides what
        it admits. Raises Unauthorized for a bearer token that is not live."""
        cache = self.tokens
        state = scope.setdefault("state", {})
        state[STREAMS_KEY] = self.streams
        header = one_header(headers, "authorization")
        tokens_required = cache is not None and cache.required
        browser = bool(one_header(headers, "origin"))
        if header:
            scheme, _, token = header.partition(" ")
            token = token.strip()
            identity = cache.verify(token) if cache is not None and scheme.lower() == "bearer" else None
            if identity is None or cache is None:
                raise Unauthorized("invalid or revoked token")
            digest = cache.live_hash(token) or ""
            state[CALLER_KEY] = Caller(
                bearer=identity, bearer_hash=digest, browser=browser, tokens_required=tokens_required
            )
            return
        session = self._session(scope, headers)
        session_identity = (
            cache.identity_for_hash(session.token_hash) if session is not None and cache is not None else None
        )
        loopback = is_loopback((scope.get("client") or ("", 0))[0])
        state[CALLER_KEY] = Caller(
            session=session if session_identity is not None else None,
            session_identity=session_identity,
            local=loopback and not tokens_required,
            browser=browser,
            tokens_required=tokens_required,
        )

    def _session(self, scope: Scope, headers: dict[str, list[str]]) -> BrowserSession | None:
        if self.sessions is None:
            return None
        wanted = cookie_name(scope.get("scheme", "http"))
        for cookie_header in headers.get("cookie", ()):
            for part in cookie_header.split(";"):
                name, _, value = part.strip().partition("=")
                if name == wanted:
                    return self.sessions.lookup(value)
        return None

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


_NOSNIFF = (b"x-content-type-options", b"nosniff")


def _route_class(path: str) -> str:
    for prefix in ("/api/tools", "/api/health", "/api", "/mcp", "/sse", "/messages", "/metrics", "/ws"):
        if path.startswith(prefix):
            return prefix
    return "other"

"""The hub's front door, one ASGI middleware for every route:

1. Host and Origin parsed strictly and checked against the allowed lists (DNS-rebinding
   guard); a request repeating Host, Origin or Authorization is refused.
2. Request bodies over ``server.max_body_bytes`` answered 413 (declared or streamed). Stalled
   heads and bodies are the listener's to drop (server/serving.py).
3. A credential on the request is always judged: an unknown or revoked bearer token is 401,
   whatever mode the hub is in. Browsers may use the session cookie made on /login instead,
   anywhere but the MCP endpoints; a state-changing /api request made with the cookie must
   carry an allowed Origin and the session's CSRF token. Without a credential, /mcp, /sse,
   /messages, /api, /ws and /metrics (health and the OpenAPI document aside) need a token once
   the hub requires tokens (`TokenCache.required`); before that, only loopback clients are
   served, as agent ``local``. The identity is put on the scope, for the tools, the pages and
   the MCP SDK's session-owner check.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import secrets
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from homelab_hub.config import is_loopback
from homelab_hub.errors import Forbidden, HubError, InvalidInput, PayloadTooLarge, Unauthorized
from homelab_hub.metrics import HTTP_REQUESTS
from homelab_hub.server.auth import IDENTITY_KEY, LOCAL_IDENTITY, TokenCache
from homelab_hub.server.session_store import BrowserSession
from homelab_hub.server.sessions import COOKIE, CSRF_HEADER, SessionCache
from homelab_hub.tools.registry import Identity

log = logging.getLogger(__name__)

PUBLIC_PATHS = ("/api/health", "/api/openapi.json")
PROTECTED_PREFIXES = ("/mcp", "/sse", "/messages", "/api/", "/metrics", "/ws/")
# Agents' endpoints: bearer tokens only, never a browser's cookie.
MCP_PREFIXES = ("/mcp", "/sse", "/messages")
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
SESSION_KEY = "hub_session"
# Headers whose meaning is ambiguous when repeated: which one did the guard check, which one
# does the app read? Refused rather than guessed.
SINGLE_HEADERS = ("host", "origin", "authorization")

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


def origin_allowed(origin: str, patterns: list[str]) -> bool:
    scheme, sep, authority = origin.partition("://")
    if sep and scheme in ("http", "https") and "/" not in authority:
        parsed = parse_host(authority)
        if parsed is not None and is_loopback(parsed[0]):
            return True
        if parsed is None:
            return False
    return any(fnmatch.fnmatchcase(origin, p) for p in patterns)


class HubGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        tokens: TokenCache | None,
        sessions: SessionCache | None = None,
        allowed_hosts: list[str],
        allowed_origins: list[str],
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.sessions = sessions
        self.allowed_hosts = allowed_hosts
        self.allowed_origins = allowed_origins
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            try:
                headers = _headers(scope)
                self._check_origin_and_host(headers)
                self._authenticate(scope, headers)
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
                extra = {"WWW-Authenticate": 'Bearer realm="homelab-hub"'} if exc.status == 401 else {}
                await self._reply(send_wrapper, exc, extra)
        finally:
            HTTP_REQUESTS.labels(_route_class(scope["path"]), str(status_seen.get("status", 0))).inc()

    # -- checks ---------------------------------------------------------------------------
    def _check_origin_and_host(self, headers: dict[str, list[str]]) -> None:
        for name in SINGLE_HEADERS:
            if len(headers.get(name, ())) > 1:
                raise InvalidInput(f"the {name.title()} header appears more than once; send it once")
        host = _one(headers, "host")
        if not host_allowed(host, self.allowed_hosts):
            raise Forbidden(f"Host {host!r} is not allowed; add it to server.allowed_hosts")
        origin = _one(headers, "origin")
        if origin and not origin_allowed(origin, self.allowed_origins):
            raise Forbidden(f"Origin {origin!r} is not allowed; add it to server.allowed_origins")

    def _check_declared_length(self, headers: dict[str, list[str]]) -> None:
        length = _one(headers, "content-length")
        if length:
            try:
                too_big = int(length) > self.max_body_bytes
            except ValueError:
                too_big = False
            if too_big:
                raise PayloadTooLarge(self._too_large_message())

    def _too_large_message(self) -> str:
        return f"request body is larger than the limit of {self.max_body_bytes} bytes (server.max_body_bytes)"

    def _authenticate(self, scope: Scope, headers: dict[str, list[str]]) -> None:
        path = scope["path"]
        public = path in PUBLIC_PATHS or not path.startswith(PROTECTED_PREFIXES)
        header = _one(headers, "authorization")
        cache = self.tokens
        if header:
            # A credential is judged by itself, in every mode and on every path: a revoked
            # token or garbage is refused even where a request without one would be served.
            scheme, _, token = header.partition(" ")
            identity = (
                cache.verify(token.strip()) if cache is not None and scheme.lower() == "bearer" else None
            )
            if identity is None:
                raise Unauthorized("invalid or revoked token")
            attach_identity(scope, identity)
            return
        session = None if path.startswith(MCP_PREFIXES) else self._session(headers)
        if session is not None and cache is not None:
            identity = cache.identity_for_hash(session.token_hash)
            if identity is not None:
                if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS and path.startswith("/api/"):
                    check_csrf(headers, session)
                attach_identity(scope, identity)
                scope["state"][SESSION_KEY] = session
                return
        tokens_required = cache is not None and cache.required
        loopback = is_loopback((scope.get("client") or ("", 0))[0])
        if not tokens_required and loopback:
            attach_identity(scope, LOCAL_IDENTITY)
            return
        if public:
            return  # served anonymously (health answers states only; pages send you to /login)
        if tokens_required:
            raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
        raise Unauthorized("this hub has no API tokens and serves loopback clients only")

    def _session(self, headers: dict[str, list[str]]) -> BrowserSession | None:
        if self.sessions is None:
            return None
        for cookie_header in headers.get("cookie", ()):
            for part in cookie_header.split(";"):
                name, _, value = part.strip().partition("=")
                if name == COOKIE:
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

    async def _reply(self, send: Send, exc: HubError, headers: dict[str, str] | None = None) -> None:
        body = exc.envelope()
        raw_headers: list[Any] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        await send({"type": "http.response.start", "status": exc.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": body})


def check_csrf(headers: dict[str, list[str]], session: BrowserSession, form_token: str | None = None) -> None:
    """A browser's write must come from an allowed page (an Origin header, already checked
    against the allowed list) and carry its session's CSRF token (header, or form field).
    Raises Forbidden."""
    if not _one(headers, "origin"):
        raise Forbidden("a browser write needs an Origin header")
    sent = form_token if form_token is not None else _one(headers, CSRF_HEADER)
    if not sent or not secrets.compare_digest(sent, session.csrf):
        raise Forbidden("missing or wrong CSRF token; reload the page")


def attach_identity(scope: Any, identity: Identity) -> None:
    """Put the caller's identity on the ASGI scope: in ``state`` for the hub's own handlers,
    and as ``scope["user"]`` for the MCP SDK, whose transports bind each session to the user
    that opened it (another agent using or deleting it is answered as for a missing session)."""
    scope.setdefault("state", {})[IDENTITY_KEY] = identity
    scope["user"] = AuthenticatedUser(
        AccessToken(token="", client_id=f"{identity.role}:{identity.agent}", scopes=[identity.role])
    )


def _headers(scope: Scope) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in scope.get("headers", []):
        out.setdefault(k.decode("latin-1").lower(), []).append(v.decode("latin-1"))
    return out


def _one(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def _route_class(path: str) -> str:
    for prefix in ("/api/tools", "/api/health", "/api", "/mcp", "/sse", "/messages", "/metrics", "/ws"):
        if path.startswith(prefix):
            return prefix
    return "other"

"""Who may use a route, declared on the route itself.

Every route and mount of the app is wrapped by `declare` with an `Access`: who may call it
(``public``, any ``agent``, or ``admin``) and how (``any``: a bearer token or a browser's
session cookie; ``browser``: a page, which sends a caller without a credential to /login;
``bearer``: the MCP endpoints, never the cookie). `create_app` refuses to start with a route
that declares nothing (`check_declared`), and a test walks the whole route table against the
declarations. Before this, access was a list of path prefixes in the guard, apart from the
routes, so a route outside the list was public without anyone deciding it.

`AccessCheck` runs after routing. It picks the identity from what the guard found on the
request (`Caller`), refuses a caller the route does not admit, and asks browsers for the CSRF
token: on every state-changing request that rides on the session cookie or comes from a page
(an Origin header) — a tokenless hub included — and as the first message of a WebSocket. A
route declared ``stream`` runs under a `StreamLease` (server/streams.py).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import quote

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from homelab_hub.errors import Forbidden, HubError, Unauthorized
from homelab_hub.server.auth import IDENTITY_KEY, LOCAL_IDENTITY, Credential
from homelab_hub.server.session_store import BrowserSession
from homelab_hub.server.sessions import CSRF_HEADER
from homelab_hub.server.streams import run_stream, send_error
from homelab_hub.tools.registry import Identity

Who = Literal["public", "agent", "admin"]
Via = Literal["any", "browser", "bearer"]
SESSION_KEY = "hub_session"
CALLER_KEY = "hub_caller"
STREAMS_KEY = "hub_streams"
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
CLOSE_CSRF = 4403


@dataclass(frozen=True)
class Access:
    who: Who
    via: Via = "any"
    stream: bool = (
        False  # long-lived (WebSocket, or a GET that streams): counted and ended with its credential
    )
    form_csrf: bool = False  # the handler reads the CSRF token from its form itself (/logout)


PUBLIC = Access("public")
AGENT = Access("agent")
PAGE = Access("agent", via="browser")


@dataclass(frozen=True)
class Caller:
    """What a request presents, as judged by the guard (an invalid bearer token never gets here)."""

    bearer: Identity | None = None
    bearer_hash: str = ""
    session: BrowserSession | None = None
    session_identity: Identity | None = None
    local: bool = False  # a loopback client of a hub that requires no tokens: agent 'local'
    browser: bool = False  # an Origin header came with it
    tokens_required: bool = False

    def pick(self, via: Via) -> tuple[Identity, Credential] | None:
        if self.bearer is not None:
            return self.bearer, Credential("bearer", self.bearer_hash)
        if via != "bearer" and self.session is not None and self.session_identity is not None:
            return self.session_identity, Credential("session", self.session.session_hash)
        if self.local:
            return LOCAL_IDENTITY, Credential("local")
        return None


R = TypeVar("R", bound=BaseRoute)


def declare(access: Access, route: R) -> R:
    """``route`` with its access policy: checked by `AccessCheck` after routing."""
    if not isinstance(route, (Route, WebSocketRoute, Mount)):
        raise TypeError(f"cannot declare access on {type(route).__name__}")
    route.app = AccessCheck(route.app, access)  # the handler stays reachable as route.app.app
    setattr(route, "access", access)  # noqa: B010 (starlette routes have no slot for it)
    return route


def declare_all(access: Access, routes: Iterable[R]) -> list[R]:
    return [declare(access, r) for r in routes]


def access_of(route: BaseRoute) -> Access | None:
    found = getattr(route, "access", None)
    return found if isinstance(found, Access) else None


def check_declared(routes: Iterable[BaseRoute]) -> None:
    """Raises RuntimeError naming every route that does not say who may use it."""
    missing = [getattr(r, "path", repr(r)) for r in routes if access_of(r) is None]
    if missing:
        raise RuntimeError(
            f"refusing to start: route(s) {', '.join(missing)} declare no access; wrap each in "
            "access.declare(PUBLIC | AGENT | PAGE | Access(...), route)"
        )


class AccessCheck:
    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        access = self.access
        state = scope.setdefault("state", {})
        caller = state.get(CALLER_KEY)
        if not isinstance(caller, Caller):
            caller = Caller()
        picked = caller.pick(access.via)
        if picked is not None:
            attach_identity(scope, picked[0])
            if picked[1].kind == "session":
                state[SESSION_KEY] = caller.session
        websocket = scope["type"] == "websocket"
        if access.who != "public":
            try:
                self._admit(scope, caller, picked)
            except HubError as exc:
                if websocket:
                    await send({"type": "websocket.close", "code": 4401 if exc.status == 401 else 4403})
                elif exc.status == 401 and access.via == "browser" and scope["method"] in ("GET", "HEAD"):
                    await _redirect(send, login_url(scope["path"]))
                else:
                    await send_error(send, exc)
                return
            if (
                websocket
                and picked is not None
                and picked[1].kind == "session"
                and caller.session is not None
            ):
                receive = _csrf_first(receive, send, caller.session)
        streams = state.get(STREAMS_KEY)
        if (
            access.stream
            and picked is not None
            and streams is not None
            and (websocket or scope["method"] == "GET")
        ):
            await run_stream(streams, picked[0], picked[1], self.app, scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _admit(self, scope: Scope, caller: Caller, picked: tuple[Identity, Credential] | None) -> None:
        """Raises Unauthorized, Forbidden."""
        if picked is None:
            if caller.tokens_required:
                raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
            raise Unauthorized("this hub has no API tokens and serves loopback clients only")
        identity, credential = picked
        if self.access.who == "admin" and identity.role != "admin":
            raise Forbidden(f"agent {identity.agent!r} may not do this: it needs an admin token")
        if scope["type"] == "websocket":
            if caller.browser and credential.kind == "local":
                raise Forbidden("a browser's WebSocket needs a session: open one of the hub's pages first")
            return
        if scope["method"] not in UNSAFE_METHODS or self.access.form_csrf or credential.kind == "bearer":
            return
        if credential.kind == "session":
            assert caller.session is not None
            check_csrf(request_headers(scope), caller.session)
        elif caller.browser:
            # A page of the hub always has a session (a tokenless hub gives its loopback
            # browser one): a write from a page without it was not made by the hub's pages.
            raise Forbidden("a browser write needs the session's CSRF token; reload the hub's page")


def check_csrf(headers: dict[str, list[str]], session: BrowserSession, form_token: str | None = None) -> None:
    """A browser's write must come from an allowed page (an Origin header, already checked
    against the allowed list) and carry its session's CSRF token (header, or form field).
    Raises Forbidden."""
    if not one_header(headers, "origin"):
        raise Forbidden("a browser write needs an Origin header")
    sent = form_token if form_token is not None else one_header(headers, CSRF_HEADER)
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


def safe_next(value: str | None) -> str:
    """A local path to go back to after signing in: never another site (``//evil``, ``https:``)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or "://" in value:
        return "/"
    return value[:500]


def login_url(path: str) -> str:
    return "/login?next=" + quote(safe_next(path), safe="/")


def _csrf_first(receive: Receive, send: Send, session: BrowserSession) -> Receive:
    """A browser's WebSocket: its first message must be ``{"csrf": "<the page's token>"}``
    (a cookie alone rides along from any page the browser shows). That message is the
    guard's; the app sees the ones after it."""
    checked = False

    async def wrapped() -> Message:
        nonlocal checked
        message = await receive()
        if checked or message["type"] != "websocket.receive":
            return message
        checked = True
        sent = _csrf_of(message)
        if not sent or not secrets.compare_digest(sent, session.csrf):
            reason = 'the first message must be {"csrf": "<the page\'s CSRF token>"}'
            await send({"type": "websocket.close", "code": CLOSE_CSRF, "reason": reason})
            return {"type": "websocket.disconnect", "code": CLOSE_CSRF}
        return await receive()

    return wrapped


def _csrf_of(message: Message) -> str:
    text = message.get("text")
    if not isinstance(text, str) or len(text) > 512:
        return ""
    try:
        body = json.loads(text)
    except ValueError:
        return ""
    token = body.get("csrf") if isinstance(body, dict) else None
    return token if isinstance(token, str) else ""


def request_headers(scope: Scope) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in scope.get("headers", []):
        out.setdefault(k.decode("latin-1").lower(), []).append(v.decode("latin-1"))
    return out


def one_header(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


async def _redirect(send: Send, location: str) -> None:
    headers = [(b"location", location.encode("latin-1")), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})

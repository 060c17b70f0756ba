"""Browser sign-in: /login turns a token typed once into a session cookie, /logout ends it.

The cookie is HttpOnly, SameSite=Strict, and over https a ``__Host-`` cookie (Secure, this
host only: sessions.cookie_name); it holds only a random session id (the database keeps its
hash). Both forms are state-changing posts: they need an allowed Origin (the guard checks its
value; here its presence), and /logout the session's CSRF token as well.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import parse_qs

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from homelab_hub.config import is_loopback
from homelab_hub.errors import Forbidden
from homelab_hub.server.access import SESSION_KEY, check_csrf, safe_next
from homelab_hub.server.auth import LOCAL_IDENTITY, TokenCache
from homelab_hub.server.session_store import BrowserSession, SessionStore
from homelab_hub.server.sessions import SessionCache, cookie_name

log = logging.getLogger(__name__)
MAX_FORM_BYTES = 4096


class Renderer(Protocol):
    """How a page is drawn (server/web/pages.py's `WebPages.render`), handed in by the pages."""

    def __call__(
        self, request: Request, template: str, context: Mapping[str, Any], status_code: int = 200
    ) -> Response: ...


class SignIn:
    def __init__(
        self,
        tokens: TokenCache,
        sessions: SessionCache,
        store: Callable[[], SessionStore],
        render: Renderer,
        lifetime_s: Callable[[], float],
    ) -> None:
        self.tokens = tokens
        self.sessions = sessions
        self.store = store
        self.render = render
        self.lifetime_s = lifetime_s

    # -- pages ------------------------------------------------------------------------------
    async def login_page(self, request: Request) -> Response:
        return self.render(request, "login.html", {"next": safe_next(request.query_params.get("next"))})

    async def login(self, request: Request) -> Response:
        """POST /login: a wrong or revoked token re-renders the form with 401."""
        self._require_origin(request)
        form = await _form(request)
        next_path = safe_next(form.get("next"))
        token = form.get("token", "").strip()
        token_hash = self.tokens.live_hash(token)
        identity = self.tokens.verify(token) if token_hash else None
        if token_hash is None or identity is None:
            log.info("browser sign-in refused from %s", (request.client.host if request.client else "?"))
            return self.render(
                request,
                "login.html",
                {"next": next_path, "error": "That token is not valid (wrong, or revoked)."},
                status_code=401,
            )
        session_id, session = await anyio.to_thread.run_sync(
            lambda: self.store().create(
                identity,
                token_hash,
                lifetime_s=self.lifetime_s(),
                user_agent=request.headers.get("user-agent", ""),
            )
        )
        self.sessions.add(session)
        log.info("browser session %s opened for agent %s", session.handle, identity.agent)
        response = RedirectResponse(next_path, status_code=303)
        self.set_cookie(request, response, session_id, session)
        return response

    async def logout(self, request: Request) -> Response:
        self._require_origin(request)
        form = await _form(request)
        session: BrowserSession | None = request.scope.get("state", {}).get(SESSION_KEY)
        if session is not None:
            check_csrf(_headers(request), session, form_token=form.get("csrf", ""))
            await anyio.to_thread.run_sync(self.store().revoke, session.session_hash)
            self.sessions.drop(session.session_hash)
            log.info("browser session %s closed", session.handle)
        response = RedirectResponse("/login", status_code=303)
        # Deleted with the attributes it was set with: a browser ignores a Set-Cookie for a
        # __Host- name that is not Secure with Path=/, and the probe found SameSite=lax here.
        response.delete_cookie(**self._cookie_attributes(request))
        return response

    # -- sessions for pages -----------------------------------------------------------------
    async def local_session(
        self, request: Request, response_for: Callable[[BrowserSession], Response]
    ) -> Response:
        """A tokenless hub's loopback browser gets a session as ``local`` without a login, so
        its pages carry a CSRF token like any other."""
        session_id, session = await anyio.to_thread.run_sync(
            lambda: self.store().create(
                LOCAL_IDENTITY,
                "",
                lifetime_s=self.lifetime_s(),
                user_agent=request.headers.get("user-agent", ""),
            )
        )
        self.sessions.add(session)
        response = response_for(session)
        self.set_cookie(request, response, session_id, session)
        return response

    def may_open_local_session(self, request: Request) -> bool:
        client = request.client.host if request.client else ""
        return not self.tokens.required and is_loopback(client)

    def set_cookie(
        self, request: Request, response: Response, session_id: str, session: BrowserSession
    ) -> None:
        response.set_cookie(
            value=session_id,
            max_age=int(session.expires_at - session.created_at),
            **self._cookie_attributes(request),
        )

    @staticmethod
    def _cookie_attributes(request: Request) -> dict[str, Any]:
        # Over https a __Host- cookie (Secure, this host only); see sessions.cookie_name.
        secure = request.url.scheme == "https"
        return {
            "key": cookie_name(request.url.scheme),
            "path": "/",
            "httponly": True,
            "samesite": "strict",
            "secure": secure,
        }

    @staticmethod
    def _require_origin(request: Request) -> None:
        # The guard has checked the Origin's value against the allowed list; a browser always
        # sends one on a form post, so one without it is not a browser form.
        if not request.headers.get("origin"):
            raise Forbidden("a sign-in form post needs an Origin header")


def _headers(request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in request.headers.items():
        out.setdefault(k.lower(), []).append(v)
    return out


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form (the sign-in and sign-out posts); other bodies give {}."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    try:
        parsed = parse_qs(body.decode("utf-8"), max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in parsed.items() if v}

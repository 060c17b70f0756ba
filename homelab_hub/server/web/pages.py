"""The pages: server-rendered Jinja2 templates and a few JavaScript modules of our own, shipped
in the package (no build step, no CDN, no external fonts: they work offline).

Every page needs a signed-in browser: a session made on /login from a token, or, on a
tokenless hub, a loopback browser (given a ``local`` session on its first page, so that it
carries a CSRF token like any other). Agent tokens may view; the pages' writes go through
``/api/tools/*`` and its permission checks, with the session cookie and CSRF header.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import jinja2
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from homelab_hub import __version__
from homelab_hub.errors import NotFound
from homelab_hub.server.access import PAGE, PUBLIC, SESSION_KEY, Access, declare, login_url
from homelab_hub.server.auth import IDENTITY_KEY, TokenCache
from homelab_hub.server.session_store import BrowserSession, SessionStore
from homelab_hub.server.sessions import SessionCache
from homelab_hub.server.web.next_steps import ALERT_COUNT_CAP, next_steps, recent_alert_count
from homelab_hub.server.web.signin import SignIn
from homelab_hub.tools.registry import Identity

if TYPE_CHECKING:
    from homelab_hub.cameras.service import CameraService
    from homelab_hub.services import Services

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("homelab_hub.server.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
_STATIC = StaticFiles(packages=[("homelab_hub.server.web", "static")])


class WebPages:
    def __init__(
        self, get_services: Callable[[], Services], tokens: TokenCache, sessions: SessionCache
    ) -> None:
        self.get_services = get_services
        self.templates = Jinja2Templates(env=_TEMPLATES)
        self.signin = SignIn(
            tokens,
            sessions,
            store=lambda: SessionStore(get_services().db),
            render=self.render,
            lifetime_s=lambda: get_services().config.server.session_hours * 3600,
        )

    def routes(self) -> list[Route | Mount]:
        return [
            declare(PAGE, Route("/", self.home, methods=["GET"])),
            declare(PAGE, Route("/cameras", self.cameras, methods=["GET"])),
            declare(PAGE, Route("/zones", self.zones, methods=["GET"])),
            declare(PAGE, Route("/alerts", self.alerts, methods=["GET"])),
            declare(PAGE, Route("/alerts/review", self.review, methods=["GET"])),
            declare(PUBLIC, Route("/login", self.signin.login_page, methods=["GET"])),
            declare(PUBLIC, Route("/login", self.signin.login, methods=["POST"])),
            # Public: signing out without a session only drops the cookie; with one, the
            # handler checks the form's CSRF field.
            declare(Access("public", form_csrf=True), Route("/logout", self.signin.logout, methods=["POST"])),
            declare(PUBLIC, Mount("/static", app=_STATIC, name="static")),
        ]

    # -- rendering ----------------------------------------------------------------------------
    def render(
        self, request: Request, template: str, context: Mapping[str, Any], status_code: int = 200
    ) -> Response:
        state = request.scope.get("state", {})
        session: BrowserSession | None = state.get(SESSION_KEY)
        identity: Identity | None = state.get(IDENTITY_KEY) if session is not None else None
        full = {
            "version": __version__,
            "identity": identity,
            "csrf": session.csrf if session is not None else "",
            "tokens_required": self.signin.tokens.required,
            "path": request.url.path,
            **context,
        }
        response = self.templates.TemplateResponse(request, template, full, status_code=status_code)
        # The pages are the operator's: never framed by another site, never cached by a proxy.
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
            "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        )
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    async def page(
        self, request: Request, template: str, context: Callable[[Services], Mapping[str, Any]]
    ) -> Response:
        """Render a page for a signed-in browser, or send it to /login."""
        session: BrowserSession | None = request.scope.get("state", {}).get(SESSION_KEY)
        services = self.get_services()
        if session is None:
            if self.signin.may_open_local_session(request):
                data = await anyio.to_thread.run_sync(context, services)

                def render_local(new: BrowserSession) -> Response:
                    request.scope["state"][SESSION_KEY] = new
                    return self.render(request, template, data)

                return await self.signin.local_session(request, render_local)
            return RedirectResponse(login_url(request.url.path), status_code=303)
        data = await anyio.to_thread.run_sync(context, services)
        return self.render(request, template, data)

    # -- pages --------------------------------------------------------------------------------
    async def home(self, request: Request) -> Response:
        return await self.page(request, "home.html", _home)

    async def cameras(self, request: Request) -> Response:
        return await self.page(request, "cameras.html", _cameras)

    async def zones(self, request: Request) -> Response:
        wanted = request.query_params.get("camera", "")

        def context(services: Services) -> dict[str, Any]:
            shown = _cameras(services)
            cameras = shown["cameras"]
            return {**shown, "selected": wanted if wanted in cameras else (cameras or [""])[0]}

        return await self.page(request, "zones.html", context)

    async def alerts(self, request: Request) -> Response:
        return RedirectResponse("/alerts/review", status_code=307)

    async def review(self, request: Request) -> Response:
        return await self.page(request, "review.html", _cameras)


def _home(services: Services) -> dict[str, Any]:
    health = services.cached_health() or services.health()
    return {
        **_cameras(services),
        "components": health.components,
        "workers": health.workers,
        "overall": "degraded" if health.problems() else "ok",
        "uptime_s": round(time.time() - services.started_at),
        "next_steps": next_steps(services),
        "alerts_24h": recent_alert_count(services),
        "alert_cap": ALERT_COUNT_CAP,
    }


def _cameras(services: Services) -> dict[str, Any]:
    """The cameras' names, and for each camera that is not ok its state and reason as
    camera_list words them (``offline: connection refused (rtsp://…)``)."""
    if services.cameras is None:
        return {"cameras": [], "reasons": {}}
    cameras = services.cameras.names()
    return {"cameras": cameras, "reasons": camera_reasons(services.cameras, cameras)}


def camera_reasons(cameras: CameraService, names: list[str]) -> dict[str, str]:
    """``summary`` of each named camera whose state is not ok (one that left meanwhile: none)."""
    reasons: dict[str, str] = {}
    for name in names:
        try:
            status = cameras.status(name)
        except NotFound:
            continue
        if status.state != "ok":
            reasons[name] = status.summary
    return reasons

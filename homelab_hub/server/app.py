"""The Starlette application: MCP (Streamable HTTP and SSE), the REST mirror, health and
metrics, behind one guard. Services are built in the lifespan, never at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
import anyio.to_thread
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from homelab_hub import __version__
from homelab_hub.config import HubConfig, load_config
from homelab_hub.errors import HubError, NotFound, Unavailable
from homelab_hub.health import HubHealth
from homelab_hub.metrics import REGISTRY
from homelab_hub.notify.speakers import AUDIO_ROUTE
from homelab_hub.server import web_api
from homelab_hub.server.access import AGENT, PUBLIC, check_declared, declare
from homelab_hub.server.auth import IDENTITY_KEY, Credential, TokenCache
from homelab_hub.server.components import COMPONENTS, Component, all_resources, all_tools
from homelab_hub.server.guard import HubGuard
from homelab_hub.server.lifecycle import build_services, close_services, reload_services
from homelab_hub.server.mcp.binding import MCPBinding
from homelab_hub.server.rest import RestMirror, error_response
from homelab_hub.server.serving import check_bind, connection_cap
from homelab_hub.server.session_store import SessionStore
from homelab_hub.server.sessions import SessionCache
from homelab_hub.server.streams import StreamRegistry
from homelab_hub.server.token_store import TokenStore
from homelab_hub.server.web.live import LiveRoutes
from homelab_hub.server.web.pages import WebPages
from homelab_hub.services import Services

log = logging.getLogger(__name__)

_HEALTH_REFRESH_S = 0.25
_HEALTH_MAX_AGE_S = 0.5


class HubApp:
    """Holds what the routes need once the lifespan has started them."""

    def __init__(
        self,
        config: HubConfig,
        *,
        services: Services | None = None,
        config_path: str | None = None,
        components: Sequence[Component] = COMPONENTS,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.components = components  # the ones ``services`` was built with, when given
        self._services = services
        self._owns_services = services is None
        self.tokens = TokenCache(TokenStore(services.db) if services is not None else None)
        self.sessions = SessionCache(SessionStore(services.db) if services is not None else None)
        cap = connection_cap(config.server.max_connections)
        # Below the connection cap, so that health and the admin always find a connection.
        self.streams = StreamRegistry(
            per_agent=min(config.server.max_streams_per_agent, cap // 2),
            total=min(config.server.max_streams, cap // 2),
            alive=self.credential_alive,
        )
        self.sessions.on_drop = self.streams.sweep
        self.web = WebPages(self.services, self.tokens, self.sessions)
        self.live = LiveRoutes(self.services)
        self.tools = all_tools(self.components)
        self.resources = all_resources(self.components)
        self.mcp = MCPBinding(
            self.tools, self.resources, self.services, max_body_bytes=config.server.max_body_bytes
        )
        self.rest = RestMirror(self.tools, self.services)
        self._refresher: asyncio.Task[None] | None = None
        self._health_limiter: anyio.CapacityLimiter | None = None
        self._health_task: asyncio.Task[None] | None = None

    def services(self) -> Services:
        if self._services is None:
            raise Unavailable("the hub is still starting")
        return self._services

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        if self._services is None:
            self._services = await anyio.to_thread.run_sync(
                lambda: build_services(self.config, components=self.components)
            )
        services = self._services
        self.tokens.store = TokenStore(services.db)
        self.sessions.store = SessionStore(services.db)
        await anyio.to_thread.run_sync(self._refresh_credentials)
        check_bind(self.config, self.tokens.required)
        if not self.tokens.required:
            log.warning(
                "NO API TOKENS: serving loopback clients only, every caller acts as agent 'local' (admin). "
                "Create tokens with `homelab-hub token create NAME` to require authentication."
            )
        self._refresher = asyncio.create_task(self._refresh_tokens())
        self._health_task = asyncio.create_task(self._refresh_health())
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
            # Only possible in the main thread (not when embedded, e.g. in tests).
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._on_sighup)
        try:
            async with self.mcp.lifespan():
                log.info("homelab-hub %s serving %d tools", __version__, len(self.tools))
                yield
        finally:
            self._refresher.cancel()
            self._health_task.cancel()
            if self._owns_services:
                await anyio.to_thread.run_sync(close_services, services)

    def _on_sighup(self) -> None:
        asyncio.get_running_loop().create_task(self.reload())

    async def reload(self) -> list[str]:
        """Re-read the config file and apply it to running engines (SIGHUP does this)."""
        try:
            config = await anyio.to_thread.run_sync(load_config, self.config_path)
            reloaded = await anyio.to_thread.run_sync(reload_services, self.services(), config)
        except HubError as exc:
            log.error("reload refused, keeping the running config: %s", exc.message)
            return []
        except Exception as exc:  # one line, never the exception's arguments (they may hold the file)
            log.error("reload refused, keeping the running config: %s", type(exc).__name__)
            return []
        self.config = config
        log.info("config reloaded: %s", ", ".join(reloaded) or "nothing to apply live")
        return reloaded

    def _refresh_credentials(self) -> None:
        self.tokens.refresh()
        self.sessions.refresh()

    async def _refresh_tokens(self) -> None:
        while True:
            await asyncio.sleep(self.tokens.refresh_s)
            try:
                await anyio.to_thread.run_sync(self._refresh_credentials)
            except Exception as exc:  # keep the last known tokens and sessions while the database is away
                log.warning("token refresh failed: %s", exc)
                continue
            self.streams.sweep()  # a revoked token or session ends its streams within refresh_s

    def credential_alive(self, credential: Credential) -> bool:
        """Whether a stream's credential still holds: its token live, its session live and
        made from a live token, or (a tokenless hub's 'local') still no token required."""
        if credential.kind == "bearer":
            return self.tokens.identity_for_hash(credential.key) is not None
        if credential.kind == "session":
            session = self.sessions.get(credential.key)
            return session is not None and self.tokens.identity_for_hash(session.token_hash) is not None
        return not self.tokens.required

    # -- plain routes -------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        """200 with component states, or 503 with reasons. Without a credential (once tokens
        exist) it says states only: details name hosts, cameras and paths."""
        auth = "tokens" if self.tokens.required else "none (loopback only)"
        if self._services is None:
            return JSONResponse(
                {"status": "starting", "version": __version__, "auth": auth, "components": {}},
                status_code=503,
            )
        report = await self.current_health()
        health = report.flat()
        bad = report.problems()
        body: dict[str, Any] = {"status": "degraded" if bad else "ok", "version": __version__, "auth": auth}
        if IDENTITY_KEY in request.scope.get("state", {}):
            body["components"] = {k: v.model_dump() for k, v in health.items()}
            if bad:
                body["reasons"] = bad
        else:
            body["components"] = {k: {"state": v.state} for k, v in health.items()}
            if bad:
                body["reasons"] = {k: "details need a token" for k in bad}
        return JSONResponse(body, status_code=503 if bad else 200)

    async def current_health(self) -> HubHealth:
        """The health report, at most half a second old, without waiting: a task rebuilds it
        four times a second from state the engines and workers keep, on threads of its own, so
        a request never queues behind tool calls in the shared pool (under load /api/health
        once took 2.5-8.3 s there) nor waits for a thread at all."""
        services = self.services()
        cached = services.cached_health(_HEALTH_MAX_AGE_S)
        if cached is not None:
            return cached
        return await anyio.to_thread.run_sync(services.health, limiter=self._health_threads())

    def _health_threads(self) -> anyio.CapacityLimiter:
        if self._health_limiter is None:
            self._health_limiter = anyio.CapacityLimiter(2)
        return self._health_limiter

    async def _refresh_health(self) -> None:
        services = self.services()
        while True:
            try:
                await anyio.to_thread.run_sync(services.health, limiter=self._health_threads())
            except Exception as exc:  # health reports problems; its refresher must not die of one
                log.warning("health refresh failed: %s", exc)
            await asyncio.sleep(_HEALTH_REFRESH_S)

    async def metrics(self, request: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    async def speaker_audio(self, request: Request) -> Response:
        """A spoken alert for a speaker: its one-time name is the only credential (no token:
        a speaker sends none). Used up or expired: 404."""
        bus = self._services.notifier if self._services is not None else None
        store = bus.speakers.audio if bus is not None and bus.speakers is not None else None
        head = request.method == "HEAD"
        clip = store.fetch(request.path_params["name"], consume=not head) if store is not None else None
        if clip is None:
            raise NotFound("this audio link was used already, has expired or never existed")
        return Response(
            b"" if head else clip.data, media_type=clip.content_type, headers={"Cache-Control": "no-store"}
        )


def create_app(
    config: HubConfig,
    *,
    services: Services | None = None,
    config_path: str | None = None,
    components: Sequence[Component] = COMPONENTS,
) -> Starlette:
    """Build the ASGI app. Pass ``services`` to reuse ones built elsewhere (tests);
    ``config_path`` is re-read on SIGHUP; ``components`` defaults to every component."""
    hub = HubApp(config, services=services, config_path=config_path, components=components)
    routes = [
        declare(PUBLIC, Route("/api/health", hub.health, methods=["GET"])),
        declare(AGENT, Route("/metrics", hub.metrics, methods=["GET"])),
        # A speaker sends no token: the one-time name is the credential.
        declare(PUBLIC, Route(f"{AUDIO_ROUTE}/{{name}}", hub.speaker_audio, methods=["GET", "HEAD"])),
        *hub.rest.routes(),
        *web_api.routes(hub.services),
        *hub.mcp.routes(),
        *hub.live.routes(),
        *hub.web.routes(),
    ]
    check_declared(routes)
    middleware = [
        Middleware(
            HubGuard,
            tokens=hub.tokens,
            sessions=hub.sessions,
            streams=hub.streams,
            allowed_hosts=config.server.allowed_hosts,
            allowed_origins=config.server.allowed_origins,
            max_body_bytes=config.server.max_body_bytes,
        )
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=hub.lifespan,
        exception_handlers={HubError: _hub_error, HTTPException: _http_error, Exception: _unexpected},
    )
    app.state.hub = hub
    return app


async def _hub_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(NotFound(f"no route {request.method} {request.url.path}"))
    err = HubError(exc.detail or "HTTP error")
    err.status, err.code = exc.status_code, "http_error"
    return error_response(err, dict(exc.headers or {}))


async def _unexpected(request: Request, exc: Exception) -> Response:
    incident = uuid.uuid4().hex[:8]
    log.error(
        "unexpected error on %s %s (error id %s)", request.method, request.url.path, incident, exc_info=exc
    )
    return error_response(HubError(f"internal error (error id {incident}, details in the hub log)"))

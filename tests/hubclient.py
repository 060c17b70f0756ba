"""Test harness: the real app under uvicorn on a free port, reached through httpx (REST)
and through the MCP SDK's own client over Streamable HTTP and SSE."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import httpx
import uvicorn
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from homelab_hub.config import HubConfig, load_config
from homelab_hub.server.app import create_app
from homelab_hub.server.components import COMPONENTS, Component
from homelab_hub.server.serving import uvicorn_config
from homelab_hub.server.token_store import TokenStore


@contextlib.asynccontextmanager
async def mcp_session(
    base_url: str, transport: str = "http", token: str | None = None
) -> AsyncIterator[ClientSession]:
    """An initialized MCP client session to the hub over ``http`` (Streamable HTTP) or ``sse``."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if transport == "http":
        # The SDK's own defaults for its HTTP client: follow redirects, a 30 s timeout with a
        # 5-minute read timeout for long-lived streams.
        timeout = httpx.Timeout(30.0, read=300.0)
        async with httpx.AsyncClient(headers=headers, timeout=timeout, follow_redirects=True) as http:
            async with streamable_http_client(f"{base_url}/mcp", http_client=http) as streams:
                async with ClientSession(streams[0], streams[1]) as session:
                    await session.initialize()
                    yield session
    elif transport == "sse":
        async with sse_client(f"{base_url}/sse", headers=headers) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                yield session
    else:
        raise ValueError(transport)


MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
MCP_INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    },
}


def raw_session(
    base_url: str, headers: dict[str, str] | None = None, post: Any = httpx.post
) -> dict[str, str]:
    """Initialize an MCP Streamable HTTP session with plain HTTP (no SDK client, so any bytes
    can be sent, and only the server's work is timed); returns the headers its requests carry.
    ``post`` is httpx.post or a client's post."""
    base = {**MCP_HEADERS, **(headers or {})}
    r = post(base_url + "/mcp", json=MCP_INIT, headers=base, timeout=30)
    r.raise_for_status()
    session = {**base, "mcp-session-id": r.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    post(base_url + "/mcp", json=note, headers=session, timeout=30).raise_for_status()
    return session


class RunningHub:
    def __init__(self, config: HubConfig, **uvicorn_options: Any) -> None:
        """``uvicorn_options`` add to the hub's own settings (``ssl_certfile`` and
        ``ssl_keyfile`` serve it over https)."""
        self.config = config
        self.app = create_app(config)
        scheme = "https" if uvicorn_options.get("ssl_certfile") else "http"
        self.url = f"{scheme}://127.0.0.1:{config.server.port}"
        # The same uvicorn settings as `homelab-hub serve` (guarded protocol, limits).
        self._server = uvicorn.Server(
            uvicorn_config(self.app, config, host="127.0.0.1", log_level="warning", **uvicorn_options)
        )
        self._thread = threading.Thread(target=self._run, name="test-hub", daemon=True)

    def _run(self) -> None:
        try:
            self._server.run()
        except SystemExit:  # uvicorn exits this way when the lifespan refuses to start
            pass

    def start(self, timeout: float = 60.0) -> RunningHub:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the hub failed to start (see log output)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the hub did not start within {timeout}s")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(30)

    @property
    def services(self) -> Any:
        return self.app.state.hub.services()

    def create_token(self, name: str, admin: bool = False) -> str:
        token = TokenStore(self.services.db).create(name, admin=admin)
        self.app.state.hub.tokens.refresh()
        return token

    def revoke_token(self, name: str) -> None:
        TokenStore(self.services.db).revoke(name)
        self.app.state.hub.tokens.refresh()

    def _headers(self, token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else {}

    def post(self, path: str, json: Any = None, token: str | None = None, **kw: Any) -> httpx.Response:
        return httpx.post(
            self.url + path,
            json=json,
            headers={**self._headers(token), **kw.pop("headers", {})},
            timeout=120,
            **kw,
        )

    def get(self, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        return httpx.get(
            self.url + path, headers={**self._headers(token), **kw.pop("headers", {})}, timeout=60, **kw
        )

    def rest(self, tool: str, args: dict[str, Any] | None = None, token: str | None = None) -> httpx.Response:
        return self.post(f"/api/tools/{tool}", json=args or {}, token=token)

    def mcp_call(
        self, tool: str, args: dict[str, Any] | None = None, token: str | None = None, transport: str = "http"
    ) -> Any:
        async def go() -> Any:
            async with mcp_session(self.url, transport, token) as session:
                return await session.call_tool(tool, args or {})

        return anyio.run(go)

    def raw_mcp_session(self, token: str | None = None) -> dict[str, str]:
        """A Streamable HTTP session opened with plain HTTP (see `raw_session`)."""
        return raw_session(self.url, self._headers(token))

    def raw_mcp_call(self, headers: dict[str, str], tool: str, arguments_json: str) -> dict[str, Any]:
        """tools/call with the arguments as raw JSON text; returns the JSON-RPC result."""
        name = json.dumps(tool)
        body = f'{{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {{"name": {name}, "arguments": {arguments_json}}}}}'
        r = httpx.post(self.url + "/mcp", content=body, headers=headers, timeout=60)
        r.raise_for_status()
        return dict(r.json()["result"])

    def mcp(self, fn: Any, token: str | None = None, transport: str = "http") -> Any:
        """Run ``await fn(session)`` in a fresh MCP session; returns its result."""

        async def go() -> Any:
            async with mcp_session(self.url, transport, token) as session:
                return await fn(session)

        return anyio.run(go)


def hub_config(tmp_path: Path, port: int, overrides: dict[str, Any] | None = None) -> HubConfig:
    base: dict[str, Any] = {
        "server": {"port": port, "data_dir": str(tmp_path / "data")},
        "storage": {"url": f"sqlite:///{tmp_path}/hub.db"},
        "logging": {"file": str(tmp_path / "hub.log")},
    }
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return load_config(None, **base)


class InProcessHub:
    """The same app as `RunningHub`, reached in-process through httpx's ASGI transport: no
    socket, no uvicorn thread. For REST-only tests; transports, browsers and crashes need the
    real server. The app and its lifespan run on an event loop in a portal thread, so the
    tests stay synchronous."""

    def __init__(self, config: HubConfig, components: Sequence[Component] = COMPONENTS) -> None:
        from anyio.from_thread import start_blocking_portal

        self.config = config
        self.app = create_app(config, components=components)
        self.url = "http://127.0.0.1"
        self._portal_cm = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        self._lifespan = self._portal.wrap_async_context_manager(self.app.router.lifespan_context(self.app))
        self._lifespan.__enter__()
        transport = httpx.ASGITransport(app=self.app, client=("127.0.0.1", 40000))
        self._client = httpx.AsyncClient(transport=transport, base_url=self.url, timeout=120)

    def stop(self) -> None:
        self._portal.call(self._client.aclose)
        self._lifespan.__exit__(None, None, None)
        self._portal_cm.__exit__(None, None, None)

    services = RunningHub.services
    create_token = RunningHub.create_token
    revoke_token = RunningHub.revoke_token
    _headers = RunningHub._headers

    def post(self, path: str, json: Any = None, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {**self._headers(token), **kw.pop("headers", {})}
        return self._portal.call(lambda: self._client.post(path, json=json, headers=headers, **kw))

    def get(self, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {**self._headers(token), **kw.pop("headers", {})}
        return self._portal.call(lambda: self._client.get(path, headers=headers, **kw))

    rest = RunningHub.rest

"""A tiny real HTTP server for fakes: routes (method, path) to Python callables.

    def show(req: Request) -> Reply: return Reply(200, {"ok": True})
    with FakeHTTPServer({("POST", "/api/show"): show}) as srv:
        httpx.post(srv.url + "/api/show", json={...})

A handler gets a `Request` (method, path, query, headers, body bytes, json()) and returns a
`Reply` (status, body: dict/list -> JSON, str/bytes -> raw, headers, delay_s before
answering). ``srv.requests`` keeps every request seen, for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


Route = Callable[[Request], Reply]


class FakeHTTPServer:
    def __init__(
        self, routes: dict[tuple[str, str], Route] | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.routes: dict[tuple[str, str], Route] = dict(routes or {})
        self.requests: list[Request] = []
        self.fallback: Route | None = None
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; without this, Nagle holds the body back
            # until the client's delayed ACK (about 40 ms per request on a kept-alive socket).
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(self.command, parsed.path, parse_qs(parsed.query), dict(self.headers), body)
                outer.requests.append(req)
                route = outer.routes.get((self.command, parsed.path)) or outer.fallback
                reply = (
                    route(req) if route else Reply(404, {"error": f"no route {self.command} {parsed.path}"})
                )
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if isinstance(reply.body, (dict, list)):
                    raw = json.dumps(reply.body).encode()
                    ctype = "application/json; charset=utf-8"
                elif isinstance(reply.body, str):
                    raw, ctype = reply.body.encode(), "text/plain; charset=utf-8"
                else:
                    raw, ctype = reply.body or b"", "application/octet-stream"
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.headers.get("Content-Type", ctype))
                    for k, v in reply.headers.items():
                        if k.lower() != "content-type":
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def route(self, method: str, path: str) -> Callable[[Route], Route]:
        def deco(fn: Route) -> Route:
            self.routes[(method, path)] = fn
            return fn

        return deco

    def start(self) -> FakeHTTPServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

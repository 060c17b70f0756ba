"""Blocking JSON-over-HTTP calls to inference hosts, with failures named for the reader.

Every call has an explicit timeout; ``trust_env=False`` so a proxy variable in the service's
environment never reroutes traffic meant for a host on the LAN. A configured URL may carry
``user:password@`` (sent as Basic auth) and query parameters such as ``?token=`` for a reverse
proxy in front of the host (kept on every request); neither ever appears in a message: every
URL and error text leaving this module goes through `homelab_hub.redact`.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx

from homelab_hub.errors import NotFound, Unavailable, UpstreamError
from homelab_hub.redact import redact_http_logs, redact_text, redact_url


class HostTimeout(Unavailable):
    """The host accepted the connection (or not) but did not answer in time."""

    state = "timeout"


class HostDown(Unavailable):
    """Nothing listens at the host's URL, or the connection broke."""

    state = "down"


class HostBadResponse(UpstreamError):
    """The host answered, but not with what its API documents."""

    state = "bad_response"


class HostClient:
    """One named host's HTTP API. Methods raise HostTimeout, HostDown, HostBadResponse, or
    NotFound for a documented 404.

    One pooled httpx client per host, shared by the worker threads (building a client costs
    ~20 ms of SSL setup, more than a request on the LAN); `close` releases it.
    """

    def __init__(self, name: str, url: str, timeout: float) -> None:
        redact_http_logs()
        self.name = name
        self._base = httpx.URL(url)
        self._prefix = self._base.path.rstrip("/")  # a reverse proxy may serve under a path
        # What answers, health and logs show: the password and secret parameters masked.
        self.url = redact_url(url.rstrip("/"))
        self.timeout = timeout
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=httpx.Timeout(self.timeout), trust_env=False)
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def endpoint(self, path: str, params: dict[str, str] | None = None) -> httpx.URL:
        """The base URL (credentials and query kept) with ``path`` appended and ``params`` merged."""
        url = self._base.copy_with(path=self._prefix + path)
        return url.copy_merge_params(params) if params else url

    def shown(self, path: str, params: dict[str, str] | None = None) -> str:
        return redact_url(str(self.endpoint(path, params)))

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        timeout: float | None = None,
        raw: bool = False,
    ) -> Any:
        limit = self.timeout if timeout is None else timeout
        where = f"{self.name} ({self.shown(path, params)})"
        try:
            reply = self._http().request(
                method, self.endpoint(path, params), json=body, timeout=httpx.Timeout(limit)
            )
        except httpx.TimeoutException as exc:
            raise HostTimeout(f"{where} did not answer within {limit:g} s") from exc
        except httpx.HTTPError as exc:
            detail = redact_text(f"{type(exc).__name__}: {exc}")
            raise HostDown(f"{where} is unreachable: {detail}") from exc
        if reply.status_code == 404:
            raise NotFound(f"{where}: {_error_text(reply)}")
        if reply.status_code >= 400:
            raise HostBadResponse(f"{where} answered HTTP {reply.status_code}: {_error_text(reply)}")
        if raw:
            return reply.text
        return _parse_json(reply.text, where)


def _parse_json(text: str, where: str) -> Any:
    # Streaming endpoints answer one JSON object per line even when asked not to stream on
    # some versions; the last complete line is the final status.
    try:
        return json.loads(text)
    except ValueError:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1:
            try:
                return json.loads(lines[-1])
            except ValueError:
                pass
        shown = redact_text(text[:80].replace("\n", " "))
        raise HostBadResponse(f"{where} answered malformed JSON: {shown!r}") from None


def _error_text(reply: httpx.Response) -> str:
    """The error message Ollama ({"error": "..."}) or llama-server ({"error": {"message"}}) sent."""
    return redact_text(_raw_error_text(reply))


def _raw_error_text(reply: httpx.Response) -> str:
    try:
        data = reply.json()
    except ValueError:
        return reply.text[:200] or reply.reason_phrase
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err)
        if err:
            return str(err)
    return reply.text[:200]


def expect_dict(data: Any, where: str, *keys: str) -> dict[str, Any]:
    """``data`` as a JSON object holding ``keys``. Raises HostBadResponse otherwise."""
    if not isinstance(data, dict):
        raise HostBadResponse(f"{where} answered {type(data).__name__}, expected a JSON object")
    missing = [k for k in keys if k not in data]
    if missing:
        raise HostBadResponse(f"{where} answered without {', '.join(missing)}")
    return data

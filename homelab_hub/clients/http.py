"""The hub's HTTP clients, built in one place, and one named host's JSON API with its failures
named for the reader.

`http_client` is the one place an ``httpx.Client`` is built: every client logs its request lines
through `homelab_hub.redact` (a URL's password or ``?token=`` never reaches the log) and has an
explicit timeout. `HostClient` is a LAN peer's JSON API (an Ollama host, a llama-server):
``trust_env=False``, so a proxy variable in the service's environment never reroutes traffic
meant for a host on the LAN. A configured URL may carry ``user:password@`` (sent as Basic auth)
and query parameters such as ``?token=`` for a reverse proxy in front of the host (kept on every
request); neither ever appears in a message.

Failures, mapped once (`no_answer` for a request that got no answer, `HostClient.request` for
the answer itself):

- `HostTimeout` (an `Unavailable`): no answer within the timeout;
- `HostDown` (an `Unavailable`): nothing listens at the URL, or the connection broke;
- `HostBadResponse` (an `UpstreamError`): an error status, or not what the API documents;
- `NotFound`: a documented 404.
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


def http_client(
    *,
    timeout: float | httpx.Timeout,
    verify: bool = True,
    trust_env: bool = True,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """A new httpx client (the caller closes it), its request lines logged redacted."""
    redact_http_logs()
    return httpx.Client(timeout=timeout, verify=verify, trust_env=trust_env, transport=transport)


def no_answer(exc: httpx.HTTPError, who: str, limit_s: float, *, slow: str | None = None) -> Unavailable:
    """The error for a request that got no answer: ``slow`` (or ``who``) did not answer within
    ``limit_s``, or ``who`` is unreachable and why. Redacted."""
    if isinstance(exc, httpx.TimeoutException):
        return HostTimeout(redact_text(f"{slow or who} did not answer within {limit_s:g} s"))
    return HostDown(redact_text(f"{who} is unreachable: {type(exc).__name__}: {exc}"))


class HostClient:
    """One named host's HTTP API. `request` raises HostTimeout, HostDown, HostBadResponse, or
    NotFound for a documented 404.

    One pooled httpx client per host, shared by the worker threads (building a client costs
    ~20 ms of SSL setup, more than a request on the LAN); `close` releases it.
    """

    def __init__(
        self, name: str, url: str, timeout: float, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.name = name
        self._base = httpx.URL(url)
        self._prefix = self._base.path.rstrip("/")  # a reverse proxy may serve under a path
        # What answers, health and logs show: the password and secret parameters masked.
        self.url = redact_url(url.rstrip("/"))
        self.timeout = timeout
        self._transport = transport
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = http_client(
                    timeout=httpx.Timeout(self.timeout), trust_env=False, transport=self._transport
                )
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

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> httpx.Response:
        """The answer, whatever its status. Raises httpx.HTTPError (map it with `no_answer`)."""
        limit = httpx.Timeout(self.timeout if timeout is None else timeout)
        return self._http().request(method, self.endpoint(path, params), json=body, timeout=limit)

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
        """The answer's JSON (its text with ``raw``). Raises HostTimeout, HostDown,
        HostBadResponse, NotFound."""
        limit = self.timeout if timeout is None else timeout
        where = f"{self.name} ({self.shown(path, params)})"
        try:
            reply = self.send(method, path, body=body, params=params, timeout=limit)
        except httpx.HTTPError as exc:
            raise no_answer(exc, where, limit) from exc
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

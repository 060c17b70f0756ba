"""One typed client for an Ollama host's chat API, with its failures mapped once.

The vision model (cameras/detect/vision.py) and the review model (cameras/review/classifier.py) both
talk to Ollama through it: one pooled HTTP client each, credentials from ``user:password@``
in the URL sent as Basic auth (never in the request URL, which httpx logs at INFO), and every
message redacted. A failure is a `HubError` naming the role ("vision model"), the model and
the host:

- `Unavailable`: nothing answers, or not within the timeout;
- `OllamaStatusError` (an `UpstreamError`): an error status; a 404 says to pull the model;
- `UpstreamError`: an answer that is not Ollama's chat JSON, or a message that is not text.
"""

from __future__ import annotations

from typing import Any

import httpx

from homelab_hub.errors import Unavailable, UpstreamError
from homelab_hub.redact import redact_text, redact_url

# A host that is up accepts a connection at once; only the answer may take the model's time.
_CONNECT_S = 5.0
_VERSION_TIMEOUT_S = 5.0


class OllamaStatusError(UpstreamError):
    """Ollama answered an error status; ``status`` and ``body`` let a caller retry without an
    option an older server rejects (a 400 naming ``format`` or ``think``)."""

    def __init__(self, message: str, *, status: int, body: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class OllamaClient:
    """Chat with one Ollama host. Thread-safe (httpx's client is); `close` releases it."""

    def __init__(
        self,
        url: str,
        *,
        role: str,
        config_key: str,
        timeout_s: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``role`` names the model in messages ("vision model"); ``config_key`` is the section
        whose ``model`` a 404 tells the reader to fix ("vision")."""
        raw = url.rstrip("/")
        self.where = redact_url(raw)  # the URL as every message shows it
        self.role = role
        self.config_key = config_key
        self.timeout_s = timeout_s
        base = httpx.URL(raw)
        auth = httpx.BasicAuth(base.username, base.password) if base.username or base.password else None
        self._client = httpx.Client(
            base_url=base.copy_with(username=None, password=None),
            auth=auth,
            timeout=httpx.Timeout(timeout_s, connect=_CONNECT_S),
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def chat(self, body: dict[str, Any]) -> str:
        """POST /api/chat (not streamed) and return the message's text.

        Raises Unavailable, OllamaStatusError, UpstreamError (see the module's docstring).
        """
        model = str(body.get("model", ""))
        try:
            response = self._client.post("/api/chat", json=body)
        except httpx.TimeoutException as exc:
            raise Unavailable(
                redact_text(
                    f"{self.role} {model!r} at {self.where} did not answer within {self.timeout_s:g} s"
                )
            ) from exc
        except httpx.TransportError as exc:
            raise Unavailable(redact_text(f"{self.role} at {self.where} is unreachable: {exc!r}")) from exc
        if response.status_code >= 400:
            raise OllamaStatusError(
                self._status_message(model, response), status=response.status_code, body=response.text
            )
        try:
            content = response.json()["message"]["content"]
        except (ValueError, KeyError, TypeError) as exc:
            raise UpstreamError(
                redact_text(
                    f"{self.role} at {self.where} answered something that is not Ollama's chat JSON: "
                    f"{response.text[:120]!r}"
                )
            ) from exc
        if not isinstance(content, str):
            raise UpstreamError(f"{self.role} at {self.where} answered a message that is not text")
        return content

    def version(self) -> str | None:
        """The server's version ("0.5.7"), or None when it cannot tell now (starting, down)."""
        try:
            data = self._client.get("/api/version", timeout=_VERSION_TIMEOUT_S).json()
        except (httpx.HTTPError, ValueError):
            return None
        version = data.get("version") if isinstance(data, dict) else None
        return str(version) if version is not None else ""

    def _status_message(self, model: str, response: httpx.Response) -> str:
        detail = response.text[:160]
        if response.status_code == 404:
            return redact_text(
                f"{self.role} {model!r} is not available at {self.where} (404: {detail}); "
                f"pull it or fix [{self.config_key}].model"
            )
        return redact_text(f"{self.role} at {self.where} answered HTTP {response.status_code}: {detail}")

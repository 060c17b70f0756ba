"""The vision classifier: one Ollama /api/chat call per crop, answered ALERT or CLEAR.

The crop goes as a base64 JPEG at temperature 0. Where the server supports structured
output (Ollama 0.5+), a JSON schema {verdict: ALERT|CLEAR, description} is sent as
``format``; the answer still goes through the verdict parser, so the seed's negation and
location rules apply either way. Calls block: they run on the camera's worker thread.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from homelab_hub.cameras.detect.verdict import Verdict, VerdictParser
from homelab_hub.cameras.settings import VisionConfig
from homelab_hub.clients.ollama import OllamaClient, OllamaStatusError
from homelab_hub.errors import HubError, InvalidInput
from homelab_hub.lazy import lazy_module

cv2 = lazy_module("cv2")

log = logging.getLogger(__name__)

VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": ["ALERT", "CLEAR"]},
        "description": {"type": "string"},
    },
    "required": ["verdict", "description"],
}


@dataclass(frozen=True)
class VisionHealth:
    """The model's numbers for /api/health and the watchdog's dependency check."""

    url: str  # redacted
    model: str
    calls: int
    failures: int
    consecutive_failures: int
    last_error: str  # redacted
    last_latency_s: float | None
    last_ok_at: float | None
    structured_output: bool | None


@dataclass(frozen=True)
class Classification:
    verdict: Verdict
    model: str
    latency_s: float
    structured: bool
    raw: str


class VisionClassifier:
    """Thread-safe: every camera's worker may call `classify` at once."""

    def __init__(self, config: VisionConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self.parser = VerdictParser(config)
        self._client = OllamaClient(
            config.url,
            role="vision model",
            config_key="vision",
            timeout_s=config.timeout_s,
            transport=transport,
        )
        self._where = self._client.where  # the URL as every message shows it
        self._lock = threading.Lock()
        self._structured: bool | None = {"on": True, "off": False}.get(config.structured_output)
        self.calls = 0
        self.failures = 0
        self.consecutive_failures = 0
        self.last_error = ""
        self.last_latency_s: float | None = None
        self.last_ok_at: float | None = None

    def close(self) -> None:
        self._client.close()

    def health(self) -> VisionHealth:
        with self._lock:
            return VisionHealth(
                url=self._where,
                model=self.config.model,
                calls=self.calls,
                failures=self.failures,
                consecutive_failures=self.consecutive_failures,
                last_error=self.last_error,
                last_latency_s=self.last_latency_s,
                last_ok_at=self.last_ok_at,
                structured_output=self._structured,
            )

    def classify(
        self, image_bgr: np.ndarray, *, camera: str, model: str | None = None, prompt: str | None = None
    ) -> Classification:
        """Ask the model about one image.

        Raises Unavailable (Ollama unreachable or timing out), UpstreamError (an error
        status or an answer that is not Ollama's JSON) or InvalidInput (not an image).
        """
        jpeg = encode_jpeg(image_bgr, self.config.max_image_px, self.config.jpeg_quality)
        model = model or self.config.model
        text = (prompt or self.config.prompt).replace("{camera}", camera)
        structured = self._wants_structured()
        start = time.perf_counter()
        try:
            answer = self._chat(model, text, jpeg, structured)
        except OllamaStatusError as exc:
            if not (structured and exc.status == 400 and "format" in exc.body.lower()):
                self._failed(exc)
                raise
            # An older server that rejects the schema: remember, and ask for free text.
            self._structured = False
            structured = False
            answer = self._chat_or_fail(model, text, jpeg, False)
        except HubError as exc:
            self._failed(exc)
            raise
        latency = time.perf_counter() - start
        verdict = self.parser.parse(answer)
        with self._lock:
            self.calls += 1
            self.consecutive_failures = 0
            self.last_latency_s = latency
            self.last_ok_at = time.time()
        return Classification(
            verdict=verdict, model=model, latency_s=latency, structured=structured, raw=answer
        )

    def _chat_or_fail(self, model: str, prompt: str, jpeg: bytes, structured: bool) -> str:
        try:
            return self._chat(model, prompt, jpeg, structured)
        except HubError as exc:
            self._failed(exc)
            raise

    def _chat(self, model: str, prompt: str, jpeg: bytes, structured: bool) -> str:
        body: dict[str, Any] = {
            "model": model,
            "messages": [
                {"role": "user", "content": prompt, "images": [base64.b64encode(jpeg).decode("ascii")]}
            ],
            "stream": False,
            "options": {"temperature": 0},
        }
        if structured:
            body["format"] = VERDICT_SCHEMA
        return self._client.chat(body)

    def _wants_structured(self) -> bool:
        if self._structured is not None:
            return self._structured
        try:
            version = self._client.version()
        except HubError:
            return False  # ask again next time; the server may be starting
        self._structured = _version_at_least(version, (0, 5, 0))
        log.info("vision: %s speaks structured output: %s", self._where, self._structured)
        return self._structured

    def _failed(self, exc: HubError) -> None:
        """Count a failed call; the client's message is already redacted (health shows it)."""
        with self._lock:
            self.failures += 1
            self.consecutive_failures += 1
            self.last_error = exc.message


def encode_jpeg(image_bgr: np.ndarray, max_side: int, quality: int) -> bytes:
    """A BGR image as JPEG, its longest side at most ``max_side``. Raises InvalidInput."""
    if not isinstance(image_bgr, np.ndarray) or image_bgr.ndim not in (2, 3) or min(image_bgr.shape[:2]) < 1:
        raise InvalidInput(f"expected a BGR image array, got {getattr(image_bgr, 'shape', type(image_bgr))}")
    h, w = image_bgr.shape[:2]
    if max(h, w) > max_side:
        scale = max_side / max(h, w)
        image_bgr = cv2.resize(
            image_bgr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
        )
    ok, buf = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise InvalidInput("the image could not be encoded as JPEG")
    return bytes(buf)


def _version_at_least(version: str, minimum: tuple[int, ...]) -> bool:
    parts: list[int] = []
    for piece in version.lstrip("v").split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts) >= minimum

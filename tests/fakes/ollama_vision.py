"""A stand-in Ollama serving a vision model: /api/chat, /api/tags, /api/version over real HTTP.

It really looks at the image it gets: in ``mode="look"`` (the default) a crop showing the
test clips' dark object (pixels darker than 50 on every channel, over 0.5 % of the image)
is an ALERT, anything else CLEAR. Other modes answer canned texts, kept here in `CANNED`
and phrased the way vision models phrase them, or misbehave::

    with FakeOllamaVision() as ollama:
        ollama.mode = "negated"        # "No people ... are visible" style answers
        ollama.mode = "malformed"      # a 200 whose body is not JSON
        ollama.mode = "error"          # HTTP 500
        ollama.delay_s = 3             # slow model
        ollama.version = "0.4.7"       # rejects `format` with 400, like servers before 0.5
        ollama.fixed = "ALERT: ..."    # the same answer to every image

Requests to /api/chat are kept in ``ollama.chats`` (the parsed JSON bodies).
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import cv2
import numpy as np

from tests.fakes.http import FakeHTTPServer, Reply, Request

CANNED: dict[str, list[str]] = {
    "alert": [
        "ALERT: A person in a dark jacket is standing near the front door.",
        "ALERT - A man is climbing over the side fence into the yard.",
        "Verdict: ALERT. A delivery driver is leaving a package on the porch.",
    ],
    "clear": [
        "CLEAR: The driveway is empty; tree branches sway in the wind.",
        "CLEAR - Only falling snow and the porch light are visible.",
        "Clear. An empty backyard with a kamado grill and a stone wall.",
    ],
    "hedged": [
        "ALERT or CLEAR? It is hard to say; probably CLEAR, the shape may be a shadow.",
        "There might be a person behind the hedge, but the image is too blurry to tell.",
    ],
    "negated": [
        "No people, vehicles, or animals are visible in the frame.",
        "There are no people or vehicles present in this image.",
    ],
    "location": [
        "ALERT: A vehicle on the road beyond the gate.",
        "ALERT - A person walking on the public sidewalk beyond the gate.",
    ],
    "shadow": ["ALERT: The shadow of a person moves across the driveway."],
}

LOOK_ALERT = "ALERT: A person in dark clothes is standing in the yard."
LOOK_CLEAR = "CLEAR: The yard is empty."


def shows_dark_object(image_bgr: np.ndarray) -> bool:
    dark = np.all(image_bgr < 50, axis=2)
    return bool(dark.mean() > 0.005)


def chat_body(req: Request, model: str, chats: list[dict[str, Any]]) -> dict[str, Any] | Reply:
    """A /api/chat body, recorded in ``chats``; or Ollama's own answer to a body that is not
    JSON (400) or names another model (404)."""
    try:
        body = req.json()
    except ValueError:
        return Reply(400, {"error": "invalid JSON body"})
    chats.append(body)
    if body.get("model") != model:
        return Reply(404, {"error": f'model "{body.get("model")}" not found, try pulling it first'})
    return body


class FakeOllamaVision(FakeHTTPServer):
    def __init__(self, model: str = "qwen2.5vl:7b", host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self._lock = threading.Lock()
        self.reset(model)
        self.routes.update(
            {
                ("GET", "/api/version"): lambda req: Reply(200, {"version": self.version}),
                ("GET", "/api/tags"): self._tags,
                ("POST", "/api/chat"): self._chat,
            }
        )

    def reset(self, model: str = "qwen2.5vl:7b") -> None:
        """Back to a healthy, modern server (lets one server serve a whole test module)."""
        self.model = model
        self.mode = "look"
        self.fixed: str | None = None  # when set, every answer is this text
        self.version = "0.6.2"
        self.delay_s = 0.0
        self.chats: list[dict[str, Any]] = []
        self.requests.clear()
        self._turn = 0

    @property
    def supports_format(self) -> bool:
        major, minor = (int(p) for p in self.version.split(".")[:2])
        return (major, minor) >= (0, 5)

    def _tags(self, req: Request) -> Reply:
        return Reply(200, {"models": [{"name": self.model, "model": self.model, "size": 6_000_000_000}]})

    def _chat(self, req: Request) -> Reply:
        body = chat_body(req, self.model, self.chats)
        if isinstance(body, Reply):
            return body
        if "format" in body and not self.supports_format:
            return Reply(
                400, {"error": "json: cannot unmarshal object into Go struct field ChatRequest.format"}
            )
        if self.mode == "error":
            return Reply(
                500, {"error": "llama runner process has terminated: signal: killed"}, delay_s=self.delay_s
            )
        if self.mode == "malformed":
            return Reply(200, '{"model": "qwen2.5vl:7b", "message": {"role": "assist', delay_s=self.delay_s)
        text = self._answer(body)
        if "format" in body:
            text = _as_structured(text)
        reply = {
            "model": self.model,
            "created_at": "2026-03-31T12:19:05.000000Z",
            "message": {"role": "assistant", "content": text},
            "done": True,
            "done_reason": "stop",
            "total_duration": 212_000_000,
            "eval_count": 24,
        }
        return Reply(200, reply, delay_s=self.delay_s)

    def _answer(self, body: dict[str, Any]) -> str:
        if self.fixed is not None:
            return self.fixed
        if self.mode == "look":
            images = body.get("messages", [{}])[-1].get("images") or []
            if not images:
                return "CLEAR: No image was provided."
            raw = np.frombuffer(base64.b64decode(images[0]), np.uint8)
            image = cv2.imdecode(raw, cv2.IMREAD_COLOR)
            if image is None:
                return "I'm sorry, I can't read this image."
            return LOOK_ALERT if shows_dark_object(image) else LOOK_CLEAR
        with self._lock:
            answers = CANNED[self.mode]
            self._turn += 1
            return answers[self._turn % len(answers)]


def _as_structured(text: str) -> str:
    """What a schema-bound model returns for the same judgement."""
    head = text.strip().upper()
    verdict = "ALERT" if head.startswith(("ALERT", "VERDICT: ALERT")) and "CLEAR" not in head else "CLEAR"
    description = text.split(":", 1)[-1].strip() if ":" in text[:12] else text
    return json.dumps({"verdict": verdict, "description": description})

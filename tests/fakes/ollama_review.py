"""A stand-in Ollama serving the review model: /api/chat, /api/version, /api/tags over real HTTP.

It reads the groups the hub sends (one JSON object per line of the user message, as the real
model does) and answers the structured-output schema it was given in ``format``. In
``mode="good"`` (the default) it labels each group the way a careful larger model would,
from words of its description and the camera's known features::

    with FakeOllamaReview() as ollama:
        ollama.mode = "malformed"    # a 200 whose message content is prose, not JSON
        ollama.mode = "invalid"      # JSON that breaks the schema (label MAYBE, confidence 7)
        ollama.mode = "partial"      # answers only the first group of each batch
        ollama.mode = "error"        # HTTP 500 from a crashed runner
        ollama.delay_s = 3           # slow: past the hub's timeout
        ollama.think_supported = False   # 400 when the request carries "think", like older models

Requests to /api/chat are kept in ``ollama.chats`` (parsed bodies).
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.http import FakeHTTPServer, Reply, Request
from tests.fakes.ollama_vision import chat_body

# (words in the description or known features, label, confidence, reason, pattern words)
RULES: list[tuple[tuple[str, ...], str, float, str, str]] = [
    (("on the road", "beyond the gate", "on the street"), "FALSE_POSITIVE", 0.93,
     "a vehicle or walker off the property, on the public road", "on the road"),
    (("kamado", "grill"), "FALSE_POSITIVE", 0.91, "the kamado grill is a permanent feature of the yard", "grill"),
    (("steam", "pipe"), "FALSE_POSITIVE", 0.9, "steam from the pipe by the stone wall", "steam"),
    (("branch", "branches", "swaying"), "FALSE_POSITIVE", 0.88, "branches moving in the wind", "branches"),
    (("shadow",), "FALSE_POSITIVE", 0.86, "a shadow, not a subject", "shadow"),
    (("cat", "squirrel", "bird", "rabbit"), "NOISE", 0.95, "a small animal, real but not a security event", ""),
]  # fmt: skip


class FakeOllamaReview(FakeHTTPServer):
    def __init__(self, model: str = "qwen3.5:35b") -> None:
        super().__init__()
        self.reset(model)
        self.routes.update(
            {
                ("GET", "/api/version"): lambda req: Reply(200, {"version": "0.17.1"}),
                ("GET", "/api/tags"): lambda req: Reply(200, {"models": [{"name": self.model}]}),
                ("POST", "/api/chat"): self._chat,
            }
        )

    def reset(self, model: str = "qwen3.5:35b") -> None:
        self.model = model
        self.mode = "good"
        self.delay_s = 0.0
        self.think_supported = True
        self.chats: list[dict[str, Any]] = []
        self.requests.clear()

    def _chat(self, req: Request) -> Reply:
        body = chat_body(req, self.model, self.chats)
        if isinstance(body, Reply):
            return body
        if "think" in body and not self.think_supported:
            return Reply(400, {"error": f'"{self.model}" does not support thinking'})
        if self.mode == "error":
            return Reply(500, {"error": "llama runner process has terminated: signal: killed"})
        groups = groups_in(body)
        if self.mode == "malformed":
            content = "Sure! Group 1 looks like a false positive to me, and the others are real."
        elif self.mode == "invalid":
            content = json.dumps(
                {"groups": [{"group_id": g["group_id"], "label": "MAYBE", "confidence": 7, "reason": "?",
                             "suppress_pattern": ""} for g in groups]}
            )  # fmt: skip
        else:
            answered = groups[:1] if self.mode == "partial" else groups
            content = json.dumps({"groups": [judge(g) for g in answered]})
        reply = {
            "model": self.model,
            "created_at": "2026-03-31T07:00:05.000000Z",
            "message": {"role": "assistant", "content": content},
            "done": True,
            "done_reason": "stop",
            "total_duration": 9_100_000_000,
        }
        return Reply(200, reply, delay_s=self.delay_s)


def groups_in(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The group objects of the user message, one JSON object per line."""
    found = []
    for message in body.get("messages", []):
        if message.get("role") != "user":
            continue
        for line in str(message.get("content", "")).splitlines():
            line = line.strip()
            if line.startswith("{") and '"group_id"' in line:
                found.append(json.loads(line))
    return found


def judge(group: dict[str, Any]) -> dict[str, Any]:
    text = str(group.get("description", "")).lower()
    features = " ".join(str(f).lower() for f in group.get("known_features", []))
    for words, label, confidence, reason, pattern in RULES:
        hit = next((w for w in words if w in text), None)
        if hit is None and label == "FALSE_POSITIVE":
            hit = next((w for w in words if w in features and w in text), None)
        if hit is not None:
            return {"group_id": group["group_id"], "label": label, "confidence": confidence, "reason": reason,
                    "suppress_pattern": pattern or hit}  # fmt: skip
    return {"group_id": group["group_id"], "label": "REAL", "confidence": 0.84,
            "reason": "a person on the property", "suppress_pattern": ""}  # fmt: skip

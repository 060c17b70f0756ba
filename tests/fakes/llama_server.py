"""A faithful stand-in for llama.cpp's ``llama-server``, on a real HTTP socket.

Shapes follow the server README (tools/server/README.md): ``GET /health`` (``{"status":
"ok"}``, or 503 with an OpenAI-style error while the model loads), ``GET /props``
(``default_generation_settings.n_ctx`` is the per-slot context, ``total_slots`` is
``--parallel``), ``GET /slots`` (501 under ``--no-slots``), ``GET /metrics`` (Prometheus text,
501 unless ``--metrics``) and ``POST /completion`` with its ``timings`` block.

The default instance is the seed's distributed setup: Qwen2.5-7B Q4_K_M on the Mac Studio
with the DGX as an RPC backend, ``-c 4096``, reporting the seed's measured 318 tok/s prefill
and 53 tok/s generation.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.http import FakeHTTPServer, Reply, Request
from tests.fakes.ollama import no_delay

MODEL_PATH = "/Users/lab/models/Qwen2.5-7B-Instruct-Q4_K_M.gguf"
PROMPT_TOKENS_PER_S = 318.0
GENERATION_TOKENS_PER_S = 53.0


def _not_supported(what: str) -> Reply:
    return Reply(
        501,
        {
            "error": {
                "code": 501,
                "message": f"This server does not support {what} endpoint.",
                "type": "not_supported_error",
            }
        },
    )


class FakeLlamaServer(FakeHTTPServer):
    def __init__(
        self,
        *,
        ctx_size: int = 4096,
        parallel: int = 1,
        slots: bool = True,
        metrics: bool = True,
        loading: bool = False,
        busy_slots: int = 0,
        deferred: int = 0,
    ) -> None:
        super().__init__()
        no_delay(self)
        self.reset(
            ctx_size=ctx_size,
            parallel=parallel,
            slots=slots,
            metrics=metrics,
            loading=loading,
            busy_slots=busy_slots,
            deferred=deferred,
        )
        self.routes.update(
            {
                ("GET", "/health"): self._health,
                ("GET", "/props"): self._props,
                ("GET", "/slots"): self._slots,
                ("GET", "/metrics"): self._metrics,
                ("POST", "/completion"): self._completion,
            }
        )

    def reset(
        self,
        *,
        ctx_size: int = 4096,
        parallel: int = 1,
        slots: bool = True,
        metrics: bool = True,
        loading: bool = False,
        busy_slots: int = 0,
        deferred: int = 0,
    ) -> None:
        """Reconfigure as if restarted with other flags (-c, --parallel, --no-slots, --metrics)."""
        self.ctx_size, self.parallel = ctx_size, parallel
        self.slots_enabled, self.metrics_enabled = slots, metrics
        self.loading, self.busy_slots, self.deferred = loading, busy_slots, deferred
        self.prompt_tokens_total = 0
        self.predicted_total = 0
        self.requests.clear()

    @property
    def n_ctx_slot(self) -> int:
        return self.ctx_size // self.parallel

    def _loading_reply(self) -> Reply:
        return Reply(503, {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}})

    def _health(self, req: Request) -> Reply:
        return self._loading_reply() if self.loading else Reply(200, {"status": "ok"})

    def _slot(self, i: int) -> dict[str, Any]:
        return {
            "id": i,
            "id_task": 17 if i < self.busy_slots else -1,
            "n_ctx": self.n_ctx_slot,
            "speculative": False,
            "is_processing": i < self.busy_slots,
            "params": {"n_predict": -1, "temperature": 0.8, "top_k": 40, "top_p": 0.95, "min_p": 0.05},
            "prompt": "",
            "next_token": {
                "has_next_token": True,
                "has_new_line": False,
                "n_remain": -1,
                "n_decoded": 0,
                "stopping_word": "",
            },
        }

    def _props(self, req: Request) -> Reply:
        if self.loading:
            return self._loading_reply()
        return Reply(
            200,
            {
                "default_generation_settings": self._slot(0) | {"id_task": -1, "is_processing": False},
                "total_slots": self.parallel,
                "model_path": MODEL_PATH,
                "chat_template": "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endfor %}",
                "modalities": {"vision": False, "audio": False},
                "build_info": "b5812-b0f0dd3e5",
            },
        )

    def _slots(self, req: Request) -> Reply:
        if not self.slots_enabled:
            return _not_supported("slots")
        return Reply(200, [self._slot(i) for i in range(self.parallel)])

    def _metrics(self, req: Request) -> Reply:
        if not self.metrics_enabled:
            return _not_supported("metrics")
        lines = []
        for name, kind, value, help_text in [
            (
                "prompt_tokens_total",
                "counter",
                self.prompt_tokens_total,
                "Number of prompt tokens processed.",
            ),
            (
                "prompt_seconds_total",
                "counter",
                self.prompt_tokens_total / PROMPT_TOKENS_PER_S,
                "Prompt process time",
            ),
            (
                "tokens_predicted_total",
                "counter",
                self.predicted_total,
                "Number of generation tokens processed.",
            ),
            (
                "tokens_predicted_seconds_total",
                "counter",
                self.predicted_total / GENERATION_TOKENS_PER_S,
                "Predict process time",
            ),
            ("prompt_tokens_seconds", "gauge", PROMPT_TOKENS_PER_S, "Average prompt throughput in tokens/s."),
            (
                "predicted_tokens_seconds",
                "gauge",
                GENERATION_TOKENS_PER_S,
                "Average generation throughput in tokens/s.",
            ),
            ("kv_cache_usage_ratio", "gauge", 0.12, "KV-cache usage. 1 means 100 percent usage."),
            ("kv_cache_tokens", "gauge", 491, "KV-cache tokens."),
            ("requests_processing", "gauge", self.busy_slots, "Number of requests processing."),
            ("requests_deferred", "gauge", self.deferred, "Number of requests deferred."),
        ]:
            lines += [
                f"# HELP llamacpp:{name} {help_text}",
                f"# TYPE llamacpp:{name} {kind}",
                f"llamacpp:{name} {value}",
            ]
        return Reply(200, "\n".join(lines) + "\n", {"Content-Type": "text/plain; version=0.0.4"})

    def _completion(self, req: Request) -> Reply:
        if self.loading:
            return self._loading_reply()
        body = req.json() or {}
        prompt_n = len(str(body.get("prompt", "")).split())
        n_predict = int(body.get("n_predict") or 16)
        self.prompt_tokens_total += prompt_n
        self.predicted_total += n_predict
        prompt_ms = prompt_n / PROMPT_TOKENS_PER_S * 1000
        predicted_ms = n_predict / GENERATION_TOKENS_PER_S * 1000
        return Reply(
            200,
            {
                "content": " the" * n_predict,
                "id_slot": 0,
                "stop": True,
                "model": MODEL_PATH,
                "tokens_predicted": n_predict,
                "tokens_evaluated": prompt_n,
                "generation_settings": self._slot(0)["params"] | {"n_predict": n_predict},
                "prompt": body.get("prompt", ""),
                "has_new_line": False,
                "truncated": False,
                "stop_type": "limit",
                "stopping_word": "",
                "tokens_cached": prompt_n + n_predict,
                "timings": {
                    "prompt_n": prompt_n,
                    "prompt_ms": prompt_ms,
                    "prompt_per_token_ms": prompt_ms / max(prompt_n, 1),
                    "prompt_per_second": PROMPT_TOKENS_PER_S,
                    "predicted_n": n_predict,
                    "predicted_ms": predicted_ms,
                    "predicted_per_token_ms": predicted_ms / max(n_predict, 1),
                    "predicted_per_second": GENERATION_TOKENS_PER_S,
                },
            },
        )

"""A faithful stand-in for an Ollama server, on a real HTTP socket.

Shapes follow the Ollama API documentation (docs.ollama.com/api, docs/api.md):
``GET /api/version``, ``GET /api/ps``, ``GET /api/tags``, ``POST /api/show``,
``POST /api/create`` (``from`` + ``parameters``, streaming NDJSON unless ``stream: false``) and
``POST /api/generate`` (durations in nanoseconds). Errors are ``{"error": "..."}`` with the
status Ollama uses (404 for an unknown model).

Canned models (all numbers from their GGUF metadata):

* ``qwen2.5vl:7b`` — the seed's vision model: 28 layers, 4 KV heads, head dim 128,
  131,072-token trained context, 5.97 GB of weights.
* ``llama3.1:8b`` — 32 layers, 8 KV heads, head dim 128 (128 KiB of f16 KV per token).
* ``qwen2.5:32b`` — 64 layers, 8 KV heads, head dim 128, 32,768-token context, 19.85 GB.

    with FakeOllama() as ollama:
        ollama.load("qwen2.5vl:7b", context=131_072, keep_alive_s=None)  # None = keep_alive -1
        ollama.url  # -> http://127.0.0.1:PORT
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.http import FakeHTTPServer, Reply, Request

GB = 10**9
VERSION = "0.12.3"

# Prompt processing and generation speeds the fake reports: the seed's RPC row for
# Qwen2.5-7B (318 tok/s prefill, 53 tok/s decode).
PROMPT_TOKENS_PER_S = 318.0
GENERATION_TOKENS_PER_S = 53.0
LOAD_NS = 2_400_000_000

MODELS: dict[str, dict[str, Any]] = {
    "qwen2.5vl:7b": {
        "size": 5_969_245_856,
        "digest": "5ced39dfa4bac325dc183dd1e4febaa1c46b3ea28bce48896c8e69c1e79611cc",
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": "qwen25vl",
            "families": ["qwen25vl"],
            "parameter_size": "8.3B",
            "quantization_level": "Q4_K_M",
        },
        "model_info": {
            "general.architecture": "qwen25vl",
            "general.file_type": 15,
            "general.parameter_count": 8292166656,
            "general.quantization_version": 2,
            "qwen25vl.attention.head_count": 28,
            "qwen25vl.attention.head_count_kv": 4,
            "qwen25vl.attention.layer_norm_rms_epsilon": 1e-06,
            "qwen25vl.block_count": 28,
            "qwen25vl.context_length": 131072,
            "qwen25vl.embedding_length": 3584,
            "qwen25vl.feed_forward_length": 18944,
            "qwen25vl.rope.freq_base": 1000000,
            "qwen25vl.vision.block_count": 32,
            "qwen25vl.vision.embedding_length": 1280,
            "tokenizer.ggml.model": "gpt2",
            "tokenizer.ggml.tokens": None,
        },
        "capabilities": ["completion", "vision"],
    },
    "llama3.1:8b": {
        "size": 4_920_753_328,
        "digest": "46e0c10c039e019119339687c3c1757cc81b9da49709a3b3924863ba87ca666e",
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": "llama",
            "families": ["llama"],
            "parameter_size": "8.0B",
            "quantization_level": "Q4_K_M",
        },
        "model_info": {
            "general.architecture": "llama",
            "general.basename": "Meta-Llama-3.1",
            "general.file_type": 15,
            "general.parameter_count": 8030261312,
            "general.quantization_version": 2,
            "llama.attention.head_count": 32,
            "llama.attention.head_count_kv": 8,
            "llama.attention.layer_norm_rms_epsilon": 1e-05,
            "llama.block_count": 32,
            "llama.context_length": 131072,
            "llama.embedding_length": 4096,
            "llama.feed_forward_length": 14336,
            "llama.rope.dimension_count": 128,
            "llama.rope.freq_base": 500000,
            "llama.vocab_size": 128256,
            "tokenizer.ggml.bos_token_id": 128000,
            "tokenizer.ggml.model": "gpt2",
            "tokenizer.ggml.tokens": None,
        },
        "capabilities": ["completion", "tools"],
    },
    "qwen2.5:32b": {
        "size": 19_851_336_236,
        "digest": "9f13ba1299afc8a5d5ec9e5e69e8b5ad6a5ab6ce1fe2b3d0e0f86e7c0b2a3c1a",
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": "qwen2",
            "families": ["qwen2"],
            "parameter_size": "32.8B",
            "quantization_level": "Q4_K_M",
        },
        "model_info": {
            "general.architecture": "qwen2",
            "general.file_type": 15,
            "general.parameter_count": 32763876352,
            "general.quantization_version": 2,
            "qwen2.attention.head_count": 40,
            "qwen2.attention.head_count_kv": 8,
            "qwen2.attention.layer_norm_rms_epsilon": 1e-06,
            "qwen2.block_count": 64,
            "qwen2.context_length": 32768,
            "qwen2.embedding_length": 5120,
            "qwen2.feed_forward_length": 27648,
            "qwen2.rope.freq_base": 1000000,
            "tokenizer.ggml.model": "gpt2",
            "tokenizer.ggml.tokens": None,
        },
        "capabilities": ["completion", "tools"],
    },
}


def kv_bytes(name: str, context: int, parallel: int = 1) -> int:
    """f16 KV cache the fake adds to a loaded model's size (what Ollama's estimate allocates)."""
    info = MODELS[_full(name)]["model_info"]
    arch = info["general.architecture"]
    head_dim = info[f"{arch}.embedding_length"] // info[f"{arch}.attention.head_count"]
    return (
        2
        * info[f"{arch}.block_count"]
        * context
        * info[f"{arch}.attention.head_count_kv"]
        * head_dim
        * 2
        * parallel
    )


def no_delay(server: FakeHTTPServer) -> FakeHTTPServer:
    """Send replies at once, as Ollama's Go server does (TCP_NODELAY). The shared fake writes
    headers and body separately; on a kept-alive connection Nagle then waits for the
    client's delayed ACK, adding ~40 ms to every request."""
    server._server.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
    return server


def _full(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


def _ollama_time(when: datetime) -> str:
    # Go's RFC 3339 with nanoseconds and a numeric offset, as /api/ps prints it.
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123+00:00"


class FakeOllama(FakeHTTPServer):
    def __init__(self) -> None:
        super().__init__()
        no_delay(self)
        self._lock = threading.Lock()
        self.installed: dict[str, dict[str, Any]] = {}
        self.parameters: dict[str, dict[str, Any]] = {}
        self.loaded: dict[str, dict[str, Any]] = {}
        self.reset()
        self.routes.update(
            {
                ("GET", "/api/version"): lambda r: Reply(200, {"version": VERSION}),
                ("GET", "/api/ps"): self._ps,
                ("GET", "/api/tags"): self._tags,
                ("POST", "/api/show"): self._show,
                ("POST", "/api/create"): self._create,
                ("POST", "/api/generate"): self._generate,
            }
        )

    # --- test controls ---

    def reset(self) -> None:
        """Back to the canned models, none loaded (one server can then serve many tests)."""
        with self._lock:
            self.installed = {name: dict(m) for name, m in MODELS.items()}
            self.parameters = {}
            self.loaded = {}
            self.requests.clear()

    def load(
        self,
        name: str,
        *,
        context: int = 4096,
        keep_alive_s: float | None = 300,
        cpu_share: float = 0.0,
        parallel: int = 1,
    ) -> dict[str, Any]:
        """Put ``name`` in /api/ps as Ollama would after a request; ``keep_alive_s=None`` is
        keep_alive -1 (Ollama then reports an expiry centuries away)."""
        model = self.installed[_full(name)]
        size = model["size"] + kv_bytes(name, context, parallel) + 512 * 1024**2
        expires = (
            datetime(2318, 3, 21, 4, 40, tzinfo=UTC)
            if keep_alive_s is None
            else datetime.now(UTC) + timedelta(seconds=keep_alive_s)
        )
        entry = {
            "name": name,
            "model": name,
            "size": size,
            "digest": model["digest"],
            "details": model["details"],
            "expires_at": _ollama_time(expires),
            "size_vram": int(size * (1 - cpu_share)),
            "context_length": context,
        }
        with self._lock:
            self.loaded[name] = entry
        return entry

    # --- API ---

    def _ps(self, req: Request) -> Reply:
        with self._lock:
            return Reply(200, {"models": list(self.loaded.values())})

    def _tags(self, req: Request) -> Reply:
        with self._lock:
            models = [
                {
                    "name": name,
                    "model": name,
                    "modified_at": "2026-03-28T09:12:44.412885211+00:00",
                    "size": m["size"],
                    "digest": m["digest"],
                    "details": m["details"],
                }
                for name, m in self.installed.items()
            ]
        return Reply(200, {"models": models})

    def _find(self, name: Any) -> dict[str, Any] | None:
        return self.installed.get(_full(str(name))) if name else None

    def _show(self, req: Request) -> Reply:
        body = req.json() or {}
        name = body.get("model") or body.get("name")  # "name" is the pre-0.5 spelling
        model = self._find(name)
        if model is None:
            return Reply(404, {"error": f"model '{name}' not found"})
        params = self.parameters.get(_full(str(name)), {})
        return Reply(
            200,
            {
                "modelfile": f'# Modelfile generated by "ollama show"\nFROM {name}\n',
                "parameters": "\n".join(f"{k:<30} {v}" for k, v in params.items())
                or 'stop                           "<|im_end|>"',
                "template": "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}",
                "details": model["details"],
                "model_info": model["model_info"],
                "capabilities": model["capabilities"],
                "modified_at": "2026-03-28T09:12:44.412885211+00:00",
            },
        )

    def _create(self, req: Request) -> Reply:
        body = req.json() or {}
        name, source = body.get("model"), body.get("from")
        base = self._find(source)
        if not name or base is None:
            return Reply(
                400 if not name else 404,
                {"error": f"model '{source}' not found" if name else "model name is required"},
            )
        with self._lock:
            self.installed[_full(name)] = dict(base)
            self.parameters[_full(name)] = dict(body.get("parameters") or {})
        steps = [
            {"status": "reading model metadata"},
            {"status": "creating new layer sha256:3e7a1c2b"},
            {"status": f"using existing layer sha256:{base['digest']}"},
            {"status": "writing manifest"},
            {"status": "success"},
        ]
        if body.get("stream", True):
            return Reply(
                200, "\n".join(json.dumps(s) for s in steps) + "\n", {"Content-Type": "application/x-ndjson"}
            )
        return Reply(200, steps[-1])

    def _generate(self, req: Request) -> Reply:
        body = req.json() or {}
        name = body.get("model")
        if self._find(name) is None:
            return Reply(404, {"error": f"model '{name}' not found, try pulling it first"})
        prompt_n = len(str(body.get("prompt", "")).split())
        gen_n = int((body.get("options") or {}).get("num_predict") or 128)
        cold = name not in self.loaded
        if cold:
            self.load(name)
        prompt_ns = int(prompt_n / PROMPT_TOKENS_PER_S * 1e9)
        eval_ns = int(gen_n / GENERATION_TOKENS_PER_S * 1e9)
        load_ns = LOAD_NS if cold else 18_000_000
        return Reply(
            200,
            {
                "model": name,
                "created_at": _ollama_time(datetime.now(UTC)),
                "response": " the" * gen_n,
                "done": True,
                "done_reason": "length",
                "context": [1, 2, 3],
                "total_duration": load_ns + prompt_ns + eval_ns,
                "load_duration": load_ns,
                "prompt_eval_count": prompt_n,
                "prompt_eval_duration": prompt_ns,
                "eval_count": gen_n,
                "eval_duration": eval_ns,
            },
        )


def slow_host(delay_s: float) -> FakeHTTPServer:
    """A host that accepts connections and answers every request only after ``delay_s``."""
    server = no_delay(FakeHTTPServer())
    server.fallback = lambda req: Reply(200, {"version": VERSION, "models": []}, delay_s=delay_s)
    return server


def garbage_host() -> FakeHTTPServer:
    """A host that answers 200 with a body that is not JSON (a half-written proxy error page)."""
    server = FakeHTTPServer()
    server.fallback = lambda req: Reply(
        200, '{"models": [{"name": "qwen', {"Content-Type": "application/json"}
    )
    return server

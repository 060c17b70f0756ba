"""A faithful stand-in for an Ollama server, on a real HTTP socket, with its server log.

Shapes follow the Ollama API documentation (docs.ollama.com/api) and today's server code:
``GET /api/version``, ``GET /api/ps`` (``context_length`` only from 0.10.0, as the real one),
``GET /api/tags``, ``POST /api/show`` (``modelfile`` with the ``FROM .../blobs/sha256-...`` line
and ``parameters``), ``POST /api/create`` (``from`` + ``parameters`` from 0.5.5, a Modelfile
text before), ``POST /api/generate``, ``POST /api/chat`` and the OpenAI-compatible
``POST /v1/chat/completions`` (durations in nanoseconds). Errors are ``{"error": "..."}`` with
the status Ollama uses (404 for an unknown model).

Like the real scheduler, one runner holds one model blob, and a request whose context differs
from the loaded one reloads it: ``options.num_ctx`` on /api/chat and /api/generate, else the
Modelfile's num_ctx, else OLLAMA_CONTEXT_LENGTH, else the version's default (2048; 4096 from
0.6.7; from 0.15.5 the VRAM tier), clamped to the trained context. /v1 requests cannot send
num_ctx. Every load appends the load lines today's server logs (per device: model weights,
KV cache, compute graph, total; ``offloaded N/M layers``; the load request) to ``log_path``;
versions before 0.11 log the older runner's ``--ctx-size``/``--parallel`` and llama.cpp's
buffer lines instead.

Canned models (all numbers from their GGUF metadata):

* ``qwen2.5vl:7b`` — the seed's vision model: 28 layers, 4 KV heads, head dim 128,
  131,072-token trained context, 5.97 GB of weights (vision tower included).
* ``llama3.1:8b`` — 32 layers, 8 KV heads, head dim 128 (128 KiB of f16 KV per token).
* ``qwen2.5:32b`` — 64 layers, 8 KV heads, head dim 128, 32,768-token context, 19.85 GB.

    with FakeOllama() as ollama:
        ollama.configure(version="0.17.0", total_vram_gib=119.7)
        ollama.load("qwen2.5vl:7b", context=131_072, keep_alive_s=None)  # None = keep_alive -1
        ollama.url, ollama.log_path
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.http import FakeHTTPServer, Reply, Request

GB = 10**9
GIB = 1024**3
MIB = 1024**2
VERSION = "0.17.0"
# The seed's DGX Spark: 128 GB of unified memory, of which CUDA reports about 119.7 GiB.
SPARK_VRAM_GIB = 119.7
BLOBS = "/usr/share/ollama/.ollama/models/blobs"

# Prompt processing and generation speeds the fake reports: the seed's RPC row for
# Qwen2.5-7B (318 tok/s prefill, 53 tok/s decode).
PROMPT_TOKENS_PER_S = 318.0
GENERATION_TOKENS_PER_S = 53.0
LOAD_NS = 2_400_000_000
# Weights a vision model keeps in system RAM even when fully offloaded (token embeddings).
CPU_WEIGHTS = int(292.4 * MIB)
CPU_GRAPH = int(15.0 * MIB)
DEFAULT_GRAPH = 512 * MIB

MODELS: dict[str, dict[str, Any]] = {
    "qwen2.5vl:7b": {
        "size": 5_969_245_856,
        "digest": "5ced39dfa4bac325dc183dd1e4febaa1c46b3ea28bce48896c8e69c1e79611cc",
        "blob": "a99b7f834d754b88f122d865f32758ba9f0994a83f8363df2c1e71c17605a025",
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
        "blob": "667b0c1932bc6ffc593ed1d03f895bf2dc8dc6df21db3042284a6f4416b06a29",
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
        "blob": "eabc98a9bcbfce7fd70f3e07de599f8fda98120fefed5881934161ede8bd1a41",
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


def kv_bytes(name: str, context: int, parallel: int = 1, info: dict[str, Any] | None = None) -> int:
    """f16 KV cache of a loaded model: 2 x layers x context x KV heads x head dim x 2 bytes x slots."""
    info = info or MODELS[_full(name)]["model_info"]
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


def _number(version: str) -> tuple[int, int, int]:
    parts = (version.split("-")[0].split(".") + ["0", "0"])[:3]
    return (int(parts[0]), int(parts[1]), int(parts[2]))


def _ollama_time(when: datetime) -> str:
    # Go's RFC 3339 with nanoseconds and a numeric offset, as /api/ps prints it.
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123+00:00"


def _log_time() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def human2(n: int) -> str:
    """Ollama's format.HumanBytes2, as its log prints sizes."""
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


class FakeOllama(FakeHTTPServer):
    def __init__(self) -> None:
        super().__init__()
        no_delay(self)
        self._lock = threading.RLock()
        handle, self.log_path = tempfile.mkstemp(prefix="fake-ollama-", suffix=".log")
        os.close(handle)
        self.installed: dict[str, dict[str, Any]] = {}
        self.parameters: dict[str, dict[str, Any]] = {}
        self.loaded: dict[str, dict[str, Any]] = {}  # by blob: one runner per model file
        self.contexts: dict[str, int] = {}  # by blob: the context each runner was loaded with
        self.log_lines: list[str] = []
        self.loads: list[tuple[str, int]] = []  # (model, context) of every load, in order
        self.reset()
        self.routes.update(
            {
                ("GET", "/api/version"): lambda r: Reply(200, {"version": self.version}),
                ("GET", "/api/ps"): self._ps,
                ("GET", "/api/tags"): self._tags,
                ("POST", "/api/show"): self._show,
                ("POST", "/api/create"): self._create,
                ("POST", "/api/generate"): self._generate,
                ("POST", "/api/chat"): self._chat,
                ("POST", "/v1/chat/completions"): self._openai_chat,
            }
        )

    def stop(self) -> None:
        super().stop()
        if os.path.exists(self.log_path):
            os.unlink(self.log_path)

    # --- test controls ---

    def reset(self) -> None:
        """Back to the canned models, none loaded, today's version on a DGX Spark."""
        with self._lock:
            self.installed = {name: dict(m) for name, m in MODELS.items()}
            self.parameters = {}
            self.loaded = {}
            self.loads = []
            self.requests.clear()
        self.configure()

    def configure(
        self,
        *,
        version: str = VERSION,
        total_vram_gib: float = SPARK_VRAM_GIB,
        env: dict[str, str] | None = None,
        flash_attention: bool = True,
    ) -> None:
        """Restart as this version on this much VRAM with these OLLAMA_* variables (the log starts over)."""
        with self._lock:
            self.version, self.total_vram = version, int(total_vram_gib * GIB)
            self.env = dict(env or {})
            self.model_flash_attention = flash_attention  # whether the models support it
            self.loaded = {}
            self.log_lines = []
            self._log_start()

    @property
    def number(self) -> tuple[int, int, int]:
        return _number(self.version)

    def default_context(self) -> int:
        env = int(self.env.get("OLLAMA_CONTEXT_LENGTH") or 0)
        if env and self.number >= (0, 5, 13):
            return env
        if self.number >= (0, 15, 5):
            return 262_144 if self.total_vram >= 47 * GIB else 32_768 if self.total_vram >= 23 * GIB else 4096
        return 4096 if self.number >= (0, 6, 7) else 2048

    def parallel(self) -> int:
        value = int(self.env.get("OLLAMA_NUM_PARALLEL") or 0)
        return value or 1

    def load(
        self,
        name: str,
        *,
        context: int = 4096,
        keep_alive_s: float | None = 300,
        cpu_share: float = 0.0,
        parallel: int | None = None,
        size: int | None = None,
    ) -> dict[str, Any]:
        """Put ``name`` in /api/ps as Ollama would after a request, and log the load; ``size``
        forces /api/ps's size (the rest is compute graph). ``keep_alive_s=None`` is keep_alive -1
        (Ollama then reports an expiry centuries away)."""
        model = self.installed[_full(name)]
        slots = parallel or self.parallel()
        kv = kv_bytes(name, context, slots, model["model_info"])
        weights = int(model["size"])
        size = size or weights + kv + DEFAULT_GRAPH
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
        }
        if self.number >= (0, 10, 0):  # /api/ps gained context_length in 0.10.0
            entry["context_length"] = context
        with self._lock:
            self.loaded[model["blob"]] = entry
            self.contexts[model["blob"]] = context
            self.loads.append((name, context))
            self._log_load(name, model, context, slots, weights, kv, size, cpu_share)
        return entry

    # --- the server log ---

    def _write(self, lines: list[str]) -> None:
        self.log_lines += lines
        with open(self.log_path, "w", encoding="utf-8") as out:
            out.write("\n".join(self.log_lines) + "\n")

    def _line(self, source: str, msg: str, rest: str = "") -> str:
        quoted = msg if " " not in msg and "=" not in msg else f'"{msg}"'
        return f"time={_log_time()} level=INFO source={source} msg={quoted}" + (f" {rest}" if rest else "")

    def _log_start(self) -> None:
        env = {
            "OLLAMA_FLASH_ATTENTION": "false",
            "OLLAMA_KEEP_ALIVE": "5m0s",
            "OLLAMA_MAX_LOADED_MODELS": "0",
            "OLLAMA_NUM_PARALLEL": "1" if self.number >= (0, 10, 0) else "0",
        }
        if self.number >= (0, 5, 0):
            env["OLLAMA_KV_CACHE_TYPE"] = ""
        if self.number >= (0, 5, 13):  # prints its default when unset: 2048, 4096, then 0 (VRAM decides)
            default = "0" if self.number >= (0, 15, 5) else "4096" if self.number >= (0, 6, 7) else "2048"
            env["OLLAMA_CONTEXT_LENGTH"] = default
        env.update(self.env)
        shown = " ".join(f"{k}:{v}" for k, v in sorted(env.items()))
        lines = [
            self._line(
                "routes.go:1331",
                "server config",
                f'env="map[CUDA_VISIBLE_DEVICES: HTTPS_PROXY: HTTP_PROXY: NO_PROXY: {shown} '
                'OLLAMA_HOST:http://0.0.0.0:11434 OLLAMA_ORIGINS:[http://localhost https://localhost]]"',
            ),
            self._line("images.go:522", "total blobs: 12"),
            self._line("routes.go:1384", f"Listening on [::]:11434 (version {self.version})"),
            self._line("runner.go:67", "discovering available GPUs..."),
            self._line(
                "server.go:398",
                "starting runner",
                'cmd="/usr/bin/ollama runner --ollama-engine --port 38435"',
            ),
            self._line(
                "types.go:42",
                "inference compute",
                'id=GPU-6b1c2c3e library=CUDA compute=12.1 name=CUDA0 description="NVIDIA GB10" '
                f'total="{human2(self.total_vram)}" available="{human2(int(self.total_vram * 0.97))}"',
            ),
        ]
        if self.number >= (0, 15, 5):
            lines.append(
                self._line(
                    "routes.go:1914",
                    "vram-based default context",
                    f'total_vram="{human2(self.total_vram)}" default_num_ctx={self.default_context()}',
                )
            )
        self._write(lines)

    def _log_load(
        self,
        name: str,
        model: dict[str, Any],
        ctx: int,
        slots: int,
        weights: int,
        kv: int,
        size: int,
        cpu: float,
    ) -> None:
        layers = int(model["model_info"][f"{model['model_info']['general.architecture']}.block_count"]) + 1
        on_gpu = layers if cpu == 0 else int(layers * (1 - cpu))
        gpu_weights = int((weights - CPU_WEIGHTS) * (1 - cpu))
        cpu_weights = weights - gpu_weights
        graph = max(0, size - weights - kv - CPU_GRAPH)
        flash = "Enabled" if self.model_flash_attention else "Disabled"
        kv_type = self.env.get("OLLAMA_KV_CACHE_TYPE", "") if self.model_flash_attention else ""
        blob = f"{BLOBS}/sha256-{model['blob']}"
        if self.number < (0, 11, 0):  # the llama.cpp runner and its own buffer lines
            self._write(
                [
                    self._line(
                        "server.go:376",
                        "starting llama server",
                        f'cmd="/usr/local/bin/ollama runner --model {blob} --ctx-size {ctx * slots} --batch-size 512 '
                        f'--n-gpu-layers {on_gpu} --threads 8 --parallel {slots} --port 40555"',
                    ),
                    f"load_tensors: offloaded {on_gpu}/{layers} layers to GPU",
                    f"load_tensors:        CUDA0 model buffer size = {gpu_weights / MIB:8.2f} MiB",
                    f"load_tensors:   CPU_Mapped model buffer size = {cpu_weights / MIB:8.2f} MiB",
                    f"llama_kv_cache_unified:      CUDA0 KV buffer size = {kv / MIB:8.2f} MiB",
                    f"llama_context:      CUDA0 compute buffer size = {graph / MIB:8.2f} MiB",
                    f"llama_context:  CUDA_Host compute buffer size = {CPU_GRAPH / MIB:8.2f} MiB",
                    self._line("server.go:619", "llama runner started in 3.01 seconds"),
                ]
            )
            return
        request = (
            f'request="{{Operation:commit LoraPath:[] Parallel:{slots} BatchSize:512 FlashAttention:{flash} '
            f"KvSize:{ctx * slots} KvCacheType:{kv_type} NumThreads:20 GPULayers:{on_gpu}[ID:GPU-6b1c2c3e "
            f'Layers:{on_gpu}(0..{on_gpu - 1})] MultiUserCache:false ProjectorPath: MainGPU:0 UseMmap:false}}"'
        )
        lines = [
            self._line(
                "server.go:398",
                "starting runner",
                f'cmd="/usr/bin/ollama runner --ollama-engine --model {blob} --port 41723"',
            ),
            self._line("server.go:653", "loading model", f'"model layers"={layers} requested=-1'),
            self._line("runner.go:1284", "load", request),
            self._line("ggml.go:494", f"offloaded {on_gpu}/{layers} layers to GPU"),
            self._line("device.go:245", "model weights", f'device=CUDA0 size="{human2(gpu_weights)}"'),
            self._line("device.go:250", "model weights", f'device=CPU size="{human2(cpu_weights)}"'),
        ]
        gpu_kv = int(kv * (1 - cpu))
        lines.append(self._line("device.go:256", "kv cache", f'device=CUDA0 size="{human2(gpu_kv)}"'))
        if gpu_kv < kv:
            lines.append(self._line("device.go:261", "kv cache", f'device=CPU size="{human2(kv - gpu_kv)}"'))
        lines += [
            self._line("device.go:267", "compute graph", f'device=CUDA0 size="{human2(graph)}"'),
            self._line("device.go:267", "compute graph", f'device=CPU size="{human2(CPU_GRAPH)}"'),
            self._line("device.go:272", "total memory", f'size="{human2(weights + kv + graph + CPU_GRAPH)}"'),
            self._line("sched.go:537", "loaded runners", f"count={len(self.loaded)}"),
            self._line("server.go:1388", "llama runner started in 4.21 seconds"),
        ]
        self._write(lines)

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
        lines = [f"{k:<30} {v}" for k, v in params.items()] or ['stop                           "<|im_end|>"']
        modelfile = (
            '# Modelfile generated by "ollama show"\n# To build a new Modelfile based on this, replace FROM with:\n'
            f"# FROM {name}\n\nFROM {BLOBS}/sha256-{model['blob']}\n"
            + "".join(f"PARAMETER {k} {v}\n" for k, v in params.items())
        )
        return Reply(
            200,
            {
                "modelfile": modelfile,
                "parameters": "\n".join(lines),
                "template": "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}",
                "details": model["details"],
                "model_info": model["model_info"],
                "capabilities": model["capabilities"],
                "modified_at": "2026-03-28T09:12:44.412885211+00:00",
            },
        )

    def _create(self, req: Request) -> Reply:
        body = req.json() or {}
        if self.number < (0, 5, 5):  # {"name", "modelfile"} before the from/parameters API
            name, text = body.get("name"), str(body.get("modelfile") or "")
            source = next((ln[5:].strip() for ln in text.splitlines() if ln.startswith("FROM ")), None)
            params = {
                ln.split()[1]: int(ln.split()[2]) for ln in text.splitlines() if ln.startswith("PARAMETER ")
            }
        else:
            name, source, params = body.get("model"), body.get("from"), dict(body.get("parameters") or {})
        base = self._find(source)
        if not name or base is None:
            return Reply(
                400 if not name else 404,
                {"error": f"model '{source}' not found" if name else "model name is required"},
            )
        with self._lock:
            self.installed[_full(name)] = dict(base)
            self.parameters[_full(name)] = params
        steps = [
            {"status": "reading model metadata"},
            {"status": "creating new layer sha256:3e7a1c2b"},
            {"status": f"using existing layer sha256:{base['blob']}"},
            {"status": "writing manifest"},
            {"status": "success"},
        ]
        if body.get("stream", True):
            return Reply(
                200, "\n".join(json.dumps(s) for s in steps) + "\n", {"Content-Type": "application/x-ndjson"}
            )
        return Reply(200, steps[-1])

    def _serve(self, name: Any, requested_ctx: Any) -> tuple[bool, int] | None:
        """Load ``name`` at the context this request gets (reloading on a change); None if unknown.
        Returns (loaded now, context)."""
        model = self._find(name)
        if model is None:
            return None
        info = model["model_info"]
        trained = int(info[f"{info['general.architecture']}.context_length"])
        own = self.parameters.get(_full(str(name)), {}).get("num_ctx")
        ctx = min(int(requested_ctx or own or self.default_context()), trained)
        with self._lock:
            current = self.loaded.get(model["blob"])
            if current is not None and current["name"] == name and self.contexts.get(model["blob"]) == ctx:
                return False, ctx
            self.load(str(name), context=ctx)
        return True, ctx

    def _timings(self, prompt_n: int, gen_n: int, cold: bool) -> dict[str, Any]:
        prompt_ns = int(prompt_n / PROMPT_TOKENS_PER_S * 1e9)
        eval_ns = int(gen_n / GENERATION_TOKENS_PER_S * 1e9)
        load_ns = LOAD_NS if cold else 18_000_000
        return {
            "total_duration": load_ns + prompt_ns + eval_ns,
            "load_duration": load_ns,
            "prompt_eval_count": prompt_n,
            "prompt_eval_duration": prompt_ns,
            "eval_count": gen_n,
            "eval_duration": eval_ns,
        }

    def _generate(self, req: Request) -> Reply:
        body = req.json() or {}
        name, options = body.get("model"), body.get("options") or {}
        served = self._serve(name, options.get("num_ctx"))
        if served is None:
            return Reply(404, {"error": f"model '{name}' not found, try pulling it first"})
        prompt_n = len(str(body.get("prompt", "")).split())
        gen_n = int(options.get("num_predict") or 128)
        reply = {"model": name, "created_at": _ollama_time(datetime.now(UTC)), "response": " the" * gen_n}
        reply |= {"done": True, "done_reason": "length", "context": [1, 2, 3]}
        return Reply(200, reply | self._timings(prompt_n, gen_n, served[0]))

    def _chat(self, req: Request) -> Reply:
        body = req.json() or {}
        name, options = body.get("model"), body.get("options") or {}
        served = self._serve(name, options.get("num_ctx"))
        if served is None:
            return Reply(404, {"error": f"model '{name}' not found, try pulling it first"})
        prompt_n = sum(len(str(m.get("content", "")).split()) for m in body.get("messages") or [])
        gen_n = int(options.get("num_predict") or 16)
        reply = {"model": name, "created_at": _ollama_time(datetime.now(UTC)), "done": True}
        reply |= {"message": {"role": "assistant", "content": "CLEAR: nothing moves."}, "done_reason": "stop"}
        return Reply(200, reply | self._timings(prompt_n, gen_n, served[0]))

    def _openai_chat(self, req: Request) -> Reply:
        body = req.json() or {}
        name = body.get("model")
        served = self._serve(name, None)  # the OpenAI-compatible API has no num_ctx
        if served is None:
            return Reply(404, {"error": {"message": f"model '{name}' not found", "type": "api_error"}})
        choice = {"index": 0, "message": {"role": "assistant", "content": "CLEAR"}, "finish_reason": "stop"}
        return Reply(
            200, {"id": "chatcmpl-1", "object": "chat.completion", "model": name, "choices": [choice]}
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

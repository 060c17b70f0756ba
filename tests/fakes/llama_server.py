"""A faithful stand-in for llama.cpp's ``llama-server``, on a real HTTP socket.

Shapes follow today's server README and code (tools/server): ``GET /health`` (``{"status":
"ok"}``, or 503 with an OpenAI-style error while the model loads), ``GET /props``
(``default_generation_settings.n_ctx`` is what each slot reports, ``total_slots`` the slot
count, ``build_info``), ``GET /slots`` (501 under ``--no-slots``; a slot that ran a task has
``n_prompt_tokens`` and ``next_token`` as a list of one object), ``GET /metrics`` (Prometheus
text, 501 unless ``--metrics``, without the removed ``kv_cache_usage_ratio`` and
``kv_cache_tokens`` unless built as an old build) and ``POST /completion`` with ``timings``.

Slots as the server sizes them: without ``-np`` (``parallel=None``) 4 slots share one unified
KV pool and each reports the whole ``-c`` as its ``n_ctx``; with ``-np N`` (and no
``--kv-unified``) each gets ``-c / N``. Router mode (``router={"id": {...}}``, a server started
without ``-m``): ``GET /models`` lists models with a status, GET endpoints need ``?model=``
(``/metrics`` answers 400 without it) and POSTs route by the body's ``model``.

The default instance is the seed's distributed setup: Qwen2.5-7B Q4_K_M on the Mac Studio with
the DGX as an RPC backend, ``-c 4096`` and no ``-np``, reporting the seed's measured 318 tok/s
prefill and 53 tok/s generation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.fakes.http import FakeHTTPServer, Reply, Request
from tests.fakes.ollama import no_delay

MODEL_PATH = "/Users/lab/models/Qwen2.5-7B-Instruct-Q4_K_M.gguf"
BUILD = "b7079-b0f0dd3e5"
PROMPT_TOKENS_PER_S = 318.0
GENERATION_TOKENS_PER_S = 53.0
AUTO_SLOTS = 4


def _error(status: int, message: str, kind: str) -> Reply:
    return Reply(status, {"error": {"code": status, "message": message, "type": kind}})


def _not_supported(what: str) -> Reply:
    return _error(501, f"This server does not support {what} endpoint.", "not_supported_error")


@dataclass
class Instance:
    """One loaded model: its flags and live slot state."""

    model_path: str = MODEL_PATH
    ctx_size: int = 4096
    parallel: int | None = None  # None: -np omitted
    kv_unified: bool | None = None  # None: the server decides (on when -np is omitted)
    busy_slots: int = 0
    deferred: int = 0
    slot_tokens: list[int] = field(default_factory=list)  # tokens each used slot holds
    prompt_tokens_total: int = 0
    predicted_total: int = 0
    prompt_tps: float = PROMPT_TOKENS_PER_S
    gen_tps: float = GENERATION_TOKENS_PER_S

    @property
    def slots(self) -> int:
        return self.parallel or AUTO_SLOTS

    @property
    def unified(self) -> bool:
        return self.kv_unified if self.kv_unified is not None else self.parallel is None

    @property
    def n_ctx_slot(self) -> int:
        return self.ctx_size if self.unified else self.ctx_size // self.slots

    def slot(self, i: int) -> dict[str, Any]:
        out: dict[str, Any] = {"id": i, "n_ctx": self.n_ctx_slot, "speculative": False}
        out["is_processing"] = i < self.busy_slots
        if i < len(self.slot_tokens) or i < self.busy_slots:
            held = self.slot_tokens[i] if i < len(self.slot_tokens) else 512
            out |= {
                "id_task": 17 + i,
                "n_prompt_tokens": max(0, held - 16),
                "n_prompt_tokens_processed": max(0, held - 16),
                "n_prompt_tokens_cache": 0,
                "params": {"n_predict": -1, "temperature": 0.8, "top_k": 40, "top_p": 0.95, "min_p": 0.05},
                "next_token": [
                    {"has_next_token": True, "has_new_line": False, "n_remain": -1, "n_decoded": 16}
                ],
            }
        return out

    def props(self, build: str) -> dict[str, Any]:
        return {
            "default_generation_settings": {
                "params": {"n_predict": -1, "temperature": 0.8},
                "n_ctx": self.n_ctx_slot,
            },
            "total_slots": self.slots,
            "model_alias": "",
            "model_path": self.model_path,
            "modalities": {"vision": False, "audio": False},
            "endpoint_slots": True,
            "endpoint_metrics": True,
            "chat_template": "{% for message in messages %}<|im_start|>{{ message.content }}{% endfor %}",
            "build_info": build,
        }

    def metrics(self, legacy: bool) -> str:
        used = sum(self.slot_tokens)
        pool = self.ctx_size if self.unified else self.n_ctx_slot * self.slots
        rows = [
            (
                "prompt_tokens_total",
                "counter",
                self.prompt_tokens_total,
                "Number of prompt tokens processed.",
            ),
            (
                "prompt_seconds_total",
                "counter",
                self.prompt_tokens_total / self.prompt_tps,
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
                self.predicted_total / self.gen_tps,
                "Predict process time",
            ),
            ("prompt_tokens_seconds", "gauge", self.prompt_tps, "Average prompt throughput in tokens/s."),
            (
                "predicted_tokens_seconds",
                "gauge",
                self.gen_tps,
                "Average generation throughput in tokens/s.",
            ),
            ("requests_processing", "gauge", self.busy_slots, "Number of requests processing."),
            ("requests_deferred", "gauge", self.deferred, "Number of requests deferred."),
            (
                "n_tokens_max",
                "counter",
                max(self.slot_tokens, default=0),
                "High watermark of the context size observed.",
            ),
            ("n_decode_total", "counter", self.predicted_total, "Total number of llama_decode() calls"),
            ("n_busy_slots_per_decode", "gauge", 1.0, "Average number of busy slots per llama_decode() call"),
        ]
        if legacy:  # builds from before the KV-cache rework still export these two
            rows += [
                (
                    "kv_cache_usage_ratio",
                    "gauge",
                    round(used / pool, 4),
                    "KV-cache usage. 1 means 100 percent usage.",
                ),
                ("kv_cache_tokens", "gauge", used, "KV-cache tokens."),
            ]
        lines = []
        for name, kind, value, help_text in rows:
            lines += [
                f"# HELP llamacpp:{name} {help_text}",
                f"# TYPE llamacpp:{name} {kind}",
                f"llamacpp:{name} {value}",
            ]
        return "\n".join(lines) + "\n"


class FakeLlamaServer(FakeHTTPServer):
    def __init__(self, **flags: Any) -> None:
        super().__init__()
        no_delay(self)
        self.reset(**flags)
        self.routes.update(
            {
                ("GET", "/health"): self._health,
                ("GET", "/props"): self._props,
                ("GET", "/slots"): self._slots,
                ("GET", "/metrics"): self._metrics,
                ("GET", "/models"): self._models,
                ("POST", "/completion"): self._completion,
            }
        )

    def reset(
        self,
        *,
        ctx_size: int = 4096,
        parallel: int | None = None,
        kv_unified: bool | None = None,
        slots: bool = True,
        metrics: bool = True,
        loading: bool = False,
        busy_slots: int = 0,
        deferred: int = 0,
        slot_tokens: list[int] | None = None,
        build: str = BUILD,
        legacy_metrics: bool = False,
        router: dict[str, dict[str, Any]] | None = None,
        speeds: tuple[float, float] = (PROMPT_TOKENS_PER_S, GENERATION_TOKENS_PER_S),
        model_path: str = MODEL_PATH,
    ) -> None:
        """Reconfigure as if restarted with other flags (-c, -np, --kv-unified, --no-slots,
        --metrics), or as a router (``router={"model-id": {"status": "loaded", "ctx_size": ...}}``);
        ``speeds`` are the prefill and generation tokens/s it reports."""
        self.slots_enabled, self.metrics_enabled = slots, metrics
        self.loading, self.build, self.legacy_metrics = loading, build, legacy_metrics
        common = {"busy_slots": busy_slots, "deferred": deferred, "slot_tokens": list(slot_tokens or [])}
        self.instance = Instance(
            model_path=model_path,
            ctx_size=ctx_size,
            parallel=parallel,
            kv_unified=kv_unified,
            prompt_tps=speeds[0],
            gen_tps=speeds[1],
            **common,
        )
        self.router: dict[str, tuple[str, Instance]] | None = None
        if router is not None:
            self.router = {
                model_id: (
                    str(spec.get("status", "loaded")),
                    Instance(
                        model_path=f"/srv/models/{model_id}.gguf",
                        **{k: v for k, v in spec.items() if k != "status"},
                    ),
                )
                for model_id, spec in router.items()
            }
        self.requests.clear()

    # --- routing ---

    def _target(self, req: Request, model: str | None = None) -> Instance | Reply:
        if self.router is None:
            return self.instance
        name = model or (req.query.get("model") or [""])[0]
        if not name:
            return _error(400, "model name is missing from the request", "invalid_request_error")
        if name not in self.router:
            return _error(404, f"model '{name}' not found", "not_found_error")
        status, instance = self.router[name]
        if status != "loaded":
            return _error(400, f"model '{name}' is not loaded", "invalid_request_error")
        return instance

    def _health(self, req: Request) -> Reply:
        if self.loading:
            return _error(503, "Loading model", "unavailable_error")
        return Reply(200, {"status": "ok"})

    def _props(self, req: Request) -> Reply:
        if self.loading:
            return _error(503, "Loading model", "unavailable_error")
        if self.router is not None and not req.query.get("model"):
            return Reply(200, {"role": "router", "max_instances": 4, "build_info": self.build})
        target = self._target(req)
        return target if isinstance(target, Reply) else Reply(200, target.props(self.build))

    def _models(self, req: Request) -> Reply:
        if self.router is None:  # a single-model server answers the OpenAI list here
            return Reply(
                200,
                {"object": "list", "data": [{"id": MODEL_PATH, "object": "model", "owned_by": "llamacpp"}]},
            )
        data = [
            {
                "id": name,
                "path": inst.model_path,
                "status": {"value": status, "args": ["llama-server", "-c", str(inst.ctx_size)]},
            }
            for name, (status, inst) in self.router.items()
        ]
        return Reply(200, {"data": data})

    def _slots(self, req: Request) -> Reply:
        if not self.slots_enabled:
            return _not_supported("slots")
        target = self._target(req)
        return (
            target if isinstance(target, Reply) else Reply(200, [target.slot(i) for i in range(target.slots)])
        )

    def _metrics(self, req: Request) -> Reply:
        if not self.metrics_enabled:
            return _not_supported("metrics")
        target = self._target(req)
        if isinstance(target, Reply):
            return target
        return Reply(200, target.metrics(self.legacy_metrics), {"Content-Type": "text/plain; version=0.0.4"})

    def _completion(self, req: Request) -> Reply:
        if self.loading:
            return _error(503, "Loading model", "unavailable_error")
        body = req.json() or {}
        target = self._target(req, str(body.get("model") or ""))
        if isinstance(target, Reply):
            return target
        prompt_n = len(str(body.get("prompt", "")).split())
        n_predict = int(body.get("n_predict") or 16)
        if prompt_n >= target.n_ctx_slot:
            message = (
                f"request ({prompt_n} tokens) exceeds the available context size ({target.n_ctx_slot} tokens), "
                "try increasing it"
            )
            return _error(400, message, "exceed_context_size_error")
        target.prompt_tokens_total += prompt_n
        target.predicted_total += n_predict
        target.slot_tokens[:1] = [prompt_n + n_predict]
        prompt_ms = prompt_n / target.prompt_tps * 1000
        predicted_ms = n_predict / target.gen_tps * 1000
        return Reply(
            200,
            {
                "content": " the" * n_predict,
                "id_slot": 0,
                "stop": True,
                "model": target.model_path,
                "tokens_predicted": n_predict,
                "tokens_evaluated": prompt_n,
                "generation_settings": {"n_predict": n_predict, "temperature": 0},
                "prompt": body.get("prompt", ""),
                "truncated": False,
                "stop_type": "limit",
                "tokens_cached": prompt_n + n_predict,
                "timings": {
                    "prompt_n": prompt_n,
                    "prompt_ms": prompt_ms,
                    "prompt_per_token_ms": prompt_ms / max(prompt_n, 1),
                    "prompt_per_second": target.prompt_tps,
                    "predicted_n": n_predict,
                    "predicted_ms": predicted_ms,
                    "predicted_per_token_ms": predicted_ms / max(n_predict, 1),
                    "predicted_per_second": target.gen_tps,
                },
            },
        )


# --- the server's log, as llama.cpp prints a load (src/llama.cpp, llama-model.cpp, ...) ---

STUDIO_FREE_MIB = 98_304  # the Mac Studio's Metal working set before a load
DGX_FREE_MIB = 115_000  # the DGX Spark's CUDA device, seen through rpc-server
OLLAMA_BLOB = "/usr/share/ollama/.ollama/models/blobs/sha256-" + "a3de86cd1c13" + "0" * 52


@dataclass(frozen=True)
class LoadLog:
    """One load: the model and, per device as llama.cpp names it, free MiB and buffers in MiB."""

    model_path: str
    n_layer: int
    free: dict[str, tuple[str, int]]  # device -> (description, MiB free before the load)
    model: dict[str, float]  # buffer type -> MiB
    kv: dict[str, float]
    compute: dict[str, float]
    layer_lines: dict[str, int] | None = None  # device -> layers, printed as -v debug lines

    def lines(self, build: str = BUILD) -> list[str]:
        number, commit = build.removeprefix("b").split("-", 1)
        out = [
            f"build: {number} ({commit}) with Apple clang version 17.0.0 (clang-1700.0.13.5) for arm64-apple-darwin24.6.0",
            "system info: n_threads = 16, n_threads_batch = 16, total_threads = 24",
            "main: binding port with default address family",
            "main: HTTP server is listening, hostname: 0.0.0.0, port: 9999, http threads: 23",
            "main: loading model",
            f"srv    load_model: loading model '{self.model_path}'",
        ]
        for device, (description, free) in self.free.items():
            out.append(
                f"llama_model_load_from_file_impl: using device {device} ({description}) (unknown id) - {free} MiB free"
            )
        out += [
            f"llama_model_loader: loaded meta data with 35 key-value pairs and 963 tensors from {self.model_path} "
            "(version GGUF V3 (latest))",
            "print_info: file type   = Q4_K - Medium",
            "print_info: arch             = qwen2",
            "print_info: n_ctx_train      = 32768",
            f"print_info: n_layer          = {self.n_layer}",
            "load_tensors: loading model tensors, this can take a while... (mmap = true)",
        ]
        if self.layer_lines:
            index = 0
            for device, count in self.layer_lines.items():
                for _ in range(count):
                    out.append(f"load_tensors: layer {index:3d} assigned to device {device}, is_swa = 0")
                    index += 1
        out += [
            f"load_tensors: offloading {self.n_layer} repeating layers to GPU",
            "load_tensors: offloading output layer to GPU",
            f"load_tensors: offloaded {self.n_layer + 1}/{self.n_layer + 1} layers to GPU",
        ]
        out += [f"load_tensors: {name} model buffer size = {mib:.2f} MiB" for name, mib in self.model.items()]
        out += ["llama_context: constructing llama_context", "llama_context: n_ctx         = 4096"]
        out += [f"llama_kv_cache: {name} KV buffer size = {mib:.2f} MiB" for name, mib in self.kv.items()]
        total_kv = sum(self.kv.values())
        out.append(
            f"llama_kv_cache: size = {total_kv:.2f} MiB (  4096 cells, {self.n_layer:3d} layers,  4/4 seqs), "
            f"K (f16): {total_kv / 2:.2f} MiB, V (f16): {total_kv / 2:.2f} MiB"
        )
        out += [
            f"llama_context: {name} compute buffer size = {mib:.2f} MiB" for name, mib in self.compute.items()
        ]
        out += [
            "srv    load_model: initializing slots, n_slots = 4",
            "main: model loaded",
            "srv  update_slots: all slots are idle",
        ]
        return out


def _studio_and_dgx(
    endpoint: str,
    model_path: str,
    n_layer: int,
    model: tuple[float, float, float],
    kv: tuple[float, float],
    compute: tuple[float, float, float],
    layer_lines: dict[str, int] | None = None,
) -> LoadLog:
    """A load on the Mac Studio's Metal with the DGX as RPC0: buffers in MiB as (Metal, RPC0, CPU)."""
    rpc = f"RPC0[{endpoint}]"
    return LoadLog(
        model_path=model_path,
        n_layer=n_layer,
        free={"RPC0": (endpoint, DGX_FREE_MIB), "Metal": ("Apple M2 Ultra", STUDIO_FREE_MIB)},
        model={"Metal_Mapped": model[0], rpc: model[1], "CPU_Mapped": model[2]},
        kv={"Metal": kv[0], rpc: kv[1]},
        compute={"Metal": compute[0], rpc: compute[1], "CPU": compute[2]},
        layer_lines=layer_lines,
    )


def split_72b(endpoint: str) -> LoadLog:
    """The seed's Qwen2.5-72B Q4_K_M on the Mac Studio with the DGX over RPC: 31 GB Metal + 14 GB
    CUDA, 80 layers (55 + 25 by the KV buffers, 16 MiB each at 4,096 tokens in f16)."""
    path = "/Users/lab/models/Qwen2.5-72B-Instruct-Q4_K_M.gguf"
    return _studio_and_dgx(
        endpoint, path, 80, (28_610.0, 13_000.0, 500.0), (880.0, 400.0), (304.0, 328.0, 24.01)
    )


def split_7b(endpoint: str) -> LoadLog:
    """The seed's Qwen2.5-7B Q4_K_M (4.4 GB) split the same way: 28 layers, 20 + 8."""
    path = "/Users/lab/models/Qwen2.5-7B-Instruct-Q4_K_M.gguf"
    return _studio_and_dgx(
        endpoint, path, 28, (2_900.0, 1_270.0, 292.0), (160.0, 64.0), (304.0, 304.0, 15.01)
    )


def split_235b(endpoint: str) -> LoadLog:
    """A model no single machine holds: Qwen3-235B-A22B Q4_K_M (132 GB), 94 layers over both,
    printed with -v so the per-layer lines are there."""
    path = "/Users/lab/models/Qwen3-235B-A22B-Q4_K_M-00001-of-00003.gguf"
    layers = {"RPC0": 41, "Metal": 53}
    return _studio_and_dgx(
        endpoint, path, 94, (70_000.0, 55_000.0, 700.0), (424.0, 328.0), (500.0, 500.0, 24.01), layers
    )


def ollama_blob_failure() -> list[str]:
    """llama-server pointed at an Ollama blob whose metadata upstream llama.cpp cannot read."""
    return [
        "build: 7079 (b0f0dd3e5) with cc (Ubuntu 13.3.0-6ubuntu2~24.04) 13.3.0 for aarch64-linux-gnu",
        f"srv    load_model: loading model '{OLLAMA_BLOB}'",
        "llama_model_load_from_file_impl: using device CUDA0 (NVIDIA GB10) (000f:01:00.0) - 115000 MiB free",
        f"llama_model_loader: loaded meta data with 27 key-value pairs and 729 tensors from {OLLAMA_BLOB} "
        "(version GGUF V3 (latest))",
        "llama_model_load: error loading model: error loading model hyperparameters: key "
        "qwen25vl.rope.dimension_sections has wrong array length; expected 4, got 3",
        "llama_model_load_from_file_impl: failed to load model",
        f"srv    load_model: failed to load model, '{OLLAMA_BLOB}'",
        "srv    operator(): operator(): cleaning up before exit...",
        "main: exiting due to model loading error",
    ]


def version_mismatch(endpoint: str, server_version: str) -> list[str]:
    """A llama-server whose --rpc server speaks a protocol it refuses (ggml-rpc.cpp's client)."""
    return [
        "build: 7079 (b0f0dd3e5) with Apple clang version 17.0.0 (clang-1700.0.13.5) for arm64-apple-darwin24.6.0",
        f"RPC server version mismatch: {server_version}",
        f"RPC handshake failed for {endpoint}",
    ]

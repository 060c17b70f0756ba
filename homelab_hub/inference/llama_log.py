"""Reading a llama-server's log: its devices (RPC ones included), buffers and layers per device.

The lines, as llama.cpp prints them today (src/llama.cpp, llama-model.cpp, llama-kv-cache.cpp,
llama-context.cpp, ggml-rpc.cpp):

* ``build: 7079 (b0f0dd3e5) with ...``: a (re)start; what came before is another run.
* ``llama_model_load_from_file_impl: using device RPC0 (192.168.100.2:50052) (unknown id) - 115000
  MiB free``, one per device, free memory before the load. RPC devices are ``RPC<n>`` with the
  endpoint as description since protocol 3.0 (several devices per rpc-server), numbered across
  all servers, while their buffer types are ``RPC<i>[host:port]`` numbered per server; before
  3.0 the name and description were both ``RPC[host:port]``. Older builds print no ``(id)``.
* ``llama_model_loader: loaded meta data with 35 key-value pairs and 963 tensors from PATH (version
  GGUF V3 (latest))`` and ``srv load_model: loading model 'PATH'``: the model file.
* ``print_info: n_layer = 80`` (``llm_load_print_meta:`` on older builds).
* ``load_tensors: offloaded 81/81 layers to GPU`` (the repeating layers plus the output layer).
* ``load_tensors: RPC0[192.168.100.2:50052] model buffer size = 13000.00 MiB``, ``Metal_Mapped model
  buffer``, ``CPU_Mapped model buffer``; ``llama_kv_cache: Metal KV buffer size = 880.00 MiB``;
  ``llama_context: CUDA0 compute buffer size = ...``. ``*_Mapped`` is the device's own memory
  mapped from the file; ``CPU*`` and ``*_Host`` buffers are system RAM.
* ``load_tensors: layer 12 assigned to device RPC0, is_swa = 0``: debug level (``-v``) only.
  Without it the layers per device follow from the KV buffers (each layer's cache lives on its
  device), else from the model buffers.
* ``RPC server version mismatch: 2.0.0`` (the client refused the server), ``Failed to connect to
  HOST:PORT``, ``RPC handshake failed for HOST:PORT``.
* ``llama_model_load: error loading model: ...`` and ``failed to load model``.

Text from a log is data: nothing here is executed, followed or connected to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from homelab_hub.inference.ollama_log import parse_size
from homelab_hub.redact import redact_text

_BUILD = re.compile(r"(?:^|\s)build: (\d+) \(")
_USING = re.compile(r"using device (\S+) \((.*?)\)(?: \([^)]*\))? - (\d+) MiB free")
_MODEL_FROM = re.compile(r"tensors from (.+?) \(version GGUF")
_LOADING = re.compile(r"loading model '([^']+)'")
_N_LAYER = re.compile(r"\bn_layer\s*=\s*(\d+)\s*$")
_OFFLOADED = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")
_BUFFER = re.compile(r"(\S+) (model|KV|compute) buffer size\s*=\s*([\d.]+ [KMG]iB)")
_ASSIGNED = re.compile(r"layer\s+(\d+) assigned to device (\S+?),")
_MISMATCH = re.compile(r"RPC server version mismatch: (\d+\.\d+\.\d+)")
_RPC_FAIL = re.compile(r"(Failed to connect to|RPC handshake failed for) (\S+)")
_LOAD_ERROR = re.compile(r"error loading model: (.+)$")
_RPC_OLD = re.compile(r"^RPC\[(.+)\]$")
_RPC_NEW = re.compile(r"^RPC(\d+)\[(.+)\]$")
_OLLAMA_BLOB = re.compile(r"/blobs/sha256-[0-9a-f]{64}")


@dataclass
class DeviceLoad:
    """One device of a load: its memory before the load and the buffers put on it."""

    name: str
    endpoint: str | None = None  # host:port of an RPC device
    free_at_load: int | None = None
    model: int = 0
    kv: int = 0
    compute: int = 0
    layers: int | None = None

    @property
    def total(self) -> int:
        return self.model + self.kv + self.compute

    @property
    def is_cpu(self) -> bool:
        return self.name == "CPU"


@dataclass
class LlamaLoad:
    """The newest model load in a llama-server's log."""

    source: str
    build: str | None = None
    model_path: str | None = None
    n_layer: int | None = None
    offloaded: tuple[int, int] | None = None
    devices: dict[str, DeviceLoad] = field(default_factory=dict)
    layers_from: str = ""
    assigned: dict[int, str] = field(default_factory=dict)
    rpc_mismatch: list[str] = field(default_factory=list)  # versions the client refused
    rpc_failures: list[str] = field(default_factory=list)  # endpoints it could not reach
    load_error: str | None = None

    @property
    def rpc_endpoints(self) -> list[str]:
        return sorted({d.endpoint for d in self.devices.values() if d.endpoint})

    @property
    def is_ollama_blob(self) -> bool:
        return bool(self.model_path and _OLLAMA_BLOB.search(self.model_path))

    def device(self, name: str) -> DeviceLoad:
        key, endpoint = canonical_device(name)
        if key not in self.devices:
            self.devices[key] = DeviceLoad(key, endpoint)
        return self.devices[key]


def canonical_device(raw: str, description: str = "") -> tuple[str, str | None]:
    """A device or buffer-type name → (the name shown, its RPC endpoint or None).

    ``RPC0`` + description ``host:port`` and ``RPC0[host:port]`` are one device; ``Metal_Mapped``
    is Metal; ``CPU_Mapped``, ``CPU_REPACK`` and ``CUDA_Host`` are system RAM (CPU)."""
    if match := _RPC_NEW.match(raw):
        return raw, match[2]
    if match := _RPC_OLD.match(raw):
        return raw, match[1]
    if re.fullmatch(r"RPC\d+", raw) and description:
        return f"{raw}[{description}]", description
    if raw.startswith("CPU") or raw.endswith("_Host"):
        return "CPU", None
    return raw.removesuffix("_Mapped"), None


def parse_llama_log(lines: list[str], source: str) -> LlamaLoad:
    """The newest load since the last start. Never raises: odd lines are skipped."""
    load = LlamaLoad(source=source)
    aliases: dict[str, str] = {}  # RPC2 -> RPC0[host:port], for the debug layer lines
    per_server: dict[str, int] = {}  # devices seen per rpc-server endpoint
    for line in lines:
        if started := _BUILD.search(line):
            load, aliases, per_server = LlamaLoad(source=source, build=f"b{started[1]}"), {}, {}
        elif using := _USING.search(line):
            key, endpoint = canonical_device(using[1], using[2])
            if endpoint is not None and re.fullmatch(r"RPC\d+", using[1]):
                # Devices are numbered across all rpc-servers (RPC0, RPC1, RPC2...), their buffers
                # per server (RPC0[a], RPC1[a], RPC0[b]): count each server's devices in order.
                local = per_server.get(endpoint, 0)
                per_server[endpoint] = local + 1
                key = f"RPC{local}[{endpoint}]"
            aliases[using[1]] = key
            load.devices.setdefault(key, DeviceLoad(key, endpoint)).free_at_load = int(using[3]) * 1024**2
        elif buffer := _BUFFER.search(line):
            size = parse_size(buffer[3]) or 0
            kind = {"model": "model", "KV": "kv", "compute": "compute"}[buffer[2]]
            device = load.device(buffer[1])
            setattr(device, kind, getattr(device, kind) + size)
        elif assigned := _ASSIGNED.search(line):
            load.assigned[int(assigned[1])] = aliases.get(assigned[2], canonical_device(assigned[2])[0])
        elif offloaded := _OFFLOADED.search(line):
            load.offloaded = (int(offloaded[1]), int(offloaded[2]))
        elif n_layer := _N_LAYER.search(line):
            load.n_layer = int(n_layer[1])
        elif path := (_MODEL_FROM.search(line) or _LOADING.search(line)):
            load.model_path = redact_text(path[1])
        elif mismatch := _MISMATCH.search(line):
            load.rpc_mismatch.append(mismatch[1])
        elif failure := _RPC_FAIL.search(line):
            load.rpc_failures.append(failure[2].rstrip(".:"))
        elif error := _LOAD_ERROR.search(line):
            load.load_error = redact_text(error[1].strip())[:300]
    _assign_layers(load)
    return load


def _assign_layers(load: LlamaLoad) -> None:
    if load.assigned:
        for name in load.assigned.values():
            device = load.devices.setdefault(name, DeviceLoad(name, canonical_device(name)[1]))
            device.layers = (device.layers or 0) + 1
        load.layers_from = "the log's per-layer lines"
        return
    if not load.n_layer:
        return
    for kind, how in (("kv", "KV buffer sizes"), ("model", "model buffer sizes")):
        sizes = {n: getattr(d, kind) for n, d in load.devices.items() if getattr(d, kind) > 0}
        if kind == "model":
            sizes = {n: s for n, s in sizes.items() if n != "CPU"} or sizes  # CPU holds embeddings
        if sizes:
            for name, layers in _largest_remainder(sizes, load.n_layer).items():
                load.devices[name].layers = layers
            load.layers_from = f"derived from the {how} (each layer's share is the same)"
            return


def _largest_remainder(sizes: dict[str, int], total: int) -> dict[str, int]:
    whole = sum(sizes.values())
    shares = {n: total * s / whole for n, s in sizes.items()}
    out = {n: int(v) for n, v in shares.items()}
    for name in sorted(shares, key=lambda n: shares[n] - out[n], reverse=True)[: total - sum(out.values())]:
        out[name] += 1
    return out

"""Parsing Ollama's server log: what each model load really allocated, per device.

Ollama logs with Go's slog in logfmt (``time=... level=INFO source=... msg="..." key=value``).
The lines read here, as Ollama prints them today:

* ``msg="server config" env="map[OLLAMA_CONTEXT_LENGTH:4096 OLLAMA_NUM_PARALLEL:1 ...]"`` at
  start: the server's real environment (the hub cannot read it otherwise).
* ``msg="Listening on 127.0.0.1:11434 (version 0.17.0)"``: a (re)start; loads before it are gone.
* ``msg="vram-based default context" total_vram="119.7 GiB" default_num_ctx=262144`` (0.15.5+).
* ``msg="starting runner" cmd="... runner --ollama-engine --model .../blobs/sha256-<hex> ..."``
  (``msg="starting llama server" cmd="... --ctx-size N --parallel P ..."`` on older servers):
  one load begins. Runners started without ``--model`` only probe the GPUs and are skipped.
* ``msg=load request="{Operation:commit ... Parallel:1 ... FlashAttention:Enabled KvSize:131072
  KvCacheType: ...}"``: slots and KV cells (KvSize = context x slots).
* ``msg="offloaded 29/29 layers to GPU"``.
* ``msg="model weights"``, ``msg="kv cache"``, ``msg="compute graph"`` with ``device=CUDA0
  size="7.0 GiB"``, one line per device, then ``msg="total memory" size="65.9 GiB"`` (Ollama
  0.11 and later: what the backend allocated, i.e. measured).
* From llama.cpp on older servers: ``CUDA0 KV buffer size = 1024.00 MiB``, ``CUDA0 compute buffer
  size = ...``, ``CUDA0 model buffer size = ...`` and ``offloaded 33/33 layers to GPU``.

Text from a log is data: nothing here is ever executed or followed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

_PAIR = re.compile(r'(?:"([^"]+)"|([A-Za-z_][\w.]*))=("(?:[^"\\]|\\.)*"|\S*)')
_LISTENING = re.compile(r"Listening on \S+ \(version ([^)\s]+)\)")
_OFFLOADED = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")
_BLOB = re.compile(r"sha256[-:]([0-9a-f]{64})")
_ARG = re.compile(r"--(ctx-size|parallel|model)\s+(\S+)")
_REQUEST = re.compile(r"(Parallel|KvSize|FlashAttention|KvCacheType|Operation):([^\s}]*)")
_ENV = re.compile(r"(OLLAMA_[A-Z_]+):(\[[^\]]*\]|\S*)")
_BUFFER = re.compile(r"(\S+) (KV|compute|model) buffer size\s*=\s*([\d.]+) (MiB|GiB|KiB)")
_SIZE = re.compile(r"^\s*([\d.]+)\s*([KMGT]?i?B)?\s*$")
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS.update({"KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4})
_DEVICE_MSG = {"model weights": "weights", "kv cache": "kv", "compute graph": "graph"}


def parse_size(text: str) -> int | None:
    """``"7.0 GiB"`` → bytes (Ollama prints GiB/MiB in logs, GB in ``ollama ps``)."""
    match = _SIZE.match(text)
    if not match:
        return None
    return round(float(match[1]) * _UNITS.get(match[2] or "B", 1))


@dataclass
class DeviceUse:
    weights: int = 0
    kv: int = 0
    graph: int = 0


@dataclass
class LoadRecord:
    """One model load as the log tells it."""

    at: datetime | None
    blob: str | None
    model_path: str
    ctx_size: int | None = None  # --ctx-size of the older runner: context x slots
    parallel: int | None = None
    kv_size: int | None = None  # KvSize of the load request: context x slots
    flash_attention: str | None = None
    kv_cache_type: str | None = None
    layers_gpu: int | None = None
    layers_total: int | None = None
    devices: dict[str, DeviceUse] = field(default_factory=dict)
    total: int | None = None

    @property
    def context(self) -> int | None:
        """Context per slot (what /api/ps calls context_length)."""
        cells = self.kv_size or self.ctx_size
        if cells is None:
            return None
        return cells // (self.parallel or 1)

    @property
    def measured(self) -> bool:
        return bool(self.devices)

    def device(self, name: str) -> DeviceUse:
        return self.devices.setdefault(name, DeviceUse())


@dataclass
class OllamaLog:
    """The facts the newest server start left in the log."""

    source: str
    version: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    default_context: int | None = None
    total_vram: int | None = None
    loads: list[LoadRecord] = field(default_factory=list)

    def loads_of(self, blob: str | None) -> list[LoadRecord]:
        return [load for load in self.loads if blob and load.blob == blob]

    def env_int(self, name: str) -> int | None:
        value = self.env.get(name, "")
        return int(value) if value.isdigit() and int(value) > 0 else None


def parse_log(lines: list[str], source: str) -> OllamaLog:
    """The server's facts since its last start. Never raises on odd lines: they are skipped."""
    log = OllamaLog(source=source)
    current: LoadRecord | None = None
    for line in lines:
        fields = _fields(line)
        msg = fields.get("msg", "")
        if msg == "server config":
            log.env = dict(_ENV.findall(fields.get("env", "")))
        elif started := _LISTENING.search(msg):
            log.version, log.loads, current = started[1], [], None
        elif msg == "vram-based default context":
            log.default_context = _int(fields.get("default_num_ctx"))
            log.total_vram = parse_size(fields.get("total_vram", ""))
        elif msg in ("starting runner", "starting llama server"):
            current = _start(fields) or current
            if current is not None and current not in log.loads:
                log.loads.append(current)
        elif current is not None:
            _update(current, msg, fields, line)
    return log


def _fields(line: str) -> dict[str, str]:
    out: dict[str, str] = {}
    if "=" not in line:
        return out
    for quoted_key, key, value in _PAIR.findall(line):
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1].replace('\\"', '"')
        out.setdefault(quoted_key or key, value)
    return out


def _start(fields: dict[str, str]) -> LoadRecord | None:
    cmd = fields.get("cmd", "")
    args = dict(_ARG.findall(cmd))
    if "model" not in args:
        return None  # a runner that only discovers GPUs
    blob = _BLOB.search(args["model"])
    return LoadRecord(
        at=_time(fields.get("time")),
        blob=blob[1] if blob else None,
        model_path=args["model"],
        ctx_size=_int(args.get("ctx-size")),
        parallel=_int(args.get("parallel")),
    )


def _update(load: LoadRecord, msg: str, fields: dict[str, str], line: str) -> None:
    if msg == "load" and "request" in fields:
        request = dict(_REQUEST.findall(fields["request"]))
        load.parallel = _int(request.get("Parallel")) or load.parallel
        load.kv_size = _int(request.get("KvSize")) or load.kv_size
        load.flash_attention = request.get("FlashAttention") or load.flash_attention
        load.kv_cache_type = request.get("KvCacheType") or load.kv_cache_type
        load.devices, load.total = {}, None  # fit / alloc / commit: the last one counts
    elif kind := _DEVICE_MSG.get(msg):
        size = parse_size(fields.get("size", ""))
        if size is not None and fields.get("device"):
            setattr(load.device(fields["device"]), kind, size)
    elif msg == "total memory":
        load.total = parse_size(fields.get("size", ""))
    elif offloaded := _OFFLOADED.search(msg or line):
        load.layers_gpu, load.layers_total = int(offloaded[1]), int(offloaded[2])
    elif buffer := _BUFFER.search(line):
        size = round(float(buffer[3]) * _UNITS[buffer[4]])
        kind = {"KV": "kv", "compute": "graph", "model": "weights"}[buffer[2]]
        use = load.device(_device_name(buffer[1]))
        setattr(use, kind, getattr(use, kind) + size)


def _device_name(raw: str) -> str:
    # llama.cpp names host buffers CPU_Mapped, CPU_REPACK, CUDA_Host: all system RAM.
    if raw.startswith("CPU") or raw.endswith("_Host"):
        return "CPU"
    return raw


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None

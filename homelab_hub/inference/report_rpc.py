"""What the engine answers about llama.cpp RPC: rpc-servers, and a model split across machines.

Sizes are decimal GB like the rest of the inference answers (the logs print MiB).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from homelab_hub.inference.report import Answer
from homelab_hub.inference.rpc import RpcProbe


class RpcDeviceReport(Answer):
    index: int = Field(..., description="Device index on the rpc-server (RPC<n> on the llama-server).")
    free_gb: float = Field(..., description="Free memory the rpc-server reports (GET_DEVICE_MEMORY), GB.")
    total_gb: float = Field(..., description="Total memory of the device, GB.")


class RpcServerReport(Answer):
    host: str = Field(..., description="rpc-server name from the config.")
    address: str = Field(..., description="HOST:PORT.")
    state: Literal["ok", "busy", "down", "timeout", "bad_response"] = Field(
        default=...,
        description="ok: handshake and memory read; busy: connects but serves another client (rpc-server "
        "serves one at a time); down, timeout or bad_response.",
    )
    error: str = Field(default="", description="Why it is not ok.")
    protocol: str | None = Field(default=None, description="RPC protocol version from HELLO, e.g. 3.0.0.")
    devices: list[RpcDeviceReport] = Field(default_factory=list, description="Its devices and memory.")
    round_trip_ms: float | None = Field(default=None, description="Measured network round trip, ms.")
    round_trip_from: Literal["command", "tcp connect"] | None = Field(
        default=None,
        description="command: a GET_DEVICE_MEMORY answered by rpc-server; tcp connect: the TCP handshake "
        "(when busy).",
    )
    used_by: list[str] = Field(default_factory=list, description="llama-servers whose log shows its devices.")


class SplitDevice(Answer):
    device: str = Field(..., description="Device as llama.cpp names it: Metal, CUDA0, RPC0[host:port], CPU.")
    machine: str = Field(
        ..., description="Host holding it: the llama-server's name, an rpc-server's, or host:port."
    )
    layers: int | None = Field(default=None, description="Repeating layers on it.")
    model_gb: float = Field(..., description="Model weights on it (model buffer), GB.")
    kv_cache_gb: float = Field(..., description="KV cache on it, GB.")
    compute_gb: float = Field(..., description="Compute buffer on it, GB.")
    free_at_load_gb: float | None = Field(
        default=None, description="Free memory the log saw before the load, GB."
    )


class SplitMachine(Answer):
    machine: str = Field(..., description="Host name.")
    rpc_server: str | None = Field(
        default=None, description="The rpc-server (config name or HOST:PORT) it serves through."
    )
    layers: int | None = Field(default=None, description="Layers it holds.")
    total_gb: float = Field(..., description="Model + KV + compute on it, GB.")
    capacity_gb: float | None = Field(
        default=None, description="Free GPU memory before the load (log), GB: what one model may use there."
    )


class SplitReport(Answer):
    model: str = Field(..., description="Model file the llama-server loaded.")
    log: str = Field(..., description="The log read.")
    layers_total: int | None = Field(default=None, description="Repeating layers of the model (n_layer).")
    layers_from: str = Field(default="", description="How the per-device layer counts were found.")
    devices: list[SplitDevice] = Field(default_factory=list, description="Per device.")
    machines: list[SplitMachine] = Field(default_factory=list, description="Per machine.")
    depends_on: list[str] = Field(default_factory=list, description="rpc-servers this model needs.")
    needs_gb: float = Field(
        ..., description="Weights + KV + one compute buffer: what one machine would need, GB."
    )
    round_trip_ms: float | None = Field(
        default=None, description="Measured round trip to the rpc-server, ms."
    )
    link_ms_per_token: float | None = Field(
        default=None, description="Layers x round trip: network time each generated token pays, ms."
    )
    decode_tokens_per_s: float | None = Field(
        default=None, description="Measured generation speed (the server's counters), tokens/s."
    )
    advice: str = Field(default="", description="Split or not, with the arithmetic.")


def rpc_report(name: str, probe: RpcProbe, used_by: list[str]) -> RpcServerReport:
    """One look at an rpc-server as the answer shows it."""
    return RpcServerReport(
        host=name,
        address=probe.address,
        state=probe.state,
        error=probe.error,
        protocol=probe.version_text,
        devices=[
            RpcDeviceReport(index=d.index, free_gb=round(d.free / 1e9, 2), total_gb=round(d.total / 1e9, 2))
            for d in probe.devices
        ],
        round_trip_ms=probe.round_trip_ms,
        round_trip_from=None
        if probe.round_trip_ms is None
        else ("command" if probe.command_ms is not None else "tcp connect"),
        used_by=used_by,
    )

"""Dependency checks the watchdog reuses: is an inference host up, is a model there.

Each returns ``(ok, detail)`` and never raises: a check that throws would hide the very
outage it exists to report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from homelab_hub.clients.http import HostClient, expect_dict
from homelab_hub.clients.ollama import OllamaClient, RunningModel
from homelab_hub.errors import HubError
from homelab_hub.inference.ollama import same_model
from homelab_hub.inference.rpc import RpcProber
from homelab_hub.inference.split import rpc_down_detail
from homelab_hub.redact import redact_text

HostKind = Literal["ollama", "llama_cpp"]


def inference_host_check(
    base_url: str, *, kind: HostKind = "ollama", timeout: float = 5.0
) -> tuple[bool, str]:
    """Ollama answers /api/version, llama-server answers /health with status ok. The detail
    never shows a password or secret query parameter of ``base_url``."""
    if kind == "ollama":
        ollama = OllamaClient(base_url, name=kind, timeout_s=timeout, api_timeout_s=timeout)
        try:
            return _checked(
                ollama.where, lambda: (True, f"Ollama {ollama.version()} answers at {ollama.where}")
            )
        finally:
            ollama.close()
    llama = HostClient(kind, base_url, timeout)
    try:
        return _checked(llama.url, lambda: _llama_check(llama))
    finally:
        llama.close()


def _llama_check(client: HostClient) -> tuple[bool, str]:
    data = expect_dict(client.request("GET", "/health"), client.shown("/health"), "status")
    if data["status"] != "ok":
        return False, f"llama-server at {client.url} reports status {redact_text(str(data['status']))!r}"
    return True, f"llama-server answers at {client.url}"


def ollama_model_check(
    base_url: str, model: str, *, require_loaded: bool = False, timeout: float = 5.0
) -> tuple[bool, str]:
    """``model`` installed on the Ollama at ``base_url`` (/api/tags), or loaded when
    ``require_loaded`` (/api/ps)."""
    client = OllamaClient(base_url, name="ollama", timeout_s=timeout, api_timeout_s=timeout)
    try:
        return _checked(client.where, lambda: _model_check(client, model, require_loaded))
    finally:
        client.close()


def _model_check(client: OllamaClient, model: str, require_loaded: bool) -> tuple[bool, str]:
    what = "loaded" if require_loaded else "installed"
    if require_loaded:
        found = [(m.name, _gpu_share(m)) for m in client.ps()]
    else:
        found = [(m.name, "") for m in client.tags()]
    for name, share in found:
        if same_model(name, model):
            return True, f"{model} {what} on {client.where}{share}"
    names = redact_text(", ".join(name for name, _ in found)) or "none"
    return False, f"{model} not {what} on {client.where} ({what}: {names})"


def _gpu_share(loaded: RunningModel) -> str:
    if not loaded.size or loaded.size_vram is None:
        return ""
    return f", {loaded.size / 1e9:.1f} GB, {100 * loaded.size_vram / loaded.size:.0f}% GPU"


def _checked(url: str, check: Callable[[], tuple[bool, str]]) -> tuple[bool, str]:
    """``check()``, its failures as (False, why): a check reports, never raises."""
    try:
        return check()
    except HubError as exc:
        return False, exc.message
    except Exception as exc:  # a check reports, never raises
        return False, f"{url}: {redact_text(f'{type(exc).__name__}: {exc}')}"


def rpc_server_check(
    address: str, *, timeout: float = 3.0, prober: RpcProber | None = None
) -> tuple[bool, str]:
    """The rpc-server at ``address`` answers HELLO within ``timeout``. One that accepts the
    connection but keeps HELLO waiting is serving its one client (a llama-server) and counts as
    up: rpc-server serves one connection at a time. A caller that checks again and again passes
    its own ``prober`` (it remembers the HELLO layout that worked)."""
    result = (prober or RpcProber()).probe(address, timeout)
    if result.state == "ok":
        devices = ", ".join(
            f"#{d.index} {d.free / 1e9:.1f}/{d.total / 1e9:.1f} GB free" for d in result.devices
        )
        return True, f"rpc-server {address} speaks RPC {result.version_text}; {devices}"
    if result.state == "busy":
        return True, f"rpc-server {address} accepts connections and is serving a client ({result.error})"
    return False, rpc_down_detail(address, result)

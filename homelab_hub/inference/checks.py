"""Dependency checks the watchdog reuses: is an inference host up, is a model there.

Each returns ``(ok, detail)`` and never raises: a check that throws would hide the very
outage it exists to report.
"""

from __future__ import annotations

from typing import Literal

from homelab_hub.errors import HubError
from homelab_hub.inference.http import HostClient, expect_dict
from homelab_hub.inference.ollama import same_model
from homelab_hub.inference.rpc import probe
from homelab_hub.inference.split import rpc_down_detail
from homelab_hub.redact import redact_text

HostKind = Literal["ollama", "llama_cpp"]


def inference_host_check(
    base_url: str, *, kind: HostKind = "ollama", timeout: float = 5.0
) -> tuple[bool, str]:
    """Ollama answers /api/version, llama-server answers /health with status ok. The detail
    never shows a password or secret query parameter of ``base_url``."""
    client = HostClient(kind, base_url, timeout)
    try:
        return _host_check(client, kind)
    finally:
        client.close()


def _host_check(client: HostClient, kind: HostKind) -> tuple[bool, str]:
    try:
        if kind == "ollama":
            where = client.shown("/api/version")
            data = expect_dict(client.request("GET", "/api/version"), where, "version")
            return True, f"Ollama {redact_text(str(data['version']))} answers at {client.url}"
        data = expect_dict(client.request("GET", "/health"), client.shown("/health"), "status")
        if data["status"] != "ok":
            return False, f"llama-server at {client.url} reports status {redact_text(str(data['status']))!r}"
        return True, f"llama-server answers at {client.url}"
    except HubError as exc:
        return False, exc.message
    except Exception as exc:  # a check reports, never raises
        return False, f"{client.url}: {redact_text(f'{type(exc).__name__}: {exc}')}"


def ollama_model_check(
    base_url: str, model: str, *, require_loaded: bool = False, timeout: float = 5.0
) -> tuple[bool, str]:
    """``model`` installed on the Ollama at ``base_url`` (/api/tags), or loaded when
    ``require_loaded`` (/api/ps)."""
    client = HostClient("ollama", base_url, timeout)
    try:
        return _model_check(client, model, require_loaded)
    finally:
        client.close()


def _model_check(client: HostClient, model: str, require_loaded: bool) -> tuple[bool, str]:
    path = "/api/ps" if require_loaded else "/api/tags"
    what = "loaded" if require_loaded else "installed"
    try:
        where = client.shown(path)
        models = expect_dict(client.request("GET", path), where, "models")["models"]
        if not isinstance(models, list):
            return False, f"{where}: 'models' is not a list"
        for m in models:
            if isinstance(m, dict) and same_model(str(m.get("name") or m.get("model") or ""), model):
                size, vram = m.get("size") or 0, m.get("size_vram")
                where = ""
                if require_loaded and isinstance(size, int) and isinstance(vram, int) and size > 0:
                    where = f", {size / 1e9:.1f} GB, {100 * vram / size:.0f}% GPU"
                return True, f"{model} {what} on {client.url}{where}"
        names = redact_text(", ".join(str(m.get("name")) for m in models if isinstance(m, dict))) or "none"
        return False, f"{model} not {what} on {client.url} ({what}: {names})"
    except HubError as exc:
        return False, exc.message
    except Exception as exc:  # a check reports, never raises
        return False, f"{client.url}: {redact_text(f'{type(exc).__name__}: {exc}')}"


def rpc_server_check(address: str, *, timeout: float = 3.0) -> tuple[bool, str]:
    """The rpc-server at ``address`` answers HELLO within ``timeout``. One that accepts the
    connection but keeps HELLO waiting is serving its one client (a llama-server) and counts as
    up: rpc-server serves one connection at a time."""
    result = probe(address, timeout)
    if result.state == "ok":
        devices = ", ".join(
            f"#{d.index} {d.free / 1e9:.1f}/{d.total / 1e9:.1f} GB free" for d in result.devices
        )
        return True, f"rpc-server {address} speaks RPC {result.version_text}; {devices}"
    if result.state == "busy":
        return True, f"rpc-server {address} accepts connections and is serving a client ({result.error})"
    return False, rpc_down_detail(address, result)

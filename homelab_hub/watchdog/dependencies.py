"""Dependency checks: an HTTP endpoint, a TCP port, an Ollama model, a llama.cpp rpc-server,
or another watched service. Each returns (ok, detail) and never raises: a dependency that cannot be checked is a
dependency that is down."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx

from homelab_hub.inference.checks import ollama_model_check, rpc_server_check
from homelab_hub.inference.rpc import RpcProber
from homelab_hub.watchdog.config import (
    Dependency,
    HttpDependency,
    OllamaDependency,
    RpcDependency,
    ServiceDependency,
    TcpDependency,
)

# Looks up whether another watched service is healthy: name -> (ok, detail).
ServiceHealth = Callable[[str], tuple[bool, str]]


def check_http(dep: HttpDependency) -> tuple[bool, str]:
    try:
        reply = httpx.get(dep.url, timeout=dep.timeout_s, follow_redirects=False)
    except httpx.HTTPError as exc:
        return False, f"GET {dep.url} failed: {type(exc).__name__}: {exc}"
    if reply.status_code != dep.expect_status:
        return False, f"GET {dep.url} answered {reply.status_code}, expected {dep.expect_status}"
    if dep.expect_body is not None and dep.expect_body not in reply.text:
        return False, f"GET {dep.url} body lacks {dep.expect_body!r}"
    return True, f"GET {dep.url} {reply.status_code}"


def check_tcp(dep: TcpDependency) -> tuple[bool, str]:
    try:
        with socket.create_connection((dep.host, dep.port), timeout=dep.timeout_s):
            return True, f"tcp {dep.host}:{dep.port} open"
    except OSError as exc:
        return False, f"tcp {dep.host}:{dep.port} refused: {exc.strerror or exc}"


def check_ollama(dep: OllamaDependency) -> tuple[bool, str]:
    # The inference engine owns the Ollama checker (one HTTP client, errors mapped once);
    # imported plainly: a dependency hidden behind a string is one mypy and an editor cannot see.
    try:
        ok, detail = ollama_model_check(
            dep.url, dep.model, require_loaded=dep.require_loaded, timeout=dep.timeout_s
        )
    except Exception as exc:  # a broken checker is a failed check, not a dead watchdog
        return False, f"ollama check of {dep.model} at {dep.url} raised {type(exc).__name__}: {exc}"
    return bool(ok), str(detail)


def check_rpc(dep: RpcDependency, prober: RpcProber | None = None) -> tuple[bool, str]:
    # The inference engine owns the RPC client, imported plainly like the Ollama checker.
    try:
        ok, detail = rpc_server_check(dep.address, timeout=dep.timeout_s, prober=prober)
    except Exception as exc:  # a broken checker is a failed check, not a dead watchdog
        return False, f"rpc check of {dep.address} raised {type(exc).__name__}: {exc}"
    return bool(ok), str(detail)


def check_dependency(
    dep: Dependency, service_health: ServiceHealth, rpc: RpcProber | None = None
) -> tuple[bool, str]:
    """Run one dependency check; never raises. ``rpc``: the caller's prober of rpc-servers (it
    remembers what each one speaks)."""
    if isinstance(dep, HttpDependency):
        return check_http(dep)
    if isinstance(dep, TcpDependency):
        return check_tcp(dep)
    if isinstance(dep, OllamaDependency):
        return check_ollama(dep)
    if isinstance(dep, RpcDependency):
        return check_rpc(dep, rpc)
    assert isinstance(dep, ServiceDependency)
    ok, detail = service_health(dep.service)
    return ok, f"service {dep.service}: {detail}"


def provider(dep: Dependency) -> str | None:
    """The watched service to restart when this dependency fails, if any."""
    if isinstance(dep, ServiceDependency):
        return dep.service
    return dep.provided_by


def label(dep: Dependency) -> str:
    if isinstance(dep, HttpDependency):
        return dep.url
    if isinstance(dep, TcpDependency):
        return f"tcp://{dep.host}:{dep.port}"
    if isinstance(dep, OllamaDependency):
        return f"ollama {dep.model} at {dep.url}"
    if isinstance(dep, RpcDependency):
        return f"rpc-server {dep.address}"
    return f"service {dep.service}"

"""Wires the memory engine into Services: model and index load in the background."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homelab_hub.health import ComponentHealth
from homelab_hub.memory import schema
from homelab_hub.memory.service import MemoryService
from homelab_hub.memory.worker import IndexPersistWorker
from homelab_hub.resources import memory as memory_resources
from homelab_hub.server import cli_memory
from homelab_hub.server.components.base import Component
from homelab_hub.tools import memory as memory_tools

if TYPE_CHECKING:
    from homelab_hub.services import Services


def build(services: Services) -> None:
    """Create the engine and register its workers."""
    config = services.config.memory
    if not config.enabled:
        services.off["memory"] = "semantic memory is disabled on this hub (memory.enabled = false)"
        return
    index_dir = config.index_dir or (services.config.server.data_dir / "memory")
    service = MemoryService(services.db, config, index_dir)
    service.start()
    services.memory = service
    worker = IndexPersistWorker(service, config.persist_interval_s, config.sync_poll_s)
    services.supervisor.add(
        worker.name,
        lambda: IndexPersistWorker(service, config.persist_interval_s, config.sync_poll_s),
        heartbeat_timeout=worker.heartbeat_timeout,
    )


def health(services: Services) -> ComponentHealth:
    service = services.memory
    if service is None:
        return ComponentHealth(state="disabled", detail="memory.enabled = false")
    if service.error:
        return ComponentHealth(state="down", detail=service.error)
    if not service.ready:
        return ComponentHealth(state="starting", detail=f"loading {service.loading}")
    index = service.index
    report = service.reconcile_report
    return ComponentHealth(
        state="ok",
        detail=f"{index.memories if index else 0} memories, 4-bit index",
        data={
            "vectors": len(index) if index else 0,
            "index_bytes": index.nbytes if index else 0,
            "bits_per_dim": round(index.bits_per_dim, 2) if index else 0,
            "scan": index.quantizer.scan_backend(len(index)) if index else "numpy",
            "model": service.embedder.model_name,
            "reconcile": report.__dict__,
        },
    )


def close(services: Services) -> None:
    """Write the index one last time."""
    service = services.memory
    if service is not None:
        service.close()
        if service.ready:
            service.persist()


COMPONENT = Component(
    name="memory",
    migrations=schema.MIGRATIONS,
    tools=memory_tools.TOOLS,
    resources=memory_resources.RESOURCES,
    register_cli=cli_memory.register,
    build=build,
    close=close,
    health=health,
)

"""Wires the memory engine into Services: model and index load in the background."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homelab_hub.health import ComponentHealth
from homelab_hub.memory import schema
from homelab_hub.memory.notices import ChangeNotices
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
    link = services.link
    if link is not None:  # other hubs on this database hear of our changes, and we of theirs
        ChangeNotices(link, service).start()
    connected = link.connected.is_set if link is not None else None

    def make_worker() -> IndexPersistWorker:
        return IndexPersistWorker(
            service,
            config.persist_interval_s,
            config.sync_poll_s,
            connected=connected,
            connected_poll_s=config.sync_poll_connected_s,
        )

    services.supervisor.add(
        IndexPersistWorker.name, make_worker, heartbeat_timeout=make_worker().heartbeat_timeout
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
            "follow": _follow(services),
            "notices_sent": service.notices.sent if service.notices else 0,
            "notices_heard": service.notices.heard if service.notices else 0,
        },
    )


def _follow(services: Services) -> str:
    """How this hub learns of other writers' changes."""
    config, link = services.config.memory, services.link
    if link is not None and link.connected.is_set():
        return f"change notices on the broker, polling every {config.sync_poll_connected_s:g} s"
    return f"polling every {config.sync_poll_s:g} s"


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

"""The hub's life: build every component's engine into `Services`, reload them on SIGHUP, close them.

Building never blocks on slow work: models load in the background.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from homelab_hub.config import HubConfig
from homelab_hub.server.components import COMPONENTS, Component, all_migrations
from homelab_hub.services import Services
from homelab_hub.store import Database, migrate
from homelab_hub.supervisor import Supervisor

log = logging.getLogger(__name__)


def build_services(
    config: HubConfig, *, start_workers: bool = True, components: Sequence[Component] = COMPONENTS
) -> Services:
    """Open the database, run migrations, build every component. Raises HubError."""
    db = Database.from_url(config.storage.url)
    migrate(db, all_migrations(components))
    supervisor = Supervisor(config.supervisor, db=db)
    services = Services(
        config=config, db=db, supervisor=supervisor, components=components, serving=start_workers
    )
    for component in components:
        component.build(services)
    if start_workers:
        supervisor.start()
    return services


def reload_services(services: Services, config: HubConfig) -> list[str]:
    """Apply a changed config to running engines without a restart (SIGHUP).

    Components without ``reload`` keep their old settings until the next restart. Returns
    the components reloaded.
    """
    reloaded = []
    for component in services.components:
        if component.reload is not None:
            component.reload(services, config)
            reloaded.append(component.name)
    services.config = config
    return reloaded


def close_services(services: Services) -> None:
    services.supervisor.stop()
    for component in reversed(services.components):
        try:
            component.close(services)
        except Exception:  # keep closing the rest
            log.exception("closing %s failed", component.name)
    services.db.close()

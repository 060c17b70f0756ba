"""The one database: SQLite by default, MySQL/MariaDB in production."""

from homelab_hub.store.db import Database, ExecResult
from homelab_hub.store.migrations import Migration, migrate

__all__ = ["Database", "ExecResult", "Migration", "migrate"]

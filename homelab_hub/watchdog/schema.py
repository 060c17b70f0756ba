"""Tables owned by the watchdog engine (numbered per component; see store/migrations.py)."""

from homelab_hub.store.migrations import Migration

MIGRATIONS: list[Migration] = []

"""Tables the hub itself owns: API tokens and supervisor events."""

from homelab_hub.store.migrations import Migration

MIGRATIONS = [
    Migration(
        component="core",
        version=1,
        description="api tokens",
        sqlite=(
            "CREATE TABLE IF NOT EXISTS api_tokens (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, "
            "role TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, created_at REAL NOT NULL, "
            "revoked_at REAL, last_used_at REAL)",
            "CREATE INDEX IF NOT EXISTS ix_api_tokens_name ON api_tokens (name)",
        ),
        mysql=(
            "CREATE TABLE IF NOT EXISTS api_tokens (id BIGINT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(128) NOT NULL, "
            "role VARCHAR(16) NOT NULL, token_hash CHAR(64) NOT NULL UNIQUE, created_at DOUBLE NOT NULL, "
            "revoked_at DOUBLE NULL, last_used_at DOUBLE NULL, INDEX ix_api_tokens_name (name)) "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        ),
    ),
    Migration(
        component="core",
        version=2,
        description="worker events",
        sqlite=(
            "CREATE TABLE IF NOT EXISTS worker_events (id INTEGER PRIMARY KEY AUTOINCREMENT, worker TEXT NOT NULL, "
            "ts REAL NOT NULL, event TEXT NOT NULL, reason TEXT NOT NULL)",
        ),
        mysql=(
            "CREATE TABLE IF NOT EXISTS worker_events (id BIGINT PRIMARY KEY AUTO_INCREMENT, worker VARCHAR(128) NOT NULL, "
            "ts DOUBLE NOT NULL, event VARCHAR(32) NOT NULL, reason TEXT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        ),
    ),
]

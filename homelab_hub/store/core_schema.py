"""Tables the hub itself owns: API tokens, browser sessions, supervisor events and the storage
probe's one row (store/probe.py writes it while writes are failing, to see them work again)."""

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
    Migration(
        component="core",
        version=3,
        description="browser sessions",
        # Only the SHA-256 of a session id is stored. token_hash names the API token the
        # session was made from ('' for a loopback session of a tokenless hub): revoking the
        # token ends its sessions.
        sqlite=(
            "CREATE TABLE IF NOT EXISTS browser_sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "session_hash TEXT NOT NULL UNIQUE, token_hash TEXT NOT NULL, agent TEXT NOT NULL, role TEXT NOT NULL, "
            "csrf TEXT NOT NULL, user_agent TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL, "
            "revoked_at REAL)",
        ),
        mysql=(
            "CREATE TABLE IF NOT EXISTS browser_sessions (id BIGINT PRIMARY KEY AUTO_INCREMENT, "
            "session_hash CHAR(64) NOT NULL UNIQUE, token_hash VARCHAR(64) NOT NULL, agent VARCHAR(128) NOT NULL, "
            "role VARCHAR(16) NOT NULL, csrf CHAR(43) NOT NULL, user_agent VARCHAR(200) NOT NULL, "
            "created_at DOUBLE NOT NULL, expires_at DOUBLE NOT NULL, revoked_at DOUBLE NULL) "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        ),
    ),
    Migration(
        component="core",
        version=4,
        description="storage probe row",
        sqlite=("CREATE TABLE IF NOT EXISTS storage_probe (id INTEGER PRIMARY KEY, at REAL NOT NULL)",),
        mysql=(
            "CREATE TABLE IF NOT EXISTS storage_probe (id INT PRIMARY KEY, at DOUBLE NOT NULL) "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        ),
    ),
]

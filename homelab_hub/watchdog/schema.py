"""Tables owned by the watchdog engine (numbered per component; see store/migrations.py).

watchdog_incidents: one row per problem episode of a service: the findings, the forensics
captured before any kill (log tail, process state), every action taken and its outcome.
watchdog_service_state: one row per service: the escalation state that must survive a hub
restart (the restart budget's entries, the start of its healthy streak, last Claude run, log
cursors, the last report).
watchdog_lock: the one-writer lease, so that a hub and ``homelab-hub watchdog --once`` from
cron never act on the same services at the same time.
"""

from homelab_hub.store.migrations import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        component="watchdog",
        version=1,
        description="incidents and service state",
        sqlite=(
            "CREATE TABLE IF NOT EXISTS watchdog_incidents (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "service TEXT NOT NULL, opened_at REAL NOT NULL, updated_at REAL NOT NULL, closed_at REAL, "
            "status TEXT NOT NULL, origin TEXT NOT NULL, requested_by TEXT, findings TEXT NOT NULL, "
            "forensics TEXT NOT NULL, actions TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS ix_watchdog_incidents_service ON watchdog_incidents (service, opened_at)",
            "CREATE TABLE IF NOT EXISTS watchdog_service_state (service TEXT PRIMARY KEY, state TEXT NOT NULL, "
            "report TEXT NOT NULL, restart_attempts INTEGER NOT NULL, last_check_at REAL, last_healthy_at REAL, "
            "last_claude_at REAL, last_incident_id INTEGER, findings TEXT NOT NULL, log_cursors TEXT NOT NULL, "
            "updated_at REAL NOT NULL)",
        ),
        mysql=(
            "CREATE TABLE IF NOT EXISTS watchdog_incidents (id BIGINT PRIMARY KEY AUTO_INCREMENT, "
            "service VARCHAR(128) NOT NULL, opened_at DOUBLE NOT NULL, updated_at DOUBLE NOT NULL, "
            "closed_at DOUBLE NULL, status VARCHAR(32) NOT NULL, origin VARCHAR(32) NOT NULL, "
            "requested_by VARCHAR(128) NULL, findings MEDIUMTEXT NOT NULL, forensics MEDIUMTEXT NOT NULL, "
            "actions MEDIUMTEXT NOT NULL, INDEX ix_watchdog_incidents_service (service, opened_at)) "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            "CREATE TABLE IF NOT EXISTS watchdog_service_state (service VARCHAR(128) PRIMARY KEY, "
            "state VARCHAR(32) NOT NULL, report VARCHAR(32) NOT NULL, restart_attempts INT NOT NULL, "
            "last_check_at DOUBLE NULL, last_healthy_at DOUBLE NULL, last_claude_at DOUBLE NULL, "
            "last_incident_id BIGINT NULL, findings MEDIUMTEXT NOT NULL, log_cursors MEDIUMTEXT NOT NULL, "
            "updated_at DOUBLE NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        ),
    ),
    Migration(
        component="watchdog",
        version=2,
        description="restart budget window, stable streak, one-writer lock",
        # SQLite: the migration runs in one transaction, so the two ALTERs apply together or not.
        sqlite=(
            "ALTER TABLE watchdog_service_state ADD COLUMN restarts TEXT",
            "ALTER TABLE watchdog_service_state ADD COLUMN stable_since REAL",
            "CREATE TABLE IF NOT EXISTS watchdog_lock (name TEXT PRIMARY KEY, owner TEXT NOT NULL, "
            "holder TEXT NOT NULL, acquired_at REAL NOT NULL, renewed_at REAL NOT NULL, expires_at REAL NOT NULL, "
            "last_check_at REAL)",
        ),
        # MySQL commits each DDL statement and has no ADD COLUMN IF NOT EXISTS (MariaDB has), so
        # the one ALTER runs only when its column is missing: safe to re-run on both.
        mysql=(
            "SET @homelab_hub_ddl = IF((SELECT COUNT(*) FROM information_schema.columns "
            "WHERE table_schema = DATABASE() AND table_name = 'watchdog_service_state' "
            "AND column_name = 'stable_since') = 0, "
            "'ALTER TABLE watchdog_service_state ADD COLUMN restarts MEDIUMTEXT NULL, "
            "ADD COLUMN stable_since DOUBLE NULL', 'DO 0')",
            "PREPARE homelab_hub_stmt FROM @homelab_hub_ddl",
            "EXECUTE homelab_hub_stmt",
            "DEALLOCATE PREPARE homelab_hub_stmt",
            "CREATE TABLE IF NOT EXISTS watchdog_lock (name VARCHAR(64) PRIMARY KEY, owner VARCHAR(128) NOT NULL, "
            "holder VARCHAR(255) NOT NULL, acquired_at DOUBLE NOT NULL, renewed_at DOUBLE NOT NULL, "
            "expires_at DOUBLE NOT NULL, last_check_at DOUBLE NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        ),
    ),
]

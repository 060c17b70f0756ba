"""Tables owned by the memory engine (numbered per component; see store/migrations.py).

``memories`` is the truth: the keyword and vector indexes are rebuilt from it. A unique key
on (agent, content_hash) makes "save the same content twice" return one row even when two
agents' threads race. ``section`` is the ``##`` title a markdown import took the memory from,
so a re-import can update or retire exactly that section. The index on updated_at alone
serves `MemoryService.sync`, which follows rows other processes changed.

Version 2 adds ``thread`` and ``occurred_at`` (when it happened; NULL means when it was
saved), ``memory_versions`` (content memory_update replaced, with the span it was current;
never indexed, so search cannot return it) and ``memory_chunks`` (vectors of the parts of a
long memory). For a memory with a thread or a time, content_hash covers both, so the same
words said again in another thread are another memory.

Version 3 adds ``change_seq``, the order in which the database committed changes: every
insert, update and delete takes the next number from the one-row ``memory_clock`` in its
transaction (the row lock makes the numbers follow commit order). Hubs follow the table by
it instead of ``updated_at``, which is the writer's wall clock: rows from a CLI import whose
clock was 60 s behind were never picked up by a running hub.
"""

from homelab_hub.store.migrations import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        component="memory",
        version=1,
        description="memories and their tags",
        sqlite=(
            "CREATE TABLE IF NOT EXISTS memories (id INTEGER PRIMARY KEY AUTOINCREMENT, agent TEXT NOT NULL, "
            "content TEXT NOT NULL, category TEXT NOT NULL DEFAULT '', tags TEXT NOT NULL DEFAULT '[]', "
            "source TEXT NOT NULL DEFAULT '', section TEXT NOT NULL DEFAULT '', content_hash TEXT NOT NULL, "
            "embedding BLOB NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL, "
            "UNIQUE (agent, content_hash))",
            "CREATE INDEX IF NOT EXISTS ix_memories_agent_updated ON memories (agent, updated_at)",
            "CREATE INDEX IF NOT EXISTS ix_memories_updated ON memories (updated_at)",
            "CREATE INDEX IF NOT EXISTS ix_memories_agent_category ON memories (agent, category)",
            "CREATE INDEX IF NOT EXISTS ix_memories_agent_source ON memories (agent, source)",
            "CREATE TABLE IF NOT EXISTS memory_tags (memory_id INTEGER NOT NULL, agent TEXT NOT NULL, "
            "tag TEXT NOT NULL, PRIMARY KEY (memory_id, tag))",
            "CREATE INDEX IF NOT EXISTS ix_memory_tags_agent_tag ON memory_tags (agent, tag)",
        ),
        mysql=(
            "CREATE TABLE IF NOT EXISTS memories (id BIGINT PRIMARY KEY AUTO_INCREMENT, agent VARCHAR(128) NOT NULL, "
            "content MEDIUMTEXT NOT NULL, category VARCHAR(128) NOT NULL DEFAULT '', tags TEXT NOT NULL, "
            "source VARCHAR(512) NOT NULL DEFAULT '', section VARCHAR(512) NOT NULL DEFAULT '', "
            "content_hash CHAR(64) NOT NULL, embedding MEDIUMBLOB NOT NULL, created_at DOUBLE NOT NULL, "
            "updated_at DOUBLE NOT NULL, UNIQUE KEY ux_memories_agent_hash (agent, content_hash), "
            "INDEX ix_memories_agent_updated (agent, updated_at), INDEX ix_memories_updated (updated_at), INDEX ix_memories_agent_category (agent, category), "
            "INDEX ix_memories_agent_source (agent, source(191))) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            "CREATE TABLE IF NOT EXISTS memory_tags (memory_id BIGINT NOT NULL, agent VARCHAR(128) NOT NULL, "
            "tag VARCHAR(191) NOT NULL, PRIMARY KEY (memory_id, tag), INDEX ix_memory_tags_agent_tag (agent, tag)) "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        ),
    )
]

# Version 2: threads, time, versions and chunks. The new tables come first and are created
# only if missing; the one ALTER of memories comes last and is a single statement, so a
# failed run leaves either nothing or everything of it and can simply run again.
MIGRATIONS.append(
    Migration(
        component="memory",
        version=2,
        description="threads, occurred_at, superseded versions and long-memory chunks",
        sqlite=(
            "CREATE TABLE IF NOT EXISTS memory_versions (memory_id INTEGER NOT NULL, version INTEGER NOT NULL, "
            "agent TEXT NOT NULL, content TEXT NOT NULL, category TEXT NOT NULL DEFAULT '', "
            "tags TEXT NOT NULL DEFAULT '[]', valid_from REAL NOT NULL, superseded_at REAL NOT NULL, "
            "PRIMARY KEY (memory_id, version))",
            "CREATE TABLE IF NOT EXISTS memory_chunks (memory_id INTEGER NOT NULL, seq INTEGER NOT NULL, "
            "start_char INTEGER NOT NULL, end_char INTEGER NOT NULL, embedding BLOB NOT NULL, "
            "PRIMARY KEY (memory_id, seq))",
            "ALTER TABLE memories ADD COLUMN thread TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE memories ADD COLUMN occurred_at REAL",
            "CREATE INDEX IF NOT EXISTS ix_memories_agent_thread ON memories (agent, thread)",
        ),
        mysql=(
            "CREATE TABLE IF NOT EXISTS memory_versions (memory_id BIGINT NOT NULL, version INT NOT NULL, "
            "agent VARCHAR(128) NOT NULL, content MEDIUMTEXT NOT NULL, category VARCHAR(128) NOT NULL DEFAULT '', "
            "tags TEXT NOT NULL, valid_from DOUBLE NOT NULL, superseded_at DOUBLE NOT NULL, "
            "PRIMARY KEY (memory_id, version)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            "CREATE TABLE IF NOT EXISTS memory_chunks (memory_id BIGINT NOT NULL, seq INT NOT NULL, "
            "start_char INT NOT NULL, end_char INT NOT NULL, embedding BLOB NOT NULL, "
            "PRIMARY KEY (memory_id, seq)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            "ALTER TABLE memories ADD COLUMN thread VARCHAR(191) NOT NULL DEFAULT '', "
            "ADD COLUMN occurred_at DOUBLE NULL, ADD INDEX ix_memories_agent_thread (agent, thread)",
        ),
    )
)

MIGRATIONS.append(
    Migration(
        component="memory",
        version=3,
        description="change sequence assigned by the database, for following the table",
        sqlite=(
            "CREATE TABLE IF NOT EXISTS memory_clock (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL)",
            "INSERT OR IGNORE INTO memory_clock (id, seq) VALUES (1, 0)",
            "ALTER TABLE memories ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0",
            "CREATE INDEX IF NOT EXISTS ix_memories_change_seq ON memories (change_seq)",
        ),
        mysql=(
            "CREATE TABLE IF NOT EXISTS memory_clock (id INT PRIMARY KEY, seq BIGINT NOT NULL) ENGINE=InnoDB",
            "INSERT IGNORE INTO memory_clock (id, seq) VALUES (1, 0)",
            "ALTER TABLE memories ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0, "
            "ADD INDEX ix_memories_change_seq (change_seq)",
        ),
    )
)

# Version 4: which embedder made each row's vectors (its chunks' too), so that vectors of two
# embedders are never compared; rows from before were all made by sentence-transformers.
# One statement per dialect, so a failed run leaves nothing and can run again.
TORCH_DEFAULT_ID = "torch:all-MiniLM-L6-v2"
MIGRATIONS.append(
    Migration(
        component="memory",
        version=4,
        description="the embedder that made each memory's vectors",
        sqlite=(f"ALTER TABLE memories ADD COLUMN embedder TEXT NOT NULL DEFAULT '{TORCH_DEFAULT_ID}'",),
        mysql=(
            f"ALTER TABLE memories ADD COLUMN embedder VARCHAR(128) NOT NULL DEFAULT '{TORCH_DEFAULT_ID}', "
            "ADD INDEX ix_memories_embedder (embedder)",
        ),
    )
)

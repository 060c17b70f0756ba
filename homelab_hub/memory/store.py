"""MemoryStore: the memory tables, the truth behind both search indexes. All memory SQL is here.

Every method takes the agent scope explicitly: a string acts within that agent, None means
all agents (an admin's ``"*"``). A row of another agent is indistinguishable from a missing
row, so isolation can never leak through a "forbidden" answer.

Times are epoch seconds. A memory's *when* is ``occurred_at`` (when it happened, given by the
caller) or, failing that, ``created_at`` (when it was saved); time windows and thread order
use it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from homelab_hub.errors import Conflict, InvalidInput, NotFound
from homelab_hub.store.db import Database

_COLUMNS = "id, agent, content, category, tags, source, section, thread, occurred_at, created_at, updated_at"
# A vector is read with the embedder that made it: one of another embedder is never compared
# with this process's query vectors (MemoryService re-embeds such rows).
_WITH_EMBEDDING = ", embedding, embedder"
_WHEN = "COALESCE(m.occurred_at, m.created_at)"


@dataclass
class Chunk:
    """A part of a long memory, embedded on its own: content[start:end]."""

    seq: int
    start: int
    end: int
    embedding: np.ndarray = field(repr=False)


@dataclass
class Memory:
    id: int
    agent: str
    content: str
    category: str
    tags: list[str]
    source: str
    section: str
    created_at: float
    updated_at: float
    thread: str = ""
    occurred_at: float | None = None
    embedding: np.ndarray | None = field(default=None, repr=False)
    # The embedder that made ``embedding`` (read with it); "" when not read.
    embedder: str = ""

    @property
    def when(self) -> float:
        """When it happened: occurred_at, else when it was saved."""
        return self.occurred_at if self.occurred_at is not None else self.created_at


@dataclass
class MemoryVersion:
    """Content a memory_update replaced, with the time span it was current."""

    version: int
    content: str
    category: str
    tags: list[str]
    valid_from: float
    superseded_at: float


@dataclass
class ScopeCounts:
    total: int
    oldest: float | None
    newest: float | None
    by_category: dict[str, int]
    by_tag: dict[str, int]


def content_hash(content: str, thread: str = "", occurred_at: float | None = None) -> str:
    """The dedup key: the same words said again in another thread, or at another time of the
    same thread, are another memory; without a thread or time it is the text alone."""
    text = content.strip()
    if thread or occurred_at is not None:
        when = "" if occurred_at is None else repr(float(occurred_at))
        text = f"{thread}\x1f{when}\x1f{text}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _vec(blob: Any) -> np.ndarray:
    return np.frombuffer(bytes(blob), dtype=np.float32)


def _row(row: dict[str, Any]) -> Memory:
    emb = row.get("embedding")
    occurred = row.get("occurred_at")
    return Memory(
        id=int(row["id"]),
        agent=row["agent"],
        content=row["content"],
        category=row["category"],
        tags=json.loads(row["tags"] or "[]"),
        source=row["source"],
        section=row["section"],
        created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
        thread=row.get("thread") or "",
        occurred_at=float(occurred) if occurred is not None else None,
        embedding=_vec(emb) if emb is not None else None,
        embedder=row.get("embedder") or "",
    )


def _scope(agent: str | None, column: str = "agent") -> tuple[str, list[Any]]:
    """The one agent filter every query appends after a WHERE clause."""
    return ("", []) if agent is None else (f" AND {column} = ?", [agent])


def _blob(vec: np.ndarray) -> bytes:
    return np.asarray(vec, dtype=np.float32).tobytes()


class MemoryStore:
    """``embedder`` is the id of the embedder whose vectors this process writes; every row
    records it (schema version 3)."""

    def __init__(self, db: Database, embedder: str) -> None:
        self.db = db
        self.embedder = embedder
        # Called with a change's number once it has committed (the hub's change notices to
        # other hubs on the broker); None: nobody is told, followers find it by polling.
        self.on_change: Callable[[int], None] | None = None

    # -- writes -------------------------------------------------------------------------
    def insert(
        self,
        agent: str,
        content: str,
        category: str,
        tags: list[str],
        source: str,
        section: str,
        embedding: np.ndarray,
        now: float | None = None,
        created_at: float | None = None,
        *,
        thread: str = "",
        occurred_at: float | None = None,
        chunks: list[Chunk] | None = None,
    ) -> tuple[int, float] | None:
        """Insert and commit; returns (id, updated_at), or None when this agent already has
        exactly this memory (the unique key settles races between concurrent saves)."""
        now = time.time() if now is None else now
        try:
            with self.db.transaction():
                res = self.db.execute(
                    "INSERT INTO memories (agent, content, category, tags, source, section, thread, occurred_at, "
                    "content_hash, embedding, embedder, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        agent,
                        content,
                        category,
                        json.dumps(tags, ensure_ascii=False),
                        source,
                        section,
                        thread,
                        occurred_at,
                        content_hash(content, thread, occurred_at),
                        _blob(embedding),
                        self.embedder,
                        created_at or now,
                        now,
                    ),
                )
                memory_id = int(res.lastrowid or 0)
                # A new id has no tags or chunks to replace. Deleting them anyway took a gap
                # lock on InnoDB that two concurrent saves' inserts then deadlocked on.
                self._write_tags(memory_id, agent, tags, replace=False)
                self._write_chunks(memory_id, chunks or [], replace=False)
                self._stamp(memory_id)
        except Conflict:
            return None
        return memory_id, now

    def _stamp(self, memory_id: int | None) -> None:
        """Take the next change number for this write (inside its transaction). The clock
        row stays locked until commit, so numbers are handed out in commit order and a reader
        that has seen number N has every change up to N."""
        self.db.execute("UPDATE memory_clock SET seq = seq + 1 WHERE id = 1")
        if memory_id is not None:
            self.db.execute(
                "UPDATE memories SET change_seq = (SELECT seq FROM memory_clock WHERE id = 1) WHERE id = ?",
                (memory_id,),
            )
        on_change = self.on_change
        if on_change is not None:  # every committed change passes here: save, update, delete, import
            seq = self.change_seq()
            self.db.after_commit(lambda: on_change(seq))

    def _write_tags(self, memory_id: int, agent: str, tags: list[str], *, replace: bool = True) -> None:
        if replace:
            self.db.execute("DELETE FROM memory_tags WHERE memory_id = ?", (memory_id,))
        if tags:
            self.db.executemany(
                "INSERT INTO memory_tags (memory_id, agent, tag) VALUES (?, ?, ?)",
                [(memory_id, agent, t) for t in tags],
            )

    def _write_chunks(self, memory_id: int, chunks: list[Chunk], *, replace: bool = True) -> None:
        if replace:
            self.db.execute("DELETE FROM memory_chunks WHERE memory_id = ?", (memory_id,))
        if chunks:
            self.db.executemany(
                "INSERT INTO memory_chunks (memory_id, seq, start_char, end_char, embedding) VALUES (?, ?, ?, ?, ?)",
                [(memory_id, c.seq, c.start, c.end, _blob(c.embedding)) for c in chunks],
            )

    def update(
        self,
        memory: Memory,
        *,
        content: str | None,
        category: str | None,
        tags: list[str] | None,
        embedding: np.ndarray | None,
        chunks: list[Chunk] | None = None,
    ) -> Memory:
        """Write the changed fields and commit; replaced content is kept as a version. Raises
        Conflict when the new content already exists as another memory of this agent."""
        now = max(time.time(), memory.updated_at + 1e-6)
        sets = ["updated_at = ?"]
        params: list[Any] = [now]
        old = (memory.content, memory.category, list(memory.tags), memory.updated_at)
        if content is not None:
            if embedding is None:
                raise ValueError("new content needs its embedding")
            sets += ["content = ?", "content_hash = ?", "embedding = ?", "embedder = ?"]
            params += [
                content,
                content_hash(content, memory.thread, memory.occurred_at),
                _blob(embedding),
                self.embedder,
            ]
        if category is not None:
            sets.append("category = ?")
            params.append(category)
        if tags is not None:
            sets.append("tags = ?")
            params.append(json.dumps(tags, ensure_ascii=False))
        try:
            with self.db.transaction():
                if content is not None:
                    self._keep_version(memory.id, memory.agent, *old, superseded_at=now)
                    self._write_chunks(memory.id, chunks or [])
                self.db.execute(f"UPDATE memories SET {', '.join(sets)} WHERE id = ?", [*params, memory.id])
                if tags is not None:
                    self._write_tags(memory.id, memory.agent, tags)
                self._stamp(memory.id)
        except Conflict as exc:
            other = self.id_by_hash(memory.agent, content or "", memory.thread, memory.occurred_at)
            raise Conflict(
                f"memory {other} already holds exactly this content; update or delete that one instead"
            ) from exc
        memory.content = content if content is not None else memory.content
        memory.category = category if category is not None else memory.category
        memory.tags = tags if tags is not None else memory.tags
        memory.updated_at = now
        return memory

    def _keep_version(
        self,
        memory_id: int,
        agent: str,
        content: str,
        category: str,
        tags: list[str],
        valid_from: float,
        *,
        superseded_at: float,
    ) -> None:
        row = self.db.query_one(
            "SELECT MAX(version) AS v FROM memory_versions WHERE memory_id = ?", (memory_id,)
        )
        version = int(row["v"]) + 1 if row and row["v"] is not None else 1
        self.db.execute(
            "INSERT INTO memory_versions (memory_id, version, agent, content, category, tags, valid_from, "
            "superseded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                memory_id,
                version,
                agent,
                content,
                category,
                json.dumps(tags, ensure_ascii=False),
                valid_from,
                superseded_at,
            ),
        )

    def add_versions(self, memory_id: int, agent: str, versions: list[MemoryVersion]) -> None:
        """Restore exported history onto a memory (import); existing versions are replaced."""
        with self.db.transaction():
            self.db.execute("DELETE FROM memory_versions WHERE memory_id = ?", (memory_id,))
            for v in versions:
                self.db.execute(
                    "INSERT INTO memory_versions (memory_id, version, agent, content, category, tags, valid_from, "
                    "superseded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        memory_id,
                        v.version,
                        agent,
                        v.content,
                        v.category,
                        json.dumps(v.tags, ensure_ascii=False),
                        v.valid_from,
                        v.superseded_at,
                    ),
                )

    def delete(self, memory_id: int, agent: str | None) -> Memory:
        """Raises NotFound when the id is absent or belongs to another agent."""
        memory = self.get(memory_id, agent)
        with self.db.transaction():
            for table in ("memory_tags", "memory_chunks", "memory_versions"):
                self.db.execute(f"DELETE FROM {table} WHERE memory_id = ?", (memory_id,))
            self.db.execute("DELETE FROM memories WHERE id = ?", (memory_id,))
            self._stamp(None)
        return memory

    # -- reads --------------------------------------------------------------------------
    def id_by_hash(
        self, agent: str, content: str, thread: str = "", occurred_at: float | None = None
    ) -> int | None:
        row = self.db.query_one(
            "SELECT id FROM memories WHERE agent = ? AND content_hash = ?",
            (agent, content_hash(content, thread, occurred_at)),
        )
        return int(row["id"]) if row else None

    def get(self, memory_id: int, agent: str | None, *, with_embedding: bool = False) -> Memory:
        """Raises NotFound when the id is absent or belongs to another agent."""
        cols = _COLUMNS + (_WITH_EMBEDDING if with_embedding else "")
        where, params = _scope(agent)
        row = self.db.query_one(f"SELECT {cols} FROM memories WHERE id = ?{where}", [memory_id, *params])
        if row is None:
            raise NotFound(
                f"memory {memory_id} not found (for agent {agent!r})"
                if agent
                else f"memory {memory_id} not found"
            )
        return self._own(_row(row))

    def _own(self, memory: Memory) -> Memory:
        """Drop a vector another embedder made (the memory is kept, without it)."""
        if memory.embedding is not None and memory.embedder != self.embedder:
            memory.embedding = None
        return memory

    def get_many(
        self, ids: list[int], agent: str | None, *, with_embedding: bool = False
    ) -> dict[int, Memory]:
        if not ids:
            return {}
        cols = _COLUMNS + (_WITH_EMBEDDING if with_embedding else "")
        where, params = _scope(agent)
        marks = ", ".join("?" * len(ids))
        rows = self.db.query(f"SELECT {cols} FROM memories WHERE id IN ({marks}){where}", [*ids, *params])
        return {int(r["id"]): self._own(_row(r)) for r in rows}

    def vectors(self, ids: list[int], agent: str | None) -> dict[int, tuple[str, np.ndarray]]:
        """id -> (agent, embedding) of these memories in scope: all that ranking needs."""
        if not ids:
            return {}
        where, params = _scope(agent)
        marks = ", ".join("?" * len(ids))
        rows = self.db.query(
            f"SELECT id, agent, embedding FROM memories WHERE id IN ({marks}) AND embedder = ?{where}",
            [*ids, self.embedder, *params],
        )
        return {int(r["id"]): (r["agent"], _vec(r["embedding"])) for r in rows}

    def chunks(self, ids: list[int]) -> dict[int, list[Chunk]]:
        """Chunks of these memories (only long memories have any), in order."""
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        out: dict[int, list[Chunk]] = {}
        for r in self.db.query(
            f"SELECT memory_id, seq, start_char, end_char, embedding FROM memory_chunks "
            f"WHERE memory_id IN ({marks}) ORDER BY memory_id, seq",
            ids,
        ):
            out.setdefault(int(r["memory_id"]), []).append(
                Chunk(int(r["seq"]), int(r["start_char"]), int(r["end_char"]), _vec(r["embedding"]))
            )
        return out

    def chunks_owned(self, ids: list[int] | None = None) -> list[int]:
        """Which memories (of these ids, or of all) are stored in chunks."""
        if ids is not None and not ids:
            return []
        sql = "SELECT DISTINCT memory_id FROM memory_chunks"
        if ids is not None:
            sql += f" WHERE memory_id IN ({', '.join('?' * len(ids))})"
        return [int(r["memory_id"]) for r in self.db.query(sql, ids or ())]

    def history(self, memory_id: int) -> list[MemoryVersion]:
        """Superseded versions of one memory, oldest first (scope checked by the caller)."""
        return self.histories([memory_id]).get(memory_id, [])

    def histories(self, ids: list[int]) -> dict[int, list[MemoryVersion]]:
        """Superseded versions of these memories, oldest first."""
        if not ids:
            return {}
        out: dict[int, list[MemoryVersion]] = {}
        for r in self.db.query(
            "SELECT memory_id, version, content, category, tags, valid_from, superseded_at FROM memory_versions "
            f"WHERE memory_id IN ({', '.join('?' * len(ids))}) ORDER BY memory_id, version",
            ids,
        ):
            out.setdefault(int(r["memory_id"]), []).append(
                MemoryVersion(
                    int(r["version"]),
                    r["content"],
                    r["category"],
                    json.loads(r["tags"] or "[]"),
                    float(r["valid_from"]),
                    float(r["superseded_at"]),
                )
            )
        return out

    def page(
        self,
        agent: str | None,
        category: str | None,
        tag: str | None,
        limit: int,
        cursor: str | None,
        *,
        after: float | None = None,
        before: float | None = None,
        thread: str | None = None,
    ) -> tuple[list[Memory], str | None]:
        """Newest first (by updated_at, then id); the cursor continues after the last row."""
        sql, params = self._filters(agent, category, [tag] if tag else None, after, before, thread)
        sql = f"SELECT {_COLUMNS} FROM memories m WHERE 1 = 1{sql}"
        if cursor:
            updated, last_id = _parse_cursor(cursor)
            sql += " AND (m.updated_at < ? OR (m.updated_at = ? AND m.id < ?))"
            params += [updated, updated, last_id]
        sql += " ORDER BY m.updated_at DESC, m.id DESC LIMIT ?"
        rows = [_row(r) for r in self.db.query(sql, [*params, limit + 1])]
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = f"{rows[-1].updated_at!r}:{rows[-1].id}" if more and rows else None
        return rows, next_cursor

    def filtered_ids(
        self,
        agent: str | None,
        category: str | None,
        tags: list[str] | None,
        after: float | None = None,
        before: float | None = None,
        thread: str | None = None,
    ) -> list[int]:
        sql, params = self._filters(agent, category, tags, after, before, thread)
        return [int(r["id"]) for r in self.db.query(f"SELECT m.id FROM memories m WHERE 1 = 1{sql}", params)]

    @staticmethod
    def _filters(
        agent: str | None,
        category: str | None,
        tags: list[str] | None,
        after: float | None,
        before: float | None,
        thread: str | None,
    ) -> tuple[str, list[Any]]:
        sql, params = _scope(agent, "m.agent")
        if category:
            sql += " AND m.category = ?"
            params.append(category)
        for tag in tags or []:
            sql += " AND EXISTS (SELECT 1 FROM memory_tags t WHERE t.memory_id = m.id AND t.tag = ?)"
            params.append(tag)
        if after is not None:
            sql += f" AND {_WHEN} >= ?"
            params.append(after)
        if before is not None:
            sql += f" AND {_WHEN} < ?"
            params.append(before)
        if thread:
            sql += " AND m.thread = ?"
            params.append(thread)
        return sql, params

    def by_source(self, agent: str, source: str) -> list[Memory]:
        return [
            _row(r)
            for r in self.db.query(
                f"SELECT {_COLUMNS} FROM memories WHERE agent = ? AND source = ? ORDER BY id", (agent, source)
            )
        ]

    # -- what the indexes follow ------------------------------------------------------------
    def versions(self) -> dict[int, tuple[str, float]]:
        """id -> (agent, updated_at) of every memory: what the indexes must agree with."""
        return {
            int(r["id"]): (r["agent"], float(r["updated_at"]))
            for r in self.db.query("SELECT id, agent, updated_at FROM memories")
        }

    def change_seq(self) -> int:
        """The number of the newest committed change (one cheap read: followers poll it)."""
        row = self.db.query_one("SELECT seq FROM memory_clock WHERE id = 1")
        return int(row["seq"]) if row else 0

    def changed_since(self, seq: int) -> dict[int, float]:
        """id -> updated_at of rows whose change number is above ``seq`` (other writers')."""
        rows = self.db.query("SELECT id, updated_at FROM memories WHERE change_seq > ?", (seq,))
        return {int(r["id"]): float(r["updated_at"]) for r in rows}

    def count(self, agent: str | None = None) -> int:
        """Memories of one agent (None: all)."""
        where, params = _scope(agent)
        row = self.db.query_one(f"SELECT COUNT(*) AS n FROM memories WHERE 1 = 1{where}", params)
        return int(row["n"] or 0) if row else 0

    # -- switching embedders ----------------------------------------------------------------
    def foreign_count(self) -> int:
        """How many memories carry vectors of another embedder than this store's."""
        row = self.db.query_one("SELECT COUNT(*) AS n FROM memories WHERE embedder <> ?", (self.embedder,))
        return int(row["n"]) if row else 0

    def foreign_batch(self, limit: int) -> list[Memory]:
        """Up to ``limit`` memories whose vectors another embedder made, oldest id first."""
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM memories WHERE embedder <> ? ORDER BY id LIMIT ?", (self.embedder, limit)
        )
        return [_row(r) for r in rows]

    def replace_vectors(self, memory: Memory, embedding: np.ndarray, chunks: list[Chunk]) -> bool:
        """Store this embedder's vectors for a memory whose content is unchanged since it was
        read (updated_at unchanged, which also keeps every index's copy current); False when it
        changed meanwhile, and so already carries new vectors or will be read again."""
        with self.db.transaction():
            res = self.db.execute(
                "UPDATE memories SET embedding = ?, embedder = ? WHERE id = ? AND updated_at = ?",
                (_blob(embedding), self.embedder, memory.id, memory.updated_at),
            )
            if not res.rowcount:
                return False
            self._write_chunks(memory.id, chunks)
        return True

    def iter_rows(self, ids: list[int] | None = None, batch: int = 2000) -> Iterator[list[Memory]]:
        """All memories (or these ids) with embeddings, in id order, a batch at a time."""
        if ids is not None:
            for start in range(0, len(ids), batch):
                chunk = ids[start : start + batch]
                found = self.get_many(chunk, None, with_embedding=True)
                yield [found[i] for i in chunk if i in found]
            return
        last = -1
        while True:
            rows = self.db.query(
                f"SELECT {_COLUMNS}{_WITH_EMBEDDING} FROM memories WHERE id > ? ORDER BY id LIMIT ?",
                (last, batch),
            )
            if not rows:
                return
            yield [self._own(_row(r)) for r in rows]
            last = int(rows[-1]["id"])

    def iter_contents(self, batch: int = 5000) -> Iterator[list[Memory]]:
        """Every memory without its embedding, in id order: what the keyword index and the
        thread map are rebuilt from."""
        last = -1
        while True:
            rows = self.db.query(
                f"SELECT {_COLUMNS} FROM memories WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
            )
            if not rows:
                return
            yield [_row(r) for r in rows]
            last = int(rows[-1]["id"])

    # -- memory_stats ---------------------------------------------------------------------
    def counts(self, agent: str | None) -> ScopeCounts:
        where, params = _scope(agent)
        head = self.db.query_one(
            f"SELECT COUNT(*) AS n, MIN(updated_at) AS oldest, MAX(updated_at) AS newest FROM memories "
            f"WHERE 1 = 1{where}",
            params,
        ) or {"n": 0, "oldest": None, "newest": None}
        cats = self.db.query(
            f"SELECT category, COUNT(*) AS n FROM memories WHERE 1 = 1{where} GROUP BY category", params
        )
        tags = self.db.query(
            f"SELECT tag, COUNT(*) AS n FROM memory_tags WHERE 1 = 1{where} GROUP BY tag", params
        )
        return ScopeCounts(
            total=int(head["n"] or 0),
            oldest=float(head["oldest"]) if head["oldest"] is not None else None,
            newest=float(head["newest"]) if head["newest"] is not None else None,
            by_category={
                r["category"] or "(none)": int(r["n"]) for r in sorted(cats, key=lambda r: -int(r["n"]))
            },
            by_tag={r["tag"]: int(r["n"]) for r in sorted(tags, key=lambda r: (-int(r["n"]), r["tag"]))[:50]},
        )

    def stale_ids(self, agent: str | None, cutoff: float) -> list[int]:
        """Memories not updated since ``cutoff``, oldest first."""
        where, params = _scope(agent)
        rows = self.db.query(
            f"SELECT id FROM memories WHERE updated_at < ?{where} ORDER BY updated_at", [cutoff, *params]
        )
        return [int(r["id"]) for r in rows]

    def recent_embeddings(self, agent: str | None, limit: int) -> tuple[list[int], np.ndarray | None]:
        """The newest ``limit`` memories' ids and embeddings (near-duplicate clustering)."""
        where, params = _scope(agent)
        rows = self.db.query(
            f"SELECT id, embedding FROM memories WHERE embedder = ?{where} "
            "ORDER BY updated_at DESC, id DESC LIMIT ?",
            [self.embedder, *params, limit],
        )
        if not rows:
            return [], None
        return [int(r["id"]) for r in rows], np.vstack([_vec(r["embedding"]) for r in rows])


def _parse_cursor(cursor: str) -> tuple[float, int]:
    try:
        updated, last_id = cursor.rsplit(":", 1)
        return float(updated), int(last_id)
    except ValueError as exc:
        raise InvalidInput(
            f"cursor {cursor!r} is not one this hub returned; pass next_cursor from memory_list"
        ) from exc

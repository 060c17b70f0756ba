"""MemoryStore: the memories table, the truth behind both search indexes.

Every method takes the agent scope explicitly: a string acts within that agent, None means
all agents (an admin's ``"*"``). A row of another agent is indistinguishable from a missing
row, so isolation can never leak through a "forbidden" answer.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from homelab_hub.errors import Conflict, InvalidInput, NotFound
from homelab_hub.store.db import Database

_COLUMNS = "id, agent, content, category, tags, source, section, created_at, updated_at"


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
    embedding: np.ndarray | None = field(default=None, repr=False)


def content_hash(content: str) -> str:
    return hashlib.sha256(content.strip().encode("utf-8")).hexdigest()


def _row(row: dict[str, Any]) -> Memory:
    emb = row.get("embedding")
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
        embedding=np.frombuffer(bytes(emb), dtype=np.float32) if emb is not None else None,
    )


def _scope(agent: str | None, column: str = "agent") -> tuple[str, list[Any]]:
    return ("", []) if agent is None else (f" AND {column} = ?", [agent])


class MemoryStore:
    def __init__(self, db: Database) -> None:
        self.db = db

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
    ) -> tuple[int, float] | None:
        """Insert and commit; returns (id, updated_at), or None when this agent already has
        exactly this content (the unique key settles races between concurrent saves)."""
        now = time.time() if now is None else now
        try:
            with self.db.transaction():
                res = self.db.execute(
                    "INSERT INTO memories (agent, content, category, tags, source, section, content_hash, embedding, "
                    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        agent,
                        content,
                        category,
                        json.dumps(tags, ensure_ascii=False),
                        source,
                        section,
                        content_hash(content),
                        np.asarray(embedding, dtype=np.float32).tobytes(),
                        created_at or now,
                        now,
                    ),
                )
                memory_id = int(res.lastrowid or 0)
                self._write_tags(memory_id, agent, tags)
        except Conflict:
            return None
        return memory_id, now

    def _write_tags(self, memory_id: int, agent: str, tags: list[str]) -> None:
        self.db.execute("DELETE FROM memory_tags WHERE memory_id = ?", (memory_id,))
        if tags:
            self.db.executemany(
                "INSERT INTO memory_tags (memory_id, agent, tag) VALUES (?, ?, ?)",
                [(memory_id, agent, t) for t in tags],
            )

    def id_by_hash(self, agent: str, content: str) -> int | None:
        row = self.db.query_one(
            "SELECT id FROM memories WHERE agent = ? AND content_hash = ?", (agent, content_hash(content))
        )
        return int(row["id"]) if row else None

    def get(self, memory_id: int, agent: str | None, *, with_embedding: bool = False) -> Memory:
        """Raises NotFound when the id is absent or belongs to another agent."""
        cols = _COLUMNS + (", embedding" if with_embedding else "")
        where, params = _scope(agent)
        row = self.db.query_one(f"SELECT {cols} FROM memories WHERE id = ?{where}", [memory_id, *params])
        if row is None:
            raise NotFound(
                f"memory {memory_id} not found (for agent {agent!r})"
                if agent
                else f"memory {memory_id} not found"
            )
        return _row(row)

    def get_many(
        self, ids: list[int], agent: str | None, *, with_embedding: bool = False
    ) -> dict[int, Memory]:
        if not ids:
            return {}
        cols = _COLUMNS + (", embedding" if with_embedding else "")
        where, params = _scope(agent)
        marks = ", ".join("?" * len(ids))
        rows = self.db.query(f"SELECT {cols} FROM memories WHERE id IN ({marks}){where}", [*ids, *params])
        return {int(r["id"]): _row(r) for r in rows}

    def update(
        self,
        memory: Memory,
        *,
        content: str | None,
        category: str | None,
        tags: list[str] | None,
        embedding: np.ndarray | None,
    ) -> Memory:
        """Write the changed fields and commit. Raises Conflict when the new content already
        exists as another memory of this agent."""
        now = max(time.time(), memory.updated_at + 1e-6)
        sets = ["updated_at = ?"]
        params: list[Any] = [now]
        if content is not None:
            sets += ["content = ?", "content_hash = ?", "embedding = ?"]
            params += [content, content_hash(content), np.asarray(embedding, dtype=np.float32).tobytes()]
            memory.content = content
        if category is not None:
            sets.append("category = ?")
            params.append(category)
            memory.category = category
        if tags is not None:
            sets.append("tags = ?")
            params.append(json.dumps(tags, ensure_ascii=False))
            memory.tags = tags
        try:
            with self.db.transaction():
                self.db.execute(f"UPDATE memories SET {', '.join(sets)} WHERE id = ?", [*params, memory.id])
                if tags is not None:
                    self._write_tags(memory.id, memory.agent, tags)
        except Conflict as exc:
            other = self.id_by_hash(memory.agent, content or "")
            raise Conflict(
                f"memory {other} already holds exactly this content; update or delete that one instead"
            ) from exc
        memory.updated_at = now
        return memory

    def delete(self, memory_id: int, agent: str | None) -> Memory:
        """Raises NotFound when the id is absent or belongs to another agent."""
        memory = self.get(memory_id, agent)
        with self.db.transaction():
            self.db.execute("DELETE FROM memory_tags WHERE memory_id = ?", (memory_id,))
            self.db.execute("DELETE FROM memories WHERE id = ?", (memory_id,))
        return memory

    def page(
        self, agent: str | None, category: str | None, tag: str | None, limit: int, cursor: str | None
    ) -> tuple[list[Memory], str | None]:
        """Newest first (by updated_at, then id); the cursor continues after the last row."""
        sql = f"SELECT {_COLUMNS} FROM memories m WHERE 1 = 1"
        where, params = _scope(agent, "m.agent")
        sql += where
        if category:
            sql += " AND m.category = ?"
            params.append(category)
        if tag:
            sql += " AND EXISTS (SELECT 1 FROM memory_tags t WHERE t.memory_id = m.id AND t.tag = ?)"
            params.append(tag)
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

    def filtered_ids(self, agent: str | None, category: str | None, tags: list[str] | None) -> list[int]:
        sql = "SELECT m.id FROM memories m WHERE 1 = 1"
        where, params = _scope(agent, "m.agent")
        sql += where
        if category:
            sql += " AND m.category = ?"
            params.append(category)
        for tag in tags or []:
            sql += " AND EXISTS (SELECT 1 FROM memory_tags t WHERE t.memory_id = m.id AND t.tag = ?)"
            params.append(tag)
        return [int(r["id"]) for r in self.db.query(sql, params)]

    def by_source(self, agent: str, source: str) -> list[Memory]:
        return [
            _row(r)
            for r in self.db.query(
                f"SELECT {_COLUMNS} FROM memories WHERE agent = ? AND source = ? ORDER BY id", (agent, source)
            )
        ]

    def versions(self) -> dict[int, tuple[str, float]]:
        """id -> (agent, updated_at) of every memory: what the indexes must agree with."""
        return {
            int(r["id"]): (r["agent"], float(r["updated_at"]))
            for r in self.db.query("SELECT id, agent, updated_at FROM memories")
        }

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
                f"SELECT {_COLUMNS}, embedding FROM memories WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
            )
            if not rows:
                return
            yield [_row(r) for r in rows]
            last = int(rows[-1]["id"])


def iter_contents(db: Database, batch: int = 5000) -> Iterator[list[tuple[int, str, str]]]:
    """(id, agent, content) of every memory, in id order, for rebuilding the keyword index."""
    last = -1
    while True:
        rows = db.query(
            "SELECT id, agent, content FROM memories WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
        )
        if not rows:
            return
        yield [(int(r["id"]), r["agent"], r["content"]) for r in rows]
        last = int(rows[-1]["id"])


def _parse_cursor(cursor: str) -> tuple[float, int]:
    try:
        updated, last_id = cursor.rsplit(":", 1)
        return float(updated), int(last_id)
    except ValueError as exc:
        raise InvalidInput(
            f"cursor {cursor!r} is not one this hub returned; pass next_cursor from memory_list"
        ) from exc

"""MemoryService: the semantic memory engine, with plain-argument methods.

Every method names the agent scope explicitly (a string, or None for all agents, which only
an admin's tool call can produce). Writes commit to the database first and only then touch
the indexes, so an acknowledged save survives any crash; the indexes are caches that
`reconcile` brings back in line with the table at start.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from homelab_hub.errors import InvalidInput, Unavailable, WarmingUp
from homelab_hub.memory.config import MemoryConfig
from homelab_hub.memory.embedder import Embedder
from homelab_hub.memory.index import VectorIndex
from homelab_hub.memory.keyword import KeywordIndex
from homelab_hub.memory.search import Mode, SearchHit, hybrid_search
from homelab_hub.memory.store import Memory, MemoryStore, iter_contents
from homelab_hub.memory.validation import clean_content, clean_label, clean_tags
from homelab_hub.store.db import Database

log = logging.getLogger(__name__)

INDEX_FILE = "vectors-4bit.npz"
# sync() looks this far behind the newest updated_at it has seen, for writes that committed
# late or came from a host whose clock is a little behind.
SYNC_MARGIN_S = 5.0


@dataclass
class SaveResult:
    id: int
    created: bool
    similar: list[SearchHit] = field(default_factory=list)


@dataclass
class ReconcileReport:
    indexed: int = 0
    reencoded: int = 0
    removed: int = 0
    loaded_from_disk: bool = False
    seconds: float = 0.0


class MemoryService:
    """Semantic memory over one database. Call `start()` (background) or `start_now()`."""

    def __init__(
        self, db: Database, config: MemoryConfig, index_dir: Path, embedder: Embedder | None = None
    ) -> None:
        self.config = config
        self.store = MemoryStore(db)
        self.index_dir = index_dir
        self.embedder = embedder or Embedder(config.model_path, config.device, config.query_cache_size)
        self.index: VectorIndex | None = None
        self.keywords = KeywordIndex()
        self.reconcile_report = ReconcileReport()
        self._ready = threading.Event()
        self._error: str | None = None
        self._high_water = 0.0
        self._loader: threading.Thread | None = None
        self._closing = False

    # -- start-up -----------------------------------------------------------------------
    def start(self) -> None:
        """Load the model and the index on a daemon thread; returns at once."""
        self._loader = threading.Thread(target=self._start, name="memory-start", daemon=True)
        self._loader.start()

    def close(self, timeout: float = 15.0) -> None:
        """Let a load in progress finish before the database goes away (hub shutdown)."""
        self._closing = True
        if self._loader is not None and self._loader is not threading.current_thread():
            self._loader.join(timeout)

    def start_now(self) -> None:
        """Load in the calling thread. Raises Unavailable when the model or index fails."""
        self._start()
        if self._error:
            raise Unavailable(self._error)

    def _start(self) -> None:
        try:
            if not self.embedder.ready:
                self.embedder.load_now()
            self.reconcile()
        except Exception as exc:  # surfaced by health and by every call
            self._error = f"memory failed to start: {exc}"
            if self._closing:
                log.info("memory load abandoned at shutdown: %s", exc)
            else:
                log.exception("memory failed to start")
        finally:
            self._ready.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self._error is None

    @property
    def error(self) -> str | None:
        return self._error

    def wait_ready(self, timeout: float | None = None) -> VectorIndex:
        """Raises WarmingUp when not loaded within the deadline, Unavailable when loading failed."""
        wait = self.config.warmup_wait_s if timeout is None else timeout
        if not self._ready.wait(wait):
            raise WarmingUp(
                f"memory is still loading its embedding model and index (waited {wait:.0f}s); retry shortly"
            )
        if self._error or self.index is None:
            raise Unavailable(self._error or "memory index is not available")
        return self.index

    @property
    def index_path(self) -> Path:
        return self.index_dir / INDEX_FILE

    def reconcile(self) -> ReconcileReport:
        """Bring the vector and keyword indexes in line with the table: re-encode rows whose
        updated_at differs, drop ids the table no longer has, add what is missing."""
        started = time.monotonic()
        dim = self.embedder.dim
        index = VectorIndex.load(self.index_path, dim)
        report = ReconcileReport(loaded_from_disk=index is not None)
        index = index or VectorIndex(dim)
        truth = self.store.versions()
        self._high_water = max((u for _, u in truth.values()), default=0.0)
        have = index.versions()
        gone = [i for i in have if i not in truth]
        report.removed = index.remove(gone)
        stale = sorted(i for i, (_, updated) in truth.items() if have.get(i) != updated)
        for batch in self.store.iter_rows(stale):
            vecs = _stack([m.embedding for m in batch], dim)
            index.upsert([m.id for m in batch], [m.agent for m in batch], vecs, [m.updated_at for m in batch])
            report.reencoded += len(batch)
        keywords = KeywordIndex()
        for rows in iter_contents(self.store.db):
            for memory_id, agent, content in rows:
                keywords.upsert(memory_id, agent, content)
        report.indexed = len(index)
        report.seconds = round(time.monotonic() - started, 3)
        self.index, self.keywords, self.reconcile_report = index, keywords, report
        if report.reencoded or report.removed or not report.loaded_from_disk:
            self.persist(force=True)
        log.info("memory index reconciled: %s", report)
        return report

    def sync(self) -> int:
        """Follow changes other processes made to the table (a CLI import, another hub on the
        same MySQL): re-encode rows changed since the last look, drop rows gone from it.
        Returns how many index entries changed."""
        index = self.index
        if index is None:
            return 0
        since = self._high_water - SYNC_MARGIN_S
        rows = self.store.db.query("SELECT id, updated_at FROM memories WHERE updated_at > ?", (since,))
        if rows:
            self._high_water = max(self._high_water, max(float(r["updated_at"]) for r in rows))
        changed = [int(r["id"]) for r in rows if index.version(int(r["id"])) != float(r["updated_at"])]
        for batch in self.store.iter_rows(changed):
            vecs = _stack([m.embedding for m in batch], index.dim)
            index.upsert([m.id for m in batch], [m.agent for m in batch], vecs, [m.updated_at for m in batch])
            for m in batch:
                self.keywords.upsert(m.id, m.agent, m.content)
        count = self.store.db.query_one("SELECT COUNT(*) AS n FROM memories")
        removed = 0
        if count is not None and int(count["n"]) != len(index):
            truth = self.store.versions()
            gone = [i for i in index.versions() if i not in truth]
            removed = index.remove(gone)
            for memory_id in gone:
                self.keywords.remove(memory_id)
        return len(changed) + removed

    def persist(self, force: bool = False) -> bool:
        """Write the vector index to disk if it changed; True when written."""
        index = self.index
        if index is None or not (force or index.dirty):
            return False
        index.save(self.index_path)
        return True

    # -- operations ---------------------------------------------------------------------
    def search(
        self,
        agent: str | None,
        query: str,
        *,
        limit: int = 5,
        min_score: float | None = None,
        category: str | None = None,
        tags: list[str] | None = None,
        mode: Mode = "hybrid",
    ) -> list[SearchHit]:
        """Hybrid search in one agent's memories. Raises InvalidInput, WarmingUp, Unavailable."""
        if not isinstance(query, str) or not query.strip():
            raise InvalidInput("query is empty; say what you are looking for, e.g. 'ollama port on the dgx'")
        if len(query) > 4096:
            raise InvalidInput(f"query is {len(query)} characters; keep it under 4096")
        if not 1 <= limit <= 100:
            raise InvalidInput(f"limit must be between 1 and 100, got {limit}")
        index = self.wait_ready()
        tags = clean_tags(tags, self.config) if tags else None
        allowed: set[int] | None = (
            set(self.store.filtered_ids(agent, category, tags)) if (category or tags) else None
        )
        return hybrid_search(
            store=self.store,
            index=index,
            keywords=self.keywords,
            embedder=self.embedder,
            query=query.strip(),
            agent=agent,
            limit=limit,
            min_score=self.config.min_score if min_score is None else min_score,
            candidates=self.config.rerank_candidates,
            rrf_k=self.config.rrf_k,
            allowed=allowed,
            mode=mode,
        )

    def save(
        self,
        agent: str,
        content: str,
        *,
        category: str | None = None,
        tags: list[str] | None = None,
        source: str | None = None,
        section: str = "",
    ) -> SaveResult:
        """Store a memory; the same content again returns the existing id. Raises InvalidInput,
        PayloadTooLarge, WarmingUp, Unavailable, StorageUnavailable."""
        text = clean_content(content, self.config)
        clean = clean_tags(tags, self.config)
        cat = clean_label(category, "category") or ""
        src = clean_label(source, "source", 512) or ""
        index = self.wait_ready()
        existing = self.store.id_by_hash(agent, text)
        if existing is not None:
            return SaveResult(id=existing, created=False)
        vec = self.embedder.embed_one(text)
        similar = self.near_duplicates(agent, vec, index)
        inserted = self.store.insert(agent, text, cat, clean, src, section, vec)
        if inserted is None:  # a concurrent save of the same content won the race
            return SaveResult(id=self.store.id_by_hash(agent, text) or 0, created=False)
        memory_id, updated = inserted
        index.upsert([memory_id], [agent], vec[None, :], [updated])
        self.keywords.upsert(memory_id, agent, text)
        return SaveResult(id=memory_id, created=True, similar=similar)

    def near_duplicates(
        self, agent: str, vec: Any, index: VectorIndex, exclude: int | None = None
    ) -> list[SearchHit]:
        found = index.search(vec, agent, 10)
        rows = self.store.get_many([i for i, _ in found if i != exclude], agent, with_embedding=True)
        hits = []
        for row in rows.values():
            score = float(row.embedding @ vec) if row.embedding is not None else 0.0
            if score >= self.config.near_duplicate:
                hits.append(SearchHit(memory=row, score=score, keyword_match=False, rank_score=score))
        return sorted(hits, key=lambda h: (-h.score, h.memory.id))[:5]

    def get(self, agent: str | None, memory_id: int) -> Memory:
        """Raises NotFound (also for another agent's id)."""
        return self.store.get(memory_id, agent)

    def page(
        self,
        agent: str | None,
        *,
        category: str | None = None,
        tag: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> tuple[list[Memory], str | None]:
        """Newest first. Raises InvalidInput on a bad limit or cursor."""
        if not 1 <= limit <= 200:
            raise InvalidInput(f"limit must be between 1 and 200, got {limit}")
        return self.store.page(agent, category, tag, limit, cursor)

    def update(
        self,
        agent: str | None,
        memory_id: int,
        *,
        content: str | None = None,
        category: str | None = None,
        tags: list[str] | None = None,
    ) -> Memory:
        """Change a memory; new content is re-embedded. Raises NotFound, InvalidInput, Conflict."""
        if content is None and category is None and tags is None:
            raise InvalidInput("nothing to update: give content, category or tags")
        text = clean_content(content, self.config) if content is not None else None
        clean = clean_tags(tags, self.config) if tags is not None else None
        cat = clean_label(category, "category")
        index = self.wait_ready() if text is not None else self.index
        memory = self.store.get(memory_id, agent)
        vec = self.embedder.embed([text])[0] if text is not None and text != memory.content else None
        if vec is None:
            text = None
        memory = self.store.update(memory, content=text, category=cat, tags=clean, embedding=vec)
        if vec is not None and index is not None:
            index.upsert([memory.id], [memory.agent], vec[None, :], [memory.updated_at])
            self.keywords.upsert(memory.id, memory.agent, memory.content)
        elif index is not None:
            self._touch(index, memory)
        return memory

    def _touch(self, index: VectorIndex, memory: Memory) -> None:
        # Metadata-only changes move updated_at; keep the index's copy equal to the table's
        # so the next start does not re-encode it for nothing.
        full = self.store.get(memory.id, None, with_embedding=True)
        if full.embedding is not None:
            index.upsert([memory.id], [memory.agent], full.embedding[None, :], [memory.updated_at])

    def delete(self, agent: str | None, memory_id: int) -> Memory:
        """Raises NotFound (also for another agent's id)."""
        memory = self.store.delete(memory_id, agent)
        if self.index is not None:
            self.index.remove([memory_id])
        self.keywords.remove(memory_id)
        return memory


def _stack(vectors: list[Any], dim: int) -> Any:
    import numpy as np

    if not vectors:
        return np.zeros((0, dim), dtype=np.float32)
    return np.vstack(vectors).astype(np.float32)

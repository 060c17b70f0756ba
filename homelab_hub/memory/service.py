"""MemoryService: the semantic memory engine, with plain-argument methods.

Every method names the agent scope explicitly (a string, or None for all agents, which only
an admin's tool call can produce). Writes commit to the database first and only then touch
the caches (vector index, keyword index, thread map), so an acknowledged save survives any
crash; `reconcile` brings the caches back in line with the table at start.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from homelab_hub.errors import InvalidInput, Unavailable, WarmingUp
from homelab_hub.malloc import release_free_memory
from homelab_hub.memory.chunks import chunk_spans, chunk_texts, context_line
from homelab_hub.memory.config import MemoryConfig
from homelab_hub.memory.embedder import Embedder
from homelab_hub.memory.embedders import build_embedder
from homelab_hub.memory.index import VectorIndex, key, memory_of
from homelab_hub.memory.keyword import KeywordIndex
from homelab_hub.memory.search import Fusion, Mode, SearchHit, SearchParts, hybrid_search
from homelab_hub.memory.store import Chunk, Memory, MemoryStore, MemoryVersion
from homelab_hub.memory.threads import ThreadMap
from homelab_hub.memory.validation import (
    MAX_SOURCE_CHARS,
    MAX_THREAD_CHARS,
    clean_content,
    clean_label,
    clean_query,
    clean_tags,
    clean_time,
)
from homelab_hub.store.db import Database

log = logging.getLogger(__name__)

# One index file per embedder (its id in the name): vectors of two embedders never meet, and
# switching back finds its own file, still valid for the rows it re-embeds identically.
INDEX_FILE = "vectors-4bit-{embedder}.npz"
# Re-embedding after a switch commits this many memories at a time, so an interrupted switch
# resumes where it stopped (the rows done carry the new embedder's id).
REEMBED_BATCH = 64
SEARCH_LIMIT = 50
LIST_LIMIT = 200


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
    reembedded: int = 0
    seconds: float = 0.0


@dataclass
class Embedded:
    """A memory's vectors: its own, and its chunks' when it is long."""

    vector: np.ndarray
    chunks: list[Chunk]


class NoticeCounts(Protocol):
    """What health reads of the change notices (memory/notices.py) that follow other hubs."""

    sent: int
    heard: int


class MemoryService:
    """Semantic memory over one database. Call `start()` (background) or `start_now()`."""

    def __init__(
        self, db: Database, config: MemoryConfig, index_dir: Path, embedder: Embedder | None = None
    ) -> None:
        self.config = config
        self.embedder = embedder or build_embedder(config)
        self.store = MemoryStore(db, self.embedder.id)
        self.index_dir = index_dir
        self.index: VectorIndex | None = None
        self.keywords = KeywordIndex()
        self.threads = ThreadMap()
        self.chunked: set[int] = set()
        self.fusion = Fusion()
        self.reconcile_report = ReconcileReport()
        # The one background load (model, then index): its state lives here only.
        self._ready = threading.Event()
        self._error: str | None = None
        self._loading = "embedding model"
        # (done, total) of the re-embedding a switch of embedder started, for progress bars.
        self.reembed_progress = (0, 0)
        self._seen_seq = 0  # the newest change number (memory_clock) the caches hold
        # Set when another hub says it committed a change (ChangeNotices): the follower
        # (IndexPersistWorker) wakes at once instead of at its next poll.
        self.nudged = threading.Event()
        self.notices: NoticeCounts | None = None  # ChangeNotices, set when this hub has a broker link
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
            self._loading = "embedding model"
            self.embedder.load_now()
            self._loading = "memories of another embedder"
            reembedded = self.reembed()
            self._loading = "vector index"
            self.reconcile().reembedded = reembedded
            release_free_memory()
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

    def loaded(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the background load to end (well or not)."""
        return self._ready.wait(timeout)

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def loading(self) -> str:
        """What the background load is on: 'embedding model', 'memories of another embedder'
        (re-embedding them after a switch) or 'vector index'."""
        return self._loading

    def wait_ready(self, timeout: float | None = None) -> VectorIndex:
        """Raises WarmingUp when not loaded within the deadline, Unavailable when loading failed."""
        wait = self.config.warmup_wait_s if timeout is None else timeout
        if not self._ready.wait(wait):
            raise WarmingUp(
                f"memory is still loading its {self._loading} (waited {wait:.0f}s); retry shortly"
            )
        if self._error or self.index is None:
            raise Unavailable(self._error or "memory index is not available")
        return self.index

    @property
    def index_path(self) -> Path:
        return self.index_dir / INDEX_FILE.format(embedder=re.sub(r"[^A-Za-z0-9.]+", "-", self.embedder.id))

    def reembed(self) -> int:
        """Re-embed, with this embedder, every memory whose vectors another one made (after
        ``memory.embedder`` or ``memory.model_path`` changed). Idempotent, and resumable: each
        batch commits with this embedder's id, so a stop or a crash loses at most one batch.
        Progress is in ``reembed_progress``. Returns how many memories were re-embedded."""
        total = self.store.foreign_count()
        done = 0
        self.reembed_progress = (0, total)
        if total:
            log.info("re-embedding %d memories with %s", total, self.embedder.id)
        while not self._closing:
            batch = self.store.foreign_batch(REEMBED_BATCH)
            if not batch:
                break
            self._reembed_rows(batch)
            done += len(batch)
            self.reembed_progress = (done, max(total, done))
        return done

    def _reembed_rows(self, rows: list[Memory]) -> None:
        """Embed these rows with this embedder and store the vectors (those whose row is
        unchanged since read get ``embedding`` set; a row changed meanwhile is read again)."""
        embedded = self.embed_memories([m.content for m in rows], [bool(m.section) for m in rows])
        for m, e in zip(rows, embedded, strict=True):
            if self.store.replace_vectors(m, e.vector, e.chunks):
                m.embedding, m.embedder = e.vector, self.embedder.id

    def reconcile(self) -> ReconcileReport:
        """Bring the caches in line with the table: re-read vectors of rows whose updated_at
        differs, drop ids the table no longer has, add what is missing."""
        started = time.monotonic()
        dim = self.embedder.dim
        (self.index_dir / "vectors-4bit.npz").unlink(missing_ok=True)  # one file for all, before 0.2
        index = VectorIndex.load(self.index_path, dim)
        report = ReconcileReport(loaded_from_disk=index is not None)
        index = index or VectorIndex(dim)
        # Read before the table: a change committed meanwhile has a higher number and is
        # picked up by the next sync.
        seen = self.store.change_seq()
        truth = self.store.versions()
        have = index.versions()
        report.removed = index.remove([i for i in have if i not in truth])
        stale = sorted(i for i, (_, updated) in truth.items() if have.get(i) != updated)
        keywords, threads = KeywordIndex(), ThreadMap()
        for rows in self.store.iter_contents():
            for m in rows:
                keywords.upsert(m.id, m.agent, m.content)
                threads.upsert(m.id, m.agent, m.thread, m.when)
        report.reencoded = self._index_rows(index, stale)
        chunked = set(self.store.chunks_owned())
        report.indexed = len(index)
        report.seconds = round(time.monotonic() - started, 3)
        self.index, self.keywords, self.threads, self.chunked = index, keywords, threads, chunked
        self._seen_seq = seen
        self.reconcile_report = report
        if report.reencoded or report.removed or not report.loaded_from_disk:
            self.persist(force=True)
        log.info("memory index reconciled: %s", report)
        return report

    def _index_rows(self, index: VectorIndex, ids: list[int]) -> int:
        """Put these rows' stored vectors (and chunks) into the index; returns how many."""
        done = 0
        for batch in self.store.iter_rows(ids):
            foreign = [m for m in batch if m.embedding is None]
            if foreign:  # written by a process with another embedder: never mixed, re-embedded
                self._reembed_rows(foreign)
            chunks = self.store.chunks([m.id for m in batch])
            index.remove([m.id for m in batch])
            keys, agents, vecs, times = [], [], [], []
            for m in batch:
                if m.embedding is None:  # changed again meanwhile: the next sync reads it
                    continue
                for seq, vec in [(0, m.embedding), *((c.seq, c.embedding) for c in chunks.get(m.id, []))]:
                    keys.append(key(m.id, seq))
                    agents.append(m.agent)
                    vecs.append(vec)
                    times.append(m.updated_at)
            if keys:
                index.upsert(keys, agents, np.vstack(vecs).astype(np.float32), times)
            done += len(batch)
        return done

    def sync(self) -> int:
        """Follow changes other processes made to the table (a CLI import, another hub on the
        same MySQL): re-read rows changed since the last look, drop rows gone from it.
        Returns how many memories changed in the caches."""
        index = self.index
        if index is None:
            return 0
        # By the change numbers the database hands out, never by updated_at: that is the
        # writer's wall clock, and a writer 60 s behind was never picked up.
        seen = self.store.change_seq()
        rows = self.store.changed_since(self._seen_seq)
        changed = [i for i, updated in rows.items() if index.version(i) != updated]
        self._index_rows(index, changed)
        for batch in self.store.iter_rows(changed):
            for m in batch:
                self._cache_text(m)
        self.chunked |= set(self.store.chunks_owned(changed))
        removed = 0
        if self.store.count() != index.memories:
            # The index first: a save commits its row before it caches it, so every id seen
            # here is in the table read after it, unless it was really deleted. Read the
            # other way round, a save landing in between looked deleted and vanished from
            # the caches (seen under eight concurrent writers on MariaDB).
            have = index.versions()
            truth = self.store.versions()
            gone = [i for i in have if i not in truth]
            removed = index.remove(gone)
            for memory_id in gone:
                self._forget(memory_id)
        self._seen_seq = max(self._seen_seq, seen)
        return len(changed) + removed

    @property
    def seen_seq(self) -> int:
        """The newest change number the caches hold."""
        return self._seen_seq

    def behind(self) -> bool:
        """True when the table has changes the caches have not followed (one cheap read)."""
        return self.index is not None and self.store.change_seq() != self._seen_seq

    def persist(self, force: bool = False) -> bool:
        """Write the vector index to disk if it changed; True when written. Raises OSError
        (a full disk): the index stays dirty and is written on a later try."""
        index = self.index
        if index is None or not (force or index.dirty):
            return False
        index.save(self.index_path)
        return True

    # -- embedding and caches -------------------------------------------------------------
    def embed_memories(self, contents: list[str], imported: list[bool]) -> list[Embedded]:
        """Vectors for memories about to be stored, in one batch (chunks included)."""
        spans = [chunk_spans(text, self.embedder) for text in contents]
        texts: list[str] = []
        for text, sp, imp in zip(contents, spans, imported, strict=True):
            texts.append(text)
            texts.extend(chunk_texts(text, sp, context_line(text) if imp else ""))
        vecs = self.embedder.embed(texts, batch_size=128)
        out, at = [], 0
        for sp in spans:
            main = vecs[at]
            chunks = [Chunk(n + 1, s.start, s.end, vecs[at + 1 + n]) for n, s in enumerate(sp)]
            out.append(Embedded(main, chunks))
            at += 1 + len(sp)
        return out

    def cache(self, memory: Memory, embedded: Embedded, index: VectorIndex) -> None:
        """Put a committed memory into the vector index, keyword index and thread map."""
        index.remove([memory.id])
        keys = [key(memory.id, 0), *(key(memory.id, c.seq) for c in embedded.chunks)]
        vecs = np.vstack([embedded.vector, *(c.embedding for c in embedded.chunks)]).astype(np.float32)
        index.upsert(keys, [memory.agent] * len(keys), vecs, [memory.updated_at] * len(keys))
        if embedded.chunks:
            self.chunked.add(memory.id)
        else:
            self.chunked.discard(memory.id)
        self._cache_text(memory)

    def _cache_text(self, m: Memory) -> None:
        self.keywords.upsert(m.id, m.agent, m.content)
        self.threads.upsert(m.id, m.agent, m.thread, m.when)

    def _forget(self, memory_id: int) -> None:
        self.keywords.remove(memory_id)
        self.threads.remove(memory_id)
        self.chunked.discard(memory_id)

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
        after: float | str | None = None,
        before: float | str | None = None,
        mode: Mode = "hybrid",
    ) -> list[SearchHit]:
        """Hybrid search in one agent's memories; ``after``/``before`` bound when a memory
        happened (occurred_at, else created_at) before ranking. Raises InvalidInput,
        WarmingUp, Unavailable."""
        text = clean_query(query)
        if not 1 <= limit <= SEARCH_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {SEARCH_LIMIT}, got {limit}")
        start, end = clean_time(after, "after"), clean_time(before, "before")
        cat = clean_label(category, "category")
        index = self.wait_ready()
        tags = clean_tags(tags, self.config) if tags else None
        filtered = cat or tags or start is not None or end is not None
        allowed = set(self.store.filtered_ids(agent, cat, tags, start, end)) if filtered else None
        return hybrid_search(
            SearchParts(self.store, index, self.keywords, self.threads, self.embedder, self.chunked),
            query=text,
            agent=agent,
            limit=limit,
            min_score=self.config.min_score if min_score is None else min_score,
            candidates=self.config.rerank_candidates,
            allowed=allowed,
            mode=mode,
            fusion=self.fusion,
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
        thread: str | None = None,
        occurred_at: float | str | None = None,
    ) -> SaveResult:
        """Store a memory; the same content again (in the same thread at the same time)
        returns the existing id. Raises InvalidInput, PayloadTooLarge, WarmingUp,
        Unavailable, StorageUnavailable."""
        text = clean_content(content, self.config)
        clean = clean_tags(tags, self.config)
        cat = clean_label(category, "category") or ""
        src = clean_label(source, "source", MAX_SOURCE_CHARS) or ""
        thr = clean_label(thread, "thread", MAX_THREAD_CHARS) or ""
        when = clean_time(occurred_at, "occurred_at")
        index = self.wait_ready()
        existing = self.store.id_by_hash(agent, text, thr, when)
        if existing is not None:
            return SaveResult(id=existing, created=False)
        # The memory and its chunks in one request, batched with other callers' saves.
        spans = chunk_spans(text, self.embedder)
        vecs = self.embedder.embed_together([text, *chunk_texts(text, spans)])
        vec = vecs[0]
        embedded = Embedded(vec, [Chunk(n + 1, s.start, s.end, vecs[n + 1]) for n, s in enumerate(spans)])
        similar = self.near_duplicates(agent, vec, index)
        inserted = self.store.insert(
            agent, text, cat, clean, src, section, vec, thread=thr, occurred_at=when, chunks=embedded.chunks
        )
        if inserted is None:  # a concurrent save of the same content won the race
            return SaveResult(id=self.store.id_by_hash(agent, text, thr, when) or 0, created=False)
        self.cache(self.store.get(inserted[0], agent), embedded, index)
        return SaveResult(id=inserted[0], created=True, similar=similar)

    def near_duplicates(
        self, agent: str, vec: np.ndarray, index: VectorIndex, exclude: int | None = None
    ) -> list[SearchHit]:
        found = {memory_of(k) for k, _ in index.search(vec, agent, 10)}
        rows = self.store.get_many([i for i in found if i != exclude], agent, with_embedding=True)
        hits = []
        for row in rows.values():
            score = float(row.embedding @ vec) if row.embedding is not None else 0.0
            if score >= self.config.near_duplicate:
                hits.append(SearchHit(memory=row, score=score, keyword_match=False, rank_score=score))
        return sorted(hits, key=lambda h: (-h.score, h.memory.id))[:5]

    def count(self, agent: str | None) -> int:
        """Memories of one agent (None: all)."""
        return self.store.count(agent)

    def get(self, agent: str | None, memory_id: int) -> Memory:
        """Raises NotFound (also for another agent's id)."""
        return self.store.get(memory_id, agent)

    def history(self, agent: str | None, memory_id: int) -> tuple[Memory, list[MemoryVersion]]:
        """A memory and the versions memory_update replaced. Raises NotFound."""
        memory = self.store.get(memory_id, agent)
        return memory, self.store.history(memory_id)

    def page(
        self,
        agent: str | None,
        *,
        category: str | None = None,
        tag: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
        after: float | str | None = None,
        before: float | str | None = None,
        thread: str | None = None,
    ) -> tuple[list[Memory], str | None]:
        """Newest first. Raises InvalidInput on a bad limit, cursor or time."""
        if not 1 <= limit <= LIST_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {LIST_LIMIT}, got {limit}")
        return self.store.page(
            agent,
            clean_label(category, "category"),
            clean_label(tag, "tag"),
            limit,
            cursor,
            after=clean_time(after, "after"),
            before=clean_time(before, "before"),
            thread=clean_label(thread, "thread", MAX_THREAD_CHARS),
        )

    def update(
        self,
        agent: str | None,
        memory_id: int,
        *,
        content: str | None = None,
        category: str | None = None,
        tags: list[str] | None = None,
    ) -> Memory:
        """Change a memory; the replaced content is kept as a version and the new one is
        re-embedded. Raises NotFound, InvalidInput, Conflict."""
        if content is None and category is None and tags is None:
            raise InvalidInput("nothing to update: give content, category or tags")
        text = clean_content(content, self.config) if content is not None else None
        clean = clean_tags(tags, self.config) if tags is not None else None
        cat = clean_label(category, "category")
        index = self.wait_ready() if text is not None else self.index
        memory = self.store.get(memory_id, agent)
        embedded = None
        if text is not None and text != memory.content:
            embedded = self.embed_memories([text], [bool(memory.section)])[0]
        else:
            text = None
        memory = self.store.update(
            memory,
            content=text,
            category=cat,
            tags=clean,
            embedding=embedded.vector if embedded else None,
            chunks=embedded.chunks if embedded else None,
        )
        if index is not None:
            if embedded is None:
                # Metadata-only changes move updated_at; keep the index's copy equal to the
                # table's so the next start does not re-read it for nothing.
                self._index_rows(index, [memory.id])
            else:
                self.cache(memory, embedded, index)
        return memory

    def delete(self, agent: str | None, memory_id: int) -> Memory:
        """Raises NotFound (also for another agent's id)."""
        memory = self.store.delete(memory_id, agent)
        if self.index is not None:
            self.index.remove([memory_id])
        self._forget(memory_id)
        return memory

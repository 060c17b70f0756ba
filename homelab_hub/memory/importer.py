"""Bulk import: documents (markdown or plain text), conversation transcripts, and JSONL exports.

A document is split the way it is written (markdown.py) into pieces the model reads whole,
each carrying its file and heading path. A transcript becomes one thread, one memory per
turn. Both are idempotent per source: re-importing updates the pieces or turns whose text
changed, deletes those that vanished and leaves the rest untouched. JSONL exports come back
as they were, superseded versions included. Embedding is batched across files, which is
what keeps a bulk import close to the embedder's own speed; documents and records are read
as they come and applied a batch at a time, so an import holds one batch, not the whole set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from homelab_hub.errors import Conflict, InvalidInput
from homelab_hub.memory.markdown import Section, split_document
from homelab_hub.memory.service import MemoryService
from homelab_hub.memory.store import Memory, MemoryVersion
from homelab_hub.memory.transcripts import parse_transcript
from homelab_hub.memory.validation import (
    MAX_SOURCE_CHARS,
    MAX_THREAD_CHARS,
    clean_content,
    clean_label,
    clean_tags,
    clean_time,
)

EMBED_BATCH = 128
# Word pieces per imported piece, context line included: the length all-MiniLM-L6-v2 was
# trained on, half the 256 it reads at most (longer pieces are also embedded in chunks).
PIECE_TOKENS = 128

Progress = Callable[[int], None]


@dataclass
class Document:
    source: str
    category: str
    tags: list[str]
    sections: list[Section]


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class _Op:
    agent: str
    content: str
    category: str = ""
    tags: list[str] = field(default_factory=list)
    source: str = ""
    section: str = ""
    thread: str = ""
    occurred_at: float | None = None
    created_at: float | None = None
    existing: Memory | None = None
    versions: list[MemoryVersion] = field(default_factory=list)
    imported: bool = True


class MemoryImporter:
    def __init__(self, service: MemoryService) -> None:
        self.service = service

    def split(self, text: str, name: str) -> list[Section]:
        """Pieces of one document (file ``name``). Raises WarmingUp, Unavailable."""
        self.service.wait_ready()
        return split_document(
            text, name, self.service.embedder, min(PIECE_TOKENS, self.service.embedder.window)
        )

    def import_documents(
        self, agent: str, docs: Iterable[Document], progress: Progress | None = None
    ) -> ImportReport:
        """Apply documents for one agent. Raises WarmingUp, Unavailable, StorageUnavailable."""
        report = ImportReport()
        ops: list[_Op] = []
        for doc in docs:
            wanted = [
                _Op(agent, s.content, doc.category, doc.tags, doc.source, s.title) for s in doc.sections
            ]
            ops.extend(self._diff(agent, doc.source, wanted, report))
            ops = self._apply_full_batches(ops, report, progress)
        self._apply(ops, report, progress)
        return report

    def import_transcript(
        self, agent: str, records: Iterable[dict[str, Any]], source: str, progress: Progress | None = None
    ) -> ImportReport:
        """One conversation as one thread, a memory per turn (role: text), at the turn's time."""
        report = ImportReport()
        wanted = []
        for turn in parse_transcript(records, fallback_thread=source):
            try:
                when = clean_time(turn.timestamp, "timestamp")
                thread = clean_label(turn.thread, "thread", MAX_THREAD_CHARS) or ""
            except InvalidInput as exc:
                report.errors.append(f"{source} / {turn.key}: {exc}")
                continue
            wanted.append(
                _Op(agent, turn.content, "conversation", [], source, turn.key, thread, when, imported=False)
            )
        self._apply(self._diff(agent, source, wanted, report), report, progress)
        return report

    def _diff(self, agent: str, source: str, wanted: list[_Op], report: ImportReport) -> list[_Op]:
        """What changed against the memories this source already gave the agent."""
        existing = {m.section: m for m in self.service.store.by_source(agent, source)}
        ops = []
        for op in wanted:
            try:
                op.content = clean_content(op.content, self.service.config)
            except Exception as exc:  # one bad piece must not stop the import
                report.errors.append(f"{source} / {op.section}: {exc}")
                continue
            old = existing.get(op.section)
            if old is not None and (old.content, old.category, old.tags, old.thread, old.occurred_at) == (
                op.content,
                op.category,
                op.tags,
                op.thread,
                op.occurred_at,
            ):
                report.unchanged += 1
                continue
            op.existing = old
            ops.append(op)
        keep = {op.section for op in wanted}
        for title, memory in existing.items():
            if title not in keep:
                self.service.delete(agent, memory.id)
                report.removed += 1
        return ops

    def import_records(
        self, records: Iterable[dict[str, Any]], agent: str | None, progress: Progress | None = None
    ) -> ImportReport:
        """Apply exported JSONL records; ``agent`` overrides each record's. A memory already
        present for that agent is left alone."""
        report = ImportReport()
        ops: list[_Op] = []
        config = self.service.config
        for n, rec in enumerate(records, 1):
            try:
                owner = agent or str(rec["agent"])
                text = clean_content(str(rec["content"]), config)
                op = _Op(
                    owner,
                    text,
                    clean_label(str(rec.get("category") or ""), "category") or "",
                    clean_tags([str(t) for t in rec.get("tags") or []], config),
                    clean_label(str(rec.get("source") or ""), "source", MAX_SOURCE_CHARS) or "",
                    str(rec.get("section") or ""),
                    clean_label(str(rec.get("thread") or ""), "thread", MAX_THREAD_CHARS) or "",
                    clean_time(rec.get("occurred_at"), "occurred_at"),
                    clean_time(rec.get("created_at"), "created_at"),
                    versions=[_version(v) for v in rec.get("versions") or []],
                    imported=bool(rec.get("section")),
                )
            except (KeyError, InvalidInput, TypeError, ValueError) as exc:
                report.errors.append(f"record {n}: {exc}")
                continue
            if self.service.store.id_by_hash(owner, text, op.thread, op.occurred_at) is not None:
                report.unchanged += 1
                continue
            ops.append(op)
            ops = self._apply_full_batches(ops, report, progress)
        self._apply(ops, report, progress)
        return report

    def _apply_full_batches(
        self, ops: list[_Op], report: ImportReport, progress: Progress | None
    ) -> list[_Op]:
        """Apply the whole batches among ``ops`` and return the rest: an import streams, holding
        one batch of pieces at a time, however many files or records it reads."""
        full = len(ops) - len(ops) % EMBED_BATCH
        if full:
            self._apply(ops[:full], report, progress)
        return ops[full:]

    def _apply(self, ops: list[_Op], report: ImportReport, progress: Progress | None) -> None:
        service = self.service
        index = service.wait_ready()
        store = service.store
        for start in range(0, len(ops), EMBED_BATCH):
            batch = ops[start : start + EMBED_BATCH]
            embedded = service.embed_memories([op.content for op in batch], [op.imported for op in batch])
            for op, emb in zip(batch, embedded, strict=True):
                if op.existing is not None:
                    try:
                        memory = store.update(
                            op.existing,
                            content=op.content if op.content != op.existing.content else None,
                            category=op.category,
                            tags=op.tags,
                            embedding=emb.vector,
                            chunks=emb.chunks,
                        )
                    except Conflict as exc:
                        report.skipped += 1
                        report.errors.append(f"{op.source} / {op.section}: {exc}")
                        continue
                    service.cache(memory, emb, index)
                    report.updated += 1
                    continue
                inserted = store.insert(
                    op.agent,
                    op.content,
                    op.category,
                    op.tags,
                    op.source,
                    op.section,
                    emb.vector,
                    created_at=op.created_at,
                    thread=op.thread,
                    occurred_at=op.occurred_at,
                    chunks=emb.chunks,
                )
                if inserted is None:  # same text already saved under another source or section
                    report.skipped += 1
                    continue
                if op.versions:
                    store.add_versions(inserted[0], op.agent, op.versions)
                memory = Memory(
                    inserted[0],
                    op.agent,
                    op.content,
                    op.category,
                    op.tags,
                    op.source,
                    op.section,
                    created_at=op.created_at or inserted[1],
                    updated_at=inserted[1],
                    thread=op.thread,
                    occurred_at=op.occurred_at,
                )
                service.cache(memory, emb, index)
                report.added += 1
            if progress:
                progress(len(batch))


def _version(raw: dict[str, Any]) -> MemoryVersion:
    return MemoryVersion(
        version=int(raw["version"]),
        content=str(raw["content"]),
        category=str(raw.get("category") or ""),
        tags=[str(t) for t in raw.get("tags") or []],
        valid_from=float(raw["valid_from"]),
        superseded_at=float(raw["superseded_at"]),
    )


def export_records(service: MemoryService, agent: str | None) -> Iterable[dict[str, Any]]:
    """Every memory of one agent (None: all) as plain dicts, oldest first, for JSONL; the
    versions memory_update replaced travel with it."""
    from homelab_hub.memory.store import content_hash

    for batch in service.store.iter_contents():
        histories = service.store.histories([m.id for m in batch])
        for m in batch:
            if agent is not None and m.agent != agent:
                continue
            record: dict[str, Any] = {
                "id": m.id,
                "agent": m.agent,
                "content": m.content,
                "category": m.category,
                "tags": m.tags,
                "source": m.source,
                "section": m.section,
                "content_hash": content_hash(m.content, m.thread, m.occurred_at),
                "created_at": m.created_at,
                "updated_at": m.updated_at,
            }
            if m.thread:
                record["thread"] = m.thread
            if m.occurred_at is not None:
                record["occurred_at"] = m.occurred_at
            history = histories.get(m.id)
            if history:
                record["versions"] = [v.__dict__ for v in history]
            yield record

"""Markdown and JSONL import: one memory per ``##`` section, idempotent per source file.

Each section becomes a self-contained memory: the file's ``#`` title and the section's
``##`` title are kept above the body, so "## Ports" from camera_monitor.md still says which
system its ports belong to when it is found alone. Re-importing a source updates the
sections whose text changed, deletes those that vanished (a renamed section is a vanished
one plus a new one) and leaves the rest untouched. Embedding is batched across files, which
is what keeps a bulk import close to the embedder's own speed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from homelab_hub.errors import Conflict, InvalidInput
from homelab_hub.memory.service import MemoryService
from homelab_hub.memory.store import Memory, content_hash
from homelab_hub.memory.validation import clean_content, clean_tags

EMBED_BATCH = 128
_FENCE = re.compile(r"^\s*(```|~~~)")
_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$")
_H2 = re.compile(r"^##\s+(.+?)\s*#*\s*$")

Progress = Callable[[int], None]


@dataclass
class Section:
    title: str
    content: str


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


def split_markdown(text: str, fallback_title: str) -> list[Section]:
    """One Section per ``##`` header (text before the first one is its own section)."""
    title = fallback_title
    chunks: list[tuple[str, list[str]]] = [("", [])]
    in_fence = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        if not in_fence:
            h1, h2 = _H1.match(line), _H2.match(line)
            if h1 and title == fallback_title and not chunks[-1][0]:
                title = h1.group(1)
                continue
            if h2:
                chunks.append((h2.group(1), []))
                continue
        chunks[-1][1].append(line)
    sections: list[Section] = []
    seen: dict[str, int] = {}
    for heading, lines in chunks:
        body = "\n".join(lines).strip()
        if not body:
            continue
        name = heading or "(intro)"
        seen[name] = seen.get(name, 0) + 1
        key = name if seen[name] == 1 else f"{name} ({seen[name]})"
        header = f"# {title}\n## {heading}\n\n" if heading else f"# {title}\n\n"
        sections.append(Section(title=key, content=header + body))
    return sections


@dataclass
class _Op:
    agent: str
    doc: Document | None
    section: str
    content: str
    existing: Memory | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class MemoryImporter:
    def __init__(self, service: MemoryService) -> None:
        self.service = service

    def import_documents(
        self, agent: str, docs: Iterable[Document], progress: Progress | None = None
    ) -> ImportReport:
        """Apply markdown documents for one agent. Raises WarmingUp, Unavailable, StorageUnavailable."""
        report = ImportReport()
        ops: list[_Op] = []
        store = self.service.store
        for doc in docs:
            existing = {m.section: m for m in store.by_source(agent, doc.source)}
            wanted = {s.title for s in doc.sections}
            for section in doc.sections:
                try:
                    text = clean_content(section.content, self.service.config)
                except Exception as exc:  # one bad section must not stop the import
                    report.errors.append(f"{doc.source} / {section.title}: {exc}")
                    continue
                old = existing.get(section.title)
                if (
                    old is not None
                    and old.content == text
                    and old.category == doc.category
                    and old.tags == doc.tags
                ):
                    report.unchanged += 1
                    continue
                ops.append(_Op(agent, doc, section.title, text, old))
            for title, memory in existing.items():
                if title not in wanted:
                    self.service.delete(agent, memory.id)
                    report.removed += 1
        self._apply(ops, report, progress)
        return report

    def import_records(
        self, records: Iterable[dict[str, Any]], agent: str | None, progress: Progress | None = None
    ) -> ImportReport:
        """Apply exported JSONL records; ``agent`` overrides each record's. Content already
        present for that agent is left alone."""
        report = ImportReport()
        ops: list[_Op] = []
        for n, rec in enumerate(records, 1):
            try:
                owner = agent or str(rec["agent"])
                text = clean_content(str(rec["content"]), self.service.config)
                tags = clean_tags([str(t) for t in rec.get("tags") or []], self.service.config)
            except (KeyError, InvalidInput, TypeError) as exc:
                report.errors.append(f"record {n}: {exc}")
                continue
            if self.service.store.id_by_hash(owner, text) is not None:
                report.unchanged += 1
                continue
            extra = {
                "category": str(rec.get("category") or ""),
                "tags": tags,
                "source": str(rec.get("source") or ""),
                "created_at": rec.get("created_at"),
            }
            ops.append(_Op(owner, None, str(rec.get("section") or ""), text, None, extra))
        self._apply(ops, report, progress)
        return report

    def _apply(self, ops: list[_Op], report: ImportReport, progress: Progress | None) -> None:
        service = self.service
        index = service.wait_ready()
        for start in range(0, len(ops), EMBED_BATCH):
            batch = ops[start : start + EMBED_BATCH]
            vecs = service.embedder.embed([op.content for op in batch])
            for op, vec in zip(batch, vecs, strict=True):
                if op.doc is not None:
                    category, tags, source, created = op.doc.category, op.doc.tags, op.doc.source, None
                else:
                    category, tags = op.extra["category"], op.extra["tags"]
                    source, created = op.extra["source"], op.extra["created_at"]
                if op.existing is not None:
                    try:
                        memory = service.store.update(
                            op.existing, content=op.content, category=category, tags=tags, embedding=vec
                        )
                    except Conflict as exc:
                        report.skipped += 1
                        report.errors.append(f"{source} / {op.section}: {exc}")
                        continue
                    index.upsert([memory.id], [op.agent], vec[None, :], [memory.updated_at])
                    service.keywords.upsert(memory.id, op.agent, op.content)
                    report.updated += 1
                    continue
                inserted = service.store.insert(
                    op.agent,
                    op.content,
                    category,
                    tags,
                    source,
                    op.section,
                    vec,
                    created_at=float(created) if created else None,
                )
                if inserted is None:  # same text already saved under another source or section
                    report.skipped += 1
                    continue
                memory_id, updated = inserted
                index.upsert([memory_id], [op.agent], vec[None, :], [updated])
                service.keywords.upsert(memory_id, op.agent, op.content)
                report.added += 1
            if progress:
                progress(len(batch))


def export_records(service: MemoryService, agent: str | None) -> Iterable[dict[str, Any]]:
    """Every memory of one agent (None: all) as plain dicts, oldest first, for JSONL."""
    for batch in service.store.iter_rows():
        for m in batch:
            if agent is not None and m.agent != agent:
                continue
            yield {
                "id": m.id,
                "agent": m.agent,
                "content": m.content,
                "category": m.category,
                "tags": m.tags,
                "source": m.source,
                "section": m.section,
                "content_hash": content_hash(m.content),
                "created_at": m.created_at,
                "updated_at": m.updated_at,
            }

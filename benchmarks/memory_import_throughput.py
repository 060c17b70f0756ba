"""Markdown import throughput (split, embed, store, index) against the bare embedder's
sentences per second on the same texts, same run.

2,000 sections in 100 generated markdown files, split as `homelab-hub memory import` splits
them (outside the timing, like the baseline's texts), then imported into SQLite through
MemoryImporter: token counting for chunks, embedding, storing and indexing are timed.

    python benchmarks/memory_import_throughput.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory_common import load_embedder, sentences

from homelab_hub.memory.config import MemoryConfig
from homelab_hub.memory.importer import Document, MemoryImporter
from homelab_hub.memory.service import MemoryService
from homelab_hub.server.components import all_migrations
from homelab_hub.store import Database, migrate

FILES = 100
SECTIONS = 20
ROUNDS = 3


def markdown_files() -> list[tuple[str, str]]:
    lines = sentences(FILES * SECTIONS * 2)
    files = []
    for f in range(FILES):
        parts = [f"# System {f}\n"]
        for s in range(SECTIONS):
            i = (f * SECTIONS + s) * 2
            parts.append(f"## Topic {s}\n\n{lines[i]}\n{lines[i + 1]}\n")
        files.append((f"notes/system_{f}.md", "\n".join(parts)))
    return files


def main() -> None:
    embedder = load_embedder()
    files = markdown_files()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.from_url(f"sqlite:///{tmp}/split.db")
        migrate(db, all_migrations())
        splitter = MemoryService(db, MemoryConfig(), Path(tmp) / "index", embedder)
        splitter.start_now()
        docs = [
            Document(src, "docs", [], MemoryImporter(splitter).split(text, src.split("/")[-1]))
            for src, text in files
        ]
        db.close()
    texts = [s.content for d in docs for s in d.sections]
    embedder.embed(texts[:128], batch_size=128)  # warm-up
    # Bare and import runs alternate, so a load change on a shared machine hits both alike.
    bares, rates = [], []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for i in range(0, len(texts), 128):
            embedder.embed(texts[i : i + 128], batch_size=128)
        bares.append(len(texts) / (time.perf_counter() - start))
        with tempfile.TemporaryDirectory() as tmp:
            db = Database.from_url(f"sqlite:///{tmp}/hub.db")
            migrate(db, all_migrations())
            service = MemoryService(db, MemoryConfig(), Path(tmp) / "index", embedder)
            service.start_now()
            start = time.perf_counter()
            report = MemoryImporter(service).import_documents("claude", docs)
            service.persist()
            elapsed = time.perf_counter() - start
            assert report.added == len(texts), report
            db.close()
        rates.append(len(texts) / elapsed)
    bare, rate = statistics.median(bares), statistics.median(rates)
    print(f"Import of {len(texts):,} markdown sections ({FILES} files) into SQLite")
    print(
        f"  baseline: bare embedder, batches of 128   {bare:7.1f} sections/s  (median of {ROUNDS}, alternating)"
    )
    print(
        f"  homelab-hub memory import                 {rate:7.1f} sections/s   ratio {rate / bare:.2f}  (target >= 0.80)"
    )


if __name__ == "__main__":
    main()

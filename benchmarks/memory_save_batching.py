"""Concurrent saves of long memories: each save's memory and chunks embedded in one request
batched with the other callers' (after) against the old path, where the memory joined the
shared batch but its chunks were encoded alone, one caller after another (before).

    python benchmarks/memory_save_batching.py [--clients 50] [--saves 4]

Both paths run in the same process on the same model, each on a fresh SQLite database, with
``--clients`` threads saving ``--saves`` memories of ~120 words each (about 170 word pieces:
one vector for the memory plus three or four for its chunks). Prints saves/s of both.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from homelab_hub.memory.chunks import chunk_spans, chunk_texts  # noqa: E402
from homelab_hub.memory.config import MemoryConfig  # noqa: E402
from homelab_hub.memory.embedder import Embedder  # noqa: E402
from homelab_hub.memory.service import MemoryService  # noqa: E402
from homelab_hub.server.components import all_migrations  # noqa: E402
from homelab_hub.store import Database, migrate  # noqa: E402
from tests.memory.test_memory_concurrency import long_memory  # noqa: E402


class OldPathEmbedder(Embedder):
    """The save path before batching: the memory through the shared batch, its chunks
    encoded by the caller alone (the embedder the service was given is reused)."""

    def __init__(self, inner: Embedder) -> None:
        self.__dict__.update(inner.__dict__)

    def embed_together(self, texts: list[str]):  # type: ignore[no-untyped-def]
        import numpy as np

        first = super().embed_together(texts[:1])
        if len(texts) == 1:
            return first
        return np.vstack([first, self.embed(texts[1:])])


def run(embedder: Embedder, clients: int, saves: int, work: Path) -> float:
    db = Database.from_url(f"sqlite:///{work / 'bench.db'}")
    migrate(db, all_migrations())
    service = MemoryService(db, MemoryConfig(), work / "index", embedder)
    service.start_now()
    barrier = threading.Barrier(clients + 1)

    def client(c: int) -> None:
        barrier.wait()
        for n in range(saves):
            service.save("bench", long_memory(c, n) + f" run {work.name}")

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for th in threads:
        th.start()
    barrier.wait()
    started = time.perf_counter()
    for th in threads:
        th.join()
    took = time.perf_counter() - started
    db.close()
    return clients * saves / took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--saves", type=int, default=4)
    args = parser.parse_args()
    embedder = Embedder(None)
    embedder.load_now()
    sample = long_memory(0, 0)
    print(
        f"{args.clients} clients x {args.saves} saves; each memory {len(sample.split())} words, "
        f"{len(chunk_texts(sample, chunk_spans(sample, embedder)))} chunks"
    )
    embedder.embed([sample] * 8)  # warm-up
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "before").mkdir()
        (Path(tmp) / "after").mkdir()
        before = run(OldPathEmbedder(embedder), args.clients, args.saves, Path(tmp) / "before")
        after = run(embedder, args.clients, args.saves, Path(tmp) / "after")
    print(f"before (chunks encoded per caller): {before:6.1f} saves/s")
    print(f"after  (one batch for all callers): {after:6.1f} saves/s   ({after / before:.2f}x)")


if __name__ == "__main__":
    main()

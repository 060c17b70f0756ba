"""The default ONNX int8 embedder against the PyTorch one (the baseline), in one run.

    python benchmarks/memory_embedder.py [--queries 200] [--import-memories 2000]

Printed for both: per-text cosine between their embeddings (min and mean) on a few hundred
texts of the eval sets; recall@1/5/10 (semantic and hybrid) on both eval sets (operator and
conversational), both halves; one-query embedding latency (p50, p95; fresh texts, so the
query cache never answers); and import throughput (JSONL records through MemoryImporter into
SQLite, the path `homelab-hub memory import` takes). Needs the [torch] extra.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from memory_common import load_embedder, queries, sentences  # noqa: E402


def service(embedder: Any, tmp: Path, name: str) -> Any:
    from homelab_hub.memory.config import MemoryConfig
    from homelab_hub.memory.service import MemoryService
    from homelab_hub.store import Database, migrate

    db = Database.from_url(f"sqlite:///{tmp / name}.db")
    migrate(db)
    svc = MemoryService(db, MemoryConfig(embedder=embedder.kind), tmp / name, embedder)
    svc.start_now()
    return svc


def recall(embedder: Any, tmp: Path) -> dict[tuple[str, str], Any]:
    from tests.memory import support

    svc = service(embedder, tmp, f"recall-{embedder.kind}")
    sets = {
        "operator": [support.load_operator_set(svc)],
        "conversation": list(support.load_conversation_set(svc).values()),
    }
    search = support.service_search(svc)
    return {
        (name, split): support.recall_table(chosen, search, split, modes=("semantic", "hybrid"))
        for name, chosen in sets.items()
        for split in ("dev", "test")
    }


def latency(embedder: Any, n: int) -> tuple[float, float]:
    for q in queries(20, seed=99):
        embedder.embed_one(q + " warm")
    times = []
    for i, q in enumerate(queries(n, seed=7)):
        start = time.perf_counter()
        embedder.embed_one(f"{q} #{i}")
        times.append(time.perf_counter() - start)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)]


def throughput(embedder: Any, n: int, tmp: Path) -> float:
    from homelab_hub.memory.importer import MemoryImporter

    svc = service(embedder, tmp, f"import-{embedder.kind}")
    records = [{"agent": "ops", "content": s} for s in sentences(n, seed=3)]
    start = time.perf_counter()
    report = MemoryImporter(svc).import_records(records, None)
    elapsed = time.perf_counter() - start
    assert report.added == n, report
    return n / elapsed


def main() -> None:
    import numpy as np

    from tests.memory.test_memory_embedder import _texts

    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--import-memories", type=int, default=2000)
    args = parser.parse_args()

    onnx, torch = load_embedder("onnx"), load_embedder("torch")
    texts = _texts()
    cos = np.sum(onnx.embed(texts) * torch.embed(texts), axis=1)
    print(f"ONNX int8 vs PyTorch (baseline), same run; all-MiniLM-L6-v2 on {len(texts)} texts")
    print(f"  cosine per text: min {cos.min():.4f}  mean {cos.mean():.4f}  (goal >= 0.99)")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        tables = {emb.kind: recall(emb, tmp) for emb in (onnx, torch)}
        print(f"  {'recall (ONNX / PyTorch)':<32}{'R@1':>14}{'R@5':>14}{'R@10':>14}")
        worst = 0.0
        for key, theirs in tables["torch"].items():
            ours = tables["onnx"][key]
            for mode in ("semantic", "hybrid"):
                cells = []
                for k in (1, 5, 10):
                    a, b = ours[mode]["all"][k], theirs[mode]["all"][k]
                    worst = max(worst, abs(a - b))
                    cells.append(f"{a:.3f}/{b:.3f}")
                print(f"  {key[0]:<13}{key[1]:<5}{mode:<14}" + "".join(f"{c:>14}" for c in cells))
        print(f"  largest recall difference {worst:.3f} (goal <= 0.01)")
        for emb in (onnx, torch):
            p50, p95 = latency(emb, args.queries)
            rate = throughput(emb, args.import_memories, tmp)
            label = "ONNX int8" if emb is onnx else "baseline: PyTorch"
            print(
                f"  {label:<18} query embedding p50 {p50 * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms   "
                f"import {rate:6.0f} memories/s ({args.import_memories} records)"
            )


if __name__ == "__main__":
    main()

"""Index recall@10 against exact float32 search, on real all-MiniLM-L6-v2 embeddings.

Corpus A: 4,000 real embeddings of generated operator sentences. Corpus B: the 100k set
(those 4,000 plus noise-perturbed copies, see memory_common.py). Queries: 200 real
embeddings of operator questions. The index answers as search does: 4-bit scan for the
100 best candidates, then exact float32 rerank; the raw 4-bit top-10 is shown too.

    python benchmarks/memory_index_recall.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory_common import load_embedder, queries, read_rows, real_embeddings, vectors_100k

from homelab_hub.memory.index import VectorIndex

CANDIDATES = 100


def recall(vecs: np.ndarray, qvecs: np.ndarray) -> tuple[float, float]:
    index = VectorIndex(vecs.shape[1])
    index.reserve(len(vecs))
    for start in range(0, len(vecs), 10_000):
        chunk = vecs[start : start + 10_000]
        index.upsert(
            list(range(start, start + len(chunk))), ["claude"] * len(chunk), chunk, [0.0] * len(chunk)
        )
    reranked = raw = 0
    for q in qvecs:
        exact = set(np.argsort(-(vecs @ q), kind="stable")[:10].tolist())
        cands = [i for i, _ in index.search(q, "claude", CANDIDATES)]
        raw += len(exact & set(cands[:10]))
        top = sorted(cands, key=lambda i: -float(vecs[i] @ q))[:10]
        reranked += len(exact & set(top))
    return reranked / (10 * len(qvecs)), raw / (10 * len(qvecs))


def main() -> None:
    _, small = real_embeddings(4000)
    qvecs = load_embedder().embed(queries(200))
    big = read_rows(vectors_100k(), 0, 100_000).copy()
    print("recall@10 against exact float32 search (baseline = 1.000 by definition)")
    for name, vecs in (("4,000 real MiniLM embeddings", small), ("100,000 (real + perturbed copies)", big)):
        with_rerank, raw = recall(vecs, qvecs)
        print(
            f"  {name:<36} 4-bit + exact rerank of {CANDIDATES}: {with_rerank:.4f}   raw 4-bit: {raw:.4f}"
            "   (target >= 0.99)"
        )


if __name__ == "__main__":
    main()

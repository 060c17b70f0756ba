"""Index scan at 100k vectors: the 4-bit lookup-table scan (with top-k) against a float32
numpy brute-force scan (matrix-vector product + top-k) of the same vectors, same run.

    python benchmarks/memory_index_scan.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory_common import read_rows, vectors_100k

from homelab_hub.memory.index import VectorIndex
from homelab_hub.memory.quantizer import _scan_numpy

N = 100_000
QUERIES = 60
K = 100


def timed(fn, queries) -> list[float]:  # type: ignore[no-untyped-def]
    fn(queries[0])
    out = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    path = vectors_100k(N)
    vecs = read_rows(path, 0, N).copy()
    rng = np.random.default_rng(1)
    queries = (
        vecs[rng.integers(0, N, QUERIES)] + rng.standard_normal((QUERIES, 384)).astype(np.float32) * 0.02
    )
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    index = VectorIndex(384)
    index.reserve(N)
    for start in range(0, N, 10_000):
        index.upsert(
            list(range(start, start + 10_000)),
            ["claude"] * 10_000,
            vecs[start : start + 10_000],
            [0.0] * 10_000,
        )

    def brute(q):  # type: ignore[no-untyped-def]
        scores = vecs @ q
        top = np.argpartition(-scores, K)[:K]
        return top[np.argsort(-scores[top])]

    codes = index._codes[:N]

    def scan_only(q):  # type: ignore[no-untyped-def]
        return index.quantizer.scan(codes, index.quantizer.lookup_table(q))

    def numpy_scan(q):  # type: ignore[no-untyped-def]
        out = np.empty(N, dtype=np.float32)
        _scan_numpy(codes, index.quantizer.lookup_table(q), out)
        return out

    f32 = statistics.median(timed(brute, queries))
    idx = statistics.median(timed(lambda q: index.search(q, "claude", K), queries))
    raw = statistics.median(timed(scan_only, queries))
    npy = statistics.median(timed(numpy_scan, queries[:10]))
    print(
        f"Scan of {N:,} x 384 vectors, top-{K}, median of {QUERIES} queries ({index.quantizer.scan_backend()} kernel)"
    )
    print(
        f"  baseline: float32 numpy brute force      {f32 * 1000:7.2f} ms   ({vecs.nbytes / 2**20:6.1f} MiB scanned)"
    )
    print(
        f"  4-bit index search (scan+filter+top-k)   {idx * 1000:7.2f} ms   ({codes.nbytes / 2**20:6.1f} MiB of codes)"
        f"   ratio {idx / f32:.2f}x  (target <= 1.5x)"
    )
    print(f"  4-bit LUT scan alone                     {raw * 1000:7.2f} ms   ratio {raw / f32:.2f}x")
    print(f"  4-bit scan, numpy fallback (no numba)    {npy * 1000:7.2f} ms   ratio {npy / f32:.2f}x")
    print(f"  memory scanned: float32 / codes = {vecs.nbytes / codes.nbytes:.1f}x")


if __name__ == "__main__":
    main()

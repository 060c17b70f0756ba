"""Index RAM: RSS growth when loading 100k MiniLM-sized vectors into the 4-bit VectorIndex,
next to float32 (numpy array) and to turboquant-vectors' own compress + search path.

Each variant runs in a fresh subprocess, warmed up on one chunk first (numba's compile and
OpenBLAS's per-thread buffers are once per process); large allocations are forced to mmap so
freed temporaries really leave RSS, and numpy's huge-page advice is off so RSS moves by 4 KiB
pages, not 2 MiB ones. Vectors: see memory_common.py (real MiniLM + perturbed copies).

    python benchmarks/memory_index_ram.py
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory_common import read_rows, rss_bytes, vectors_100k

N = 100_000
CHUNK = 5000


def measure(kind: str, path: Path) -> dict:
    import numpy as np

    # numpy asks for transparent huge pages on arrays >= 4 MiB; a 2 MiB page faulted in by
    # the first write makes RSS jump in steps that say nothing about per-vector cost.
    np._core.multiarray._set_madvise_hugepage(False)

    if kind == "index":
        from homelab_hub.memory.index import VectorIndex

        # Warm up with one full chunk: numba compiles its scan and OpenBLAS allocates its
        # per-thread GEMM buffer once per process; neither grows with the index.
        warm = VectorIndex(384)
        warm.upsert(list(range(1, CHUNK + 1)), ["a"] * CHUNK, read_rows(path, 0, CHUNK), [0.0] * CHUNK)
        warm.search(read_rows(path, 0, 1)[0], "a", 1)
        del warm
        gc.collect()
        before = rss_bytes()
        index = VectorIndex(384)
        index.reserve(N)
        for start in range(0, N, CHUNK):
            rows = read_rows(path, start, start + CHUNK)
            index.upsert(
                list(range(start + 1, start + 1 + len(rows))), ["claude"] * len(rows), rows, [0.0] * len(rows)
            )
            del rows  # the float32 source chunk is the loader's, not the index's
        index.search(read_rows(path, 7, 8)[0], "claude", 100)
        gc.collect()
        return {"growth": rss_bytes() - before, "accounted": index.nbytes}
    if kind == "float32":
        warmup = read_rows(path, 0, CHUNK)
        _ = warmup @ warmup[:64].T
        del warmup, _
        gc.collect()
        before = rss_bytes()
        matrix = np.empty((N, 384), dtype=np.float32)
        for start in range(0, N, CHUNK):
            matrix[start : start + CHUNK] = read_rows(path, start, start + CHUNK)
        scores = matrix @ matrix[7]
        del scores
        gc.collect()
        return {"growth": rss_bytes() - before, "accounted": matrix.nbytes}
    if kind == "turboquant":
        from turboquant_vectors import TurboQuantVectors

        tq = TurboQuantVectors(dim=384, bits=4, seed=42)
        tq.compress(read_rows(path, 0, CHUNK))  # same warm-up as the index
        gc.collect()
        before = rss_bytes()
        parts = [tq.compress(read_rows(path, s, s + CHUNK)) for s in range(0, N, CHUNK)]
        indices = np.concatenate([p.indices for p in parts])
        norms = np.concatenate([p.norms for p in parts])
        compressed = parts[0]
        compressed.indices, compressed.norms, compressed.n_vectors = indices, norms, N
        del parts
        tq.search(compressed, read_rows(path, 7, 8)[0], top_k=10)  # caches a float32 copy
        gc.collect()
        return {"growth": rss_bytes() - before, "accounted": compressed.packed_memory_bytes}
    raise ValueError(kind)


def main() -> None:
    if len(sys.argv) == 3:
        print(json.dumps(measure(sys.argv[1], Path(sys.argv[2]))))
        return
    path = vectors_100k(N)
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    results = {}
    for kind in ("float32", "index", "turboquant"):
        out = subprocess.run(
            [sys.executable, __file__, kind, str(path)], capture_output=True, text=True, env=env
        )
        if out.returncode != 0:
            raise SystemExit(out.stderr)
        results[kind] = json.loads(out.stdout.strip().splitlines()[-1])
    cells = N * 384
    print(f"RSS growth loading {N:,} x 384-dim vectors (bytes per dimension per vector)")
    for kind, label in (
        ("index", "homelab-hub 4-bit VectorIndex"),
        ("float32", "baseline: float32 numpy array"),
        ("turboquant", "baseline: turboquant-vectors compress+search"),
    ):
        r = results[kind]
        print(
            f"  {label:<46} {r['growth'] / cells:6.3f} B/dim   ({r['growth'] / 2**20:7.1f} MiB; "
            f"accounted {r['accounted'] / cells:.3f})"
        )
    idx, f32 = results["index"]["growth"], results["float32"]["growth"]
    print(f"  ratio float32 / 4-bit index: {f32 / idx:.1f}x   (target: <= 0.6 B/dim, 8x less than float32)")


if __name__ == "__main__":
    main()

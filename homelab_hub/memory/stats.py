"""memory_stats: what an agent's memory holds, how big the index is, what is going stale."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from homelab_hub.memory.chunks import body_start
from homelab_hub.memory.service import MemoryService

# Near-duplicate clustering compares every pair, so it looks at the newest memories only.
CLUSTER_WINDOW = 2000
# Imported memories in candidate pairs re-embedded without their context line, at most.
CLUSTER_BODIES = 256


@dataclass
class MemoryStats:
    total: int
    by_category: dict[str, int]
    by_tag: dict[str, int]
    index_bytes: int
    index_vectors: int
    bits_per_dim: float
    model: str
    dim: int
    oldest: float | None
    newest: float | None
    stale_days: int
    stale: int
    stale_ids: list[int]
    near_duplicate_clusters: list[list[int]] = field(default_factory=list)


def memory_stats(service: MemoryService, agent: str | None) -> MemoryStats:
    """Counts, index size, staleness and near-duplicate clusters for one agent (None: all)."""
    store = service.store
    counts = store.counts(agent)
    stale = store.stale_ids(agent, time.time() - service.config.stale_days * 86400)
    index = service.index
    return MemoryStats(
        total=counts.total,
        by_category=counts.by_category,
        by_tag=counts.by_tag,
        index_bytes=index.nbytes if index else 0,
        index_vectors=len(index) if index else 0,
        bits_per_dim=round(index.bits_per_dim, 2) if index else 0.0,
        model=service.embedder.model_name,
        dim=service.embedder.dim,
        oldest=counts.oldest,
        newest=counts.newest,
        stale_days=service.config.stale_days,
        stale=len(stale),
        stale_ids=stale[:50],
        near_duplicate_clusters=_clusters(service, agent),
    )


def _clusters(service: MemoryService, agent: str | None) -> list[list[int]]:
    ids, vecs = service.store.recent_embeddings(agent, CLUSTER_WINDOW)
    if vecs is None or len(ids) < 2:
        return []
    parent = list(range(len(ids)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    threshold = service.config.near_duplicate
    pairs: list[tuple[int, int]] = []
    for start in range(0, len(ids), 512):
        sims = vecs[start : start + 512] @ vecs.T
        pairs += [(start + int(a), int(b)) for a, b in zip(*np.nonzero(sims >= threshold), strict=True)]
    bodies = _body_vectors(service, agent, sorted({ids[k] for pair in pairs for k in pair}))
    for i, j in pairs:
        if i >= j:
            continue
        a, b = bodies.get(ids[i]), bodies.get(ids[j])
        if a is not None and b is not None and float(a @ b) < threshold:
            continue
        parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(ids)):
        groups.setdefault(find(i), []).append(ids[i])
    clusters = [sorted(g) for g in groups.values() if len(g) > 1]
    return sorted(clusters, key=lambda g: (-len(g), g[0]))[:20]


def _body_vectors(service: MemoryService, agent: str | None, ids: list[int]) -> dict[int, np.ndarray]:
    """Embeddings of imported memories' text without their context line, for the candidate
    pairs only. Every piece of a note starts with the same "file › title › section" line,
    which alone pulled 24 pieces of one seed article into one "near-duplicate" cluster; two
    pieces are the same fact only if what is under the line is. Bounded: at most
    CLUSTER_BODIES are embedded per call (the rest compare as stored)."""
    rows = service.store.get_many(ids[:CLUSTER_BODIES], agent)
    imported = [(m, row.content[body_start(row.content, True) :]) for m, row in rows.items() if row.section]
    vectors = service.embedder.embed([body for _, body in imported])
    return {m: vectors[n] for n, (m, _) in enumerate(imported)}

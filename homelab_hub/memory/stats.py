"""memory_stats: what an agent's memory holds, how big the index is, what is going stale."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from homelab_hub.memory.service import MemoryService

# Near-duplicate clustering compares every pair, so it looks at the newest memories only.
CLUSTER_WINDOW = 2000


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


def _scope(agent: str | None, column: str = "agent") -> tuple[str, list[Any]]:
    return ("", []) if agent is None else (f" WHERE {column} = ?", [agent])


def memory_stats(service: MemoryService, agent: str | None) -> MemoryStats:
    """Counts, index size, staleness and near-duplicate clusters for one agent (None: all)."""
    db = service.store.db
    where, params = _scope(agent)
    head = db.query_one(
        f"SELECT COUNT(*) AS n, MIN(updated_at) AS oldest, MAX(updated_at) AS newest FROM memories{where}",
        params,
    ) or {"n": 0, "oldest": None, "newest": None}
    cats = db.query(f"SELECT category, COUNT(*) AS n FROM memories{where} GROUP BY category", params)
    twhere, tparams = _scope(agent, "agent")
    tags = db.query(f"SELECT tag, COUNT(*) AS n FROM memory_tags{twhere} GROUP BY tag", tparams)
    cutoff = time.time() - service.config.stale_days * 86400
    stale_sql = (
        f"SELECT id FROM memories{where}{' AND' if where else ' WHERE'} updated_at < ? ORDER BY updated_at"
    )
    stale_rows = db.query(stale_sql, [*params, cutoff])
    index = service.index
    return MemoryStats(
        total=int(head["n"] or 0),
        by_category={
            r["category"] or "(none)": int(r["n"]) for r in sorted(cats, key=lambda r: -int(r["n"]))
        },
        by_tag={r["tag"]: int(r["n"]) for r in sorted(tags, key=lambda r: (-int(r["n"]), r["tag"]))[:50]},
        index_bytes=index.nbytes if index else 0,
        index_vectors=len(index) if index else 0,
        bits_per_dim=round(index.bits_per_dim, 2) if index else 0.0,
        model=service.embedder.model_name,
        dim=service.embedder.dim,
        oldest=float(head["oldest"]) if head["oldest"] is not None else None,
        newest=float(head["newest"]) if head["newest"] is not None else None,
        stale_days=service.config.stale_days,
        stale=len(stale_rows),
        stale_ids=[int(r["id"]) for r in stale_rows[:50]],
        near_duplicate_clusters=_clusters(service, agent),
    )


def _clusters(service: MemoryService, agent: str | None) -> list[list[int]]:
    where, params = _scope(agent)
    rows = service.store.db.query(
        f"SELECT id, embedding FROM memories{where} ORDER BY updated_at DESC, id DESC LIMIT ?",
        [*params, CLUSTER_WINDOW],
    )
    if len(rows) < 2:
        return []
    ids = [int(r["id"]) for r in rows]
    vecs = np.vstack([np.frombuffer(bytes(r["embedding"]), dtype=np.float32) for r in rows])
    parent = list(range(len(ids)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    threshold = service.config.near_duplicate
    for start in range(0, len(ids), 512):
        sims = vecs[start : start + 512] @ vecs.T
        for a, b in zip(*np.nonzero(sims >= threshold), strict=True):
            i, j = start + int(a), int(b)
            if i < j:
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(ids)):
        groups.setdefault(find(i), []).append(ids[i])
    clusters = [sorted(g) for g in groups.values() if len(g) > 1]
    return sorted(clusters, key=lambda g: (-len(g), g[0]))[:20]

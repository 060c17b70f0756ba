"""Hybrid search: semantic candidates from the 4-bit index, keyword candidates from BM25,
both re-scored exactly with the float32 embeddings from the database, then fused.

Score semantics (what ``score`` in a result means): the exact cosine similarity between the
query's and the memory's all-MiniLM-L6-v2 embeddings, from -1 to 1. With MiniLM, 0.4 and up
is usually on topic and 0.6 and up is the same fact. The order is the fused rank, so a memory
that contains the query's rare words (a port, a hostname, an error string) can rank above one
with a higher score, and it is kept even below ``min_score``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from homelab_hub.memory.embedder import Embedder
from homelab_hub.memory.index import VectorIndex
from homelab_hub.memory.keyword import KeywordIndex
from homelab_hub.memory.store import Memory, MemoryStore

Mode = Literal["hybrid", "semantic", "keyword"]

# A memory holding at least this share of the query's IDF weight counts as a keyword match.
KEYWORD_MATCH_COVERAGE = 0.5
# Weight of the keyword vote for queries of plain words. Queries with an identifier in them
# (a digit, dotted/dashed/underscored names, paths, ALL-CAPS codes) give it full weight:
# there the embedding is the weak half. Tuned on tests/fixtures/memory/quality_set.json.
PLAIN_QUERY_KEYWORD_WEIGHT = 0.25
_IDENTIFIER = re.compile(r"\d|\w[._:/@\-]\w|\b[A-Z][A-Z0-9_]{2,}\b|\(\)")


def has_identifier(query: str) -> bool:
    return bool(_IDENTIFIER.search(query))


@dataclass
class SearchHit:
    memory: Memory
    score: float
    keyword_match: bool
    rank_score: float


def hybrid_search(
    *,
    store: MemoryStore,
    index: VectorIndex,
    keywords: KeywordIndex,
    embedder: Embedder,
    query: str,
    agent: str | None,
    limit: int,
    min_score: float,
    candidates: int,
    rrf_k: int,
    allowed: set[int] | None = None,
    mode: Mode = "hybrid",
) -> list[SearchHit]:
    """Search one agent's memories (None: all). ``allowed`` restricts to filtered ids."""
    qvec = embedder.embed_query(query)
    pool = max(candidates, limit * 4)
    semantic_ids: list[int] = []
    if mode != "keyword":
        allowed_arr = np.fromiter(allowed, dtype=np.int64) if allowed is not None else None
        semantic_ids = [i for i, _ in index.search(qvec, agent, pool, allowed=allowed_arr)]
    keyword_hits: list[tuple[int, float, float]] = []
    if mode != "semantic":
        keyword_hits = keywords.search(query, agent, pool if allowed is None else pool * 4)
        if allowed is not None:
            keyword_hits = [h for h in keyword_hits if h[0] in allowed][:pool]
    coverage = {mid: cov for mid, _, cov in keyword_hits}
    ids = list(dict.fromkeys([*semantic_ids, *(h[0] for h in keyword_hits)]))
    rows = store.get_many(ids, agent, with_embedding=True)
    exact: dict[int, float] = {}
    for mid, row in rows.items():
        assert row.embedding is not None
        exact[mid] = float(np.dot(row.embedding, qvec))
    # Semantic rank: exact cosine over the index's candidates (ties broken by id, so both
    # databases give the same order).
    sem_rank = sorted((m for m in semantic_ids if m in exact), key=lambda m: (-exact[m], m))
    kw_rank = [mid for mid, _, _ in keyword_hits if mid in exact]
    fused: dict[int, float] = {}
    for rank, mid in enumerate(sem_rank):
        fused[mid] = fused.get(mid, 0.0) + 1.0 / (rrf_k + rank + 1)
    weight = 1.0 if has_identifier(query) else PLAIN_QUERY_KEYWORD_WEIGHT
    for rank, mid in enumerate(kw_rank):
        # Weight the keyword vote by how much of the query the memory covers: a memory that
        # merely shares a common word should not outvote the embedding.
        fused[mid] = fused.get(mid, 0.0) + weight * coverage[mid] / (rrf_k + rank + 1)
    hits: list[SearchHit] = []
    for mid in sorted(fused, key=lambda m: (-fused[m], -exact[m], m)):
        is_kw = coverage.get(mid, 0.0) >= KEYWORD_MATCH_COVERAGE
        if exact[mid] < min_score and not is_kw:
            continue
        hits.append(SearchHit(memory=rows[mid], score=exact[mid], keyword_match=is_kw, rank_score=fused[mid]))
        if len(hits) >= limit:
            break
    return hits

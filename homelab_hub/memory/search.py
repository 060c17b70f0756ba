"""Hybrid search: semantic candidates from the 4-bit index, keyword candidates from BM25,
both re-scored exactly (float32 embeddings from the database, BM25 of every candidate),
then fused into one ranking.

Score semantics (what ``score`` in a result means): the exact cosine similarity between the
query's and the memory's all-MiniLM-L6-v2 embeddings (its best chunk for a long memory),
from -1 to 1. With MiniLM, 0.4 and up is usually on topic and 0.6 and up is the same fact.
The order is the fused rank (``rank_score``), so a memory that contains the query's rare
words (a port, a hostname, an error string) can rank above one with a higher cosine, and it
is kept even below ``min_score``. ``rank_score`` is that fused score on the cosine scale
(see `_fuse`), and answers show it: a cosine shown next to a different order (0.62, 0.63,
0.61) told an agent the order was wrong.

Fusion is a convex combination of the two scores, each z-scored over the candidates and
first raised by part of the best thread neighbour's (threads.py). The weight of the
semantic half depends on the query (an identifier in it, or only one or two content words)
and on how much of the query the best keyword hit holds. The numbers below were chosen on
the dev halves of both eval sets (benchmarks/memory_fusion_tune.py) and are checked on the
held-out halves by tests/memory/test_memory_quality.py, which asserts that hybrid never
falls below either half on any query class.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from homelab_hub.memory.chunks import CHUNK_TOKENS, Span, chunk_spans
from homelab_hub.memory.embedder import Embedder
from homelab_hub.memory.index import VectorIndex, memory_of
from homelab_hub.memory.keyword import KeywordHit, KeywordIndex, tokenize
from homelab_hub.memory.store import Chunk, Memory, MemoryStore
from homelab_hub.memory.threads import ThreadMap

# A memory this short is shown whole however it matched (a chunk is about 200 characters).
_SHOW_WHOLE_CHARS = 300
Mode = Literal["hybrid", "semantic", "keyword"]

# A memory holding at least this share of the query's IDF weight counts as a keyword match.
KEYWORD_MATCH_COVERAGE = 0.5
# When no memory clears the floor, those holding at least this share of the best memory's
# coverage are the query's best keyword matches and are kept.
KEYWORD_FALLBACK_SHARE = 0.8
_IDENTIFIER = re.compile(r"\d|\w[._:/@\-]\w|\b[A-Z][A-Z0-9_]{2,}\b|\(\)")
# A quoted phrase is an exact string too: an error message pasted from a log ("database is
# locked", 'Trusted domain error'). A single quote opens only after a space or the start, so
# "what's" and "Caddy's" are not quotes.
_QUOTED = re.compile(r"(?:^|[\s(:])(?:\"[^\"]{2,}\"|\u201c[^\u201d]{2,}\u201d|'[^']{2,}'(?=$|[\s.,;:?!)]))")


def has_identifier(query: str) -> bool:
    """A port, address, path, code or quoted string in the query: BM25's exact match decides."""
    return bool(_IDENTIFIER.search(query) or _QUOTED.search(query))


@dataclass(frozen=True)
class Fusion:
    """The fusion's parameters (see the module docstring for where they come from)."""

    semantic_weight: float = 0.3  # plain-language queries
    short_weight: float = 0.5  # queries of one or two content words: BM25 has too little to go on
    identifier_weight: float = 0.15  # queries with a port, address, path or code in them
    semantic_context: float = 0.3  # share of the best neighbour's semantic score a memory borrows
    keyword_context: float = 0.9  # ... and of its BM25 score ("done, it's on 8124 now")
    # Memories on each side that count as neighbours: an incident's report, the checks and
    # its root cause are often six to eight turns apart (with 5, identifier questions lost on dev).
    neighbours: int = 8
    seeds: int = 10  # top candidates of each half whose neighbours join (30 gains 0.002 on dev, 3x the rows)
    keyword_confidence: float = 0.3  # below this query coverage by the best BM25 hit, BM25 votes less


@dataclass
class SearchHit:
    memory: Memory
    score: float
    keyword_match: bool
    rank_score: float
    chunk: Span | None = None  # the part of a long memory that matched best
    part: tuple[int, int] | None = None  # (chunk number, chunks) of that part


@dataclass
class _Candidate:
    agent: str
    cosine: float = -1.0
    bm25: float = 0.0
    coverage: float = 0.0
    chunk: Span | None = None
    part: tuple[int, int] | None = None
    neighbours: list[int] = field(default_factory=list)


@dataclass
class SearchParts:
    """What one search needs, gathered by MemoryService."""

    store: MemoryStore
    index: VectorIndex
    keywords: KeywordIndex
    threads: ThreadMap
    embedder: Embedder
    chunked: Collection[int]


def hybrid_search(
    parts: SearchParts,
    *,
    query: str,
    agent: str | None,
    limit: int,
    min_score: float,
    candidates: int,
    allowed: set[int] | None = None,
    mode: Mode = "hybrid",
    fusion: Fusion | None = None,
) -> list[SearchHit]:
    """Search one agent's memories (None: all). ``allowed`` restricts to filtered ids before
    any cut, so a filter never hides a match that ranks low overall."""
    fusion = fusion or Fusion()
    qvec = parts.embedder.embed_query(query)
    pool = max(candidates, limit * 4)
    semantic_ids: list[int] = []
    if mode != "keyword":
        allowed_arr = np.fromiter(allowed, dtype=np.int64) if allowed is not None else None
        keys = parts.index.search(qvec, agent, pool * 2, allowed=allowed_arr)
        semantic_ids = list(dict.fromkeys(memory_of(k) for k, _ in keys))[:pool]
    keyword_hits: list[KeywordHit] = []
    if mode != "semantic":
        keyword_hits = parts.keywords.search(query, agent, pool, allowed)
    ids = list(dict.fromkeys([*semantic_ids, *(h.id for h in keyword_hits)]))
    if mode == "hybrid" and fusion.neighbours > 0:
        seeds = [*semantic_ids[: fusion.seeds], *(h.id for h in keyword_hits[: fusion.seeds])]
        extra = [n for mid in seeds for n in parts.threads.neighbours(mid, fusion.neighbours)]
        near = [n for n in dict.fromkeys(extra) if n not in set(ids) and (allowed is None or n in allowed)]
    else:
        near = []
    found = _gather(parts, query, qvec, agent, ids, near, keyword_hits, mode, fusion)
    if mode == "semantic":
        order = sorted(found, key=lambda m: (-found[m].cosine, m))
        rank = {m: found[m].cosine for m in order}
    elif mode == "keyword":
        kw = [h.id for h in keyword_hits if h.id in found]
        rank = {m: found[m].bm25 for m in kw}
        order = kw
    else:
        rank = _fuse(found, query, fusion)
        order = sorted(rank, key=lambda m: (-rank[m], -found[m].cosine, m))

    # The floor on keyword coverage is relative when nothing clears it: a longer query
    # ("exo cluster tensor parallel") holds words spread over many memories, so none holds half
    # of them, yet its best keyword matches are the ones the shorter query ("exo") found. An
    # added word must never empty an answer that had hits.
    coverage_floor = KEYWORD_MATCH_COVERAGE
    if not any(c.cosine >= min_score or c.coverage >= coverage_floor for c in found.values()):
        best = max((c.coverage for c in found.values()), default=0.0)
        coverage_floor = best * KEYWORD_FALLBACK_SHARE if best > 0 else coverage_floor

    def relevant(c: _Candidate) -> bool:
        return c.cosine >= min_score or c.coverage >= coverage_floor

    chosen: list[int] = []
    for mid in order:
        c = found[mid]
        # A reply ("done, it's on 3005 now") is kept when a turn beside it is on topic.
        if not relevant(c) and not any(relevant(found[n]) for n in c.neighbours):
            continue
        chosen.append(mid)
        if len(chosen) >= limit:
            break
    rows = parts.store.get_many(chosen, agent, with_embedding=True)
    for m, row in rows.items():  # neighbours were ranked on the 4-bit score; report the exact one
        if row.embedding is not None and m not in parts.chunked:
            found[m].cosine = float(np.dot(row.embedding, qvec))
    _show_parts(parts, query, qvec, {m: r.content for m, r in rows.items() if m not in parts.chunked}, found)
    return [
        SearchHit(
            rows[m],
            found[m].cosine,
            found[m].coverage >= KEYWORD_MATCH_COVERAGE,
            rank[m],
            found[m].chunk,
            found[m].part,
        )
        for m in chosen
        if m in rows
    ]


def _gather(
    parts: SearchParts,
    query: str,
    qvec: np.ndarray,
    agent: str | None,
    ids: list[int],
    near: list[int],
    keyword_hits: list[KeywordHit],
    mode: Mode,
    fusion: Fusion,
) -> dict[int, _Candidate]:
    """Exact cosine (best chunk) of the candidates, the 4-bit one of thread neighbours that
    joined only as context (reading their rows would double the cost of a search), BM25 and
    thread neighbours of all."""
    vectors = parts.store.vectors(ids, agent)
    chunked = [m for m in vectors if m in parts.chunked]
    chunks = parts.store.chunks(chunked)
    contents = {m: r.content for m, r in parts.store.get_many(chunked, agent).items()}
    found: dict[int, _Candidate] = {}
    for mid, (owner, vec) in vectors.items():
        c = _Candidate(owner, cosine=float(np.dot(vec, qvec)))
        if mid in chunks and mid in contents:
            _best_chunk(c, chunks[mid], qvec, query, contents[mid])
        found[mid] = c
    for mid, cos in parts.index.approximate(qvec, near).items():
        # A neighbour shares its seed's agent and thread by construction (threads.py).
        seed_agent = agent if agent is not None else parts.threads.agent_of(mid)
        found[mid] = _Candidate(seed_agent or "", cosine=cos)
    if mode == "semantic":
        return found
    by_agent: dict[str, list[int]] = {}
    for mid, c in found.items():
        by_agent.setdefault(c.agent, []).append(mid)
    hits = {h.id: h for h in keyword_hits}
    missing = [m for m in found if m not in hits]
    if missing:  # neighbours and semantic-only candidates: their BM25 too
        for name, mids in by_agent.items():
            hits.update(parts.keywords.score(query, name, [m for m in mids if m in missing]))
    for mid, c in found.items():
        h = hits.get(mid)
        if h is not None:
            c.bm25, c.coverage = h.score, h.coverage
        if mode == "hybrid":
            c.neighbours = [n for n in parts.threads.neighbours(mid, fusion.neighbours) if n in found]
    return found


def _show_parts(
    parts: SearchParts, query: str, qvec: np.ndarray, contents: dict[int, str], found: dict[int, _Candidate]
) -> None:
    """For each result read whole but longer than a chunk, the part the answer shows: its
    windows are embedded now, for these few results only (one batch), and the best is chosen
    as for a chunked memory. Embedding every such memory's windows when it is saved would
    cost two to three times its own embedding, for an answer most memories never give."""
    windows: list[tuple[int, list[Span]]] = []
    texts: list[str] = []
    for mid, content in contents.items():
        if len(content) <= _SHOW_WHOLE_CHARS:
            continue
        spans = chunk_spans(content, parts.embedder, above=CHUNK_TOKENS)
        if spans:
            windows.append((mid, spans))
            texts.extend(content[sp.start : sp.end] for sp in spans)
    if not texts:
        return
    vecs = parts.embedder.embed(texts)
    at = 0
    words = _query_words(query)
    for mid, spans in windows:
        content = contents[mid]
        keys = []
        for n, sp in enumerate(spans):
            text = content[sp.start : sp.end].lower()
            held = sum(1 for w in words if w in text) / len(words) if words else 0.0
            keys.append(float(np.dot(vecs[at + n], qvec)) + 0.3 * held)
        at += len(spans)
        best = max(range(len(spans)), key=lambda i: (keys[i], -i))
        found[mid].chunk, found[mid].part = spans[best], (best + 1, len(spans))


def _query_words(query: str) -> set[str]:
    return {w.lower() for w in re.findall(r"\w[\w.:/@\-]*\w|\w", query) if len(w) > 2}


def _best_chunk(c: _Candidate, chunks: list[Chunk], qvec: np.ndarray, query: str, content: str) -> None:
    # The memory scores by its best part; the part shown is the best by cosine, with a
    # nudge for holding the query's words (an identifier the embedding blurs).
    words = _query_words(query)
    best, best_key = None, -9.0
    for ch in chunks:
        cos = float(np.dot(ch.embedding, qvec))
        c.cosine = max(c.cosine, cos)
        text = content[ch.start : ch.end].lower()
        held = sum(1 for w in words if w in text) / len(words) if words else 0.0
        if cos + 0.3 * held > best_key:
            best, best_key = ch, cos + 0.3 * held
    if best is not None:
        c.chunk = Span(best.start, best.end)
        c.part = (best.seq, len(chunks))


def _fuse(found: dict[int, _Candidate], query: str, fusion: Fusion) -> dict[int, float]:
    """Convex combination of z-scored cosine and BM25 over the candidates, each raised by
    the best thread neighbour's (within ``fusion.neighbours`` on either side)."""
    if not found:
        return {}
    mids = list(found)
    cos = np.array([found[m].cosine for m in mids])
    bm = np.array([found[m].bm25 for m in mids])
    sem = dict(zip(mids, ((cos - cos.mean()) / (cos.std() + 1e-9)).tolist(), strict=True))
    kw = dict(zip(mids, ((bm - bm.mean()) / (bm.std() + 1e-9)).tolist(), strict=True))
    if has_identifier(query):
        w = fusion.identifier_weight
    elif len(set(tokenize(query))) <= 2:
        w = fusion.short_weight
    else:
        w = fusion.semantic_weight
    # A keyword half whose best hit holds only a sliver of the query ("last" in "how long
    # does the ups last") must not outvote the embedding.
    best = max((c for c in found.values() if c.bm25 > 0), key=lambda c: c.bm25, default=None)
    confidence = min(1.0, best.coverage / fusion.keyword_confidence) if best is not None else 0.0
    wk = (1 - w) * confidence
    # The fused score, put back on the cosine scale of these candidates (a positive affine map,
    # so the order is the same): a memory ranked by meaning alone scores its cosine, and the
    # score an answer shows is the one its order was ranked by.
    mean, spread, total = float(cos.mean()), float(cos.std()) + 1e-9, w + wk
    out: dict[int, float] = {}
    for mid, c in found.items():
        s, k = sem[mid], kw[mid]
        if c.neighbours:
            s += fusion.semantic_context * max(0.0, *(sem[n] for n in c.neighbours))
            k += fusion.keyword_context * max(0.0, *(kw[n] for n in c.neighbours))
        out[mid] = mean + spread * (w * s + wk * k) / total
    return out

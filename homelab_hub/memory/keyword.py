"""BM25 keyword index: the half of hybrid search that finds exact things.

Embeddings blur identifiers: "11434", "192.168.1.40", "CUDA_ERROR_OUT_OF_MEMORY" and
"gate-monitor" all land near their neighbours. The tokenizer therefore keeps identifier
tokens whole (dots, dashes, colons, slashes and underscores inside a word) and also indexes
their parts, so "ollama:11434" matches a query for "11434" and one for "ollama:11434".
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, defaultdict

_TOKEN = re.compile(r"[\w](?:[\w.:/@\-]*[\w])?", re.UNICODE)
_PARTS = re.compile(r"[.:/@\-_]")
_STOP = frozenset(
    "a an and are as at be by for from has have how i in is it its of on or that the this to was what when "
    "where which who why will with do does did we our you your my me".split()
)


def tokenize(text: str) -> list[str]:
    """Lower-cased words, identifier tokens whole plus their parts, minus stop words."""
    out: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        token = match.group(0)
        if token not in _STOP:
            out.append(token)
        if _PARTS.search(token):
            out.extend(p for p in _PARTS.split(token) if p and p != token and p not in _STOP)
    return out


class KeywordIndex:
    """Okapi BM25 over memory contents, per agent, rebuilt from the database at start."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._lock = threading.RLock()
        self._postings: dict[str, dict[int, int]] = defaultdict(dict)
        self._docs: dict[int, tuple[str, int, tuple[str, ...]]] = {}  # id -> (agent, length, terms)
        self._total_len = 0

    def __len__(self) -> int:
        return len(self._docs)

    def upsert(self, memory_id: int, agent: str, text: str) -> None:
        counts = Counter(tokenize(text))
        with self._lock:
            self._remove(memory_id)
            for term, tf in counts.items():
                self._postings[term][memory_id] = tf
            length = sum(counts.values())
            self._docs[memory_id] = (agent, length, tuple(counts))
            self._total_len += length

    def remove(self, memory_id: int) -> None:
        with self._lock:
            self._remove(memory_id)

    def _remove(self, memory_id: int) -> None:
        doc = self._docs.pop(memory_id, None)
        if doc is None:
            return
        self._total_len -= doc[1]
        for term in doc[2]:
            posting = self._postings.get(term)
            if posting is not None:
                posting.pop(memory_id, None)
                if not posting:
                    del self._postings[term]

    def ids(self) -> set[int]:
        with self._lock:
            return set(self._docs)

    def search(self, query: str, agent: str | None, k: int) -> list[tuple[int, float, float]]:
        """Best ``k`` as (id, bm25, coverage): coverage is the share of the query's IDF weight
        that the memory contains (1.0 = every query word is in it)."""
        terms = list(dict.fromkeys(tokenize(query)))
        if not terms:
            return []
        with self._lock:
            n = len(self._docs)
            if n == 0:
                return []
            avg = self._total_len / n
            scores: dict[int, float] = defaultdict(float)
            covered: dict[int, float] = defaultdict(float)
            total_idf = 0.0
            for term in terms:
                posting = self._postings.get(term, {})
                idf = math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
                total_idf += idf
                for memory_id, tf in posting.items():
                    doc_agent, length, _ = self._docs[memory_id]
                    if agent is not None and doc_agent != agent:
                        continue
                    norm = tf + self.k1 * (1 - self.b + self.b * length / avg)
                    scores[memory_id] += idf * tf * (self.k1 + 1) / norm
                    covered[memory_id] += idf
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        return [(mid, score, covered[mid] / total_idf if total_idf else 0.0) for mid, score in ranked]

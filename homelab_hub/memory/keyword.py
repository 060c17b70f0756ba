"""BM25 keyword index: the half of hybrid search that finds exact things.

Embeddings blur identifiers: "11434", "192.168.1.40", "CUDA_ERROR_OUT_OF_MEMORY" and
"gate-monitor" all land near their neighbours. The tokenizer therefore keeps identifier
tokens whole (dots, dashes, colons, slashes and underscores inside a word, digits, ALL-CAPS
codes) and also indexes their parts, so "ollama:11434" matches a query for "11434" and one
for "ollama:11434". Plain words are Snowball-stemmed ("crashed", "crashing" -> "crash") and
English function words (pronouns, auxiliaries, articles) are dropped; a capitalised "May",
"Will" or "US" is a name, not a stop word, and is kept.

Statistics are per agent: each agent's memories have their own document count, average
length and document frequencies, so one agent's vocabulary never moves another's scores.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import Stemmer

_TOKEN = re.compile(r"[\w](?:[\w.:/@\-]*[\w])?", re.UNICODE)
_PARTS = re.compile(r"[.:/@\-_]")
_IDENT = re.compile(r"\d|[.:/@\-_]")
_STOP = frozenset(
    """a about above after again against all am an and any are aren't as at be because been before being
    below between both but by can could did didn't do does doesn't doing don't down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is isn't it it's
    its itself just let's me more most my myself no nor not now of off on once only or other ought our ours
    ourselves out over own same shall she should so some such than that that's the their theirs them
    themselves then there there's these they this those through to too under until up very was wasn't we
    were what what's when where which while who whom why will with would you your yours yourself
    yourselves also may might must shall anyone anything someone something ok okay yes yeah hi hey please
    thanks thank um uh oh
    """.split()
)
# Stop words that, capitalised, are usually a name: the month, a person, the country.
_NAMES = frozenset({"may", "will", "us"})
_STEMMER = Stemmer.Stemmer("english")
_STEM_LOCK = threading.Lock()


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    # PyStemmer objects are not thread-safe; the cache makes the lock nearly free.
    with _STEM_LOCK:
        return str(_STEMMER.stemWord(word))


def tokenize(text: str) -> list[str]:
    """Index terms: identifiers whole plus their parts, other words stemmed, stop words dropped."""
    out: list[str] = []
    for match in _TOKEN.finditer(text):
        raw = match.group(0)
        token = raw.lower()
        if _IDENT.search(token) or (len(raw) > 1 and raw.isupper()):
            out.append(token)
            if _PARTS.search(token):
                for part in _PARTS.split(token):
                    if part and part != token and part not in _STOP:
                        out.append(part if any(c.isdigit() for c in part) else _stem(part))
            continue
        if token in _STOP and not (token in _NAMES and raw[0].isupper()):
            continue
        out.append(_stem(token))
    return out


@dataclass
class _AgentStats:
    docs: int = 0
    total_len: int = 0
    postings: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    # Postings as arrays (ids, tfs), built when a term is first searched and dropped when a
    # memory holding it changes: a common word's thousands of postings score in numpy.
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


@dataclass(frozen=True)
class KeywordHit:
    id: int
    score: float
    coverage: float  # share of the query's IDF weight the memory contains (1.0 = every word)


class KeywordIndex:
    """Okapi BM25 over memory contents, per agent, rebuilt from the database at start.

    k1 = 1.2 with b = 0.4 instead of the textbook 0.75: memories are one to three sentences,
    where full length normalisation punishes a sentence for one extra clause
    (benchmarks/memory_fusion_tune.py compares them on the eval sets' dev halves).
    """

    def __init__(self, k1: float = 1.2, b: float = 0.4) -> None:
        self.k1 = k1
        self.b = b
        self._lock = threading.RLock()
        self._agents: dict[str, _AgentStats] = defaultdict(_AgentStats)
        self._docs: dict[int, tuple[str, int, tuple[str, ...]]] = {}  # id -> (agent, length, terms)
        self._lengths = np.zeros(1024, dtype=np.float32)  # by memory id

    def __len__(self) -> int:
        return len(self._docs)

    def upsert(self, memory_id: int, agent: str, text: str) -> None:
        counts = Counter(tokenize(text))
        with self._lock:
            self._remove(memory_id)
            stats = self._agents[agent]
            for term, tf in counts.items():
                stats.postings[term][memory_id] = tf
                stats.arrays.pop(term, None)
            length = sum(counts.values())
            if memory_id >= len(self._lengths):
                grown = np.zeros(max(memory_id + 1, len(self._lengths) * 2), dtype=np.float32)
                grown[: len(self._lengths)] = self._lengths
                self._lengths = grown
            self._lengths[memory_id] = length
            self._docs[memory_id] = (agent, length, tuple(counts))
            stats.docs += 1
            stats.total_len += length

    def remove(self, memory_id: int) -> None:
        with self._lock:
            self._remove(memory_id)

    def _remove(self, memory_id: int) -> None:
        doc = self._docs.pop(memory_id, None)
        if doc is None:
            return
        agent, length, terms = doc
        stats = self._agents[agent]
        stats.docs -= 1
        stats.total_len -= length
        for term in terms:
            stats.arrays.pop(term, None)
            posting = stats.postings.get(term)
            if posting is not None:
                posting.pop(memory_id, None)
                if not posting:
                    del stats.postings[term]
        if stats.docs == 0:
            del self._agents[agent]

    def search(
        self, query: str, agent: str | None, k: int, allowed: Collection[int] | None = None
    ) -> list[KeywordHit]:
        """Best ``k`` of one agent (None: every agent, each scored with its own statistics),
        only among ``allowed`` ids when given: the filter applies before the cut."""
        terms = list(dict.fromkeys(tokenize(query)))
        if not terms:
            return []
        with self._lock:
            agents = [agent] if agent is not None else list(self._agents)
            hits: list[KeywordHit] = []
            for name in agents:
                stats = self._agents.get(name)
                if stats is not None:
                    hits.extend(self._score(stats, terms, allowed, None, k))
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits[:k]

    def score(self, query: str, agent: str, ids: Collection[int]) -> dict[int, KeywordHit]:
        """BM25 of these ids of one agent (those with no query word are left out)."""
        terms = list(dict.fromkeys(tokenize(query)))
        with self._lock:
            stats = self._agents.get(agent)
            if not terms or stats is None:
                return {}
            return {h.id: h for h in self._score(stats, terms, None, set(ids), len(ids))}

    def _score(
        self,
        stats: _AgentStats,
        terms: list[str],
        allowed: Collection[int] | None,
        only: set[int] | None,
        k: int,
    ) -> list[KeywordHit]:
        """The best ``k`` by BM25, best first (ties by id); coverage is worked out for those only."""
        n = stats.docs
        avg = stats.total_len / n if n else 1.0
        idfs: dict[str, float] = {}
        base, per_len = self.k1 * (1 - self.b), self.k1 * self.b / avg
        parts_ids, parts_scores = [], []
        for term in terms:
            posting = stats.postings.get(term)
            df = len(posting) if posting else 0
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            idfs[term] = idf
            if not posting:
                continue
            if only is None:
                arrays = stats.arrays.get(term)
                if arrays is None:
                    arrays = (
                        np.fromiter(posting.keys(), dtype=np.int64, count=df),
                        np.fromiter(posting.values(), dtype=np.float32, count=df),
                    )
                    stats.arrays[term] = arrays
                ids, tfs = arrays
            else:
                chosen = [i for i in only if i in posting]
                ids = np.array(chosen, dtype=np.int64)
                tfs = np.array([posting[i] for i in chosen], dtype=np.float32)
            parts_ids.append(ids)
            parts_scores.append(idf * (self.k1 + 1) * tfs / (tfs + base + per_len * self._lengths[ids]))
        if not parts_ids:
            return []
        all_ids = np.concatenate(parts_ids)
        sums = np.bincount(all_ids, weights=np.concatenate(parts_scores))
        candidates = np.unique(all_ids)
        if allowed is not None:
            keep = np.fromiter(allowed, dtype=np.int64)
            candidates = candidates[np.isin(candidates, keep)]
        values = sums[candidates]
        if k < len(candidates):
            cut = np.argpartition(-values, k - 1)[:k]
            candidates, values = candidates[cut], values[cut]
        order = np.lexsort((candidates, -values))
        top = [(int(candidates[i]), float(values[i])) for i in order]

        total = sum(idfs.values())
        hits = []
        for memory_id, score in top:
            held = sum(idf for term, idf in idfs.items() if memory_id in stats.postings.get(term, ()))
            hits.append(KeywordHit(memory_id, score, held / total if total else 0.0))
        return hits

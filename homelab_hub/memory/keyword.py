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

    def __len__(self) -> int:
        return len(self._docs)

    def upsert(self, memory_id: int, agent: str, text: str) -> None:
        counts = Counter(tokenize(text))
        with self._lock:
            self._remove(memory_id)
            stats = self._agents[agent]
            for term, tf in counts.items():
                stats.postings[term][memory_id] = tf
            length = sum(counts.values())
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
                    hits.extend(self._score(stats, terms, allowed, None))
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits[:k]

    def score(self, query: str, agent: str, ids: Collection[int]) -> dict[int, KeywordHit]:
        """BM25 of these ids of one agent (those with no query word are left out)."""
        terms = list(dict.fromkeys(tokenize(query)))
        with self._lock:
            stats = self._agents.get(agent)
            if not terms or stats is None:
                return {}
            return {h.id: h for h in self._score(stats, terms, None, set(ids))}

    def _score(
        self,
        stats: _AgentStats,
        terms: list[str],
        allowed: Collection[int] | None,
        only: set[int] | None,
    ) -> list[KeywordHit]:
        n = stats.docs
        avg = stats.total_len / n if n else 1.0
        scores: dict[int, float] = defaultdict(float)
        covered: dict[int, float] = defaultdict(float)
        total_idf = 0.0
        for term in terms:
            posting = stats.postings.get(term)
            df = len(posting) if posting else 0
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            total_idf += idf
            if not posting:
                continue
            items = posting.items() if only is None else ((i, posting[i]) for i in only if i in posting)
            for memory_id, tf in items:
                if allowed is not None and memory_id not in allowed:
                    continue
                length = self._docs[memory_id][1]
                norm = tf + self.k1 * (1 - self.b + self.b * length / avg)
                scores[memory_id] += idf * tf * (self.k1 + 1) / norm
                covered[memory_id] += idf
        return [
            KeywordHit(mid, score, covered[mid] / total_idf if total_idf else 0.0)
            for mid, score in scores.items()
        ]

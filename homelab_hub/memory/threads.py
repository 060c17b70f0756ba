"""ThreadMap: which memories are neighbours in a thread (a conversation, an incident, a session).

A turn such as "done, it's on 8124 now" says nothing about what moved; the turn before it
does. Search therefore lets a memory borrow part of its thread neighbours' scores (see
search.py). Neighbours are the memories just before and after in time (occurred_at, else
created_at) within the same agent *and* the same thread: the key is (agent, thread), so
nothing ever lends context across agents or threads. A cache rebuilt from the table at
start, like the indexes.
"""

from __future__ import annotations

import bisect
import threading


class ThreadMap:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._threads: dict[tuple[str, str], list[tuple[float, int]]] = {}
        self._of: dict[int, tuple[tuple[str, str], float]] = {}

    def __len__(self) -> int:
        return len(self._of)

    def upsert(self, memory_id: int, agent: str, thread: str, when: float) -> None:
        with self._lock:
            self._remove(memory_id)
            if not thread:
                return
            k = (agent, thread)
            bisect.insort(self._threads.setdefault(k, []), (when, memory_id))
            self._of[memory_id] = (k, when)

    def remove(self, memory_id: int) -> None:
        with self._lock:
            self._remove(memory_id)

    def _remove(self, memory_id: int) -> None:
        found = self._of.pop(memory_id, None)
        if found is None:
            return
        k, when = found
        items = self._threads[k]
        items.pop(bisect.bisect_left(items, (when, memory_id)))
        if not items:
            del self._threads[k]

    def agent_of(self, memory_id: int) -> str | None:
        found = self._of.get(memory_id)
        return found[0][0] if found else None

    def neighbours(self, memory_id: int, span: int = 1) -> list[int]:
        """Up to ``span`` memories before and after this one in its thread, nearest first."""
        with self._lock:
            found = self._of.get(memory_id)
            if found is None:
                return []
            k, when = found
            items = self._threads[k]
            at = bisect.bisect_left(items, (when, memory_id))
            out: list[int] = []
            for d in range(1, span + 1):
                if at - d >= 0:
                    out.append(items[at - d][1])
                if at + d < len(items):
                    out.append(items[at + d][1])
            return out

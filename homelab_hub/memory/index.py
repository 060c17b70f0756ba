"""The in-RAM vector index: packed 4-bit codes plus what a scan needs to filter them.

Keys are ``memory_id << KEY_SHIFT | seq``: seq 0 is the memory's own vector, 1.. the chunks
of a memory too long for one (see chunks.py). Every vector of a memory shares its
updated_at, so a memory is reconciled as one unit.

Per vector it holds d/2 code bytes, a float32 scale, the row id (int64), the agent (int32)
and updated_at (float64): 216 bytes for MiniLM's 384 dimensions, 0.56 bytes per dimension.
Ids are kept sorted, so finding a row is a binary search rather than a dict (a Python dict
of 100k ints alone would cost another 0.25 bytes per dimension). Deleted rows are marked
with agent -1 and squeezed out when they pile up. The database stays the truth: this is a
cache, persisted to one .npz file and checked against the table at start.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

from homelab_hub.memory.quantizer import TurboQuantizer

log = logging.getLogger(__name__)

_DELETED = -1
_FORMAT_VERSION = 2  # 2: composite keys with chunks; a version-1 file is rebuilt from the table
KEY_SHIFT = 10  # up to 1023 chunks per memory: 64 KB of content in chunks of ~250 characters


def key(memory_id: int, seq: int = 0) -> int:
    return (memory_id << KEY_SHIFT) | seq


def memory_of(k: int) -> int:
    return k >> KEY_SHIFT


class VectorIndex:
    """Thread-safe 4-bit index of unit vectors keyed by memory id."""

    def __init__(self, dim: int) -> None:
        self.quantizer = TurboQuantizer(dim)
        self.dim = dim
        self._lock = threading.RLock()
        self._n = 0
        self._live = 0
        self._ids = np.empty(0, dtype=np.int64)
        self._agents = np.empty(0, dtype=np.int32)
        self._updated = np.empty(0, dtype=np.float64)
        self._scales = np.empty(0, dtype=np.float32)
        self._codes = np.empty((0, self.quantizer.code_bytes), dtype=np.uint8)
        self._agent_codes: dict[str, int] = {}
        self.dirty = False

    # -- sizes --------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._live

    @property
    def nbytes(self) -> int:
        """Bytes of RAM the live part of the index uses (codes, scales, ids, agents, times)."""
        per_vector = self.quantizer.code_bytes + 4 + 8 + 4 + 8
        return self._n * per_vector

    @property
    def bits_per_dim(self) -> float:
        return 8.0 * self.nbytes / max(1, self._n * self.dim)

    # -- mutation -----------------------------------------------------------------------
    def _agent_code(self, agent: str) -> int:
        code = self._agent_codes.get(agent)
        if code is None:
            code = len(self._agent_codes)
            self._agent_codes[agent] = code
        return code

    def reserve(self, count: int) -> None:
        """Make room for ``count`` more vectors at once (bulk loads skip the 1.25x growth)."""
        with self._lock:
            self._reserve(count)

    def _reserve(self, extra: int) -> None:
        need = self._n + extra
        if need <= len(self._ids):
            return
        cap = max(need, int(len(self._ids) * 1.25) + 64)
        # np.empty pages stay out of RSS until written, so spare capacity costs address space only.
        for name in ("_ids", "_agents", "_updated", "_scales"):
            old = getattr(self, name)
            new = np.empty(cap, dtype=old.dtype)
            new[: self._n] = old[: self._n]
            setattr(self, name, new)
        codes = np.empty((cap, self.quantizer.code_bytes), dtype=np.uint8)
        codes[: self._n] = self._codes[: self._n]
        self._codes = codes

    def _slot(self, memory_id: int) -> int | None:
        pos = int(np.searchsorted(self._ids[: self._n], memory_id))
        if pos < self._n and self._ids[pos] == memory_id:
            return pos
        return None

    def upsert(self, ids: list[int], agents: list[str], vectors: np.ndarray, updated_at: list[float]) -> None:
        """Add or replace vectors (unit length, float32) for these memory ids."""
        if not ids:
            return
        codes, scales = self.quantizer.encode(vectors)
        with self._lock:
            fresh: list[int] = []
            for k, memory_id in enumerate(ids):
                slot = self._slot(memory_id)
                if slot is None:
                    fresh.append(k)
                    continue
                if self._agents[slot] == _DELETED:
                    self._live += 1
                self._codes[slot] = codes[k]
                self._scales[slot] = scales[k]
                self._agents[slot] = self._agent_code(agents[k])
                self._updated[slot] = updated_at[k]
            if fresh:
                self._append(fresh, ids, agents, codes, scales, updated_at)
            self.dirty = True

    def _append(self, fresh, ids, agents, codes, scales, updated_at) -> None:
        new_ids = np.asarray([ids[k] for k in fresh], dtype=np.int64)
        order = np.argsort(new_ids, kind="stable")
        new_ids = new_ids[order]
        rows = [fresh[int(o)] for o in order]
        self._reserve(len(rows))
        n = self._n
        if n == 0 or new_ids[0] > self._ids[n - 1]:
            sl = slice(n, n + len(rows))
            self._ids[sl] = new_ids
            self._agents[sl] = [self._agent_code(agents[k]) for k in rows]
            self._updated[sl] = [updated_at[k] for k in rows]
            self._scales[sl] = scales[rows]
            self._codes[sl] = codes[rows]
        else:  # a concurrent save committed out of id order: insert in place (rare)
            at = np.searchsorted(self._ids[:n], new_ids)
            for name, values in (
                ("_ids", new_ids),
                ("_agents", np.asarray([self._agent_code(agents[k]) for k in rows], dtype=np.int32)),
                ("_updated", np.asarray([updated_at[k] for k in rows], dtype=np.float64)),
                ("_scales", scales[rows]),
            ):
                arr = getattr(self, name)
                merged = np.insert(arr[:n], at, values)
                arr[: n + len(rows)] = merged
            merged_codes = np.insert(self._codes[:n], at, codes[rows], axis=0)
            self._codes[: n + len(rows)] = merged_codes
        self._n += len(rows)
        self._live += len(rows)

    def remove(self, memory_ids: list[int]) -> int:
        """Forget every vector of these memories; returns how many memories were present."""
        removed = 0
        with self._lock:
            keys = self._ids[: self._n]
            for memory_id in memory_ids:
                lo = int(np.searchsorted(keys, key(memory_id)))
                hi = int(np.searchsorted(keys, key(memory_id + 1)))
                live = [s for s in range(lo, hi) if self._agents[s] != _DELETED]
                for slot in live:
                    self._agents[slot] = _DELETED
                if live:
                    removed += 1
                self._live -= len(live)
            if removed:
                self.dirty = True
            if self._n - self._live > max(1024, self._n // 4):
                self._compact()
        return removed

    def _compact(self) -> None:
        keep = self._agents[: self._n] != _DELETED
        count = int(keep.sum())
        for name in ("_ids", "_agents", "_updated", "_scales", "_codes"):
            arr = getattr(self, name)
            arr[:count] = arr[: self._n][keep]
        self._n = count

    # -- reading ------------------------------------------------------------------------
    def search(
        self, query_unit: np.ndarray, agent: str | None, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Best ``k`` (key, approximate cosine) for this agent (None: all agents), optionally
        only among the vectors of the ``allowed`` memory ids."""
        lut = self.quantizer.lookup_table(query_unit)
        with self._lock:
            n = self._n
            if n == 0:
                return []
            scores = self.quantizer.scan(self._codes[:n], lut)
            scores *= self._scales[:n]
            agents = self._agents[:n]
            if agent is None:
                scores[agents == _DELETED] = -np.inf
            else:
                code = self._agent_codes.get(agent)
                if code is None:
                    return []
                scores[agents != code] = -np.inf
            ids = self._ids[:n]
            if allowed is not None:
                scores[~np.isin(ids >> KEY_SHIFT, allowed)] = -np.inf
            k = min(k, n)
            top = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
            top = top[np.isfinite(scores[top])]
            top = top[np.lexsort((ids[top], -scores[top]))]
            return [(int(ids[i]), float(scores[i])) for i in top]

    def approximate(self, query_unit: np.ndarray, memory_ids: list[int]) -> dict[int, float]:
        """Approximate cosine of these memories' own vectors, from the 4-bit codes alone."""
        if not memory_ids:
            return {}
        lut = self.quantizer.lookup_table(query_unit)
        with self._lock:
            found = [(m, self._slot(key(m))) for m in memory_ids]
            live = [(m, s) for m, s in found if s is not None and self._agents[s] != _DELETED]
            if not live:
                return {}
            slots = np.array([s for _, s in live], dtype=np.int64)
            scores = self.quantizer.scan(self._codes[slots], lut) * self._scales[slots]
        return {m: float(v) for (m, _), v in zip(live, scores, strict=True)}

    def version(self, memory_id: int) -> float | None:
        """updated_at of this memory in the index, None when absent."""
        with self._lock:
            slot = self._slot(key(memory_id))
            if slot is None or self._agents[slot] == _DELETED:
                return None
            return float(self._updated[slot])

    def versions(self) -> dict[int, float]:
        """memory id -> updated_at of every memory with a live vector (for reconciling)."""
        with self._lock:
            live = self._agents[: self._n] != _DELETED
            keys = self._ids[: self._n][live] >> KEY_SHIFT
            return dict(zip(keys.tolist(), self._updated[: self._n][live].tolist(), strict=True))

    @property
    def memories(self) -> int:
        """How many memories have vectors (a long memory has several)."""
        with self._lock:
            live = self._agents[: self._n] != _DELETED
            return int(np.count_nonzero((self._ids[: self._n][live] & ((1 << KEY_SHIFT) - 1)) == 0))

    # -- persistence --------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write atomically (tmp file + rename), so a crash never leaves half an index."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        with self._lock:
            live = self._agents[: self._n] != _DELETED
            names = sorted(self._agent_codes, key=self._agent_codes.__getitem__)
            try:
                self._write(tmp, live, names)
            except BaseException:
                # A full disk left a 0-byte tmp file behind; the index stays dirty for a retry.
                tmp.unlink(missing_ok=True)
                raise
            self.dirty = False
        os.replace(tmp, path)

    def _write(self, tmp: Path, live: np.ndarray, names: list[str]) -> None:
        np.savez(
            tmp,
            meta=np.array([_FORMAT_VERSION, self.dim], dtype=np.int64),
            agents_names=np.array(names, dtype=str),
            ids=self._ids[: self._n][live],
            agents=self._agents[: self._n][live],
            updated=self._updated[: self._n][live],
            scales=self._scales[: self._n][live],
            codes=self._codes[: self._n][live],
        )

    @classmethod
    def load(cls, path: Path, dim: int) -> VectorIndex | None:
        """The index saved at ``path``, or None when absent, unreadable or of another shape."""
        index = cls(dim)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = data["meta"]
                if int(meta[0]) != _FORMAT_VERSION or int(meta[1]) != dim:
                    return None
                n = len(data["ids"])
                index._reserve(n)
                index._ids[:n] = data["ids"]
                index._agents[:n] = data["agents"]
                index._updated[:n] = data["updated"]
                index._scales[:n] = data["scales"]
                index._codes[:n] = data["codes"]
                index._agent_codes = {str(name): i for i, name in enumerate(data["agents_names"].tolist())}
                index._n = index._live = n
        except FileNotFoundError:
            return None
        except Exception as exc:  # a corrupt cache is rebuilt from the database, not fatal
            log.warning("vector index %s unreadable (%s); rebuilding from the database", path, exc)
            return None
        if n and np.any(np.diff(index._ids[:n]) <= 0):
            return None
        return index

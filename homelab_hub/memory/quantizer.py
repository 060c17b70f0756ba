"""4-bit TurboQuant codes, packed two per byte, scored without decompressing.

The rotation and the Lloyd-Max codebook are TurboQuant's (``turboquant-vectors``): a random
orthogonal rotation makes every coordinate of a unit vector roughly N(0, 1/d), so one fixed
16-level codebook fits all of them. We keep only the packed codes (d/2 bytes per vector) and
score a query with a lookup table over whole bytes: ``lut[j, b]`` is the query's dot product
with the two centroids that byte ``b`` encodes at byte position ``j``. A scan is then d/2
table lookups per vector and never builds a float copy of the index — that package's own
``search()`` decompresses everything to float32 and keeps it, which is larger than no
compression at all.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

BITS = 4
ROTATION_SEED = 42


class TurboQuantizer:
    """Encodes unit vectors to packed 4-bit codes and builds per-query byte lookup tables."""

    def __init__(self, dim: int, seed: int = ROTATION_SEED) -> None:
        if dim % 2:
            raise ValueError(f"vector dimension must be even for 4-bit packing, got {dim}")
        from turboquant_vectors import TurboQuantVectors

        tq = TurboQuantVectors(dim=dim, bits=BITS, seed=seed)
        self.dim = dim
        self.rotation_t = np.ascontiguousarray(tq.rotation_t, dtype=np.float32)
        self.codebook = np.ascontiguousarray(tq.codebook, dtype=np.float32)
        # Decision boundaries between neighbouring centroids: nearest-centroid coding by
        # searchsorted instead of TurboQuant's (n, d, 16) distance tensor.
        self._bounds = (self.codebook[1:] + self.codebook[:-1]) / 2
        byte = np.arange(256)
        self._lo = self.codebook[byte & 15]
        self._hi = self.codebook[byte >> 4]
        self._kernel_lock = threading.Lock()
        self._kernel: tuple[Any] | None = None  # (compiled scan or None), resolved on first large scan

    @property
    def code_bytes(self) -> int:
        return self.dim // 2

    def encode(self, unit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Packed codes (n, d/2) uint8 and a per-vector scale that corrects the quantised norm."""
        unit = np.atleast_2d(np.asarray(unit, dtype=np.float32))
        rotated = unit @ self.rotation_t
        idx = np.searchsorted(self._bounds, rotated).astype(np.uint8)
        packed = (idx[:, 0::2] | (idx[:, 1::2] << 4)).astype(np.uint8)
        decoded_norm = np.linalg.norm(self.codebook[idx], axis=1)
        scale = (np.linalg.norm(unit, axis=1) / np.maximum(decoded_norm, 1e-12)).astype(np.float32)
        return packed, scale

    def lookup_table(self, query_unit: np.ndarray) -> np.ndarray:
        """(d/2, 256) float32: contribution of each possible byte at each byte position."""
        rotated = np.asarray(query_unit, dtype=np.float32) @ self.rotation_t
        even, odd = rotated[0::2], rotated[1::2]
        return np.ascontiguousarray(
            even[:, None] * self._lo[None, :] + odd[:, None] * self._hi[None, :], dtype=np.float32
        )

    def scan(self, codes: np.ndarray, lut: np.ndarray) -> np.ndarray:
        """Approximate dot products of the query behind ``lut`` with every packed vector: the
        numba kernel from `NUMBA_ABOVE` vectors on when numba is installed, numpy otherwise."""
        return scan_codes(codes, lut, self._numba() if codes.shape[0] >= NUMBA_ABOVE else None)

    def scan_backend(self, vectors: int | None = None) -> str:
        """The kernel a scan of this many vectors uses (None: of a large index)."""
        if vectors is not None and vectors < NUMBA_ABOVE:
            return "numpy"
        return "numba" if self._numba() is not None else "numpy"

    def _numba(self) -> Any:
        # Resolved lazily: importing numba costs a second, which `homelab-hub --help` should not pay.
        with self._kernel_lock:
            if self._kernel is None:
                try:
                    self._kernel = (_make_numba_scan(),)
                except ImportError:  # numba is optional: the numpy path gives the same scores, slower
                    self._kernel = (None,)
            return self._kernel[0]


def _scan_numpy(codes: np.ndarray, lut: np.ndarray, out: np.ndarray, chunk: int = 4096) -> None:
    offsets = np.arange(codes.shape[1], dtype=np.int32) * 256
    flat = lut.ravel()
    for start in range(0, codes.shape[0], chunk):
        block = codes[start : start + chunk].astype(np.int32)
        block += offsets
        out[start : start + chunk] = flat.take(block).sum(axis=1)


def _make_numba_scan() -> Any:
    from numba import njit, prange

    @njit(parallel=True, fastmath=True, cache=True, nogil=True)
    def scan(codes, lut, out):
        n, m = codes.shape
        for i in prange(n):
            acc = np.float32(0.0)
            row = codes[i]
            for j in range(m):
                acc += lut[j, row[j]]
            out[i] = acc

    return scan


# Importing numba and compiling the kernel costs about 55 MB of RSS for the life of the process
# (llvmlite) and a second; below this many vectors the numpy path, about 2.5x slower, still
# scans in a few milliseconds, so a small hub (a Raspberry Pi's) never loads numba.
NUMBA_ABOVE = 30_000


def scan_codes(codes: np.ndarray, lut: np.ndarray, kernel: Any = None) -> np.ndarray:
    """Approximate dot products of the query behind ``lut`` with every packed vector, with the
    compiled numba ``kernel`` when given (`TurboQuantizer.scan` picks it), numpy otherwise."""
    out = np.empty(codes.shape[0], dtype=np.float32)
    if codes.shape[0] == 0:
        return out
    if kernel is not None:
        kernel(codes, lut, out)
    else:
        _scan_numpy(codes, lut, out)
    return out

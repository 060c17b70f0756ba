"""The embedder the configuration names: ONNX Runtime by default, sentence-transformers on
PyTorch with ``memory.embedder = "torch"``. Apart from both, so neither imports the other."""

from __future__ import annotations

from homelab_hub.memory.config import MemoryConfig
from homelab_hub.memory.embedder import Embedder
from homelab_hub.memory.onnx_embedder import OnnxEmbedder


def build_embedder(config: MemoryConfig) -> Embedder:
    """The embedder the config names, not yet loaded (loading is `load_now`)."""
    if config.embedder == "torch":
        return Embedder(config.model_path, config.device, config.query_cache_size)
    return OnnxEmbedder(config.model_path, config.query_cache_size)

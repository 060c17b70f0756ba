"""KV-cache arithmetic: how much memory a context costs before a single token is sent.

The cache holds one key and one value vector per layer, per KV head, per token of context,
per parallel slot:

    bytes = 2 (K and V) × layers × context × KV heads × head dim × bytes per element × slots

Ollama (like llama.cpp) allocates all of it when the model loads. For the seed's qwen2.5vl:7b
(28 layers, 4 KV heads of 128) that is 56 KiB per token: 7 GiB at its 131,072-token context with
one f16 slot, not the 65 GB the seed attributed to the KV cache of its 70.8 GB. The rest of such
a footprint is compute graph, vision buffers, extra slots or Ollama's own estimate; the server
log's load lines tell which (`ollama_log`), this formula only sizes the cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homelab_hub.errors import UpstreamError

# Bytes per cached element. Quantised types store blocks of 32 values: q8_0 = 32 int8 + one
# f16 scale (34 bytes), q4_0 = 32 nibbles + one f16 scale (18 bytes).
KV_BYTES_PER_ELEMENT: dict[str, float] = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}


@dataclass(frozen=True)
class ModelArchitecture:
    """The numbers of a model that size its KV cache, read from GGUF metadata."""

    family: str
    layers: int
    kv_heads: int
    head_dim: int
    trained_context: int
    # Per-layer KV head counts (some models vary them); the sum over layers, or
    # layers × kv_heads when uniform.
    kv_heads_total: int = 0
    # Key and value widths differ in a few architectures; head_dim is their mean.
    key_length: int = 0
    value_length: int = 0

    @property
    def kv_elements_per_token(self) -> int:
        """K+V elements cached for one token across all layers."""
        heads = self.kv_heads_total or self.layers * self.kv_heads
        k = self.key_length or self.head_dim
        v = self.value_length or self.head_dim
        return heads * (k + v)


def kv_cache_bytes(
    arch: ModelArchitecture, context: int, *, kv_cache_type: str = "f16", parallel: int = 1
) -> int:
    """KV-cache bytes for ``context`` tokens in each of ``parallel`` slots.

    Raises ValueError for a negative context, parallel < 1 or an unknown cache type.
    """
    if context < 0 or parallel < 1:
        raise ValueError(
            f"context must be >= 0 and parallel >= 1, got context={context}, parallel={parallel}"
        )
    if kv_cache_type not in KV_BYTES_PER_ELEMENT:
        raise ValueError(
            f"kv_cache_type must be one of {sorted(KV_BYTES_PER_ELEMENT)}, got {kv_cache_type!r}"
        )
    elements = arch.kv_elements_per_token * context * parallel
    return round(elements * KV_BYTES_PER_ELEMENT[kv_cache_type])


def architecture_from_model_info(model_info: dict[str, Any]) -> ModelArchitecture:
    """Read layers, KV heads, head dim and trained context from Ollama's ``/api/show`` model_info
    (GGUF keys prefixed with ``general.architecture``, e.g. ``llama.block_count``).

    Raises UpstreamError when a number the estimate needs is missing or not a number.
    """
    family = model_info.get("general.architecture")
    if not isinstance(family, str) or not family:
        raise UpstreamError("model_info has no general.architecture; cannot size the KV cache")

    def number(key: str, required: bool = True) -> int | list[int] | None:
        value = model_info.get(f"{family}.{key}")
        if value is None:
            if required:
                raise UpstreamError(f"model_info lacks {family}.{key}; cannot size the KV cache")
            return None
        if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
            return [int(v) for v in value]
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            return int(value)
        raise UpstreamError(f"model_info {family}.{key} is {value!r}, expected a non-negative number")

    layers = _scalar(number("block_count"), "block_count")
    trained = _scalar(number("context_length"), "context_length")
    heads = number("attention.head_count")
    kv = number("attention.head_count_kv", required=False)
    kv = heads if kv is None else kv
    # Per-layer lists (hybrid models): total over layers, and a representative maximum.
    kv_total = sum(kv) if isinstance(kv, list) else layers * _scalar(kv, "head_count_kv")
    kv_heads = max(kv) if isinstance(kv, list) else _scalar(kv, "head_count_kv")
    head_count = max(heads) if isinstance(heads, list) else _scalar(heads, "head_count")
    key_len = number("attention.key_length", required=False)
    value_len = number("attention.value_length", required=False)
    if key_len is None or value_len is None:
        embedding = _scalar(number("embedding_length"), "embedding_length")
        if head_count <= 0:
            raise UpstreamError(
                f"model_info {family}.attention.head_count is 0; cannot derive the head dimension"
            )
        default = embedding // head_count
        key_len = default if key_len is None else key_len
        value_len = default if value_len is None else value_len
    k, v = _scalar(key_len, "key_length"), _scalar(value_len, "value_length")
    return ModelArchitecture(
        family=family,
        layers=layers,
        kv_heads=kv_heads,
        head_dim=(k + v) // 2,
        trained_context=trained,
        kv_heads_total=kv_total,
        key_length=k,
        value_length=v,
    )


def _scalar(value: int | list[int] | None, key: str) -> int:
    if isinstance(value, int):
        return value
    raise UpstreamError(f"model_info {key} is {value!r}, expected a single number")

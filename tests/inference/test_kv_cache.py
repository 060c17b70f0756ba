"""KV-cache arithmetic against worked examples derived by hand.

bytes = 2 (K and V) × layers × context × KV heads × head dim × bytes per element × slots
"""

import pytest

from homelab_hub.errors import UpstreamError
from homelab_hub.inference.kv_cache import ModelArchitecture, architecture_from_model_info, kv_cache_bytes
from tests.fakes.ollama import MODELS

LLAMA_8B = ModelArchitecture(family="llama", layers=32, kv_heads=8, head_dim=128, trained_context=131072)
QWEN_VL_7B = ModelArchitecture(family="qwen25vl", layers=28, kv_heads=4, head_dim=128, trained_context=131072)


def test_an_8b_model_with_32_layers_8_kv_heads_and_head_dim_128_costs_128_kib_per_token_at_f16():
    # 2 × 32 layers × 8 heads × 128 dims × 2 bytes = 131,072 bytes = 128 KiB per token.
    assert kv_cache_bytes(LLAMA_8B, 1) == 131_072
    # 8,192 tokens × 128 KiB = 1 GiB; 131,072 tokens × 128 KiB = 16 GiB.
    assert kv_cache_bytes(LLAMA_8B, 8192) == 1024**3
    assert kv_cache_bytes(LLAMA_8B, 131_072) == 16 * 1024**3


def test_the_seeds_vision_model_at_128k_holds_7_gib_of_kv_per_slot_and_224_mib_at_4k():
    # 2 × 28 × 4 × 128 × 2 = 57,344 bytes (56 KiB) per token.
    assert kv_cache_bytes(QWEN_VL_7B, 1) == 57_344
    assert kv_cache_bytes(QWEN_VL_7B, 131_072) == 7 * 1024**3
    assert kv_cache_bytes(QWEN_VL_7B, 4096) == 224 * 1024**2


def test_parallel_slots_multiply_the_cache():
    # Four slots at 131,072 tokens: 4 × 7 GiB = 28 GiB.
    assert kv_cache_bytes(QWEN_VL_7B, 131_072, parallel=4) == 28 * 1024**3


def test_quantised_cache_types_use_their_block_sizes():
    # q8_0 stores 32 values in 34 bytes: 65,536 elements per token × 34/32 = 69,632 bytes (68 KiB).
    assert kv_cache_bytes(LLAMA_8B, 1, kv_cache_type="q8_0") == 69_632
    # q4_0 stores 32 values in 18 bytes: 65,536 × 18/32 = 36,864 bytes (36 KiB).
    assert kv_cache_bytes(LLAMA_8B, 1, kv_cache_type="q4_0") == 36_864


def test_bad_arithmetic_inputs_are_refused_with_the_value():
    with pytest.raises(ValueError, match="-1"):
        kv_cache_bytes(LLAMA_8B, -1)
    with pytest.raises(ValueError, match="q3"):
        kv_cache_bytes(LLAMA_8B, 1, kv_cache_type="q3")


def test_architecture_is_read_from_ollama_model_info_with_head_dim_from_embedding_over_heads():
    arch = architecture_from_model_info(MODELS["llama3.1:8b"]["model_info"])
    assert (arch.family, arch.layers, arch.kv_heads, arch.head_dim, arch.trained_context) == (
        "llama",
        32,
        8,
        128,
        131072,
    )
    # qwen2.5vl: 3584 / 28 heads = 128.
    vl = architecture_from_model_info(MODELS["qwen2.5vl:7b"]["model_info"])
    assert (vl.layers, vl.kv_heads, vl.head_dim) == (28, 4, 128)


def test_an_explicit_key_length_wins_over_embedding_over_heads():
    # gemma3-style metadata: 2560 / 8 heads would say 320, but keys and values are 256 wide.
    info = {
        "general.architecture": "gemma3",
        "gemma3.block_count": 34,
        "gemma3.context_length": 131072,
        "gemma3.embedding_length": 2560,
        "gemma3.attention.head_count": 8,
        "gemma3.attention.head_count_kv": 4,
        "gemma3.attention.key_length": 256,
        "gemma3.attention.value_length": 256,
    }
    arch = architecture_from_model_info(info)
    assert arch.head_dim == 256
    assert kv_cache_bytes(arch, 1) == 2 * 34 * 4 * 256 * 2


def test_per_layer_kv_head_counts_are_summed_over_layers():
    info = {
        "general.architecture": "hybrid",
        "hybrid.block_count": 4,
        "hybrid.context_length": 8192,
        "hybrid.embedding_length": 1024,
        "hybrid.attention.head_count": 8,
        "hybrid.attention.head_count_kv": [8, 0, 8, 0],  # two attention layers, two recurrent
    }
    arch = architecture_from_model_info(info)
    # 16 KV heads in total × (128 + 128) × 2 bytes per token.
    assert kv_cache_bytes(arch, 1) == 16 * 256 * 2


def test_model_info_without_the_layer_count_is_an_upstream_error_naming_the_key():
    info = dict(MODELS["llama3.1:8b"]["model_info"])
    del info["llama.block_count"]
    with pytest.raises(UpstreamError, match="llama.block_count"):
        architecture_from_model_info(info)
    with pytest.raises(UpstreamError, match="general.architecture"):
        architecture_from_model_info({})

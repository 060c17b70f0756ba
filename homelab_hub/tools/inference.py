"""Inference tools: what the Ollama and llama.cpp hosts hold and why (ollama_ps), the
context fix (ollama_set_context) and measured tokens per second (inference_bench).

llama.cpp servers appear inside ``ollama_ps`` (its ``llama_cpp`` list) rather than in a tool of
their own: one call shows every host's memory, and tools/list stays short.
"""

from __future__ import annotations

from pydantic import Field

from homelab_hub.inference.engine import (
    MAX_BENCH_PROMPT_TOKENS,
    MAX_BENCH_TOKENS,
    MAX_NAME,
    MAX_NUM_CTX,
    MIN_NUM_CTX,
    InferenceEngine,
)
from homelab_hub.inference.report import BenchResult, DerivedModel
from homelab_hub.inference.report_llama import InferenceSnapshot
from homelab_hub.tools.registry import ToolContext, ToolInput, ToolOutput, ToolSpec

# Host names are config keys; 64 is far above any a lab uses.
MAX_HOST = 64


class OllamaPsInput(ToolInput):
    host: str = Field(default="", max_length=MAX_HOST, description="One host name; default all.")


class OllamaPs(InferenceSnapshot, ToolOutput):
    """Every host's loaded models, KV-cache arithmetic and findings."""


class SetContextInput(ToolInput):
    model: str = Field(
        ..., min_length=1, max_length=MAX_NAME, description="Installed model, e.g. qwen2.5vl:7b."
    )
    num_ctx: int = Field(..., ge=MIN_NUM_CTX, le=MAX_NUM_CTX, description="Context tokens, e.g. 4096.")
    host: str = Field(default="", max_length=MAX_HOST, description="Default: the host with the model.")
    name: str = Field(default="", max_length=MAX_NAME, description="New name; default <model>-4k.")


class SetContextOutput(DerivedModel, ToolOutput):
    """The derived model and its expected KV cache."""


class BenchInput(ToolInput):
    host: str = Field(..., min_length=1, max_length=MAX_HOST, description="Host name.")
    model: str = Field(default="", max_length=MAX_NAME, description="Model (Ollama, llama-server router).")
    prompt_tokens: int = Field(
        default=512,
        ge=1,
        le=MAX_BENCH_PROMPT_TOKENS,
        description="Prompt length; with max_tokens within the context.",
    )
    max_tokens: int = Field(default=128, ge=1, le=MAX_BENCH_TOKENS, description="Tokens to generate.")


class BenchOutput(BenchResult, ToolOutput):
    """pp and tg tokens per second from the server's counters."""


def _engine(ctx: ToolContext) -> InferenceEngine:
    return ctx.services.require(ctx.services.inference, "inference")


def ollama_ps(ctx: ToolContext, args: OllamaPsInput) -> OllamaPs:
    snapshot = _engine(ctx).snapshot(args.host or None)
    return OllamaPs.model_validate(snapshot.model_dump())


def ollama_set_context(ctx: ToolContext, args: SetContextInput) -> SetContextOutput:
    derived = _engine(ctx).set_context(
        args.model, args.num_ctx, host=args.host or None, name=args.name or None
    )
    return SetContextOutput.model_validate(derived.model_dump())


def inference_bench(ctx: ToolContext, args: BenchInput) -> BenchOutput:
    result = _engine(ctx).bench(args.host, args.model or None, args.prompt_tokens, args.max_tokens)
    return BenchOutput.model_validate(result.model_dump())


TOOLS = [
    ToolSpec(
        name="ollama_ps",
        description="What the Ollama and llama.cpp hosts hold: memory, context and why, KV cache, RPC splits, fixes.",
        input_model=OllamaPsInput,
        output_model=OllamaPs,
        handler=ollama_ps,
        read_only=True,
    ),
    ToolSpec(
        name="ollama_set_context",
        description="Create a copy of an Ollama model with a smaller context baked in, freeing KV-cache memory. Admin.",
        input_model=SetContextInput,
        output_model=SetContextOutput,
        handler=ollama_set_context,
        permission="admin",
        read_only=False,
    ),
    ToolSpec(
        name="inference_bench",
        description="pp and tg tokens/s of a host, run apart like llama-bench.",
        input_model=BenchInput,
        output_model=BenchOutput,
        handler=inference_bench,
        read_only=False,
    ),
]

"""Inference tools: what the Ollama and llama.cpp hosts hold and why (ollama_ps), the
context fix (ollama_set_context) and measured tokens per second (inference_bench).

llama.cpp servers appear inside ``ollama_ps`` (its ``llama_cpp`` list) rather than in a tool of
their own: one call shows every host's memory, and tools/list stays short.
"""

from __future__ import annotations

from pydantic import Field

from homelab_hub.errors import Unavailable
from homelab_hub.inference.engine import InferenceEngine
from homelab_hub.inference.report import BenchResult, DerivedModel, InferenceSnapshot
from homelab_hub.tools.registry import ToolContext, ToolInput, ToolOutput, ToolSpec


class OllamaPsInput(ToolInput):
    host: str = Field(default="", description="One host name; default all.")


class OllamaPs(InferenceSnapshot, ToolOutput):
    """Every host's loaded models, KV-cache arithmetic and findings."""


class SetContextInput(ToolInput):
    model: str = Field(..., description="Installed model, e.g. qwen2.5vl:7b.")
    num_ctx: int = Field(..., description="Context tokens, e.g. 4096.")
    host: str = Field(default="", description="Ollama host; default the one with the model.")
    name: str = Field(default="", description="New name; default <model>-4k.")


class SetContextOutput(DerivedModel, ToolOutput):
    """The derived model and its expected KV cache."""


class BenchInput(ToolInput):
    host: str = Field(..., description="Host name.")
    model: str = Field(default="", description="Model (needed for Ollama).")
    prompt_tokens: int = Field(default=512, description="Prompt length.")
    max_tokens: int = Field(default=128, description="Tokens to generate.")


class BenchOutput(BenchResult, ToolOutput):
    """Prompt and generation tokens per second from the server's counters."""


def _engine(ctx: ToolContext) -> InferenceEngine:
    engine = ctx.services.inference
    if engine is None:
        raise Unavailable("the inference engine is not running")
    assert isinstance(engine, InferenceEngine)
    return engine


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
        description="Models loaded on the Ollama and llama.cpp hosts: memory, CPU offload, context, "
        "KV-cache size, and findings with fixes.",
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
        description="One short generation on a host; prompt and generation tokens/s from the server's counters.",
        input_model=BenchInput,
        output_model=BenchOutput,
        handler=inference_bench,
        read_only=False,
    ),
]

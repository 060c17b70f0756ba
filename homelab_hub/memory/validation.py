"""Checks on what agents hand to memory: every refusal names the value and the limit."""

from __future__ import annotations

from homelab_hub.errors import InvalidInput, PayloadTooLarge
from homelab_hub.memory.config import MemoryConfig


def clean_content(content: str, config: MemoryConfig) -> str:
    """Content stripped of surrounding whitespace. Raises InvalidInput, PayloadTooLarge."""
    if not isinstance(content, str):
        raise InvalidInput(f"content must be text, got {type(content).__name__}")
    text = content.strip()
    if not text:
        raise InvalidInput("content is empty (or only whitespace); a memory needs at least one word")
    if "\x00" in text:
        raise InvalidInput("content contains a NUL character; send plain text")
    size = len(text.encode("utf-8"))
    if size > config.max_content_bytes:
        raise PayloadTooLarge(
            f"content is {size} bytes; the limit is {config.max_content_bytes} bytes (memory.max_content_bytes). "
            "Split it into self-contained memories, one fact each"
        )
    return text


def clean_tags(tags: list[str] | None, config: MemoryConfig) -> list[str]:
    """Tags stripped, de-duplicated, order kept. Raises InvalidInput."""
    if not tags:
        return []
    out: list[str] = []
    for tag in tags:
        t = tag.strip()
        if not t:
            raise InvalidInput("a tag is empty; drop it or give it a name")
        if len(t) > config.max_tag_chars:
            raise InvalidInput(f"tag {t[:20]!r}… is {len(t)} characters; the limit is {config.max_tag_chars}")
        if t not in out:
            out.append(t)
    if len(out) > config.max_tags:
        raise InvalidInput(
            f"{len(out)} tags given; a memory takes at most {config.max_tags} (memory.max_tags)"
        )
    return out


def clean_label(value: str | None, what: str, limit: int = 128) -> str | None:
    """A category or source: stripped, bounded. Raises InvalidInput."""
    if value is None:
        return None
    v = value.strip()
    if len(v) > limit:
        raise InvalidInput(f"{what} is {len(v)} characters; the limit is {limit}")
    return v

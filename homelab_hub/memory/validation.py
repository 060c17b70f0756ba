"""Checks on what agents hand to memory: every refusal names the value and the limit.

Every string the engine accepts must encode as UTF-8: a lone surrogate ("\\ud800") cannot
be stored in MySQL's utf8mb4, hashed or embedded, and once broke a whole batch of other
agents' searches. Labels (category, source, tags, thread) are single-line names, so control
characters (NUL, newlines, escapes) are refused there too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from homelab_hub.errors import InvalidInput, PayloadTooLarge
from homelab_hub.memory.config import MemoryConfig

MAX_QUERY_CHARS = 4096
MAX_LABEL_CHARS = 128
MAX_SOURCE_CHARS = 512
MAX_THREAD_CHARS = 191  # MySQL indexes (agent, thread): 191 utf8mb4 characters fit a key part
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_text(value: str, what: str) -> str:
    """Raises InvalidInput when ``value`` holds a lone surrogate (not encodable as UTF-8)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = value[exc.start : exc.end].encode("unicode_escape").decode("ascii")
        raise InvalidInput(
            f"{what} is not valid Unicode: {bad} at character {exc.start} is half of a surrogate pair; "
            "send UTF-8 text"
        ) from None
    return value


def clean_content(content: str, config: MemoryConfig) -> str:
    """Content stripped of surrounding whitespace. Raises InvalidInput, PayloadTooLarge."""
    if not isinstance(content, str):
        raise InvalidInput(f"content must be text, got {type(content).__name__}")
    text = check_text(content, "content").strip()
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


def clean_query(query: str) -> str:
    """A search query, stripped. Raises InvalidInput."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput("query is empty; say what you are looking for, e.g. 'ollama port on the dgx'")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"query is {len(query)} characters; keep it under {MAX_QUERY_CHARS}")
    return check_text(query, "query").strip()


def clean_tags(tags: list[str] | None, config: MemoryConfig) -> list[str]:
    """Tags stripped, de-duplicated, order kept. Raises InvalidInput."""
    if not tags:
        return []
    out: list[str] = []
    for tag in tags:
        t = _label(tag, "a tag").strip()
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


def clean_label(value: str | None, what: str, limit: int = MAX_LABEL_CHARS) -> str | None:
    """A category, source or thread: stripped, bounded, one line. Raises InvalidInput."""
    if value is None:
        return None
    v = _label(value, what).strip()
    if len(v) > limit:
        raise InvalidInput(f"{what} is {len(v)} characters; the limit is {limit}")
    return v


def _label(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, got {type(value).__name__}")
    check_text(value, what)
    bad = _CONTROL.search(value)
    if bad:
        raise InvalidInput(
            f"{what} {value[:40]!r} contains the control character {bad.group(0)!r}; use a plain one-line name"
        )
    return value


def clean_time(value: float | str | datetime | None, what: str) -> float | None:
    """An instant as epoch seconds, from epoch seconds or ISO 8601 (no zone means UTC).
    Raises InvalidInput."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{what} must be a time, got {value!r}")
    if isinstance(value, int | float):
        if not 0 <= value < 253402300800:  # up to 9999-12-31
            raise InvalidInput(f"{what} {value!r} is outside 1970..9999 in epoch seconds")
        return float(value)
    if isinstance(value, datetime):
        when = value
    else:
        text = check_text(str(value), what).strip()
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise InvalidInput(
                f"{what} {text[:40]!r} is not a time; use ISO 8601, e.g. 2026-04-22T17:21Z or 2026-04-22"
            ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()

"""Chunks: how a memory longer than the model reads well is embedded in parts.

all-MiniLM-L6-v2 reads at most 256 word pieces and was trained on 128; the rest of a longer
text is invisible to it. A memory over ``CHUNK_TOKENS`` word pieces is therefore embedded
in sentence-aligned chunks as well as whole; search scores it by its best chunk and the
answer shows that chunk instead of the whole memory. 64 word pieces (two or three
sentences, about 250 characters) keeps three excerpts of a long note well under 300 tokens
of answer. An imported memory starts with its context line (file and heading path): each
chunk is embedded with that line above it, so a chunk still knows which section it is in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

CHUNK_TOKENS = 64
_SEGMENT = re.compile(r"[^\n]*?(?:[.!?](?=\s)|\n|$)", re.S)


class TokenCounter(Protocol):
    def count_tokens(self, texts: list[str]) -> list[int]: ...


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def _segments(text: str, base: int) -> list[Span]:
    out = []
    for m in _SEGMENT.finditer(text):
        raw = m.group(0)
        if raw.strip():
            lead = len(raw) - len(raw.lstrip())
            out.append(Span(base + m.start() + lead, base + m.start() + len(raw.rstrip())))
    return out


def chunk_spans(content: str, counter: TokenCounter, limit: int = CHUNK_TOKENS) -> list[Span]:
    """Sentence-aligned spans of at most ~``limit`` word pieces covering ``content``; empty
    when the whole content fits in one."""
    if counter.count_tokens([content])[0] <= limit:
        return []
    segments = _segments(content, 0)
    sizes = counter.count_tokens([content[s.start : s.end] for s in segments])
    spans: list[Span] = []
    start: int | None = None
    end = 0
    used = 0
    for seg, size in zip(segments, sizes, strict=True):
        if size > limit:  # one very long sentence or line: cut it by words
            if start is not None:
                spans.append(Span(start, end))
                start, used = None, 0
            spans.extend(_by_words(content, seg, size, limit))
            continue
        if start is not None and used + size > limit:
            spans.append(Span(start, end))
            start, used = None, 0
        if start is None:
            start = seg.start
        end = seg.end
        used += size
    if start is not None:
        spans.append(Span(start, end))
    return spans


def _by_words(content: str, seg: Span, size: int, limit: int) -> list[Span]:
    words = [m.span() for m in re.finditer(r"\S+", content[seg.start : seg.end])]
    per = max(1, int(len(words) * limit / size))
    out = []
    for i in range(0, len(words), per):
        group = words[i : i + per]
        out.append(Span(seg.start + group[0][0], seg.start + group[-1][1]))
    return out


def context_line(content: str) -> str:
    """The first line of an imported memory (its file and heading path)."""
    return content.split("\n", 1)[0]


def chunk_texts(content: str, spans: list[Span], header: str = "") -> list[str]:
    """What each chunk is embedded as: its text, under the context line when there is one."""
    out = []
    for s in spans:
        text = content[s.start : s.end]
        out.append(text if not header or s.start == 0 else f"{header}\n{text}")
    return out


def excerpt(content: str, span: Span) -> str:
    """A chunk as shown in an answer, with … where the memory goes on."""
    text = content[span.start : span.end]
    return ("…" if span.start > 0 else "") + text + ("…" if span.end < len(content.rstrip()) else "")

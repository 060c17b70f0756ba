"""Chunks: how a memory longer than the model reads well is embedded in parts.

all-MiniLM-L6-v2 reads at most 256 word pieces and was trained on 128; the rest of a longer
text is invisible to it. A memory over ``CHUNK_ABOVE`` word pieces is therefore embedded
in sentence-aligned chunks of ``CHUNK_TOKENS`` as well as whole; search scores it by its best chunk and the
answer shows that chunk instead of the whole memory. A memory the model reads whole keeps one
vector (its chunks would cost 2-3 times its embedding, at import and at save); when it is longer
than a chunk, the answer shows its best-matching part, whose windows search embeds then, for the
few results it returns (search.py). 48 word pieces (one to three
sentences, about 200 characters) keeps three excerpts of a long note, with their file and
heading, under 300 tokens of answer. An imported memory starts with its context line (file and heading path): each
chunk is embedded with that line above it, so a chunk still knows which section it is in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

CHUNK_TOKENS = 48
# A memory up to 96 word pieces (a paragraph, within the 128 the model was trained on) keeps one
# vector. 96, not 64: a note of two sentences under its file and heading line is 60-90 word
# pieces, and chunking it tripled the embedding work of an import (benchmarks/
# memory_import_throughput.py: 0.59 of the bare embedder at 64); the seed questions find as
# many passages at 96 as at 64 (16 of 18), fewer at 128 (14).
CHUNK_ABOVE = 96
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


def chunk_spans(
    content: str, counter: TokenCounter, limit: int = CHUNK_TOKENS, above: int = CHUNK_ABOVE
) -> list[Span]:
    """Sentence-aligned windows of at most ~``limit`` word pieces over ``content``, each
    starting about half way into the one before (so a fact cut at one window's edge sits
    whole in the next); empty when the content is at most ``above`` word pieces."""
    if counter.count_tokens([content])[0] <= max(limit, above):
        return []
    segments: list[Span] = []
    sizes: list[int] = []
    raw = _segments(content, 0)
    for seg, size in zip(raw, counter.count_tokens([content[s.start : s.end] for s in raw]), strict=True):
        if size > limit:  # one very long sentence or line: cut it by words
            parts = _by_words(content, seg, size, limit)
            segments.extend(parts)
            sizes.extend(counter.count_tokens([content[p.start : p.end] for p in parts]))
        else:
            segments.append(seg)
            sizes.append(size)
    spans: list[Span] = []
    first = 0
    while first < len(segments):
        last, used = first, 0
        while last < len(segments) and (last == first or used + sizes[last] <= limit):
            used += sizes[last]
            last += 1
        spans.append(Span(segments[first].start, segments[last - 1].end))
        if last >= len(segments):
            break
        nxt, half = first, 0
        while nxt < last - 1 and half + sizes[nxt] <= used / 2:
            half += sizes[nxt]
            nxt += 1
        first = max(nxt, first + 1)
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


def body_start(content: str, has_context_line: bool) -> int:
    """Where an imported memory's text begins, after its context line and blank line."""
    if not has_context_line:
        return 0
    at = content.find("\n\n")
    return at + 2 if at >= 0 else 0


def answer_text(content: str, span: Span | None, has_context_line: bool) -> str:
    """What a search answer shows: the matching chunk of a long memory (… where it goes on),
    without an imported memory's context line (source and section say where it is)."""
    begin = body_start(content, has_context_line)
    start, end = (begin, len(content)) if span is None else (max(span.start, begin), span.end)
    if end <= start:
        start, end = begin, len(content)
    text = content[start:end].strip()
    return ("…" if start > begin else "") + text + ("…" if end < len(content.rstrip()) else "")

"""Split a document the way it is actually written into pieces the embedding model reads whole.

Headings are found in the form the file uses: ATX (``#`` to ``######``), setext (a line
underlined with ``===`` or ``---``), or headings written as plain lines (a short line
standing alone between blank lines, no closing punctuation, used at least twice, as in the
seed articles); failing all of those the text is split by paragraphs. Each piece carries
one context line naming its file and heading path ("notes.md › Ollama › KV cache"), and
stays within ``budget`` word pieces together with that line: the importer's pieces are
memories the model reads to the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from homelab_hub.memory.chunks import TokenCounter

_FENCE = re.compile(r"^\s*(```|~~~)")
_ATX = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SETEXT = re.compile(r"^(=+|-+)\s*$")
_LIST_OR_CODE = re.compile(r"^\s*([-*+>|]|\d+[.)]\s|[\w./-]+\s{2,})")
SEP = " › "


@dataclass
class Section:
    """One piece of a document: its key (stable across re-imports) and its full text."""

    title: str
    content: str


@dataclass
class _Block:
    path: list[str]
    lines: list[str]
    titled: bool = False  # path[0] is the document's one top-level title


def _lower_case_name(text: str) -> bool:
    """A heading may start with a name written in lower case ("llama.cpp RPC — Works", "vLLM
    on the DGX"): a first word with a dot, a digit or a capital in it, on a line without a
    flag, path or assignment ("python3 -m http.server" alone on a line is a command)."""
    first = text.split()[0]
    named = any(c == "." or c.isupper() or c.isdigit() for c in first[1:].rstrip("."))
    return named and not re.search(r"\s-|/|=", text)


def _plain_heading(lines: list[str], i: int) -> bool:
    line = lines[i]
    text = line.strip()
    if (
        not text
        or len(text) > 80
        or len(text.split()) > 10
        or not (text[0].isupper() or text[0].isdigit() or _lower_case_name(text))
        or not any(c.islower() for c in text)  # "258EAFA5-E914-…" on its own line is data
        or text[-1] in ".,;:"
        or ". " in text
        or "; " in text
        or len(line) - len(line.lstrip()) > 4
        or _LIST_OR_CODE.match(line)
    ):
        return False
    before = i == 0 or not lines[i - 1].strip()
    after = i + 1 >= len(lines) or not lines[i + 1].strip()
    return before and after


def _is_heading(lines: list[str], i: int, level: int, title: str, after_first: bool) -> bool:
    # Shell and Python comments in unfenced code look like "# ..." headings. A level-1
    # heading after the document's first one must stand alone between blank lines, and a
    # "# ... :" introducing the lines below it is a comment ("# What launchctl saw:").
    if title.endswith(":"):
        return False
    if level > 1 or not after_first:
        return True
    blank_before = i == 0 or not lines[i - 1].strip()
    blank_after = i + 1 >= len(lines) or not lines[i + 1].strip()
    return blank_before and blank_after


def _blocks(text: str) -> list[_Block]:
    lines = text.splitlines()
    fenced = [False] * len(lines)
    inside = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            inside = not inside
            fenced[i] = True
        else:
            fenced[i] = inside
    headings: dict[int, tuple[int, str]] = {}  # line -> (level, title); setext marks its underline
    underline: set[int] = set()
    for i, line in enumerate(lines):
        if fenced[i]:
            continue
        atx = _ATX.match(line)
        if atx and _is_heading(lines, i, len(atx.group(1)), atx.group(2), bool(headings)):
            headings[i] = (len(atx.group(1)), atx.group(2).strip())
        elif (
            i + 1 < len(lines)
            and line.strip()
            and not fenced[i + 1]
            and _SETEXT.match(lines[i + 1])
            and (i == 0 or not lines[i - 1].strip())
        ):
            headings[i] = (1 if lines[i + 1].startswith("=") else 2, line.strip())
            underline.add(i + 1)
    plain = [i for i in range(len(lines)) if not fenced[i] and i not in headings and _plain_heading(lines, i)]
    if len(plain) >= 2:
        # Plain heading lines are the sections under the title (level 2 below a # title).
        level = 2 if any(lvl == 1 for lvl, _ in headings.values()) else 1
        for i in plain:
            headings[i] = (level, lines[i].strip())
    levels = [lvl for _, (lvl, _) in sorted(headings.items())]
    titled = bool(levels) and levels[0] == 1 and levels.count(1) == 1
    blocks = [_Block([], [])]
    stack: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        if i in underline:
            continue
        if i in headings:
            level, title = headings[i]
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            blocks.append(_Block([t for _, t in stack], [], titled))
            continue
        blocks[-1].lines.append(line)
    return blocks


def _paragraphs(lines: list[str]) -> list[str]:
    out: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line.rstrip())
        elif current:
            out.append("\n".join(current).strip("\n"))
            current = []
    return out


def split_document(text: str, name: str, counter: TokenCounter, budget: int) -> list[Section]:
    """Pieces of ``text`` (file ``name``) within ``budget`` word pieces each, context line included."""
    sections: list[Section] = []
    seen: dict[str, int] = {}
    for block in _blocks(text):
        paragraphs = _paragraphs(block.lines)
        if not paragraphs:
            continue
        header = SEP.join([name, *block.path])
        room = max(16, budget - counter.count_tokens([header])[0] - 1)
        # The document's title is in every context line; keys name the sections under it.
        base = SEP.join(block.path[1:] if block.titled else block.path) or "(intro)"
        for n, body in enumerate(_pack(paragraphs, counter, room), 1):
            key = base if n == 1 else f"{base} ({n})"
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > 1:
                key = f"{key} [{seen[key]}]"
            sections.append(Section(title=key, content=f"{header}\n\n{body}"))
    return sections


def _pack(paragraphs: list[str], counter: TokenCounter, room: int) -> list[str]:
    """Paragraphs joined greedily up to ``room`` word pieces; a longer one is cut by sentences."""
    units: list[str] = []
    for para, size in zip(paragraphs, counter.count_tokens(paragraphs), strict=True):
        if size <= room:
            units.append(para)
            continue
        sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n", para) if s.strip()]
        units.extend(_cut_long(sentences, counter, room))
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for unit, size in zip(units, counter.count_tokens(units), strict=True):
        if current and used + size + 1 > room:
            pieces.append("\n\n".join(current))
            current, used = [], 0
        current.append(unit)
        used += size + 1
    if current:
        pieces.append("\n\n".join(current))
    return pieces


def _cut_long(sentences: list[str], counter: TokenCounter, room: int) -> list[str]:
    out: list[str] = []
    current: list[str] = []
    used = 0
    for sentence, size in zip(sentences, counter.count_tokens(sentences), strict=True):
        if size > room:  # a run-on line: cut by words
            words = sentence.split()
            per = max(1, int(len(words) * room / size))
            out.extend(" ".join(words[i : i + per]) for i in range(0, len(words), per))
            continue
        if current and used + size > room:
            out.append(" ".join(current))
            current, used = [], 0
        current.append(sentence)
        used += size
    if current:
        out.append(" ".join(current))
    return out

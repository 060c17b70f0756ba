"""Conversation transcripts in JSONL: one message per line, imported as one thread.

Two shapes are read. Claude Code's session files (``~/.claude/projects/<dir>/<session>.jsonl``):
lines with ``type`` "user" or "assistant", ``message.role`` and ``message.content`` (a string,
or blocks of which only ``text`` ones are kept: tool calls, tool results and thinking are
not conversation), ``timestamp``, ``uuid`` and ``sessionId``; sub-agent (``isSidechain``)
and meta lines are skipped. And a plain chat log: ``role`` or ``speaker`` (or ``author``),
``text`` or ``content``, and ``timestamp`` (or ``time``, ``ts``), optionally ``id`` and
``thread``. Each message becomes a turn keyed by its uuid/id (else its line number), which
is what makes a second import of the same file change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_EXPORT_KEYS = {"content_hash", "agent"}


@dataclass
class TranscriptTurn:
    key: str
    speaker: str
    text: str
    timestamp: Any
    thread: str

    @property
    def content(self) -> str:
        return f"{self.speaker}: {self.text}"


def is_transcript(record: dict[str, Any]) -> bool:
    """True for a chat line, False for a record written by `memory export`."""
    if _EXPORT_KEYS <= set(record) or ("agent" in record and "content" in record and "role" not in record):
        return False
    return "message" in record or any(k in record for k in ("role", "speaker", "author"))


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, list):
        parts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
        return "\n".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    return ""


def parse_transcript(records: Iterable[dict[str, Any]], fallback_thread: str) -> list[TranscriptTurn]:
    """The conversation's turns in file order; lines that carry no words are skipped."""
    turns: list[TranscriptTurn] = []
    for n, rec in enumerate(records, 1):
        if not isinstance(rec, dict):
            continue
        if "message" in rec and isinstance(rec["message"], dict):  # Claude Code
            if rec.get("type") not in ("user", "assistant") or rec.get("isSidechain") or rec.get("isMeta"):
                continue
            message = rec["message"]
            speaker = str(message.get("role") or rec.get("type"))
            text = _text_of(message.get("content"))
            thread = str(rec.get("sessionId") or fallback_thread)
            key = str(rec.get("uuid") or n)
        else:
            speaker = str(rec.get("role") or rec.get("speaker") or rec.get("author") or "")
            text = _text_of(rec.get("text") if "text" in rec else rec.get("content"))
            thread = str(rec.get("thread") or rec.get("session") or fallback_thread)
            key = str(rec.get("id") or n)
        if not speaker or not text:
            continue
        when = rec.get("timestamp") or rec.get("time") or rec.get("ts")
        turns.append(TranscriptTurn(key, speaker, text, when, thread))
    return turns

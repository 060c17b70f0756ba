"""What a transcribed chunk is worth: the gates between whisper's text and an alert.

In order, cheapest first (the seed's "Audio Intelligence", with the issue's additions):

1. ``quiet``: the loudest half second is below ``level_gate_dbfs``; the model is not called.
2. ``no_speech``: the VAD found no speech (whisper's "you" on silence never gets a chance).
3. ``noise``: every segment was cut: ``no_speech_prob`` above ``no_speech_max``, a repetition
   loop (compression ratio above 2.4, whisper's own limit), no letters at all (a chunk that
   decoded to garbage), or made only of the configured noise phrases.
4. ``urgent``: an urgent word (help, emergency, fire), matched per word, case-folded: an
   alert with or without a visual one.
5. ``too_short``: fewer than ``min_words`` words is not worth an alert.
6. ``alert`` when a visual ALERT of the same camera lies within ``gate_s`` before the chunk
   (or ``preroll_s`` after it: the speech just before the person was seen), else ``gated``:
   wind, traffic and a radio never raise an alert on their own.

Pure functions of a chunk, its transcript and a visual-alert lookup: the worker and the
replay CLI (``homelab-hub camera listen``) decide the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from homelab_hub.cameras.alerts.store import AudioKind
from homelab_hub.cameras.audio.sink import AudioChunk
from homelab_hub.cameras.audio.speech import Segment, SpeechModel, Transcript
from homelab_hub.cameras.settings import AudioConfig, TranscriberConfig

Decision = Literal["quiet", "no_speech", "noise", "urgent", "too_short", "alert", "gated"]
# (camera, earliest, latest) -> time of a visual ALERT of the camera in that span, or None
VisualLookup = Callable[[str, float, float], float | None]

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_MAX_COMPRESSION = 2.4  # whisper's compression_ratio_threshold: above it, a repetition loop


def words(text: str) -> list[str]:
    """Case-folded words, punctuation dropped: "Help! Fire." -> ['help', 'fire']."""
    return _WORD.findall(text.casefold())


def _find(needle: list[str], hay: list[str]) -> int:
    for i in range(len(hay) - len(needle) + 1):
        if hay[i : i + len(needle)] == needle:
            return i
    return -1


def urgent_word(text: str, urgent: list[str]) -> str | None:
    """The first urgent word or phrase the text holds as whole words ("fireplace" is not
    "fire"), or None."""
    hay = words(text)
    for phrase in urgent:
        needle = words(phrase)
        if needle and _find(needle, hay) >= 0:
            return phrase
    return None


def only_noise(text: str, phrases: list[str]) -> bool:
    """True when the text is made only of noise phrases (and is not empty of words)."""
    rest = words(text)
    if not rest:
        return False
    for phrase in sorted((words(p) for p in phrases), key=len, reverse=True):
        while phrase and (at := _find(phrase, rest)) >= 0:
            rest = rest[:at] + rest[at + len(phrase) :]
    return not rest


@dataclass(frozen=True)
class Dropped:
    text: str
    why: str


def cut_segments(
    segments: list[Segment], audio: AudioConfig, no_speech_max: float
) -> tuple[list[Segment], list[Dropped]]:
    """Split segments into those kept and those dropped, with why."""
    kept: list[Segment] = []
    dropped: list[Dropped] = []
    for seg in segments:
        text = seg.text.strip()
        if seg.no_speech_prob > no_speech_max:
            dropped.append(Dropped(text, f"no_speech_prob {seg.no_speech_prob:.2f} > {no_speech_max:g}"))
        elif not words(text):
            dropped.append(Dropped(text, "no words (garbage)"))
        elif seg.compression_ratio > _MAX_COMPRESSION:
            dropped.append(Dropped(text, f"repetition (compression ratio {seg.compression_ratio:.1f})"))
        elif only_noise(text, audio.noise_phrases):
            dropped.append(Dropped(text, "noise phrase"))
        else:
            kept.append(seg)
    return kept, dropped


@dataclass
class ChunkVerdict:
    """One chunk's way through the gates."""

    decision: Decision
    why: str
    level_dbfs: float
    transcript: str = ""
    dropped: list[Dropped] = field(default_factory=list)
    urgent_word: str | None = None
    visual_alert_ts: float | None = None
    model_latency_s: float | None = None

    @property
    def transcribed(self) -> bool:
        return self.model_latency_s is not None

    @property
    def raises_alert(self) -> bool:
        return self.decision in ("urgent", "alert")

    @property
    def kind(self) -> AudioKind:
        return "audio_urgent" if self.decision == "urgent" else "audio"


def judge(
    chunk: AudioChunk,
    audio: AudioConfig,
    transcriber: TranscriberConfig,
    model: SpeechModel,
    visual_alert: VisualLookup,
) -> ChunkVerdict:
    """Run one chunk through the level gate, the model and the gates (blocking: the model).
    Raises ConfigError when the model cannot be loaded."""
    level = chunk.level_dbfs
    if level < audio.level_gate_dbfs:
        return ChunkVerdict("quiet", f"loudest {level:.1f} dBFS < gate {audio.level_gate_dbfs:g} dBFS", level)
    return decide(chunk, model.transcribe(chunk.samples), audio, transcriber, visual_alert)


def decide(
    chunk: AudioChunk,
    transcript: Transcript,
    audio: AudioConfig,
    transcriber: TranscriberConfig,
    visual_alert: VisualLookup,
) -> ChunkVerdict:
    """The gates after the model (see the module docstring)."""
    level = chunk.level_dbfs
    latency = transcript.latency_s
    if not transcript.segments:
        return ChunkVerdict("no_speech", "no speech found by the VAD", level, model_latency_s=latency)
    kept, dropped = cut_segments(transcript.segments, audio, transcriber.no_speech_max)
    text = " ".join(s.text.strip() for s in kept)
    base = dict(level_dbfs=level, transcript=text, dropped=dropped, model_latency_s=latency)
    if not kept:
        return ChunkVerdict("noise", "; ".join(f"{d.text!r}: {d.why}" for d in dropped), **base)  # type: ignore[arg-type]
    word = urgent_word(text, audio.urgent_words)
    if word is not None:
        return ChunkVerdict("urgent", f"urgent word {word!r}", urgent_word=word, **base)  # type: ignore[arg-type]
    if len(words(text)) < audio.min_words:
        return ChunkVerdict("too_short", f"{len(words(text))} word(s) < min_words {audio.min_words}", **base)  # type: ignore[arg-type]
    seen = visual_alert(chunk.camera, chunk.start_ts - audio.gate_s, chunk.end_ts + audio.preroll_s)
    if seen is not None:
        when = seen - chunk.end_ts
        where = f"{-when:.0f}s before" if when <= 0 else f"{when:.0f}s after"
        return ChunkVerdict("alert", f"visual alert {where} the speech", visual_alert_ts=seen, **base)  # type: ignore[arg-type]
    return ChunkVerdict(
        "gated",
        f"no visual alert within {audio.gate_s:g}s (nor {audio.preroll_s:g}s after)",
        **base,  # type: ignore[arg-type]
    )
